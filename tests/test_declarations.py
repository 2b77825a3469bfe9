"""Every declared difference of an execution mode can be violated.

A declaration (an experiment's ``known_mode_differences``, or a kernel class's own
``<experiment>.modes.yml``) says how a mode departs from the eager golden: the first epoch, the
largest distance and, for a mode that turns to NaN, the epoch of its first NaN. For each one, a
record built from the golden it is held to that departs exactly so is judged ``declared``; a
record that is identical, departs one epoch later, one ULP farther, or turns to NaN one epoch
later or never, is not. A declaration that no record satisfies, or that one of these records
satisfies too, fails here.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from harness.experiments import catalog
from harness.experiments.declare import Experiment
from harness.experiments.training import ModeDifference
from harness.judge.verdict import departure, mode_verdict
from harness.record import NON_FINITE, TABLES, Record, Table, non_finite_summary
from harness.store import golden


def _declarations() -> Iterator[tuple[str, str | None, ModeDifference]]:
    """(experiment, kernel class or None for the base, declaration), for every declaration."""
    classes = sorted(p.name for p in (golden.ROOT / "cpu" / golden.KERNELS).iterdir() if p.is_dir())
    for e in catalog.all_experiments():
        for declared in e.known_mode_differences:
            yield e.name, None, declared
        for key in classes:
            for mode, sig in golden.read_mode_signatures(golden.ROOT, "cpu", key, e.name).items():
                if sig is not None:
                    yield e.name, key, ModeDifference(mode, sig[0], sig[1], f"kernel class {key}", sig[2])


DECLARATIONS = list(_declarations())


@functools.cache
def _golden(name: str, key: str | None) -> golden.Golden:
    """The eager golden a declaration is held to (read once: the records built from it are copies)."""
    return golden.load(golden.ROOT, "cpu", name, catalog.get(name).table_columns(), key)


def _epochs(e: Experiment, tables: dict[str, Table]) -> list[int]:
    """The epochs the tables' rows lie in (a Keras batch row, in the epoch of its batch)."""
    return sorted({e.epoch_of(name, label) for name, table in tables.items() for label in table["epoch"]})


def _record(e: Experiment, tables: dict[str, Table], scalars: dict[str, Any], mode: str) -> Record:
    return Record(e.name, "CPU:0", "cpu", "synthetic", scalars=scalars, mode=mode,
                  **{name: tables.get(name, {}) for name in TABLES})


LARGEST_FINITE = 0x7F7FFFFF  # float32's largest finite value, as its bits


def _moved(value: float, step: int) -> float:
    """The float32 ``step`` values away from ``value`` on the ordered line ``ulp_distance``
    counts on: away from zero, or across it where the far side would leave the finite values
    (the XLA runs drift by up to 2.2 billion ULP)."""
    bits = int(np.float32(value).view(np.int32))
    ordered = bits if bits >= 0 else -(bits & 0x7FFFFFFF)
    target = ordered + step if ordered >= 0 else ordered - step
    if abs(target) > LARGEST_FINITE:
        target = ordered - step if ordered >= 0 else ordered + step
    raw = target if target >= 0 else (-target) | 0x80000000
    return float(np.array(raw, dtype=np.uint32).view(np.float32))


def _shaped(e: Experiment, eager: golden.Golden, mode: str, first: int, ulps: float,
            nan_from: int | None) -> Record:
    """The eager golden, one cell moved by ``ulps`` at epoch ``first`` (when ``first`` comes
    before the first NaN), and NaN from ``nan_from`` on (None: no NaN at all) in the columns
    where the eager run has NaN (in the loss, where it has none)."""
    tables = {name: {c: list(v) for c, v in table.items()} for name, table in eager.tables.items()}
    diverging = {c for table in tables.values() for c, v in table.items()
                 if c != "epoch" and any(isinstance(x, float) and math.isnan(x) for x in v)} or {"loss"}
    for name, table in tables.items():
        for column in diverging & set(table):
            values = table[column]
            for i, label in enumerate(table["epoch"]):
                values[i] = math.nan if nan_from is not None and e.epoch_of(name, label) >= nan_from else (
                    0.5 if isinstance(values[i], float) and math.isnan(values[i]) else values[i])
    if nan_from is None or first < nan_from:
        table, column, i = next((t, c, i) for name, t in tables.items() for i, label in enumerate(t["epoch"])
                                if e.epoch_of(name, label) == first
                                for c in t if c != "epoch" and math.isfinite(t[c][i]))
        table[column][i] = _moved(table[column][i], int(ulps) if math.isfinite(ulps) else 1)
    scalars = {k: v for k, v in eager.scalars.items() if k != NON_FINITE}
    if found := non_finite_summary(tables):
        scalars[NON_FINITE] = found
    return _record(e, tables, scalars, mode)


