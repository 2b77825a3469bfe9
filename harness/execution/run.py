"""Runs an experiment on one device from a fixed random state, into a record."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from harness.errors import HarnessError
from harness.execution import modes, runtime
from harness.execution.devices import Device
from harness.experiments.declare import Experiment
from harness.record import Record


@contextlib.contextmanager
def pinned(device: Device) -> Iterator[None]:
    """Deterministic switches on, a fresh random state, every op on ``device``."""
    runtime.configure()
    runtime.reset_random_state()
    with tf.device(device.tf_name):
        yield


def run(experiment: Experiment, device: Device, epochs: int | None = None,
        mode: str = modes.REFERENCE) -> Record:
    """One run; ``epochs`` shortens a training loop (its printed rows stay the program's; a
    count beyond the program's own runs the whole program)."""
    from harness.execution.loops import Loop

    modes.get(mode)
    if not experiment.trains and (epochs is not None or mode != modes.REFERENCE):
        raise HarnessError(f"{experiment.name} has no training loop: --epochs and --mode apply "
                           "to the training experiments (python -m harness list marks them)")
    if experiment.training is not None and epochs is not None:
        epochs = min(epochs, experiment.training.epochs)
    with pinned(device):
        if experiment.training is None:
            outcome = experiment.fn()
        else:
            loop = Loop(experiment.training, mode, epochs)
            outcome = loop()
            if experiment.training.after is not None and mode == modes.REFERENCE:
                # What the program computes from its trained weights, as it writes it (eager).
                found = experiment.training.after(loop.setup)
                if tuple(found) != experiment.training.after_scalars:
                    raise HarnessError(f"{experiment.name}: its after-loop code gave {list(found)}, its "
                                       f"declaration names {list(experiment.training.after_scalars)}")
                outcome.scalars.update(found)
    # TensorFlow falls back to another device silently (soft placement): a run
    # that did not happen where it was asked for must not pass as one that did.
    if experiment.on_device and not outcome.placement.endswith(device.name):
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
        checkpoints=outcome.checkpoints,
    )
