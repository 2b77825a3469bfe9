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
  any two classes' goldens of that column, or of the farthest a class moved it on another CPU model
  where one measured it (``python -m harness regen --cpu-spread``: harness.store.spread), never less
  than the median band of the columns of its table some class moves (at least the experiment's own
  tolerance);
- a scalar must be some covered class's, exactly; a number computed from the float results (a grid's
  mean, a list of predictions) may instead move from the class's golden by ``band_for`` of the
  classes' largest spread of it, or as far as its program's columns may (float32 ULPs); a digest of
  the weights is judged by the columns it stands behind;
- a run in another execution mode is held to the reference golden by the same rules, each column
  widened to ``band_for`` of the farthest the classes' runs in that mode depart from their reference
  (its own kernels move it as the class's do, and the mode moves it as the classes' modes do);
- a run turns to NaN where every class does, within the classes' window of epochs (in every mode)
  widened by ``band_for`` of its half-width (RMSProp's divergence is chaotic: that it diverges holds on
  every class, the epoch does not).

TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.experiments.declare import Experiment, band_for
from harness.experiments.keras import WEIGHTS_SHA256
from harness.judge.compare import same, ulp_distance
from harness.record import Record, Table, iter_values
from harness.store import golden

ModeSignature = golden.ModeSignature


def class_records(root: Path, experiment: Experiment, kind: str, covered: Sequence[str],
                  mode: str = "eager") -> dict[str, Record]:
    """Every covered class's golden of the experiment, as a record (the base's files where a class
    keeps none of its own)."""
    return {key: golden.load(root, kind, experiment.name, experiment.table_columns(), key)
            .record(experiment.name, kind, mode) for key in covered}


def distances(ours: Record, theirs: Record) -> dict[str, dict[str, float]]:
    """Per table and column, the largest distance in float32 ULPs between two records of one program
    over the rows both hold where both are finite (a table whose rows differ is left out: a divergence
    is judged by ``admit_divergence``)."""
    found: dict[str, dict[str, float]] = {}
    for table, rows in ours.tables().items():
        other = getattr(theirs, table)
        if not other or list(other.get("epoch", [])) != list(rows["epoch"]):
            continue
        for column, values in iter_values(rows):
            if column in other:
                d = ulp_distance(np.asarray(values, float), np.asarray(other[column], float))
                found.setdefault(table, {})[column] = float(d[np.isfinite(d)].max(initial=0.0))
    return found


