"""A picture of a run that left its golden: both trajectories, and how far apart they are.

Written when a trajectory fails its golden, so that a reviewer sees at a glance
whether the run drifted from one checkpoint on, wobbled, or went somewhere else.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from harness.compare import ulp_distance
from harness.files import atomic_write
from harness.record import Record

FAILURES = Path(__file__).resolve().parent.parent / "reports" / "failures"


def failure_path(record: Record, folder: Path = FAILURES) -> Path:
    device = record.device.replace(":", "")
    return folder / f"{record.experiment}-{device}-{record.mode}.png"


def trajectory_plot(record: Record, golden_columns: dict[str, list[Any]], tolerance: int,
                    path: Path) -> Path | str:
    """Writes the plot; returns its path, or why there is none (matplotlib is optional)."""
    try:
        import matplotlib
    except ImportError:
        return "no plot: matplotlib is not installed"
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = record.columns["epoch"]
    names = [n for n in record.columns if n != "epoch"]
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 6.5), squeeze=False)
    for i, name in enumerate(names):
        top, bottom = axes[0][i], axes[1][i]
        top.plot(epochs, golden_columns[name], "o-", label="golden", color="tab:gray")
        top.plot(epochs, record.columns[name], "x--", label="this run", color="tab:red")
        top.set_title(name)
        top.legend()
        distance = ulp_distance(record.columns[name], golden_columns[name])
        # 0 ULP cannot sit on a log scale: those checkpoints are drawn at 0.5.
        bottom.semilogy(epochs, np.where(distance == 0, 0.5, distance), "s-", color="tab:red")
        if tolerance:
            bottom.axhline(tolerance, color="tab:gray", linestyle=":", label=f"tolerance {tolerance}")
            bottom.legend()
        bottom.set_xlabel("epoch (the notes' loop index)")
        bottom.set_ylabel("distance (float32 ULP; 0 drawn at 0.5)")
    fig.suptitle(f"{record.experiment} on {record.device} ({record.mode}) against its golden")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=90)
    plt.close(fig)
    atomic_write(path, png.getvalue())
    return path
