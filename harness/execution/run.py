"""Runs an experiment on one device from a fixed random state, into a record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from harness import modes
from harness.errors import HarnessError
from harness.execution import executor, runtime
from harness.execution.devices import Device
from harness.execution.executor import Asked, Executed
from harness.experiments.declare import Experiment, OneShot, Outcome
from harness.record import Record
from harness.span import Span


@contextlib.contextmanager
def pinned(device: Device) -> Iterator[None]:
    """Deterministic switches on, a fresh random state, every op on ``device``."""
    runtime.configure()
    runtime.reset_random_state()
    with tf.device(device.tf_name):
        yield


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
    program = experiment.program
    mode = modes.reference(experiment) if mode is None else modes.get(mode).name
    try:
        span = program.span(epochs, batches)
    except ValueError as exc:
        raise HarnessError(f"{experiment.name}: {exc} (python -m harness list says what each program is)") from None
    if mode not in modes.of(experiment):
        raise HarnessError(f"{experiment.name} has no training loop: --mode applies to the training "
                           "programs (python -m harness list marks them)")
    if timed and not program.timed:
        raise HarnessError(f"{experiment.name} has no GradientTape loop to time: the benchmarks time "
                           "the loops of chapters 1 and 2")
    program.require_data()  # not here (CIFAR-10 offline): stop before anything is built
    asked = Asked(experiment.name, mode, span, None if epochs is None else min(epochs, program.epochs), batches,
                  expected_initial, timed, lambda: pinned(device))
    executed = executor.of(program)(program, asked)
    outcome = executed.outcome
    timing = None if executed.again is None else Timing(
        executed.seconds, executed.steps, to_record(executed.again, experiment, device, mode, span))
    # TensorFlow falls back to another device silently (soft placement): a run
    # that did not happen where it was asked for must not pass as one that did.
    if experiment.on_device and not outcome.placement.endswith(device.name):
        raise HarnessError(
            f"{experiment.name} was asked to run on {device.name} but TensorFlow placed it on "
            f"{outcome.placement}"
        )
    return to_record(outcome, experiment, device, mode, span), timing


def to_record(outcome: Outcome, experiment: Experiment, device: Device, mode: str, span: Span) -> Record:
    """A run's outcome as the record the judge and the goldens read."""
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


def one_shot(program: OneShot, asked: Asked) -> Executed:
    """A one-shot computation: its function, once."""
    with asked.pinned():
        return Executed(program.fn())
