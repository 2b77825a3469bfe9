"""Timings of the training loops: every experiment, device and execution mode, and the NumPy
float32 loop as the plain-Python reference.

Each timed round runs all the epochs of the program from the initial weights and reads the
record back (which waits for the device). The first call, which traces and compiles, is
timed on its own and kept out of the rounds. With pytest-benchmark disabled (the default
``tox`` run) each loop runs once, shortened, as a smoke check; ``tox -e bench`` times them
and writes ``reports/benchmarks.md``.
"""

from __future__ import annotations

import json
import statistics
import time

import keras
import tensorflow as tf

from harness.execution.loops import Loop, build
from harness.execution.run import pinned
from harness.experiments.course.c2_6_optimizers import TOTAL_TIME
from harness.judge.verdict import load
from harness.oracle import programs
from harness.store import golden
from tests.helpers import TINY

# Each benchmark aims at about this many seconds of timed rounds, within these bounds.
BUDGET_S = 10.0
MIN_ROUNDS, MAX_ROUNDS = 3, 50
FIRST_RESULT_SAMPLES = 5


def _rounds(first_call_s: float) -> int:
    return max(MIN_ROUNDS, min(MAX_ROUNDS, int(BUDGET_S / max(first_call_s, 1e-6))))


def _epochs(benchmark, trainer) -> int:
    # A smoke run (pytest-benchmark disabled) needs only to go round the loop.
    return TINY if benchmark.disabled else trainer.epochs


def _course_seconds(trainer) -> float | None:
    """The time the course printed for the whole program on its machine (TF 2.1), if it did."""
    return next((float(p.text) for p in trainer.printed if p.where == TOTAL_TIME), None)


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


def _slowed(config, trainer, loop):
    """The loop, or (``--slow-down NAME=FRACTION`` naming this experiment) the loop followed by
    a busy wait of that fraction of each call: the same work, that much longer per step."""
    spec = config._harness_slow_down
    if spec is None or spec[0] != trainer.name:
        return loop, 0.0
    fraction = spec[1]

    def slowed():
        start = time.perf_counter()
        found = loop()
        until = time.perf_counter() + fraction * (time.perf_counter() - start)
        while time.perf_counter() < until:
            pass
        return found

    return slowed, fraction


def _same(a, b) -> bool:
    return json.dumps(a.__dict__, sort_keys=True) == json.dumps(b.__dict__, sort_keys=True)  # NaN as text


def test_training_loop(benchmark, trainer, device, mode, pytestconfig):
    epochs = _epochs(benchmark, trainer)
    # A first call is a single sample of tracing and compilation, which move by a factor
    # of two from one to the next here: the median of a few fresh builds (each from a fresh
    # random state, each tracing and compiling anew) is reported. The eager loop's first call
    # is a whole run; once is enough.
    samples = 1 if mode == "eager" or benchmark.disabled else FIRST_RESULT_SAMPLES
    firsts = []
    for _ in range(samples):
        with pinned(device):
            start = time.perf_counter()
            loop = Loop(trainer.training, build(mode), epochs)
            first = loop()
            firsts.append(time.perf_counter() - start)
    first_call_s = statistics.median(firsts)
    timed, slowed_by = _slowed(pytestconfig, trainer, loop)
    with pinned(device):
        again = benchmark.pedantic(timed, rounds=_rounds(first_call_s), iterations=1)
    # Every round starts from the initial weights: each gives the first call's record.
    assert _same(again, first)
    assert first.placement.endswith(device.name), first.placement
    difference = trainer.mode_difference(mode)
    _finish(benchmark, epochs, first_call_s, experiment=trainer.name, device=device.name,
            device_kind=device.kind, mode=mode, first_result_samples_s=firsts,
            declared_difference=difference.why if difference else "", slowed_by=slowed_by,
            course_seconds=_course_seconds(trainer))


def test_numpy_reference(benchmark, trainer):
    epochs = _epochs(benchmark, trainer)
    scalars = load(golden.ROOT, trainer, "cpu").scalars
    start = time.perf_counter()
    first = programs.train(trainer.name, scalars, epochs=epochs)
    first_call_s = time.perf_counter() - start
    again = benchmark.pedantic(programs.train, args=(trainer.name, scalars),
                               kwargs={"epochs": epochs}, rounds=_rounds(first_call_s))
    assert json.dumps(again.rows) == json.dumps(first.rows)
    _finish(benchmark, epochs, first_call_s, experiment=trainer.name, device="NumPy",
            device_kind="cpu", mode="numpy_float32", declared_difference="")
