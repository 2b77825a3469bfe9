"""Writing files so that a reader, or an interrupted writer, never leaves half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.errors import HarnessError


class WriteError(HarnessError, OSError):
    """A file that could not be written where it was asked for (a folder not writable, a
    file system that refuses): the message names it; nothing half-written is left."""


def atomic_write(path: Path, data: bytes) -> None:
    """Writes beside the target, then renames over it: a reader sees the old file or the new."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WriteError(exc.errno, f"cannot write {path} ({exc.strerror}): give a folder "
                                    "you can write to", str(path)) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a golden is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise WriteError(exc.errno, f"cannot write {path} ({exc.strerror}): nothing was written",
                         str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange(a: Path, b: Path) -> None:
    """Swaps two directories in one step (Linux renameat2 RENAME_EXCHANGE).

    Where the kernel or C library lacks it, falls back to two renames: a kill between
    them leaves ``a`` moved aside as ``<a>.old``, whole, rather than half rewritten.
    """
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd = -100
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return
        errno = ctypes.get_errno()
        if errno not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
            raise OSError(errno, os.strerror(errno), str(a), None, str(b))
    aside = a.with_name(a.name + ".old")
    os.rename(a, aside)
    os.rename(b, a)
    os.rename(aside, b)
