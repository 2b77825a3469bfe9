"""What a run leaves behind: tables of what the program printed, weights at checkpoints,
and scalars.

Values are plain Python (int, float, str, bool and lists or mappings of them); a
float32 result is kept as the exact float64 value of that float32, so nothing is
rounded on the way to JSON, CSV or YAML. NaN and infinities are results like any other
number: a table that holds them says where (``non_finite``), so that a golden can tell
a NaN the run produced from one typed in by hand.

TensorFlow-free: the golden store, the judges and the reports read records without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from harness.span import WHOLE, Span

# A table: column name -> values, the first column "epoch" (the program's loop index).
Table = dict[str, list[Any]]

# The kinds of device a record comes from; each has goldens of its own (golden/<kind>/).
KINDS = ("cpu", "gpu")
# The tables a record may hold, in the order they are stored and judged.
TABLES = ("columns", "validation", "checkpoints", "batches")
# The scalar that says where a record's tables hold NaN or an infinity.
NON_FINITE = "non_finite"


@dataclass(frozen=True)
class Record:
    experiment: str
    device: str
    device_kind: str
    tf_version: str
    # What a training program prints, at the epochs it prints it (the note's checkpoints,
    # the course's every epoch); empty for a one-shot program.
    columns: Table = field(default_factory=dict)
    scalars: dict[str, Any] = field(default_factory=dict)
    placement: str = ""
    # The execution mode it ran in (harness.modes).
    mode: str = "eager"
    # Weights and optimizer state at checkpoints, where the program does not print them.
    checkpoints: Table = field(default_factory=dict)
    # What a Keras program's fit reports on its validation data, at the epochs it validates.
    validation: Table = field(default_factory=dict)
    # A Keras program's running values within its first epoch, by batch (the "epoch" column
    # holds the batch number): rows a run cut short inside an epoch shares with the golden.
    batches: Table = field(default_factory=dict)
    # How much of the program the run was asked to make (harness.span): what the judge holds it to.
    span: Span = WHOLE

    def tables(self) -> dict[str, Table]:
        """The non-empty tables, by name."""
        return {name: getattr(self, name) for name in TABLES if getattr(self, name)}

    def at(self, epoch: int, column: str, table: str = "columns") -> Any:
        """The value of a column at the row the program labels ``epoch``."""
        rows: Table = getattr(self, table)
        epochs = rows["epoch"]
        if epoch not in epochs:
            raise KeyError(f"{self.experiment}: no {table} row at epoch {epoch}; have {epochs}")
        return rows[column][epochs.index(epoch)]

    def last(self, column: str, table: str = "columns") -> Any:
        return getattr(self, table)[column][-1]

    def restricted(self, span: Span, keep: Callable[[str, int], bool], scalars: dict[str, Any]) -> Record:
        """The part of the record within ``span``: the rows ``keep`` keeps (by table and epoch
        label), with ``scalars``; where NaN is (``NON_FINITE``) is said again of the rows kept."""
        def rows(name: str, table: Table) -> Table:
            kept = [i for i, label in enumerate(table.get("epoch", [])) if keep(name, int(label))]
            return {c: [v[i] for i in kept] for c, v in table.items()} if kept else {}

        tables = {name: rows(name, getattr(self, name)) for name in TABLES}
        scalars = {k: v for k, v in scalars.items() if k != NON_FINITE}
        if found := non_finite_summary({name: table for name, table in tables.items() if table}):
            scalars[NON_FINITE] = found
        return replace(self, scalars=scalars, span=span, columns=tables["columns"], validation=tables["validation"],
                       checkpoints=tables["checkpoints"], batches=tables["batches"])

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "span": self.span.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(**{**data, "span": Span.from_json(data.get("span"))})


def plain(value: Any) -> Any:
    """A tensor, array or NumPy scalar as plain Python, floats kept exact."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value] if value.ndim else plain(value.item())
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def flat(value: Any) -> list[Any]:
    """A nested list (a tensor made plain) in row-major order."""
    if isinstance(value, list):
        return [x for v in value for x in flat(v)]
    return [value]


def flat_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """Column names of a variable flattened row-major: ``w1_0 .. w1_11``; a scalar keeps its name."""
    size = math.prod(shape)
    return [name] if not shape else [f"{name}_{i}" for i in range(size)]


def non_finite_cells(table: Table) -> dict[str, Any] | None:
    """Where a table holds NaN or an infinity: the first epoch, the number of cells, the columns."""
    rows = [(i, name) for name, values in table.items() if name != "epoch"
            for i, v in enumerate(values) if isinstance(v, float) and not math.isfinite(v)]
    if not rows:
        return None
    first = min(i for i, _ in rows)
    columns = [name for name in table if any(name == n for _, n in rows)]
    return {"first_epoch": table["epoch"][first], "cells": len(rows), "columns": columns}


def non_finite_summary(tables: dict[str, Table]) -> dict[str, Any]:
    """``non_finite_cells`` of each table that has any, by table name (empty when none has)."""
    return {name: found for name, table in tables.items()
            if (found := non_finite_cells(table)) is not None}


def iter_values(table: Table) -> Iterator[tuple[str, list[Any]]]:
    """The value columns of a table (every column but ``epoch``)."""
    return ((name, values) for name, values in table.items() if name != "epoch")
