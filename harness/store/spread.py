"""How far a covered kernel class moves from one CPU model to another, as measured.

A class's goldens were computed on one CPU. Another CPU that runs the same class (the same
``ONEDNN_MAX_CPU_ISA``) does not always compute the same bits: oneDNN blocks its loops by the
caches it finds. Measured on an AVX2-only AMD EPYC running the AVX class an AVX-512 EPYC wrote:
gru_stock's whole run moves a GRU weight 101 ULP from the class's golden by epoch 50, where the
covered classes' goldens of it lie within 16 ULP of each other. The classes' spread does not hold
that; this measurement does::

    golden/<kind>/kernels/<class>/<experiment>.cpus.yml

per CPU that measured it (its model and the newest oneDNN instruction set it runs, as the manifest
names the goldens' CPU), per execution mode, per table, per column: the largest distance in float32
ULPs between the class's run there and the class's golden, over the rows both hold (a column that
moved by nothing is left out). ``python -m harness regen --cpu-spread`` writes it, on a CPU other
than the goldens'. It is kept with the class's other files: a regeneration of the experiment removes
it (it measured goldens that are gone), and a class left out takes it along.

TensorFlow-free.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness.errors import GoldenError
from harness.store import golden
from harness.store.files import atomic_write

SUFFIX = ".cpus.yml"
# cpu -> mode -> table -> column -> ULPs
Spread = dict[str, dict[str, dict[str, dict[str, int]]]]
FIX = ("measure it again on that CPU with `python -m harness regen --cpu-spread NAME`, or restore it with "
       "`git checkout`")


def path(root: Path, kind: str, kernel_class: str, experiment: str) -> Path:
    golden.paths(root, kind, experiment)  # the name is one a file may have
    return golden.kernel_dir(root, kind, kernel_class) / f"{experiment}{SUFFIX}"


def _ulps(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def read(root: Path, kind: str, kernel_class: str, experiment: str,
         expected: dict[str, list[str]] | None = None) -> Spread:
    """One class's measurements of an experiment on other CPUs (empty where there are none); with
    ``expected`` (the experiment's tables and their columns), a column it does not have is damage."""
    from harness.modes import MODES

    where = path(root, kind, kernel_class, experiment)
    if not where.exists():
        return {}
    try:
        data = golden.read_yaml(where)
    except GoldenError as exc:  # not text, not YAML, empty: measured again, not regenerated
        raise GoldenError(where, exc.problem, fix=FIX) from None
    if not isinstance(data, dict) or not data:
        raise GoldenError(where, "is not a mapping of CPUs to what they measured", fix=FIX)
    for cpu, modes in data.items():
        if not isinstance(modes, dict) or not modes:
            raise GoldenError(where, f"{cpu}: is not a mapping of execution modes", fix=FIX)
        for mode, tables in modes.items():
            if mode not in MODES:
                raise GoldenError(where, f"{cpu}: names the mode {mode!r}; modes are {', '.join(MODES)}", fix=FIX)
            if not isinstance(tables, dict) or not tables or not set(tables) <= set(golden.SUFFIXES):
                raise GoldenError(where, f"{cpu}, {mode}: is not a mapping of tables ({', '.join(golden.SUFFIXES)})",
                                  fix=FIX)
            for table, columns in tables.items():
                if not (isinstance(columns, dict) and columns and all(_ulps(v) for v in columns.values())):
                    raise GoldenError(where, f"{cpu}, {mode}, {table}: is not a mapping of columns to a number of "
                                             "ULPs (a whole number above 0)", fix=FIX)
                unknown = sorted(set(columns) - set(expected.get(table, ()))) if expected is not None else []
                if unknown:
                    raise GoldenError(where, f"{cpu}, {mode}, {table}: {', '.join(unknown)} is no column of "
                                             f"{experiment}'s {table} table", fix=FIX)
    return data


def farthest(spreads: list[Spread], mode: str) -> dict[str, float]:
    """Per column (by its name, as the tolerances name it), the farthest any CPU moved it in ``mode``."""
    found: dict[str, float] = {}
    for spread in spreads:
        for modes in spread.values():
            for columns in modes.get(mode, {}).values():
                for column, ulps in columns.items():
                    found[column] = max(found.get(column, 0.0), float(ulps))
    return found


def record(root: Path, kind: str, kernel_class: str, experiment: str, cpu: str, mode: str,
           moved: dict[str, dict[str, float]]) -> Path | None:
    """This CPU's measurement in place of the one the file holds for it (the others kept); the file
    goes when nothing is left in it. Returns the path written or removed (None: nothing changed)."""
    where = path(root, kind, kernel_class, experiment)
    data = read(root, kind, kernel_class, experiment)
    kept = {t: {c: math.ceil(u) for c, u in sorted(cols.items()) if u > 0 and math.isfinite(u)}
            for t, cols in sorted(moved.items())}
    kept = {t: cols for t, cols in kept.items() if cols}
    modes = {m: v for m, v in data.get(cpu, {}).items() if m != mode} | ({mode: kept} if kept else {})
    updated = {c: v for c, v in data.items() if c != cpu} | ({cpu: dict(sorted(modes.items()))} if modes else {})
    if updated == data:
        return None
    if updated:
        atomic_write(where, golden.dump_scalars(dict(sorted(updated.items()))))
    else:
        where.unlink()
    return where
