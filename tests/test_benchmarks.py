"""Timings of the notes' training loops: every experiment, device and execution mode,
and the NumPy float32 loop as the plain-Python reference.

Each timed round runs all the epochs of the notes from the initial weights and
reads the trajectory back (which waits for the device). The first call, which
traces and compiles, is timed on its own and kept out of the rounds. With
pytest-benchmark disabled (the default ``tox`` run) each loop runs once, shortened,
as a smoke check; ``tox -e bench`` times them and writes ``reports/benchmarks.md``.
"""

from __future__ import annotations

import statistics
import time

import keras
import tensorflow as tf

from harness import golden, oracle
from harness.check import load
from harness.run import pinned
from harness.training import Loop
from tests.helpers import SHORT_EPOCHS

# Each benchmark aims at about this many seconds of timed rounds, within these bounds.
BUDGET_S = 10.0
MIN_ROUNDS, MAX_ROUNDS = 3, 50
FIRST_RESULT_SAMPLES = 5


def _rounds(first_call_s: float) -> int:
    return max(MIN_ROUNDS, min(MAX_ROUNDS, int(BUDGET_S / max(first_call_s, 1e-6))))


def _epochs(benchmark, trainer) -> int:
    return SHORT_EPOCHS if benchmark.disabled else trainer.epochs


def _finish(benchmark, epochs: int, first_call_s: float, **info) -> None:
    benchmark.extra_info.update(info, epochs=epochs, first_result_s=first_call_s,
                                tensorflow=tf.__version__, keras=keras.__version__)
    if benchmark.stats is not None:  # None when pytest-benchmark is disabled
        median = benchmark.stats.stats.median
        benchmark.extra_info.update(
            us_per_step=median / epochs * 1e6,
            # What the first call costs beyond a steady round: tracing and XLA compilation.
            compile_s=max(first_call_s - median, 0.0),
        )


def test_training_loop(benchmark, trainer, device, mode):
    epochs = _epochs(benchmark, trainer)
    # A first call is a single sample of tracing and compilation, which move by a factor
    # of two from one to the next here: the median of a few fresh builds (each traces and
    # compiles anew) is reported. The eager loop's first call is a whole run; once is enough.
    samples = 1 if mode == "eager" or benchmark.disabled else FIRST_RESULT_SAMPLES
    firsts = []
    with pinned(device):
        for _ in range(samples):
            start = time.perf_counter()
            loop = Loop(trainer.training, mode, epochs)
            first = loop()
            firsts.append(time.perf_counter() - start)
        first_call_s = statistics.median(firsts)
        again = benchmark.pedantic(loop, rounds=_rounds(first_call_s), iterations=1)
    # Every round starts from the initial weights: each gives the first call's trajectory.
    assert again == first
    assert first.placement.endswith(device.name), first.placement
    _finish(benchmark, epochs, first_call_s, experiment=trainer.name, device=device.name,
            device_kind=device.kind, mode=mode, first_result_samples_s=firsts)


def test_numpy_reference(benchmark, trainer):
    epochs = _epochs(benchmark, trainer)
    _, scalars = load(golden.ROOT, trainer, "cpu")
    start = time.perf_counter()
    first = oracle.train(trainer.name, scalars["w1_initial"], epochs=epochs)
    first_call_s = time.perf_counter() - start
    again = benchmark.pedantic(oracle.train, args=(trainer.name, scalars["w1_initial"]),
                               kwargs={"epochs": epochs}, rounds=_rounds(first_call_s))
    assert again.columns == first.columns
    _finish(benchmark, epochs, first_call_s, experiment=trainer.name, device="NumPy",
            device_kind="cpu", mode="numpy_float32")
