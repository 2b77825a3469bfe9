"""One regeneration at a time per golden folder: a lock beside the goldens, ``<folder>/.lock``.

Two regenerations of one folder (two terminals, two CI jobs sharing a workspace) would
stage their copies in the same place and exchange folders in turn: the second waits for
the first, and the result is one complete regeneration.

The lock is an ``flock`` on the file, held for the whole regeneration. The kernel drops
it when its holder exits, however it exits (SIGKILL included): a lock left by a killed
process is stale by construction, and the next regeneration takes it at once. The file
stays, and says who held it last (pid, host, since when) for the message of one that waits.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.errors import HarnessError

NAME = ".lock"
POLL_S = 0.2


@contextlib.contextmanager
def held(root: Path, timeout_s: float, say: Callable[[str], None]) -> Iterator[Path]:
    """Holds ``<root>/.lock`` while the body runs; waits for another holder up to ``timeout_s``."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HarnessError(
                        f"another regeneration holds {path} ({holder(path)}); gave up after "
                        f"{timeout_s:g} s. Let it finish, or wait longer with --lock-timeout") from None
                if not waiting:
                    say(f"waiting: another regeneration holds {path} ({holder(path)})")
                    waiting = True
                time.sleep(POLL_S)
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {stamp}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # drops the lock


def holder(path: Path) -> str:
    """Who holds (or last held) the lock, as its file says."""
    try:
        return path.read_text(encoding="utf-8").strip() or "a process that has not written its name yet"
    except (OSError, UnicodeDecodeError):
        return "unknown"
