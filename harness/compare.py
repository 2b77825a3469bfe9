"""Compares a record with its golden: columns within a tolerance in float32 ULPs,
scalars exactly, and says where and by how much a run left its golden."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.record import Record
from harness.registry import Tolerance

Status = Literal["identical", "within", "fail"]


def ulp_distance(a: Any, b: Any) -> np.ndarray:
    """How many float32 values lie between a and b (0 when they are the same float32).

    Both are rounded to float32 first. The bit patterns are mapped onto one
    ordered integer line, so the distance is counted across zero too
    (+0 and -0 are 0 apart). NaN is infinitely far from everything.
    """
    a32 = np.asarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)

    def ordered(x: np.ndarray) -> np.ndarray:
        bits = x.view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)

    dist = np.abs(ordered(a32) - ordered(b32)).astype(np.float64)
    return np.where(np.isnan(a32) | np.isnan(b32), np.inf, dist)


@dataclass(frozen=True)
class ColumnDiff:
    """How one column of a run stands against its golden."""

    column: str
    max_abs: float
    max_rel: float
    max_ulp: float
    tolerance: int
    first_beyond: int | None  # the notes' epoch label of the first checkpoint beyond tolerance
    first_beyond_ulp: float = 0.0

    @property
    def ok(self) -> bool:
        return self.first_beyond is None

    def describe(self) -> str:
        where = "" if self.ok else (
            f"first beyond tolerance at epoch {self.first_beyond} "
            f"({self.first_beyond_ulp:.0f} ULP); "
        )
        return (
            f"{self.column}: {where}max {self.max_ulp:.0f} ULP (tolerance {self.tolerance}), "
            f"max abs diff {self.max_abs:.3g}, max rel diff {self.max_rel:.3g}"
        )


@dataclass(frozen=True)
class Comparison:
    experiment: str
    device: str
    columns: list[ColumnDiff] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # structure and scalar mismatches
    # The golden trajectory the run was compared with (for plots of a failure).
    golden_columns: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        if self.problems or not all(c.ok for c in self.columns):
            return "fail"
        return "identical" if all(c.max_ulp == 0 for c in self.columns) else "within"

    @property
    def first_failure(self) -> ColumnDiff | None:
        """The first column beyond its tolerance, if any."""
        return next((c for c in self.columns if not c.ok), None)

    @property
    def max_ulp(self) -> float:
        return max((c.max_ulp for c in self.columns), default=0.0)

    def explain(self) -> str:
        head = f"{self.experiment} on {self.device}: {self.status}"
        lines = [f"  {c.describe()}" for c in self.columns if not c.ok or c.max_ulp]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join([head, *lines])


def compare(record: Record, golden_columns: dict[str, list[Any]], golden_scalars: dict[str, Any],
            tolerance: Tolerance) -> Comparison:
    problems: list[str] = []
    diffs: list[ColumnDiff] = []
    if list(golden_columns) != list(record.columns):
        problems.append(f"columns differ: golden has {list(golden_columns)}, run has {list(record.columns)}")
    elif golden_columns and golden_columns.get("epoch") != record.columns.get("epoch"):
        problems.append(
            f"checkpoints differ: golden has epochs {golden_columns.get('epoch')}, "
            f"run has {record.columns.get('epoch')}"
        )
    else:
        labels = record.columns.get("epoch", [])
        for name, got in record.columns.items():
            if name == "epoch":
                continue
            diffs.append(_column_diff(name, np.asarray(got), np.asarray(golden_columns[name]),
                                      labels, tolerance.ulps))
    for name in sorted(set(golden_scalars) | set(record.scalars)):
        if name not in record.scalars:
            problems.append(f"scalar {name!r} is in the golden but not in the run")
        elif name not in golden_scalars:
            problems.append(f"scalar {name!r} is in the run but not in the golden")
        elif golden_scalars[name] != record.scalars[name]:
            problems.append(
                f"scalar {name!r}: golden {golden_scalars[name]!r}, run {record.scalars[name]!r}"
            )
    return Comparison(record.experiment, record.device, diffs, problems, golden_columns)


def _column_diff(name: str, got: np.ndarray, want: np.ndarray, labels: list[int],
                 tolerance: int) -> ColumnDiff:
    ulps = ulp_distance(got, want)
    abs_diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(abs_diff == 0, 0.0, abs_diff / np.abs(want.astype(np.float64)))
    beyond = np.flatnonzero(ulps > tolerance)
    first = int(beyond[0]) if beyond.size else None
    return ColumnDiff(
        column=name,
        max_abs=float(np.nanmax(abs_diff, initial=0.0)) if abs_diff.size else 0.0,
        max_rel=float(np.nanmax(rel, initial=0.0)) if rel.size else 0.0,
        max_ulp=float(ulps.max(initial=0.0)),
        tolerance=tolerance,
        first_beyond=None if first is None else int(labels[first]),
        first_beyond_ulp=0.0 if first is None else float(ulps[first]),
    )
