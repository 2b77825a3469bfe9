"""What a run leaves behind: a record of columns (the trajectory) and scalars.

Values are plain Python (int, float, str, bool and lists of them); a float32
result is stored as the exact float64 value of that float32, so nothing is
rounded on the way to JSON, CSV or YAML.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

# The columns of every training golden, in this order.
TRAINING_COLUMNS = ("epoch", "w1_0", "w1_1", "loss")


@dataclass(frozen=True)
class Outcome:
    """What an experiment returns: its values and where TensorFlow placed them."""

    columns: dict[str, list[Any]]
    scalars: dict[str, Any]
    placement: str


@dataclass(frozen=True)
class Record:
    experiment: str
    device: str
    device_kind: str
    tf_version: str
    columns: dict[str, list[Any]] = field(default_factory=dict)
    scalars: dict[str, Any] = field(default_factory=dict)
    placement: str = ""
    # The execution mode of a training loop (harness.training.MODES).
    mode: str = "eager"

    def at(self, epoch: int, column: str) -> Any:
        """The value of a column at the checkpoint the notes label ``epoch``."""
        epochs = self.columns["epoch"]
        if epoch not in epochs:
            raise KeyError(f"{self.experiment}: no checkpoint at epoch {epoch}; have {epochs}")
        return self.columns[column][epochs.index(epoch)]

    def last(self, column: str) -> Any:
        return self.columns[column][-1]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plain(value: Any) -> Any:
    """A tensor, array or NumPy scalar as plain Python, floats kept exact."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value] if value.ndim else plain(value.item())
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def checkpoint_epochs(epochs: int, every: int) -> list[int]:
    """The epochs a training loop records: every ``every`` epochs and the last one."""
    return sorted(set(range(0, epochs, every)) | {epochs - 1})


class Trajectory:
    """Checkpoints of a training loop: every ``every`` epochs and the last one.

    Epochs are labelled by the notes' loop index, so "after 0 training steps"
    is w1 after the first update, and the loss is the one computed in that step,
    before its update, as the notes' ``loss_mse`` is.
    """

    def __init__(self, w1: Any, epochs: int, every: int) -> None:
        self.marks = checkpoint_epochs(epochs, every)
        self.initial = plain(w1)
        self.placement = w1.device
        self.columns: dict[str, list[Any]] = {name: [] for name in TRAINING_COLUMNS}

    def step(self, epoch: int, w1: Any, loss: Any) -> None:
        if epoch in self.marks:
            (w1_0,), (w1_1,) = plain(w1)
            self._append(epoch, w1_0, w1_1, plain(loss))

    def outcome_from(self, weights: np.ndarray, losses: np.ndarray) -> Outcome:
        """The outcome of a loop that recorded its checkpoints itself (one row of w1 each)."""
        for epoch, (w1_0, w1_1), loss in zip(self.marks, plain(weights), plain(losses), strict=True):
            self._append(epoch, w1_0, w1_1, loss)
        return self.outcome()

    def _append(self, *values: Any) -> None:
        for name, value in zip(TRAINING_COLUMNS, values, strict=True):
            self.columns[name].append(value)

    def outcome(self) -> Outcome:
        (w0,), (w1,) = self.initial
        return Outcome(self.columns, {"w1_initial": [w0, w1]}, self.placement)
