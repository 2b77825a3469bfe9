"""Times a Keras program's ``fit`` in an execution mode, step by step, as it runs: a callback's
clock around each call of the train function (``on_train_batch_begin`` to ``on_train_batch_end``),
so that what is timed is the step the program runs, on its data pipeline, and nothing else.

Why a clock inside ``fit`` and not rounds of ``train_on_batch``: the step of a program is its
train function pulling its next batch from its own input pipeline (a shuffled array, a Python
generator of augmented images); ``train_on_batch`` feeds a batch in from outside and times
another thing. Left out, and said: the first calls (tracing and XLA compilation, a new trace for
the epoch's last, smaller batch) and each epoch's last call, whose batch may be short; between
calls, the loop's own bookkeeping and the epoch's end (validation, checkpoints), which are not a
training step. Each call ends by reading its loss, which waits for the device.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import keras
import tensorflow as tf

from harness import modes
from harness.errors import HarnessError
from harness.execution.fit import check_switches, line_values, xla_allowed
from harness.experiments.keras import Fit

# The first calls of a run trace the step (and compile it under XLA); a call that ends an epoch
# may run a short batch, whose first appearance traces again. Neither is the steady step.
WARMUP_CALLS = 3
# A timing stops once it holds at least MIN_CALLS steady calls and BUDGET_S seconds of them, or
# MAX_CALLS calls, or (with MIN_CALLS held) WALL_S seconds since the first call: a few seconds a
# mode for the long CNNs, more calls for the tiny programs, whose epochs' ends cost more than
# their steps (500 epochs of 4 steps: each epoch builds its iterator anew).
MIN_CALLS, MAX_CALLS = 5, 300
BUDGET_S, WALL_S = 2.0, 8.0


@dataclass(frozen=True)
class FitTiming:
    """The steady calls of one timed ``fit``: each call's seconds per step, and what a step is."""

    # Seconds per training step of each steady call (the call's time over the steps it ran).
    per_step: list[float]
    steps_per_call: int
    batch_size: int
    # The samples a steady step trains on, on average (a data set smaller than a batch: all of it).
    samples_per_step: float
    # From ``fit``'s start to the end of its first call: the data adapter, tracing, XLA
    # compilation and the first steps.
    first_result_s: float
    # The calls and steps the run made before it stopped (the warm-up and epoch ends included).
    calls: int
    steps: int


@dataclass
class StepClock(keras.callbacks.Callback):  # type: ignore[misc]
    """Each call's time, from ``on_train_batch_begin`` to ``on_train_batch_end``; stops ``fit``
    once enough steady calls are held. ``slow_down``: a busy wait of that fraction of each call
    before its end is read (``pytest --slow-down``, to see that the report flags a slowed loop)."""

    steps_per_call: int
    # The samples of one epoch and of a full batch: a call's samples, the last batch's remainder counted.
    samples: int = 0
    batch_size: int = 0
    min_calls: int = MIN_CALLS
    max_calls: int = MAX_CALLS
    budget_s: float = BUDGET_S
    slow_down: float = 0.0
    per_step: list[float] = field(default_factory=list)
    first_end: float | None = None
    calls: int = 0
    steps: int = 0
    timed_s: float = 0.0
    timed_steps: int = 0
    timed_samples: int = 0

    def __post_init__(self) -> None:
        super().__init__()
        self._begin, self._in_epoch = 0.0, 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._in_epoch = 0

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._begin = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        float((logs or {})["loss"])  # waits for the device
        if self.slow_down:
            until = time.perf_counter() + self.slow_down * (time.perf_counter() - self._begin)
            while time.perf_counter() < until:
                pass
        end = time.perf_counter()
        if self.first_end is None:
            self.first_end = end
        per_epoch = self.params["steps"]
        ran = min(self.steps_per_call, per_epoch - self._in_epoch)
        trained = min((self._in_epoch + ran) * self.batch_size, self.samples) - self._in_epoch * self.batch_size
        self._in_epoch += ran
        self.calls += 1
        self.steps += ran
        ends_epoch = self._in_epoch >= per_epoch
        one_call_epochs = per_epoch <= self.steps_per_call
        if self.calls > WARMUP_CALLS and (one_call_epochs or not ends_epoch):
            self.per_step.append((end - self._begin) / ran)
            self.timed_s += end - self._begin
            self.timed_steps += ran
            self.timed_samples += trained
        enough = len(self.per_step) >= self.min_calls and (
            self.timed_s >= self.budget_s or end - self.first_end >= WALL_S)
        if enough or self.calls >= self.max_calls:
            self.model.stop_training = True


def time_fit(fit: Fit, mode: str, slow_down: float = 0.0, min_calls: int = MIN_CALLS,
             max_calls: int = MAX_CALLS, budget_s: float = BUDGET_S) -> FitTiming:
    """The program's model built afresh, compiled in ``mode`` and trained on its data with its
    ``fit`` arguments (its validation data and its own callbacks, which act between epochs, left out)
    until the clock holds its steady calls. Call it inside ``run.pinned(device)``."""
    switches = modes.get(mode).keras
    with tempfile.TemporaryDirectory(prefix="harness-stepclock-") as folder, contextlib.chdir(folder):
        tf.keras.backend.clear_session()
        x_train, y_train, *_ = fit.data()
        model = fit.model()
        with xla_allowed(switches):
            model.compile(**fit.compile(line_values({})), **switches)
            check_switches(model, switches)
        spe = int(switches.get("steps_per_execution", 1))
        # A generator (ImageDataGenerator.flow) gives its batches itself: fit takes neither y nor batch_size.
        given_y: dict[str, Any] = {} if y_train is None else {"y": y_train}
        if y_train is None:
            batch, samples = int(x_train.batch_size), int(x_train.n)
        else:
            batch = int(fit.fit.get("batch_size", 32))
            # Keras's own split: the first floor(n (1 - validation_split)) samples train.
            samples = math.floor(len(x_train) * (1.0 - fit.fit.get("validation_split", 0.0)))
        clock = StepClock(spe, samples, batch, min_calls, max_calls, budget_s, slow_down)
        args = {k: v for k, v in fit.fit.items() if y_train is not None or k != "batch_size"}
        # The XLA modes train with op determinism off too, not only compile: under it XLA has no
        # deterministic max-pooling gradient ("GPU MaxPool gradient ops do not yet have a
        # deterministic XLA implementation", raised on the CPU too), and every CNN would stop.
        with xla_allowed(switches):
            start = time.perf_counter()
            model.fit(x_train, **given_y, **{**args, "epochs": fit.epochs}, verbose=0, callbacks=[clock])
    if clock.first_end is None:
        raise HarnessError("fit ran no training step: there is nothing to time")
    if len(clock.per_step) < min_calls:
        raise HarnessError(f"the whole program made {clock.calls} calls of its train function, {len(clock.per_step)} "
                           f"of them steady (after the first {WARMUP_CALLS}, an epoch's last left out): fewer than "
                           f"the {min_calls} a timing needs")
    return FitTiming(clock.per_step, spe, batch, clock.timed_samples / clock.timed_steps, clock.first_end - start,
                     clock.calls, clock.steps)

