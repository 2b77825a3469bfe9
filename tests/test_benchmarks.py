"""Timings of the training loops: every experiment, device and execution mode, and the NumPy
float32 loop as the plain-Python reference; every Keras program's ``fit`` in every Keras mode,
step by step (``harness.execution.stepclock``); and each device's peak, a large float32 matrix
product, against which the report sets every loop's arithmetic.

A GradientTape loop's timed round runs all the epochs of the program from the initial weights and reads the
record back (which waits for the device). The first call, which traces and compiles, is
timed on its own and kept out of the rounds. With pytest-benchmark disabled (the default
``tox`` run) each loop runs once, shortened, as a smoke check; ``tox -e bench`` times them
and writes ``reports/benchmarks.md``.
"""

from __future__ import annotations

import functools
import json
import statistics
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from harness.execution import flops, stepclock
from harness.execution.loops import Loop, build
from harness.execution.run import pinned
from harness.experiments import catalog
from harness.experiments.course import PER_SAMPLE, us_per_sample
from harness.experiments.course.c2_6_optimizers import TOTAL_TIME
from harness.judge.verdict import load
from harness.oracle import programs
from harness.store import golden
from tests.helpers import TINY, without_data

# Each benchmark aims at about this many seconds of timed rounds, within these bounds.
BUDGET_S = 10.0
MIN_ROUNDS, MAX_ROUNDS = 3, 50
FIRST_RESULT_SAMPLES = 5
# The peak: an N x N float32 matrix product (2 N^3 FLOPs), on all the device's cores.
PEAK_N = 2048
PEAK_ROUNDS = 10


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


def _clocked(benchmark, durations: list[float]) -> None:
    """pytest-benchmark's statistics over durations a clock inside the program measured (its
    rounds are the program's own calls, which no outside call can run one at a time)."""
    stats = benchmark._make_stats(1)
    for duration in durations:
        stats.update(duration)


def test_keras_fit(benchmark, keras_program, device, mode, pytestconfig):
    """A Keras program's steady training step in a Keras mode, timed inside its own fit."""
    fit = keras_program.fit
    if without_data(keras_program):
        pytest.skip(f"{keras_program.name}'s dataset is not here: nothing to time")
    spec = pytestconfig._harness_slow_down
    slowed_by = spec[1] if spec is not None and spec[0] == keras_program.name else 0.0
    # A smoke run (pytest-benchmark disabled) goes round the clock's warm-up and a few calls.
    smoke = {"min_calls": 2, "max_calls": stepclock.WARMUP_CALLS + 3, "budget_s": 0.0} if benchmark.disabled else {}
    with pinned(device):
        timing = stepclock.time_fit(fit, mode, slowed_by, **smoke)
    assert timing.calls > stepclock.WARMUP_CALLS and timing.steps >= timing.calls
    assert all(0 < s < float("inf") for s in timing.per_step), timing.per_step
    work = _work(keras_program.name)
    benchmark._mode = "a callback's clock"  # the fixture counts as used, timed or not
    if not benchmark.disabled:
        _clocked(benchmark, timing.per_step)
    difference = keras_program.mode_difference(mode)
    _finish(benchmark, 1, timing.first_result_s, experiment=keras_program.name, device=device.name,
            device_kind=device.kind, mode=mode, kind="keras", batch_size=timing.batch_size,
            steps_per_call=timing.steps_per_call, step_flops=work.step_flops(timing.batch_size),
            layers_not_counted=list(work.not_counted),
            samples_per_step=timing.samples_per_step, declared_difference=difference.why if difference else "",
            slowed_by=slowed_by, **_course_log(keras_program, work))


@functools.cache
def _work(name: str) -> flops.Work:
    """A program's counted work: once per program, not once per mode (it loads the data and builds
    the model again)."""
    return flops.of_fit(catalog.get(name).fit)


def _course_log(experiment, work: flops.Work) -> dict:
    """What fit's log printed per sample on the course's machine for this program, or (a
    Fashion-MNIST CNN, whose course run is on CIFAR-10, not here) for its CIFAR-10 twin, with the
    twin's work per sample over this one's, both counted from the models."""
    twin = experiment
    if experiment.name.startswith("fashion_") and experiment.fit.dataset is None:
        twin = next((e for e in catalog.keras_experiments()
                     if e.name == "cifar10_" + experiment.name.removeprefix("fashion_")), experiment)
    printed = [us_per_sample(p.text) for p in twin.printed if p.where.startswith(PER_SAMPLE)]
    if not printed:
        return {}
    ratio = 1.0
    if twin is not experiment:
        shape = (1, *twin.fit.variables.input_shape)
        ratio = flops.forward(twin.fit.model(), np.zeros(shape, np.float32)).forward_macs / work.forward_macs
    return {"course_us_per_sample": statistics.median(printed), "course_program": twin.name,
            "course_flops_ratio": ratio}


def test_peak(benchmark, device):
    """What the device computes at most here: an N x N float32 matrix product on all its cores."""
    with pinned(device):
        a = tf.random.stateless_uniform((PEAK_N, PEAK_N), seed=(1, 2))
        b = tf.random.stateless_uniform((PEAK_N, PEAK_N), seed=(3, 4))
        product = tf.function(lambda: tf.linalg.matmul(a, b)[0, 0])
        start = time.perf_counter()
        first = float(product())
        first_call_s = time.perf_counter() - start
        again = benchmark.pedantic(lambda: float(product()), rounds=1 if benchmark.disabled else PEAK_ROUNDS,
                                   warmup_rounds=0 if benchmark.disabled else 1)
    assert again == first
    _finish(benchmark, 1, first_call_s, experiment="peak", device=device.name, device_kind=device.kind,
            mode="matmul", kind="peak", step_flops=2 * PEAK_N ** 3, declared_difference="")
