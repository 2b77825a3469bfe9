"""A program that raises (an API another TensorFlow changed) is that experiment's error, named,
and the other runs go on: the matrix reports the release instead of stopping in a traceback."""

from __future__ import annotations

import pickle
import re

from harness.errors import ProgramError
from harness.execution import pool, run


def test_a_program_that_raises_is_its_experiments_error_and_the_others_run(monkeypatch):
    real = run.run

    def breaks_one(experiment, device, *args, **kwargs):
        if experiment.name == "tensor_creation":
            raise TypeError("tf.zeros() got an unexpected keyword argument 'shape'")
        return real(experiment, device, *args, **kwargs)

    monkeypatch.setattr(run, "run", breaks_one)
    jobs = [pool.Job("tensor_creation", "CPU:0"), pool.Job("cross_entropy", "CPU:0")]
    broken, fine = pool.run_all(jobs, 1, pool.WorkerSetup(), progress=lambda line: None)
    assert broken.record is None and isinstance(broken.error, ProgramError)
    assert str(broken.error).startswith("tensor_creation raised TypeError at ")
    # Where: the innermost line of the harness that was running (here the pool's call).
    assert re.search(r" at \S+/harness/\S+\.py:\d+: tf\.zeros\(\) got an unexpected keyword argument 'shape'$",
                     str(broken.error))
    assert fine.error is None and fine.record is not None
    # It crosses from a worker process to the parent.
    assert str(pickle.loads(pickle.dumps(broken.error))) == str(broken.error)
