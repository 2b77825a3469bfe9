"""Runs an experiment on one device from a fixed random state, into a record."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from harness import modes
from harness.errors import HarnessError
from harness.execution import runtime
from harness.execution.devices import Device
from harness.experiments.declare import Experiment, Outcome
from harness.judge.compare import same
from harness.record import Record
from harness.span import Span


@contextlib.contextmanager
def pinned(device: Device) -> Iterator[None]:
    """Deterministic switches on, a fresh random state, every op on ``device``."""
    runtime.configure()
    runtime.reset_random_state()
    with tf.device(device.tf_name):
        yield


class RandomStateError(HarnessError):
    """A run that drew other initial weights than its golden: the random state was not reset."""


@dataclass(frozen=True)
class Timing:
    """A call of a built loop timed on its own: eager as the record's call; a compiled mode
    once more after the recorded call (tracing and XLA compilation are done by then)."""

    seconds: float
    steps: int
    # What the timed call recorded: the recorded call's record again, bit for bit, or the
    # loop is not deterministic within one build.
    again: Record


def run(experiment: Experiment, device: Device, epochs: int | None = None,
        mode: str | None = None, expected_initial: dict[str, Any] | None = None,
        batches: int | None = None) -> Record:
    """One run, in ``mode`` (default: as the program is written); ``epochs`` shortens a training
    loop (its printed rows stay the program's; a count beyond the program's own runs the whole
    program), ``batches`` a Keras program's ``fit``.
    ``expected_initial`` (the golden's ``<variable>_initial`` scalars) stops the run before it
    trains when it drew other weights."""
    return _execute(experiment, device, epochs, mode, expected_initial, timed=False, batches=batches)[0]


def run_and_time(experiment: Experiment, device: Device, mode: str | None = None,
                 expected_initial: dict[str, Any] | None = None) -> tuple[Record, Timing]:
    """A whole run, and one call of its loop timed in the steady state."""
    record, timing = _execute(experiment, device, None, mode, expected_initial, timed=True)
    assert timing is not None
    return record, timing


def _execute(experiment: Experiment, device: Device, epochs: int | None, mode: str | None,
             expected_initial: dict[str, Any] | None, timed: bool,
             batches: int | None = None) -> tuple[Record, Timing | None]:
    from harness.execution.loops import Loop, build

    mode = modes.reference(experiment) if mode is None else modes.get(mode).name
    try:
        span = experiment.program.span(epochs, batches)
    except ValueError as exc:
        raise HarnessError(f"{experiment.name}: {exc} (python -m harness list says what each program is)") from None
    if mode not in modes.of(experiment):
        raise HarnessError(f"{experiment.name} has no training loop: --mode applies to the training "
                           "programs (python -m harness list marks them)")
    if timed and not experiment.trains:
        raise HarnessError(f"{experiment.name} has no GradientTape loop to time: the benchmarks time "
                           "the loops of chapters 1 and 2")
    training = experiment.training
    if training is not None and epochs is not None:
        epochs = min(epochs, training.epochs)
    timing = None
    experiment.program.require_data()  # not here (CIFAR-10 offline): stop before anything is built
    if experiment.fit is not None:
        # A declaration that builds its model to list its variables does it now, not after the
        # random state is reset for the run (building draws initial weights).
        dict(experiment.fit.variables)
    with pinned(device):
        if experiment.fit is not None:
            from harness.execution.fit import run_fit

            outcome = run_fit(experiment.fit, epochs, batches, modes.get(mode).keras)
        elif training is None:
            if experiment.fn is None:
                raise HarnessError(f"{experiment.name} declares neither a program nor a training loop")
            outcome = experiment.fn()
        else:
            loop = Loop(training, build(mode), epochs)
            if expected_initial is not None:
                _check_initial(experiment.name, loop.initial_scalars(), expected_initial)
            start = time.perf_counter()
            outcome = loop()
            seconds = time.perf_counter() - start
            if timed:
                again = outcome
                if mode != modes.REFERENCE:
                    start = time.perf_counter()
                    again = loop()
                    seconds = time.perf_counter() - start
                timing = Timing(seconds, loop.epochs * loop.batch_count, _record(again, experiment, device, mode, span))
            if training.after is not None and training.runs_after(span, mode):
                # What the program computes from its trained weights, as it writes it (eager). A
                # run of the loop only (another mode, or shortened) does not get there.
                found = training.after(loop.setup)
                if tuple(found) != training.after_scalars:
                    raise HarnessError(f"{experiment.name}: its after-loop code gave {list(found)}, its "
                                       f"declaration names {list(training.after_scalars)}")
                outcome.scalars.update(found)
    # TensorFlow falls back to another device silently (soft placement): a run
    # that did not happen where it was asked for must not pass as one that did.
    if experiment.on_device and not outcome.placement.endswith(device.name):
        raise HarnessError(
            f"{experiment.name} was asked to run on {device.name} but TensorFlow placed it on "
            f"{outcome.placement}"
        )
    return _record(outcome, experiment, device, mode, span), timing


def _check_initial(name: str, drawn: dict[str, Any], expected: dict[str, Any]) -> None:
    """Before a single step: the weights this run drew are the golden's, or it stops here."""
    for key, value in drawn.items():
        if key in expected and not same(value, expected[key]):
            raise RandomStateError(
                f"{name}: the random state was not reset: drew {key} = {value}, the golden has "
                f"{expected[key]}. Nothing was trained. The draw depends on what ran before in this "
                "process (see harness.execution.runtime.reset_random_state)")


def _record(outcome: Outcome, experiment: Experiment, device: Device, mode: str, span: Span) -> Record:
    return Record(
        experiment=experiment.name,
        device=device.name,
        device_kind=device.kind,
        tf_version=tf.__version__,
        columns=outcome.columns,
        scalars=outcome.scalars,
        placement=outcome.placement,
        mode=mode,
        checkpoints=outcome.checkpoints,
        batches=outcome.batches,
        validation=outcome.validation,
        span=span,
    )
