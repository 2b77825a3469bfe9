"""A picture of a run that left its golden: both trajectories, and how far apart they are.

Written when a trajectory fails its golden, so that a reviewer sees at a glance
whether the run drifted from one checkpoint on, wobbled, or went somewhere else.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.judge.compare import Comparison, ulp_distance
from harness.record import Record
from harness.report.charts import pyplot, save

FAILURES = Path(__file__).resolve().parents[2] / "reports" / "failures"
# The columns a failure plot draws at most: the first ones to leave their golden.
PLOTTED = 4


def failure_path(record: Record, folder: Path = FAILURES) -> Path:
    device = record.device.replace(":", "")
    return folder / f"{record.experiment}-{device}-{record.mode}.png"


def explain(record: Record, comparison: Comparison, plots: Path | None = None) -> str:
    """The comparison's explanation, and a plot of the trajectories where there are any."""
    text = comparison.explain()
    if comparison.columns:
        written = trajectory_plot(record, comparison, failure_path(record, plots or FAILURES))
        text += f"\n  plot: {written}"
    return text


def trajectory_plot(record: Record, comparison: Comparison, path: Path) -> Path | str:
    """Writes the plot; returns its path, or why there is none (matplotlib is optional)."""
    try:
        plt = pyplot()
    except ImportError:
        return "no plot: matplotlib is not installed"

    moved = sorted(comparison.columns, key=lambda c: (c.ok, c.first_beyond or 0, -c.max_ulp))[:PLOTTED]
    tolerance = max((c.tolerance for c in comparison.columns), default=0)
    fig, axes = plt.subplots(2, len(moved), figsize=(4.2 * len(moved), 6.5), squeeze=False)
    for i, diff in enumerate(moved):
        ours = record.tables()[diff.table]
        theirs = comparison.golden_tables[diff.table]
        shared = [e for e in ours["epoch"] if e in theirs["epoch"]]
        epochs = np.asarray(shared)
        got = np.asarray([ours[diff.column][ours["epoch"].index(e)] for e in shared], float)
        want = np.asarray([theirs[diff.column][theirs["epoch"].index(e)] for e in shared], float)
        top, bottom = axes[0][i], axes[1][i]
        top.plot(epochs, want, "o-", label="golden", color="tab:gray")
        top.plot(epochs, got, "x--", label="this run", color="tab:red")
        top.set_title(diff.label)
        top.legend()
        distance = ulp_distance(got, want)
        # 0 ULP cannot sit on a log scale: those checkpoints are drawn at 0.5.
        bottom.semilogy(epochs, np.where(distance == 0, 0.5, distance), "s-", color="tab:red")
        if tolerance:
            bottom.axhline(tolerance, color="tab:gray", linestyle=":", label=f"tolerance {tolerance}")
            bottom.legend()
        bottom.set_xlabel("epoch (the program's loop index)")
        bottom.set_ylabel("distance (float32 ULP; 0 drawn at 0.5)")
    fig.suptitle(f"{record.experiment} on {record.device} ({record.mode}) against its golden")
    fig.tight_layout()
    save(fig, path, dpi=90)
    return path
