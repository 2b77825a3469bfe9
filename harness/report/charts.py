"""matplotlib without a screen, and a chart written as a PNG, whole or not at all."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from harness.store.files import atomic_write


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, dpi: int = 100) -> Path:
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=dpi)
    pyplot().close(fig)
    atomic_write(path, png.getvalue())
    return path
