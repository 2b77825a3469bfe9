"""Two regenerations of one golden folder: the second waits for the first (or gives up, with
who holds the folder), the result is one complete regeneration, and a lock left by a killed
process does not block."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.store import golden, lock
from tests.helpers import ROOT, cli

EXPERIMENTS = ("cross_entropy", "tensor_creation", "gradient_descent")


def _regen(root: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness", "regen", *EXPERIMENTS, "--device", "cpu",
                             "--kernel-classes", "this",
                             "--jobs", "1", "--golden-dir", str(root), "--drift-report",
                             str(root.parent / f"drift-{time.monotonic_ns()}.md"), *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _complete(root: Path) -> None:
    """Every file the regeneration writes is whole and the committed bytes; nothing is staged."""
    for name in EXPERIMENTS:
        for path in golden.paths(golden.ROOT, "cpu", name).tables.values():
            if path.exists():
                assert (root / "cpu" / path.name).read_bytes() == path.read_bytes()
        committed = golden.paths(golden.ROOT, "cpu", name).scalars
        assert (root / "cpu" / committed.name).read_bytes() == committed.read_bytes()
    assert golden.read_manifest(root, "cpu") is not None
    assert not (root / golden.STAGING).exists()


def _until_waiting(process: subprocess.Popen[str]) -> str:
    """Its stderr up to the line that says it waits for the lock."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("waiting: "):
            return "".join(seen)
    raise AssertionError("it never waited:\n" + "".join(seen))


def test_a_regeneration_waits_for_the_one_that_holds_the_folder(tmp_path):
    root = tmp_path / "golden"
    with lock.held(root, 0, lambda line: None):
        first, second = _regen(root), _regen(root)
        # Both get as far as the lock this test holds, and say who holds it.
        for process in (first, second):
            assert f"holds {root / '.lock'} (pid {os.getpid()}" in _until_waiting(process)
    # Released: one takes it, the other waits on for that one, then both complete.
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    _complete(root)


def test_a_regeneration_gives_up_after_its_timeout_and_changes_nothing(tmp_path):
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    before = {str(p): p.read_bytes() for p in (root / "cpu").rglob("*") if p.is_file()}
    with lock.held(root, 0, lambda line: None):
        done = cli("regen", *EXPERIMENTS, "--golden-dir", str(root), "--lock-timeout", "0.5",
                   "--kernel-classes", "this",
                   "--drift-report", str(tmp_path / "drift.md"))
    assert done.returncode == 2
    assert f"another regeneration holds {root / '.lock'} (pid {os.getpid()}" in done.stderr
    assert "--lock-timeout" in done.stderr
    assert {str(p): p.read_bytes() for p in (root / "cpu").rglob("*") if p.is_file()} == before
    assert not (tmp_path / "drift.md").exists()


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    root = tmp_path / "golden"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.store import lock\n"
        "with lock.held(Path(sys.argv[1]), 0, print):\n"
        "    print('holding', flush=True)\n"
        "    time.sleep(600)\n"), str(root)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    with pytest.raises(HarnessError, match=f"pid {holder.pid}"), lock.held(root, 0.3, lambda line: None):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    # The kernel dropped the killed holder's lock: taken at once, though the file still names it.
    assert f"pid {holder.pid}" in lock.holder(root / lock.NAME)
    start = time.monotonic()
    with lock.held(root, 0, lambda line: None):
        assert f"pid {os.getpid()}" in lock.holder(root / lock.NAME)
    assert time.monotonic() - start < 1