def _violations(declared: ModeDifference, epochs: list[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    first, ulps, nan = declared.first_epoch, declared.max_ulp, declared.diverges_at
    later = [x for x in epochs if x > first and (nan is None or x < nan)]
    if later:
        yield "one epoch later", {"first": later[0], "ulps": ulps, "nan_from": nan}
    if math.isfinite(ulps):
        yield "one ULP farther", {"first": first, "ulps": ulps + 1, "nan_from": nan}
    if nan is not None:
        after = [x for x in epochs if x > nan]
        if after:
            yield "NaN one epoch later", {"first": first, "ulps": ulps, "nan_from": after[0]}
        yield "NaN never", {"first": first, "ulps": ulps, "nan_from": None}
    else:
        yield "NaN at the last epoch", {"first": first, "ulps": ulps, "nan_from": epochs[-1]}


@pytest.mark.parametrize("name, key, declared", DECLARATIONS,
                         ids=[f"{n}-{k or 'base'}-{d.mode}" for n, k, d in DECLARATIONS])
def test_every_declaration_is_met_by_one_record_and_violated_by_others(name, key, declared):
    e = catalog.get(name)
    eager = _golden(name, key)
    epochs = _epochs(e, eager.tables)
    as_declared = _shaped(e, eager, declared.mode, declared.first_epoch, declared.max_ulp, declared.diverges_at)
    assert mode_verdict(departure(e, eager, as_declared), declared) == "declared", (
        f"no record meets {declared.signature}: measured {departure(e, eager, as_declared)}")
    identical = _record(e, eager.tables, eager.scalars, declared.mode)
    assert mode_verdict(departure(e, eager, identical), declared) == "NOW IDENTICAL"
    violations = list(_violations(declared, epochs))
    assert len(violations) >= 2
    for what, shape in violations:
        measured = departure(e, eager, _shaped(e, eager, declared.mode, **shape))
        assert mode_verdict(measured, declared) == "CHANGED", (what, measured, declared.signature)


def _cut(e: Experiment, record: Record, through: int) -> Record:
    """The record of a prefix of the run, as a run asked for its epochs up to ``through`` (a row's
    label) records it: the program's kind cuts it to that span."""
    span = e.program.span(epochs=e.program.epoch_number("columns", through))
    return dataclasses.replace(e.program.cut(record, span), span=span)


@pytest.mark.parametrize("name, key, declared", DECLARATIONS,
                         ids=[f"{n}-{k or 'base'}-{d.mode}" for n, k, d in DECLARATIONS])
def test_a_prefix_is_held_to_what_the_declaration_says_of_its_epochs(name, key, declared):
    """`check --epochs N`: identical before the declared first epoch, as declared from it."""
    e = catalog.get(name)
    eager = _golden(name, key)
    epochs = [x for x in _epochs(e, eager.tables) if x in eager.tables["columns"]["epoch"]]
    whole = _shaped(e, eager, declared.mode, declared.first_epoch, declared.max_ulp, declared.diverges_at)
    before = [x for x in epochs if x < declared.first_epoch]
    if before:
        cut = _cut(e, whole, before[-1])
        assert mode_verdict(departure(e, eager, cut), declared, before[-1]) == "identical"
    for through in [x for x in epochs if x >= declared.first_epoch][:2] + epochs[-1:]:
        cut = _cut(e, whole, through)
        assert mode_verdict(departure(e, eager, cut), declared, through) == "declared", through
    for what, shape in _violations(declared, epochs):
        shaped = _shaped(e, eager, declared.mode, **shape)
        cut = _cut(e, shaped, epochs[-1])
        assert mode_verdict(departure(e, eager, cut), declared, epochs[-1]) == "CHANGED", what


def test_the_walk_sees_every_kind_of_declaration():
    """The catalogue's declarations, a class's own, and one that turns to NaN are all walked."""
    assert any(k is None for _, k, _ in DECLARATIONS) and any(k for _, k, _ in DECLARATIONS)
    assert any(d.diverges_at is not None and math.isinf(d.max_ulp) for _, _, d in DECLARATIONS)


def test_a_prefix_that_stops_inside_the_first_declared_epoch_may_not_have_departed_yet():
    """A Keras prefix of 200 batches stops inside epoch 1 of 1875 batches: identical there is
    no news for a departure declared from epoch 1, but the same run cut at the epoch's end is."""
    declared = ModeDifference("xla", 1, 100.0, "measured")
    assert mode_verdict(None, declared, 1, ended=False) == "identical"
    assert mode_verdict(None, declared, 1, ended=True) == "NOW IDENTICAL"
    assert mode_verdict((1, 50.0, None), declared, 1, ended=False) == "declared"
    assert mode_verdict((1, 500.0, None), declared, 1, ended=False) == "CHANGED"
    # From epoch 2 on, epoch 1 must be identical whether or not the prefix completed it.
    later = ModeDifference("xla", 2, 100.0, "measured")
    assert mode_verdict(None, later, 1, ended=False) == "identical"
    assert mode_verdict((1, 50.0, None), later, 1, ended=False) == "CHANGED"
