"""A run against its golden and the notes: the engine under both the pytest plugin
and ``python -m harness check``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import golden, ledger
from harness.compare import Comparison, compare
from harness.errors import GoldenError, GoldenMissing
from harness.record import TRAINING_COLUMNS, Record
from harness.registry import EXACT, Experiment


def load(root: Path, experiment: Experiment, kind: str) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """The golden columns and scalars of an experiment; GoldenError when missing or damaged."""
    target = golden.paths(root, kind, experiment.name)
    needed = [target.columns, target.scalars] if experiment.trains else [target.scalars]
    for path in needed:
        if not path.exists():
            raise GoldenMissing(path)
    columns = golden.read_columns(target.columns, list(TRAINING_COLUMNS)) if experiment.trains else {}
    return columns, golden.read_scalars(target.scalars)


def verify(root: Path, experiment: Experiment, record: Record) -> Comparison:
    columns, scalars = load(root, experiment, record.device_kind)
    return compare(record, columns, scalars, experiment.tolerance)


def explain_failure(experiment: Experiment, record: Record, comparison: Comparison,
                    plots: Path | None = None) -> str:
    """The comparison's explanation, and a plot of the trajectories where there are any."""
    text = comparison.explain()
    if experiment.trains and comparison.columns:
        from harness import plot

        written = plot.trajectory_plot(record, comparison.golden_columns, experiment.tolerance.ulps,
                                       plot.failure_path(record, plots or plot.FAILURES))
        text += f"\n  plot: {written}"
    return text


def agreement(root: Path, experiment: Experiment, record: Record) -> Comparison:
    """A run in another execution mode against the eager golden, bit for bit."""
    columns, scalars = load(root, experiment, record.device_kind)
    return compare(record, columns, scalars, EXACT)


@dataclass(frozen=True)
class Result:
    """Everything known about one experiment on one device."""

    record: Record
    comparison: Comparison | None = None
    error: GoldenError | None = None
    printed: list[ledger.PrintedCheck] = field(default_factory=list)
    claims: list[ledger.ClaimCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.comparison is not None
            and self.comparison.status != "fail"
            and all(p.ok for p in self.printed)
            and all(c.holds for c in self.claims)
        )


def check(root: Path, experiment: Experiment, record: Record) -> Result:
    try:
        comparison, error = verify(root, experiment, record), None
    except GoldenError as exc:
        comparison, error = None, exc
    return Result(record, comparison, error,
                  ledger.printed_checks(experiment, record), ledger.claim_checks(experiment, record))
