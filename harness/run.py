"""Runs an experiment on one device from a fixed random state, into a record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from harness import runtime
from harness.devices import Device
from harness.errors import HarnessError
from harness.record import Record
from harness.registry import Experiment


@contextlib.contextmanager
def pinned(device: Device) -> Iterator[None]:
    """Deterministic switches on, a fresh random state, every op on ``device``."""
    runtime.configure()
    runtime.reset_random_state()
    with tf.device(device.tf_name):
        yield


def run(experiment: Experiment, device: Device, epochs: int | None = None) -> Record:
    """One run; ``epochs`` shortens a training loop (its checkpoints stay the notes')."""
    kwargs = {}
    if epochs is not None:
        if not experiment.trains:
            raise HarnessError(f"{experiment.name} has no training loop; --epochs does not apply")
        kwargs["epochs"] = epochs
    with pinned(device):
        outcome = experiment.fn(**kwargs)
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
    )