def column_bands(experiment: Experiment, held: Record, classes: Sequence[Record],
                 elsewhere: Mapping[str, float] | None = None) -> Callable[[str], int]:
    """Per column: ``band_for`` of the largest distance between the held class's golden and any other
    class's over the rows both hold, or of the farthest a class moved it on another CPU model
    (``elsewhere``, harness.store.spread), and no narrower than the median band of the columns of its
    table that some class moves (at least the experiment's own tolerance). A column on which a few classes
    happen to agree has not shown that the kernels cannot move it: leaving AVX2 out,
    rnn_onehot_1pre1's ``dense_kernel_4`` is the same bits on every other class at batch 10, and 2 ULP
    away under AVX2. The median, not the widest: a column near zero (iris_sgdm's momentum ``m_w_5``,
    32,768 ULP) must not widen the columns of ordinary size. A table no class moves has no envelope
    (``mnist_train_ex2``'s first 200 batches: every class but AVX2 computes them alike)."""
    spread: dict[str, float] = {}
    tables: dict[str, set[str]] = {}
    for other in classes:
        for table, moved in distances(held, other).items():
            for column, d in moved.items():
                spread[column] = max(spread.get(column, 0.0), d)
                tables.setdefault(table, set()).add(column)
    for column, d in (elsewhere or {}).items():
        spread[column] = max(spread.get(column, 0.0), d)
    floor: dict[str, int] = {}
    for columns in tables.values():
        bands = sorted(b for c in columns if (b := band_for(spread[c])))
        median = bands[(len(bands) - 1) // 2] if bands else 0  # the lower median: one of the bands
        for column in columns:
            floor[column] = max(floor.get(column, 0), median)
    return lambda column: max(experiment.tolerance_for(column), band_for(spread.get(column, 0.0)),
                              floor.get(column, 0))


def _floats(value: object) -> np.ndarray | None:
    """A scalar's numbers as float64 (a float, or a list of them), None for anything else."""
    if isinstance(value, float) or (isinstance(value, list) and value and all(isinstance(v, float) for v in value)):
        return np.asarray(value, dtype=np.float64)
    return None


def scalar_admitted(name: str, run: object, held: object, classes: Sequence[object], moved: int = 0) -> bool:
    """A scalar of a run on an uncovered class: some covered class's value exactly; or, for a number
    the program computes from its float results (a grid's mean, a list of predictions), no farther
    from the held class's, in float32 ULPs (the precision of what it is computed from), than
    ``band_for`` of the largest distance between the classes' values, or than ``moved``: the widest
    band its program's columns may move by, since it is computed from them. Measured by leaving AVX2
    out (``python -m harness.report.leaveout regularization_l2 --classes avx2``): regularization_l2's
    'grid min' is 7 ULP from the base's where the other classes span 2, and its columns' band is 256.
    A digest (``weights_sha256``) is one class's bits: the envelope judges the weights by the columns
    it stands behind, and takes the run's. Anything else (a count, a string) only exactly."""
    if any(same(run, value) for value in classes):
        return True
    if name == WEIGHTS_SHA256:
        return isinstance(run, dict) and isinstance(held, dict) and set(run) == set(held)
    ours, base = _floats(run), _floats(held)
    values = [v for v in (_floats(c) for c in classes) if v is not None and base is not None and v.shape == base.shape]
    if ours is None or base is None or ours.shape != base.shape or not values:
        return False
    spread = max(float(ulp_distance(a, b).max(initial=0.0)) for a in values for b in values)
    return bool(ulp_distance(ours, base).max(initial=0.0) <= max(band_for(spread), moved))


def nan_admitted(first_nan: int, window: tuple[int, int]) -> bool:
    """A chaotic run's first NaN, against the epochs every class turns to NaN at: within their window
    widened by ``band_for`` of its half-width (365 to 371: 368 +- 8)."""
    low, high = window
    return abs(first_nan - (low + high) / 2) <= band_for((high - low) / 2)


def _first_non_finite(values: Sequence[object]) -> int | None:
    found = ~np.isfinite(np.asarray(values, dtype=float))
    return int(np.argmax(found)) if found.any() else None


def admit_divergence(ours: dict[str, Table], held: dict[str, Table], classes: Sequence[dict[str, Table]],
                     elsewhere: Sequence[int] = ()) -> dict[str, Table]:
    """The held class's tables, where a column turns to NaN on some classes (RMSProp's divergence, a
    property of the kernels: the classes turn to NaN at different epochs, one not at all), with that
    column from the first NaN on taken from the run when the run turns to NaN within the diverging
    classes' window widened by the band rule (``nan_admitted``) and stays NaN: what the classes show
    is that it diverges there, not one class's epoch. ``elsewhere``: the epochs of the first NaN the
    classes measured in the other execution modes (the same program, rounded otherwise), which widen the
    window: leaving AVX2 out, RMSProp's eager loss turns to NaN at epoch 368 where the other classes'
    eager runs do at 370 and 371, and their modes from 365 to 371. Every other row and column is
    compared as it is (by the column bands)."""
    admitted = {name: dict(table) for name, table in held.items()}
    for name, table in held.items():
        mine = ours.get(name)
        theirs = [c[name] for c in classes if name in c and list(c[name].get("epoch", [])) == list(table["epoch"])]
        if not mine or list(mine.get("epoch", [])) != list(table["epoch"]) or not theirs:
            continue
        epochs = list(table["epoch"])
        for column in table:
            if column == "epoch" or column not in mine:
                continue
            # The rows at which the classes that diverge turn to NaN (RMSProp with oneDNN's options off
            # does not diverge at all on the goldens' CPU: its class is compared as it is).
            onsets = [o for t in theirs if column in t and (o := _first_non_finite(t[column])) is not None]
            if not onsets:
                continue
            at = _first_non_finite(mine[column])
            if at is None:
                # It does not diverge: as a class that does not (if any) is its reference for this column.
                steady = next((t[column] for t in theirs if column in t and _first_non_finite(t[column]) is None), None)
                if steady is not None:
                    admitted[name][column] = list(steady)
                continue
            if not np.all(~np.isfinite(np.asarray(mine[column][at:], dtype=float))):
                continue
            measured = [int(epochs[o]) for o in onsets] + [int(e) for e in elsewhere]
            window = (min(measured), max(measured))
            if nan_admitted(int(epochs[at]), window):
                start = min(min(onsets), at)
                admitted[name][column] = [*table[column][:start], *mine[column][start:]]
    return admitted


@dataclass(frozen=True)
class ModeEnvelope:
    """What every covered class measured of one mode's departure from its reference run: on an
    uncovered class a run in that mode may move from the reference golden as far as the reference's
    envelope, or as far as that departure (``band_for`` of the farthest), whichever is wider."""

    first_epochs: tuple[int, ...]
    farthest: float
    # The epochs of the first NaN where every class turns to NaN (None: some class does not).
    nan_window: tuple[int, int] | None

    @property
    def band(self) -> int:
        return band_for(self.farthest)

    def describe(self) -> str:
        if not self.first_epochs:
            return "the covered classes' envelope: every class identical to its reference run in this mode"
        said = (f"departing from epoch {'/'.join(str(e) for e in sorted(set(self.first_epochs)))}, "
                f"at most band_for({self.farthest:.0f}) = {self.band} ULP")
        if self.nan_window is not None:
            low, high = self.nan_window
            said += f", NaN from epochs {low} to {high} on the classes, widened to ±{band_for((high - low) / 2)} epochs"
        return f"the covered classes' envelope: {said}"


def mode_envelope(signatures: Sequence[ModeSignature]) -> ModeEnvelope:
    """The envelope of one mode's departures as the classes measured them (None: identical there)."""
    departed = [s for s in signatures if s is not None]
    nans = [s[2] for s in departed if s[2] is not None]
    finite = [s[1] for s in departed if np.isfinite(s[1])]
    window = (min(nans), max(nans)) if nans and len(nans) == len(signatures) else None
    return ModeEnvelope(tuple(s[0] for s in departed), max(finite, default=0.0), window)
