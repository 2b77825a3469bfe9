"""An independent oracle: the notes' training loops in NumPy, with analytic gradients.

It checks the harness with something other than TensorFlow. Its inputs are the
notes' data (drawn with NumPy, as the notes draw it) and the initial weights as
the CPU golden records them (TensorFlow's seeded draw, taken once); after that no
value comes from TensorFlow. It runs in float32 (the precision of the notes' run)
and in float64 (to see how far float32 rounding carries a run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.record import TRAINING_COLUMNS, checkpoint_epochs

SEED = 23455
SAMPLES = 32
LR = 0.002
EVERY = 500

# Each training experiment of the notes: its loss, and (profit, cost) for the custom one.
LOSSES: dict[str, tuple[str, float, float]] = {
    "mse_regression": ("mse", 0.0, 0.0),
    "custom_loss_cost99": ("custom", 1.0, 99.0),
    "custom_loss_profit99": ("custom", 99.0, 1.0),
}
EPOCHS = {"mse_regression": 15000, "custom_loss_cost99": 10000, "custom_loss_profit99": 10000}


def data(experiment: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y_ as float32, rounded as the notes' TensorFlow code rounds them."""
    rdm = np.random.RandomState(seed=SEED)
    x64 = rdm.rand(SAMPLES, 2)
    x = x64.astype(np.float32)
    kind = LOSSES[experiment][0]
    if kind == "mse":
        # y_ stays float64 in the notes, and becomes float32 in `y_ - y`.
        y_ = np.array([[a + b + (rdm.rand() / 10.0 - 0.05)] for a, b in x64]).astype(np.float32)
    else:
        # Here y_ is built from the float32 x, one float32 operation at a time, left to right.
        f = np.float32
        y_ = np.array([[f(f(f(a + b) + f(rdm.rand() / 10.0)) - f(0.05))] for a, b in x], dtype=f)
    return x, y_


@dataclass
class OracleRun:
    """A trajectory at the notes' checkpoints, and the custom loss's branch at every step."""

    columns: dict[str, list] = field(default_factory=lambda: {c: [] for c in TRAINING_COLUMNS})
    # For the custom loss: per step, which samples took the `y_ > y` (profit) branch.
    branches: list[np.ndarray] = field(default_factory=list)


def train(experiment: str, initial_w1: Sequence[float], dtype: type = np.float32,
          epochs: int | None = None, keep_branches: bool = False) -> OracleRun:
    """The notes' loop: loss, analytic gradient, ``w1 -= lr * grads``, in ``dtype``."""
    kind, profit, cost = LOSSES[experiment]
    epochs = EPOCHS[experiment] if epochs is None else epochs
    x32, y32 = data(experiment)
    x, y_ = x32.astype(dtype), y32.astype(dtype)
    w1 = np.asarray(initial_w1, dtype=dtype).reshape(2, 1)
    lr = dtype(LR)
    n = dtype(SAMPLES)
    marks = set(checkpoint_epochs(epochs, EVERY))
    run = OracleRun()
    for epoch in range(epochs):
        y = x @ w1
        if kind == "mse":
            diff = y_ - y
            loss = np.mean(np.square(diff), dtype=dtype)
            # d/dy mean((y_ - y)^2) = -2 (y_ - y) / n
            dy = dtype(-2) * diff / n
        else:
            profit_branch = y_ > y
            loss = np.sum(np.where(profit_branch, (y_ - y) * dtype(profit), (y - y_) * dtype(cost)),
                          dtype=dtype)
            dy = np.where(profit_branch, dtype(-profit), dtype(cost))
            if keep_branches:
                run.branches.append(profit_branch.ravel().copy())
        grads = x.T @ dy
        w1 = w1 - lr * grads
        if epoch in marks:
            for name, value in zip(TRAINING_COLUMNS, (epoch, w1[0, 0], w1[1, 0], loss), strict=True):
                run.columns[name].append(value.item() if hasattr(value, "item") else value)
    return run


@dataclass(frozen=True)
class BranchFlips:
    """Steps at which some sample took the other ``tf.where`` branch in the two runs."""

    steps: int
    first: int | None


def branch_flips(a: OracleRun, b: OracleRun) -> BranchFlips:
    flips = [i for i, (x, y) in enumerate(zip(a.branches, b.branches, strict=True))
             if not np.array_equal(x, y)]
    return BranchFlips(len(flips), flips[0] if flips else None)


def summation_bound(terms: int) -> float:
    """Relative distance two orders of summing ``terms`` non-negative float32 values may
    reach: each lies within gamma_(n-1) = (n-1)u / (1-(n-1)u) of the exact sum (Higham,
    Accuracy and Stability of Numerical Algorithms, 4.2), so two lie within twice that."""
    u = 2.0 ** -24
    k = terms - 1
    return 2 * k * u / (1 - k * u)
