"""A program that raises (an API another TensorFlow changed) is that experiment's error, named,
and the other runs go on: the matrix reports the release instead of stopping in a traceback. A
bug of the harness itself is no such thing: it stops with its traceback and exit 3, which no
test or property takes for a refused input."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf

from harness.errors import INTERNAL_ERROR, ProgramError
from harness.execution import pool, recorder
from tests.helpers import ROOT, cli


def test_a_program_that_raises_is_its_experiments_error_and_the_others_run(monkeypatch):
    real = tf.constant

    def changed_api(value, dtype=None, **kwargs):
        if dtype == tf.int32 and kwargs == {}:  # tensor_creation's line, as another release might refuse it
            raise TypeError("constant() got an unexpected keyword argument 'dtype'")
        return real(value, dtype=dtype, **kwargs)

    monkeypatch.setattr(tf, "constant", changed_api)
    jobs = [pool.Job("tensor_creation", "CPU:0"), pool.Job("cross_entropy", "CPU:0")]
    broken, fine = pool.run_all(jobs, 1, pool.WorkerSetup(), progress=lambda line: None)
    assert broken.record is None and isinstance(broken.error, ProgramError)
    # Where: the program's own line, in harness/experiments/.
    assert re.search(r"^tensor_creation raised TypeError at \S+/harness/experiments/note/tensor_basics\.py:\d+: "
                     r"constant\(\) got an unexpected keyword argument 'dtype'$", str(broken.error)), str(broken.error)
    assert fine.error is None and fine.record is not None
    # It crosses from a worker process to the parent.
    assert str(pickle.loads(pickle.dumps(broken.error))) == str(broken.error)


def test_a_bug_of_the_harness_is_not_an_experiments_error(monkeypatch):
    def broken_add(self, row):
        raise KeyError("a bug in the recorder")

    monkeypatch.setattr(recorder.Recorder, "add", broken_add)
    with pytest.raises(KeyError, match="a bug in the recorder"):
        pool.run_all([pool.Job("gradient_descent", "CPU:0")], 1, pool.WorkerSetup(), progress=lambda line: None)


@pytest.mark.parametrize("command", ["run", "check", "regen"])
def test_a_bug_of_the_harness_exits_3_with_its_traceback(monkeypatch, tmp_path, command):
    def broken_add(self, row):
        raise KeyError("a bug in the recorder")

    monkeypatch.setattr(recorder.Recorder, "add", broken_add)
    extra = {"run": [], "check": ["--plots", str(tmp_path / "plots")],
             "regen": ["--golden-dir", str(tmp_path / "golden"), "--kernel-classes", "this",
                       "--drift-report", str(tmp_path / "drift.md")]}[command]
    done = cli(command, "gradient_descent", "--device", "CPU:0", "--jobs", "1", *extra)
    assert done.returncode == INTERNAL_ERROR, done
    assert "Traceback (most recent call last)" in done.stderr and "a bug in the recorder" in done.stderr
    assert "internal error: the harness itself failed" in done.stderr


def test_each_run_that_lands_says_what_is_left():
    """A long check tells its reader how far it is: each landed run, and how many are still to come."""
    said: list[str] = []
    jobs = [pool.Job("constant", "CPU:0"), pool.Job("tensor_creation", "CPU:0")]
    pool.run_all(jobs, 1, pool.WorkerSetup(), progress=said.append)
    landed = [line for line in said if "done in" in line]
    assert landed[0].endswith("; 1 of 2 runs left") and landed[1].endswith("; all 2 runs done"), said


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the process table is read from Linux's /proc")
def test_a_killed_check_leaves_no_worker_behind():
    """SIGKILL to ``check`` (what a timeout does) gives the pool no chance to stop its workers: each
    watches its parent and ends within seconds of it."""
    command = [sys.executable, "-m", "harness", "check", "--jobs", "2", "mse_regression", "custom_loss_cost99"]
    parent = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        workers: list[int] = []
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            workers = [p for p in _children(parent.pid) if "spawn_main" in _command_line(p)]
            time.sleep(0.2)
        said = parent.stderr.read() if parent.poll() is not None and parent.stderr else ""
        assert len(workers) == 2, f"check started no pool of two workers: {said}"
        time.sleep(2)  # into their work: TensorFlow is starting or the runs have begun
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10 * pool.PARENT_POLL_SECONDS + 5
    while any(Path(f"/proc/{p}").exists() and _state(p) != "Z" for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if Path(f"/proc/{p}").exists() and _state(p) != "Z"]
    assert not left, f"workers {left} of the killed check are still running"


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
