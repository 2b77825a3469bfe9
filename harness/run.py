"""Runs an experiment on one device from a fixed random state, into a record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from harness import runtime
from harness.devices import Device
from harness.errors import HarnessError
from harness.record import Record
from harness.registry import Experiment, training_experiments
from harness.training import REFERENCE_MODE, Loop, check_mode


@contextlib.contextmanager
def pinned(device: Device) -> Iterator[None]:
    """Deterministic switches on, a fresh random state, every op on ``device``."""
    runtime.configure()
    runtime.reset_random_state()
    with tf.device(device.tf_name):
        yield


def run(experiment: Experiment, device: Device, epochs: int | None = None,
        mode: str = REFERENCE_MODE) -> Record:
    """One run; ``epochs`` shortens a training loop (its checkpoints stay the notes')."""
    check_mode(mode)
    if not experiment.trains and (epochs is not None or mode != REFERENCE_MODE):
        raise HarnessError(f"{experiment.name} has no training loop; "
                           f"--epochs and --mode apply to "
                           f"{', '.join(e.name for e in training_experiments())}")
    with pinned(device):
        outcome = Loop(experiment.training, mode, epochs)() if experiment.trains else experiment.fn()
    # TensorFlow falls back to another device silently (soft placement): a run
    # that did not happen where it was asked for must not pass as one that did.
    if not outcome.placement.endswith(device.name):
        raise HarnessError(
            f"{experiment.name} was asked to run on {device.name} but TensorFlow placed it on "
            f"{outcome.placement}"
        )
    return Record(
        experiment=experiment.name,
        device=device.name,
        device_kind=device.kind,
        tf_version=tf.__version__,
        columns=outcome.columns,
        scalars=outcome.scalars,
        placement=outcome.placement,
        mode=mode,
    )
