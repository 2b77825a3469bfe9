"""Compares a record with its golden: table columns within a tolerance in float32 ULPs,
scalars exactly, and says where and by how much a run left its golden.

Rows are matched by the program's epoch label: a run must have exactly the golden's tables
and rows (a part of a run is compared with the same part of its golden, as the judge cuts
both: ``harness.judge.verdict``). A NaN the run
produced equals a NaN in the same place of the golden; where one side has NaN and the
other a number, the distance is infinite, and the first epoch where either side is not
finite is named.

TensorFlow-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.record import NON_FINITE, Record, Table
from harness.span import WHOLE

Status = Literal["identical", "within", "fail"]
# How many moved columns an explanation lists before it summarises the rest.
EXPLAINED = 6


def ulp_distance(a: Any, b: Any, dtype: type = np.float32) -> np.ndarray:
    """How many values of ``dtype`` lie between a and b (0 when they round to the same one).

    Both are rounded to ``dtype`` first. The bit patterns are mapped onto one ordered
    integer line, so the distance is counted across zero too (+0 and -0 are 0 apart).
    NaN is 0 from NaN and infinitely far from everything else.
    """
    bits, mask = (np.int32, 0x7FFFFFFF) if dtype == np.float32 else (np.int64, 0x7FFFFFFFFFFFFFFF)
    x: np.ndarray = np.asarray(a, dtype=dtype)
    y: np.ndarray = np.asarray(b, dtype=dtype)

    def ordered(v: np.ndarray) -> np.ndarray:
        raw = v.view(bits).astype(object if dtype != np.float32 else np.int64)
        return np.where(raw < 0, -(raw & mask), raw)

    with np.errstate(invalid="ignore"):
        dist = np.abs(ordered(x) - ordered(y)).astype(np.float64)
    both = np.isnan(x) & np.isnan(y)
    one = np.isnan(x) ^ np.isnan(y)
    return np.where(both, 0.0, np.where(one, np.inf, dist))


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN: a NaN the run produced is a result like any other."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass(frozen=True)
class ColumnDiff:
    """How one column of a run stands against its golden."""

    column: str
    max_abs: float
    max_rel: float
    max_ulp: float
    tolerance: int
    first_beyond: int | None  # the epoch label of the first row beyond tolerance
    first_beyond_ulp: float = 0.0
    table: str = "columns"
    # The first epoch at which the run, and the golden, hold NaN or an infinity.
    first_non_finite: tuple[int | None, int | None] = (None, None)

    @property
    def ok(self) -> bool:
        return self.first_beyond is None

    @property
    def label(self) -> str:
        return self.column if self.table == "columns" else f"{self.table}.{self.column}"

    def describe(self) -> str:
        where = "" if self.ok else (
            f"first beyond tolerance at epoch {self.first_beyond} "
            f"({self.first_beyond_ulp:.0f} ULP); "
        )
        run, gold = self.first_non_finite
        nan = "" if run == gold else (
            f"; NaN/inf from epoch {run if run is not None else '(never)'} in the run, "
            f"{gold if gold is not None else '(never)'} in the golden")
        return (
            f"{self.label}: {where}max {self.max_ulp:.0f} ULP (tolerance {self.tolerance}), "
            f"max abs diff {self.max_abs:.3g}, max rel diff {self.max_rel:.3g}{nan}"
        )


@dataclass(frozen=True)
class Comparison:
    experiment: str
    device: str
    columns: list[ColumnDiff] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # structure: tables, columns, rows, scalar names
    # Scalars whose values differ (a grid summary, the first NaN epoch): results of the run.
    scalar_changes: list[str] = field(default_factory=list)
    # The golden tables the run was compared with (for plots of a failure).
    golden_tables: dict[str, Table] = field(default_factory=dict)
    # What a run asked to make the whole program lacks of it (its last epochs, a table, the code
    # after training, the weights' hashes), each in one sentence: such a run cannot be judged.
    lacking: list[str] = field(default_factory=list)
    # Judged by the envelope of the covered kernel classes (harness.judge.envelope), not bit for bit
    # against one class's golden: this CPU computes none of them exactly.
    portable: bool = False
    # How many rows were compared, and the part of the program the run was asked to make.
    rows: int = 0
    span: str = "the whole program"

    @property
    def status(self) -> Status:
        if self.lacking or self.problems or self.scalar_changes or not all(c.ok for c in self.columns):
            return "fail"
        return "identical" if all(c.max_ulp == 0 for c in self.columns) else "within"

    @property
    def first_failure(self) -> ColumnDiff | None:
        """The first column beyond its tolerance, if any."""
        return next((c for c in self.columns if not c.ok), None)

    @property
    def max_ulp(self) -> float:
        return max((c.max_ulp for c in self.columns), default=0.0)

    @property
    def golden_columns(self) -> Table:
        return self.golden_tables.get("columns", {})

    def explain(self) -> str:
        head = f"{self.experiment} on {self.device}: {self.status}" + (
            " (judged by the envelope of the covered kernel classes)" if self.portable else "")
        if self.span != str(WHOLE):
            head += f" ({self.span}, held to its golden's rows there: {self.rows} compared)"
        moved = [c for c in self.columns if not c.ok or c.max_ulp]
        # The first columns to leave, then the farthest: a reader needs where it starts and how
        # far it goes, not one line for each of 46 columns.
        shown = sorted(moved, key=lambda c: (c.first_beyond is None, c.first_beyond or 0, -c.max_ulp))
        lines = [f"  {c.describe()}" for c in shown[:EXPLAINED]]
        if len(moved) > EXPLAINED:
            worst = max(moved, key=lambda c: c.max_ulp)
            lines.append(f"  ... and {len(moved) - EXPLAINED} more columns moved (the farthest: "
                         f"{worst.label}, {worst.max_ulp:.0f} ULP)")
        lines = [f"  {p}" for p in self.lacking] + lines + [f"  {p}" for p in [*self.problems, *self.scalar_changes]]
        if self.portable and any(not c.ok and c.tolerance == 0 for c in self.columns):
            lines.append("  the covered classes compute the columns beyond a tolerance of 0 bit for bit alike: no "
                         "measurement says how far the kernels move them (cover this class: python -m harness "
                         "regen --add-kernel-class; on x86, run the nearest covered class)")
        return "\n".join([head, *lines])


def compare(record: Record, golden_tables: dict[str, Table], golden_scalars: dict[str, Any],
            tolerance: int | Callable[[str], int]) -> Comparison:
    """``tolerance``: ULPs for every column, or a column's ULPs by its name. The record and the
    golden must hold the same tables with the same rows (a part of a run is compared with the same
    part of its golden: ``harness.judge.verdict.against`` cuts both)."""
    band = tolerance if callable(tolerance) else (lambda column: tolerance)
    problems: list[str] = []
    diffs: list[ColumnDiff] = []
    compared = 0
    tables = record.tables()
    if list(golden_tables) != list(tables):
        problems.append(f"tables differ: golden has {list(golden_tables)}, run has {list(tables)}")
    for name in [t for t in tables if t in golden_tables]:
        got, want = tables[name], golden_tables[name]
        if list(want) != list(got):
            problems.append(f"{name}: columns differ: golden has {list(want)}, run has {list(got)}")
            continue
        if list(got["epoch"]) != list(want["epoch"]):
            missing = [e for e in want["epoch"] if e not in set(got["epoch"])]
            extra = [e for e in got["epoch"] if e not in set(want["epoch"])]
            problems.append(f"{name}: rows differ: golden has epochs {_span(want['epoch'])}, run has "
                            f"{_span(got['epoch'])}" + (f"; the golden's {_few(missing)} are not in the run" if missing
                                                        else "") + (f"; the run's {_few(extra)} are not in the golden"
                                                                    if extra else ""))
            continue
        compared += len(want["epoch"])
        labels = list(got["epoch"])
        for column in got:
            if column == "epoch":
                continue
            diffs.append(_column_diff(name, column, np.asarray(got[column], float), np.asarray(want[column], float),
                                      labels, band(column)))
    changes: list[str] = []
    for name in sorted(set(golden_scalars) | set(record.scalars)):
        if name not in record.scalars:
            # The first NaN epoch is there only when the run produced a NaN.
            (changes if name == NON_FINITE else problems).append(
                f"scalar {name!r} is in the golden but not in the run")
        elif name not in golden_scalars:
            (changes if name == NON_FINITE else problems).append(
                f"scalar {name!r} is in the run but not in the golden")
        elif not same(golden_scalars[name], record.scalars[name]):
            changes.append(f"scalar {name!r}: golden {_short(golden_scalars[name])}, "
                           f"run {_short(record.scalars[name])}")
    return Comparison(record.experiment, record.device, diffs, problems, changes,
                      golden_tables=golden_tables, rows=compared, span=str(record.span))


def _few(epochs: Sequence[int]) -> str:
    return f"epochs {list(epochs)}" if len(epochs) <= 5 else f"{len(epochs)} epochs from {epochs[0]}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 160 else text[:150] + " ... (" + str(len(text)) + " characters)"


def _span(epochs: Sequence[int]) -> str:
    return str(list(epochs)) if len(epochs) <= 8 else f"{len(epochs)} rows {epochs[0]}..{epochs[-1]}"


def _first_non_finite(values: np.ndarray, labels: list[int]) -> int | None:
    bad = np.flatnonzero(~np.isfinite(values))
    return int(labels[bad[0]]) if bad.size else None


def _column_diff(table: str, name: str, got: np.ndarray, want: np.ndarray, labels: list[int],
                 tolerance: int) -> ColumnDiff:
    ulps = ulp_distance(got, want)
    with np.errstate(invalid="ignore", divide="ignore"):
        abs_diff = np.abs(got - want)
        abs_diff = np.where(np.isnan(got) & np.isnan(want), 0.0, abs_diff)
        abs_diff = np.where(np.isnan(abs_diff), np.inf, abs_diff)
        rel = np.where(abs_diff == 0, 0.0, abs_diff / np.abs(want))
    beyond = np.flatnonzero(ulps > tolerance)
    first = int(beyond[0]) if beyond.size else None
    return ColumnDiff(
        column=name,
        max_abs=float(abs_diff.max(initial=0.0)),
        max_rel=float(np.nan_to_num(rel, nan=np.inf).max(initial=0.0)),
        max_ulp=float(ulps.max(initial=0.0)),
        tolerance=tolerance,
        first_beyond=None if first is None else int(labels[first]),
        first_beyond_ulp=0.0 if first is None else float(ulps[first]),
        table=table,
        first_non_finite=(_first_non_finite(got, labels), _first_non_finite(want, labels)),
    )
