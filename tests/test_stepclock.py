"""The step clock inside ``fit`` (``harness.execution.stepclock``): which calls it times, how many
steps and samples it counts for each, and when it stops ``fit``; the Keras benchmarks read their
steps from it."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.execution import stepclock
from harness.execution.stepclock import StepClock

# 10 samples in batches of 4: an epoch of three steps, the last of 2 samples.
SAMPLES, BATCH = 10, 4


def _fit(clock: StepClock, epochs: int, steps_per_execution: int = 1) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps_per_execution)
    x = np.zeros((SAMPLES, 3), np.float32)
    model.fit(x, np.zeros((SAMPLES, 2), np.float32), batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[clock])
    return model


def test_the_warm_up_and_each_epochs_last_short_call_are_left_out():
    clock = StepClock(1, SAMPLES, BATCH, min_calls=10**6, max_calls=10**6)
    _fit(clock, epochs=4)
    assert (clock.calls, clock.steps) == (12, 12)
    # 12 calls, less the first 3 and the last of each later epoch (3 of them: the first epoch's is
    # in the warm-up): 6 steady calls of a full batch each.
    assert len(clock.per_step) == 12 - stepclock.WARMUP_CALLS - 3
    assert (clock.timed_steps, clock.timed_samples) == (6, 6 * BATCH)


def test_a_call_that_runs_a_whole_epoch_is_timed_with_its_short_batch():
    # steps_per_execution 4 > 3 steps: one call an epoch, which is timed once the warm-up is over.
    clock = StepClock(4, SAMPLES, BATCH, min_calls=10**6, max_calls=10**6)
    _fit(clock, epochs=5, steps_per_execution=4)
    assert (clock.calls, clock.steps) == (5, 15)
    assert len(clock.per_step) == 5 - stepclock.WARMUP_CALLS
    assert (clock.timed_steps, clock.timed_samples) == (2 * 3, 2 * SAMPLES)


def test_fit_stops_once_the_clock_holds_its_calls():
    clock = StepClock(1, SAMPLES, BATCH, min_calls=2, max_calls=10**6, budget_s=0.0)
    model = _fit(clock, epochs=50)
    # Steady calls 1 and 2 are the second epoch's first two (the third call is still warm-up).
    assert len(clock.per_step) == 2 and clock.calls == 5
    assert int(model.optimizer.iterations.numpy()) == 5


def test_a_slowed_clock_reads_that_much_more_time():
    plain = StepClock(1, SAMPLES, BATCH, min_calls=10**6, max_calls=10**6)
    _fit(plain, epochs=8)
    slowed = StepClock(1, SAMPLES, BATCH, min_calls=10**6, max_calls=10**6, slow_down=1.0)
    _fit(slowed, epochs=8)
    assert min(slowed.per_step) > 1.5 * min(plain.per_step)


def test_a_program_too_short_to_time_is_refused_with_its_counts():
    from harness.errors import HarnessError
    from harness.experiments import catalog

    # The cheapest program, whose whole fit (a hundred calls) holds fewer calls than asked for.
    cheapest = min(catalog.keras_experiments(), key=lambda e: e.program.seconds)
    with pytest.raises(HarnessError, match=r"whole program made \d+ calls of its train function, \d+ of them steady"):
        stepclock.time_fit(cheapest.fit, "function", min_calls=10**6, max_calls=10**6)
