"""A regeneration or a run killed part way (SIGKILL, no clean-up) leaves every golden
as it was, byte for byte; the next regeneration completes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.store import golden
from tests.helpers import ROOT, cli

EXPERIMENTS = ("cross_entropy", "tensor_creation")

# Runs a regeneration into ROOT that kills itself with SIGKILL after its N-th file write.
KILL_AFTER_WRITES = """
import os, signal, sys
from harness.store import files, golden
root, after = sys.argv[1], int(sys.argv[2])
real = files.atomic_write
count = 0
def write_then_die(path, data):
    global count
    real(path, data)
    count += 1
    if count == after:
        os.kill(os.getpid(), signal.SIGKILL)
golden.atomic_write = write_then_die
from harness.cli import main
main(["regen", *sys.argv[3:], "--device", "cpu", "--jobs", "1", "--golden-dir", root, "--kernel-classes", "this",
      "--drift-report", os.path.join(os.path.dirname(root), "drift.md")])
"""


@pytest.fixture
def stale_root(tmp_path: Path) -> Path:
    """A copy of the CPU goldens that a regeneration would change: every file differs."""
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    for name in EXPERIMENTS:
        path = root / "cpu" / f"{name}.yml"
        path.write_text(path.read_text(encoding="utf-8") + "stale: true\n", encoding="utf-8")
    manifest = root / "cpu" / golden.MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("date:", "date: '1999-01-01'\n#"),
                        encoding="utf-8")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "cpu").rglob("*")) if p.is_file()}


# Two goldens and the manifest: killed after the first write, and after the last one (all
# staged, nothing exchanged yet).
@pytest.mark.parametrize("after", [1, 3])
def test_a_regeneration_killed_part_way_leaves_every_golden_as_it_was(stale_root, after):
    before = _snapshot(stale_root)
    done = subprocess.run([sys.executable, "-c", KILL_AFTER_WRITES, str(stale_root), str(after),
                           *EXPERIMENTS], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert _snapshot(stale_root) == before
    # The next regeneration throws away what the killed one staged, and completes.
    again = cli("regen", *EXPERIMENTS, "--device", "cpu", "--golden-dir", str(stale_root), "--kernel-classes", "this",
                    "--drift-report", str(stale_root.parent / "drift.md"))
    assert again.returncode == 0, again.stderr
    # The killed one wrote no drift report; this one says what it changed and where.
    drift = (stale_root.parent / "drift.md").read_text(encoding="utf-8")
    for name in EXPERIMENTS:
        assert f"| `{name}` | CPU:0 | changed | scalar 'stale' is in the golden but not in the run |" in drift
    after_regen = _snapshot(stale_root)
    for name in EXPERIMENTS:
        key = f"cpu/{name}.yml"
        assert after_regen[key] == (golden.ROOT / key).read_bytes()
    # Nothing staged is left; the lock file stays, naming the last regeneration that held it.
    assert sorted(p.name for p in stale_root.iterdir()) == [".lock", "cpu"]


def test_a_check_killed_while_it_runs_changes_no_golden(stale_root):
    before = _snapshot(stale_root)
    process = subprocess.Popen([sys.executable, "-m", "harness", "check", "cross_entropy",
                                "mse_regression", "--jobs", "1", "--golden-dir", str(stale_root)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Killed once the 15000-step loop (the longest runs first) is under way: check says so on
    # stderr as each run starts.
    assert process.stderr is not None
    for line in process.stderr:
        if "mse_regression on CPU:0 (eager): running" in line:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert _snapshot(stale_root) == before
