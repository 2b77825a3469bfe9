"""How far the float32 oracle is from a TensorFlow run, and whether that is the agreement its
program declares (``Program.agreement``): one rule for tests/test_oracle.py and the CPU kernel
sweep (harness/report/cpukernels.py), which asks it under every kernel class.

TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.judge.compare import ulp_distance
from harness.oracle import programs
from harness.oracle.programs import OracleRun
from harness.record import Record


def distances(run: OracleRun, record: Record) -> dict[str, np.ndarray]:
    """ULP distance of the oracle from the run, per recorded column, at the rows both have."""
    found = {}
    for table in record.tables().values():
        for column, values in table.items():
            if column != "epoch" and column in run.rows[0]:
                found[column] = ulp_distance(run.column(column, table["epoch"]), values)
    return found


def band_problems(name: str, largest: dict[str, float], band: Callable[[str], int]) -> list[str]:
    """Another float32 evaluation order stays inside the rounding band: the experiment's, or the
    program's own where the kernel classes measured it wider (``Program.band``). ``largest``: the
    largest distance per column."""
    wider = programs.PROGRAMS[name].band

    def within(column: str) -> int:
        return max(band(column), wider)

    return [f"{c} is {d:.0f} ULP from TensorFlow's (band {within(c)})" for c, d in largest.items() if d > within(c)]


def problems(name: str, run: OracleRun, record: Record, band: Callable[[str], int],
             envelope: Callable[[str], int] | None = None) -> list[str]:
    """Where the oracle is not as close to the run as its program declares (empty: it agrees).
    ``band``: the experiment's tolerance of a column, in ULPs. ``envelope``: on a kernel class the
    oracle's kernel model was not measured on (harness.judge.envelope), the band per column that the
    covered classes' goldens span: an agreement declared exact (one class's summation order, which
    the oracle reproduces) is held to it there, as the goldens are."""
    found = distances(run, record)
    agreement = programs.PROGRAMS[name].agreement
    if agreement == "band" or (envelope is not None and agreement in ("exact", "weights exact")):
        return band_problems(name, {c: float(d.max()) for c, d in found.items()}, envelope or band)
    if agreement == "exact":
        return [f"{c} is {d.max():.0f} ULP from TensorFlow's (declared exact)" for c, d in found.items() if d.max()]
    if agreement == "weights exact":
        # The weights bit for bit, so the loss is the same 32 non-negative terms summed in another
        # order: it must stay within what summation order alone explains.
        wrong = [f"{c} is {d.max():.0f} ULP from TensorFlow's (declared exact)" for c, d in found.items()
                 if c != "loss" and d.max()]
        got = np.asarray(run.column("loss", record.columns["epoch"]))
        want = np.asarray(record.columns["loss"])
        relative = float((np.abs(got - want) / np.abs(want)).max())
        bound = programs.summation_bound(32)
        return wrong + ([f"the loss differs by {relative:.3g} relative, more than {bound:.3g}"]
                        if relative > bound else [])
    # Chaotic (RMSProp): the two agree while rounding has not been amplified, then part. Both
    # halves are the finding.
    first_two = float(found["loss"][:2].max())
    return ([f"the loss is {first_two:.0f} ULP apart within two epochs"] if first_two > 8 else []) + (
        ["the oracle no longer departs from TensorFlow"] if found["loss"].max() <= 1e5 else [])
