"""The envelope of the covered kernel classes: what a run may compute on a CPU whose kernels the
goldens do not reproduce bit for bit.

Every covered class was computed on one CPU, most of them by capping its instruction set
(``ONEDNN_MAX_CPU_ISA``). On another CPU model the same class is not always the same arithmetic:
oneDNN blocks its products by the caches it finds, and XLA compiles for the host it runs on.
Measured on an AMD EPYC with AVX2 only, running the AVX2 class that an AVX-512 EPYC wrote by
capping: the stock programs' validation loss 1 to 12 ULP apart at epoch 1, and the iris programs'
XLA modes departing otherwise than declared (iris_adam's fused_xla 449 ULP where the classes span
178 to 275; iris_rmsprop's fused_xla NaN from epoch 372 where they span 365 to 371).

There a verdict that depends on the kernels is judged against what the sweep measured across
every covered class, widened by the one band rule (``band_for``) and never more:

- a table column may move from the class's golden by ``band_for`` of the largest distance between
  any two classes' goldens of that column (at least the experiment's own tolerance);
- a scalar must be some covered class's, exactly;
- a mode departs at an epoch the classes depart at, no farther than ``band_for`` of the farthest
  class, and turns to NaN where every class does, within the classes' window of epochs widened by
  ``band_for`` of its half-width (RMSProp's divergence is chaotic: that it diverges holds on every
  class, the epoch does not).

TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.experiments.declare import Experiment, band_for
from harness.judge.compare import ulp_distance
from harness.record import Record, iter_values
from harness.store import golden

ModeSignature = golden.ModeSignature


def class_records(root: object, experiment: Experiment, kind: str, covered: Sequence[str],
                  mode: str) -> dict[str, Record]:
    """Every covered class's golden of the experiment, as a record (the base's files where a class
    keeps none of its own)."""
    from pathlib import Path

    return {key: golden.load(Path(str(root)), kind, experiment.name, experiment.table_columns(), key)
            .record(experiment.name, kind, mode) for key in covered}


def column_bands(experiment: Experiment, held: Record, classes: Sequence[Record]) -> Callable[[str], int]:
    """Per column: ``band_for`` of the largest distance between the held class's golden and any other
    class's over the rows both hold, at least the experiment's own tolerance."""
    spread: dict[str, float] = {}
    for other in classes:
        for table, rows in held.tables().items():
            theirs = getattr(other, table)
            if not theirs or list(theirs.get("epoch", [])) != list(rows["epoch"]):
                continue
            for column, values in iter_values(rows):
                if column in theirs:
                    d = ulp_distance(np.asarray(values, float), np.asarray(theirs[column], float))
                    finite = d[np.isfinite(d)]
                    spread[column] = max(spread.get(column, 0.0), float(finite.max(initial=0.0)))
    return lambda column: max(experiment.tolerance_for(column), band_for(spread.get(column, 0.0)))


@dataclass(frozen=True)
class ModeEnvelope:
    """What every covered class measured of one mode's departure from its reference run."""

    first_epochs: tuple[int, ...]
    farthest: float
    # Whether some class's run in this mode is identical to its reference run.
    identical_somewhere: bool
    # The epochs of the first NaN where every class turns to NaN (None: some class does not).
    nan_window: tuple[int, int] | None
    any_nan: bool

    def admits(self, measured: ModeSignature) -> bool:
        if measured is None:
            return self.identical_somewhere
        first, largest, nan = measured
        if first not in self.first_epochs:
            return False
        if nan is None:
            return self.nan_window is None and largest <= band_for(self.farthest)
        if not self.any_nan or self.nan_window is None:
            return False
        low, high = self.nan_window
        middle, half = (low + high) / 2, (high - low) / 2
        return abs(nan - middle) <= band_for(half)

    def describe(self) -> str:
        said = (f"departing from epoch {'/'.join(str(e) for e in sorted(set(self.first_epochs)))}, "
                f"at most band_for({self.farthest:.0f}) = {band_for(self.farthest)} ULP")
        if self.nan_window is not None:
            low, high = self.nan_window
            said = (f"departing from epoch {'/'.join(str(e) for e in sorted(set(self.first_epochs)))}, NaN from "
                    f"epochs {low} to {high} on the classes, widened to ±{band_for((high - low) / 2)} epochs")
        return f"the covered classes' envelope: {said}"


def mode_envelope(signatures: Sequence[ModeSignature]) -> ModeEnvelope:
    """The envelope of one mode's departures as the classes measured them (None: identical there)."""
    departed = [s for s in signatures if s is not None]
    nans = [s[2] for s in departed if s[2] is not None]
    finite = [s[1] for s in departed if np.isfinite(s[1])]
    window = (min(nans), max(nans)) if nans and len(nans) == len(signatures) else None
    return ModeEnvelope(tuple(s[0] for s in departed), max(finite, default=0.0), len(departed) < len(signatures),
                        window, bool(nans))
