"""A program that raises (an API another TensorFlow changed) is that experiment's error, named,
and the other runs go on: the matrix reports the release instead of stopping in a traceback. A
bug of the harness itself is no such thing: it stops with its traceback and exit 3, which no
test or property takes for a refused input."""

from __future__ import annotations

import pickle
import re

import pytest
import tensorflow as tf

from harness.errors import INTERNAL_ERROR, ProgramError
from harness.execution import pool, recorder
from tests.helpers import cli


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
