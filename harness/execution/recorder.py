"""Rows of a training run into the tables of its record.

Every execution mode hands over the same raw values after a recorded epoch; the
columns come from the experiment's declaration (what the program prints, and the
weights and state at its checkpoints), never from a fixed list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.experiments.training import (
    Column,
    LearningRate,
    MeanBatchLoss,
    StepLoss,
    TestAccuracy,
    Training,
    Weights,
)
from harness.record import Table, flat, plain


@dataclass(frozen=True)
class Row:
    """The raw values after one recorded epoch (the program's loop index)."""

    epoch: int
    variables: dict[str, Any]
    state: dict[str, Any]
    loss: Any
    # The epoch's batch losses summed as the program sums them (``loss_all``).
    loss_all: Any
    # (total_correct, total_number) over the test batches, for a program that tests.
    test: tuple[int, int] | None


class Recorder:
    def __init__(self, training: Training, epochs: int, batch_count: int) -> None:
        self.training = training
        self.batch_count = batch_count
        self.print_rows = set(training.print_epochs(epochs))
        self.checkpoint_rows = set(training.checkpoint_epochs(epochs))
        self.columns: Table = {name: [] for name in training.column_names()}
        self.checkpoints: Table = {name: [] for name in training.checkpoint_names()}

    def _values(self, column: Column, row: Row) -> list[Any]:
        if isinstance(column, Weights):
            return flat(row.variables[column.variable])
        if isinstance(column, StepLoss):
            return [plain(row.loss)]
        if isinstance(column, MeanBatchLoss):
            # loss_all / 4 in the program: the sum keeps the type the program's += gave it.
            return [plain(row.loss_all / self.batch_count)]
        if isinstance(column, LearningRate):
            return [self.training.lr_at(row.epoch)]
        if isinstance(column, TestAccuracy):
            assert row.test is not None
            total_correct, total_number = row.test
            return [total_correct / total_number]
        raise TypeError(f"not a column of a training record: {column!r}")

    def add(self, row: Row) -> None:
        if row.epoch in self.print_rows:
            values = [row.epoch] + [v for column in self.training.prints for v in self._values(column, row)]
            for name, value in zip(self.columns, values, strict=True):
                self.columns[name].append(value)
        if row.epoch in self.checkpoint_rows:
            values = [row.epoch]
            values += [v for name in self.training.variables for v in flat(row.variables[name])]
            values += [v for name in self.training.update.state_names() for v in flat(row.state[name])]
            for name, value in zip(self.checkpoints, values, strict=True):
                self.checkpoints[name].append(value)
