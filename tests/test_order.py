"""Fixed seeds hold in any order: whatever ran before in the process, a run starts
from the same random state (the op-seed hazard of the design notes)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from harness import golden, registry, runtime
from harness.check import load
from harness.run import run
from tests.helpers import ROOT, SHORT_EPOCHS, run_json

RANDOM_ORDER_SEED = 20261127
XDIST_OUT = "HARNESS_XDIST_OUT"
# A training loop and two one-shot computations, each run twice, spread over two workers.
XDIST_EXPERIMENTS = ("mse_regression", "cross_entropy", "tensor_creation")


def _run(experiment, device):
    return run(experiment, device, SHORT_EPOCHS if experiment.trains else None)


def _disturb_random_state() -> None:
    """What other code in the process may do to the random state before a run."""
    tf.random.set_seed(1234)
    tf.random.normal([2, 1], stddev=1, seed=1)
    tf.random.normal([2, 1], stddev=1, seed=1)
    tf.random.uniform([3])
    np.random.rand(5)


@pytest.fixture(scope="module")
def in_order(device):
    return {e.name: _run(e, device).to_json() for e in registry.all_experiments()}


def test_the_op_seed_hazard_is_real(device):
    # Without a reset the second draw differs: the guarantee below is not vacuous.
    with tf.device(device.tf_name):
        runtime.reset_random_state()
        first = tf.random.normal([2, 1], stddev=1, seed=1).numpy()
        second = tf.random.normal([2, 1], stddev=1, seed=1).numpy()
        runtime.reset_random_state()
        again = tf.random.normal([2, 1], stddev=1, seed=1).numpy()
    assert not np.array_equal(first, second)
    assert np.array_equal(first, again)


def test_reverse_order_is_bit_identical(device, in_order):
    reverse = {e.name: _run(e, device).to_json() for e in reversed(registry.all_experiments())}
    assert reverse == in_order


def test_random_order_is_bit_identical(device, in_order):
    order = registry.all_experiments()
    random.Random(RANDOM_ORDER_SEED).shuffle(order)
    shuffled = {e.name: _run(e, device).to_json() for e in order}
    assert shuffled == in_order, f"order {[e.name for e in order]}"


def test_repeated_in_one_process_is_bit_identical(device, in_order):
    assert {e.name: _run(e, device).to_json() for e in registry.all_experiments()} == in_order


def test_each_alone_after_a_disturbed_random_state_is_bit_identical(experiment, device, in_order):
    _disturb_random_state()
    assert _run(experiment, device).to_json() == in_order[experiment.name]


def test_a_fresh_process_is_bit_identical(device, in_order):
    names = [e.name for e in registry.all_experiments()]
    fresh = run_json(*names, "--device", device.name, "--epochs", str(SHORT_EPOCHS))
    assert {r["experiment"]: r for r in fresh} == in_order


@pytest.mark.parametrize("copy", ["a", "b"])
@pytest.mark.parametrize("name", XDIST_EXPERIMENTS)
def test_dump_for_xdist(name, device, copy):
    """Not a check on its own: the xdist test below runs it in two workers."""
    out = os.environ.get(XDIST_OUT)
    if not out:
        pytest.skip(f"a helper of test_two_xdist_workers_are_bit_identical ({XDIST_OUT} unset)")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = Path(out) / f"{name}-{device.name.replace(':', '')}-{copy}-{worker}.json"
    path.write_text(json.dumps(_run(registry.get(name), device).to_json()), encoding="utf-8")


def test_two_xdist_workers_are_bit_identical(device, in_order, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_order.py", "-k", "dump_for_xdist",
         "-n", "2", "--dist", "load", "--devices", device.name, "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, XDIST_OUT: str(tmp_path)})
    assert done.returncode == 0, done.stdout[-3000:]
    dumps = sorted(tmp_path.glob("*.json"))
    assert len(dumps) == 2 * len(XDIST_EXPERIMENTS), [p.name for p in dumps]
    assert {p.stem.rsplit("-", 1)[1] for p in dumps} == {"gw0", "gw1"}  # both workers ran some
    for path in dumps:
        name = path.stem.split("-", 1)[0]
        assert json.loads(path.read_text(encoding="utf-8")) == in_order[name], path.name


def test_short_runs_agree_with_the_full_goldens(device, in_order):
    # A shortened run shares its first checkpoints (epochs 0 and 500) with the full golden.
    for experiment in registry.all_experiments():
        columns, scalars = load(golden.ROOT, experiment, device.kind)
        record = in_order[experiment.name]
        assert record["scalars"] == scalars, experiment.name
        if not experiment.trains:
            continue
        epochs = record["columns"]["epoch"]
        shared = [e for e in epochs if e in columns["epoch"]]
        assert len(shared) >= 2, experiment.name
        for name, values in record["columns"].items():
            got = [values[epochs.index(e)] for e in shared]
            want = [columns[name][columns["epoch"].index(e)] for e in shared]
            assert got == want, (experiment.name, name)


def test_without_the_reset_the_order_would_matter(device, monkeypatch):
    # Breaks the guarantee on purpose, to show the tests above would catch it.
    experiment = registry.get("mse_regression")
    monkeypatch.setattr(runtime, "reset_random_state", lambda: None)
    tf.random.set_seed(runtime.DEFAULT_GRAPH_SEED)
    first = run(experiment, device, 1)
    second = run(experiment, device, 1)
    assert first.scalars != second.scalars
