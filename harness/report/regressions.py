"""Regressions made on purpose, for the proof that a verdict still fails where it must
(harness/report/leaveout.py): each is a real GradientTape program with one thing changed, declared
under a name of its own and held to the original's goldens, which the proof copies under that name
into its scratch golden folder. A verdict that passes one of them would pass a real regression.

Loaded only where ``HARNESS_SECTIONS=harness.report.regressions`` (the proof sets it for the
``check`` processes it starts): the catalogue never holds them otherwise.

- ``<program>__lr_plus_0_1pct``: the learning rate 0.1% larger (the kind of change an edited
  declaration or an optimizer's new default makes);
- ``<program>__one_epoch_fewer``: the loop stops one epoch early (a run shorter than its golden).

TensorFlow-free at import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from harness.experiments.course import c2_4_loss_functions, c2_5_regularization, c2_6_optimizers
from harness.experiments.declare import Experiment
from harness.experiments.note import loss_functions

# The programs some covered kernel class computes otherwise than the base (reports/cpu-kernels.md),
# so that their verdict on a class left out is the envelope's: one of each kind of departure.
TARGETS = ("regularization_free", "iris_adam", "iris_rmsprop", "custom_loss_cost99", "mse_regression")
LR = "__lr_plus_0_1pct"
FEWER = "__one_epoch_fewer"
SUFFIXES = (LR, FEWER)


def _declared() -> dict[str, Experiment]:
    found = {}
    for module in (loss_functions, c2_4_loss_functions, c2_5_regularization, c2_6_optimizers):
        found.update({e.name: e for e in module.EXPERIMENTS})
    return found


def _larger(lr: float | Callable[[int], float]) -> float | Callable[[int], float]:
    if callable(lr):
        return lambda epoch: lr(epoch) * 1.001
    return lr * 1.001


def regressed(original: Experiment) -> tuple[Experiment, ...]:
    """The original with each change, without its printed numbers and claims (they name the original,
    and the goldens alone must catch the change)."""
    training = original.training
    assert training is not None, f"{original.name} is not a GradientTape loop"
    plain = dataclasses.replace(original, printed=(), claims=(), group="", render=None)
    return (dataclasses.replace(plain, name=original.name + LR,
                                training=dataclasses.replace(training, lr=_larger(training.lr))),
            dataclasses.replace(plain, name=original.name + FEWER,
                                training=dataclasses.replace(training, epochs=training.epochs - 1)))


def target_of(name: str) -> str | None:
    """The original program of a regressed one's name (None: not a regressed name)."""
    return next((name.removesuffix(s) for s in SUFFIXES if name.endswith(s)), None)


EXPERIMENTS = tuple(r for name, e in _declared().items() if name in TARGETS for r in regressed(e))
