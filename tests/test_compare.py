"""The ULP judge: distances, NaN, shortened runs, and where a perturbed golden is reported
to leave a run."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from harness.execution.run import run
from harness.experiments import catalog
from harness.judge.compare import compare, same, ulp_distance
from harness.record import Record
from harness.span import WHOLE, Span
from tests.helpers import short


def _steps(x: float, n: int) -> float:
    """The float32 n steps above x."""
    v = np.float32(x)
    for _ in range(n):
        v = np.nextafter(v, np.float32(np.inf))
    return float(v)


@pytest.mark.parametrize("x", [0.0, 1e-30, 0.0894, 1.0, -1.4855157, 3.0e38])
@pytest.mark.parametrize("n", [0, 1, 3, 1000])
def test_ulp_distance_counts_float32_steps(x, n):
    assert ulp_distance(x, _steps(x, n)) == n
    assert ulp_distance(_steps(x, n), x) == n


def test_ulp_distance_across_zero_nan_and_in_float64():
    tiny = float(np.nextafter(np.float32(0), np.float32(1)))
    assert ulp_distance(-tiny, tiny) == 2
    assert ulp_distance(-0.0, 0.0) == 0
    assert ulp_distance(float("nan"), 1.0) == np.inf
    assert ulp_distance(float("nan"), float("nan")) == 0  # a NaN in the same place is the same result
    assert ulp_distance(0.1, float(np.nextafter(0.1, 1.0)), np.float64) == 1
    assert ulp_distance(0.1, 0.1 + 2 ** -40, np.float32) == 0


def test_same_treats_nan_as_equal_everywhere():
    assert same({"a": [float("nan"), 1.0]}, {"a": [float("nan"), 1.0]})
    assert not same({"a": [float("nan"), 1.0]}, {"a": [0.0, 1.0]})


@pytest.fixture(scope="module")
def record(device):
    experiment = catalog.get("mse_regression")
    return run(experiment, device, short(experiment))


def _golden_of(record):
    return copy.deepcopy(record.tables()), copy.deepcopy(record.scalars)


def test_identical(record):
    assert compare(record, *_golden_of(record), 0).status == "identical"


def test_a_value_moved_a_few_ulps_is_within_tolerance_and_named(record):
    tables, scalars = _golden_of(record)
    columns = tables["columns"]
    row = columns["epoch"].index(500)
    columns["w1_1"][row] = _steps(columns["w1_1"][row], 3)
    loose = compare(record, tables, scalars, 128)
    assert loose.status == "within" and loose.max_ulp == 3
    strict = compare(record, tables, scalars, 2)
    assert strict.status == "fail"
    (bad,) = [c for c in strict.columns if not c.ok]
    assert (bad.column, bad.first_beyond, bad.first_beyond_ulp) == ("w1_1", 500, 3)
    assert "w1_1: first beyond tolerance at epoch 500 (3 ULP)" in strict.explain()


def test_a_value_moved_far_is_a_failure_at_its_row(record):
    tables, scalars = _golden_of(record)
    columns = tables["columns"]
    columns["loss"][columns["epoch"].index(500)] += 0.25
    result = compare(record, tables, scalars, 128)
    (bad,) = [c for c in result.columns if not c.ok]
    assert bad.column == "loss" and bad.first_beyond == 500
    assert bad.max_abs == pytest.approx(0.25, rel=1e-6)


def test_a_column_band_can_differ_from_the_rest(record):
    tables, scalars = _golden_of(record)
    columns = tables["columns"]
    columns["w1_1"][0] = _steps(columns["w1_1"][0], 10)
    assert compare(record, tables, scalars, lambda c: 16 if c == "w1_1" else 0).status == "within"
    assert compare(record, tables, scalars, lambda c: 4 if c == "w1_1" else 0).status == "fail"


def test_structure_and_scalar_differences_are_named(record):
    tables, scalars = _golden_of(record)
    tables["columns"]["epoch"][0] += 1
    scalars = {"w1_initial": [0.0, 0.0], "extra": 1}
    comparison = compare(record, tables, scalars, 128)
    assert any("rows differ" in p for p in comparison.problems)
    assert any("scalar 'extra' is in the golden but not in the run" in p for p in comparison.problems)
    assert comparison.scalar_changes == ["scalar 'w1_initial': golden [0.0, 0.0], run "
                                         f"{record.scalars['w1_initial']!r}"]


def test_a_shortened_run_is_compared_on_the_rows_it_shares(device):
    """The judge cuts a run and its golden to the part both make (the first 600 of 1001 epochs):
    rows 0 and 500 (599, the shortened run's last printed row, is no row of the program's)."""
    from harness.judge.verdict import against
    from harness.store.golden import Golden

    experiment = catalog.get("mse_regression")
    full = run(experiment, device, 1001)  # rows 0, 500, 1000
    shortened = run(experiment, device, 600)  # rows 0, 500, 599
    assert (full.span, shortened.span) == (Span.epochs(1001), Span.epochs(600))
    stored = Golden(full.scalars, full.tables(), full.span)
    comparison = against(stored, experiment, shortened)
    assert comparison.status == "identical" and comparison.rows == 2, comparison.explain()
    assert "its first 600 epochs, held to its golden's rows there: 2 compared" in comparison.explain()
    moved = copy.deepcopy(full.tables())
    moved["columns"]["w1_0"][1] = _steps(moved["columns"]["w1_0"][1], 1)
    moved_by_one = against(Golden(full.scalars, moved, full.span), experiment, shortened, exact=True)
    assert moved_by_one.first_failure.first_beyond == 500


def test_compare_never_takes_a_record_that_lacks_rows_or_tables_for_a_prefix():
    """Cutting is the judge's, by the span asked (tests/test_spans.py): compare itself holds a record
    to exactly the golden's tables and rows."""
    golden = {"columns": {"epoch": [1, 2], "loss": [0.5, 0.4]},
              "batches": {"epoch": [100, 200, 300], "loss": [0.9, 0.8, 0.7]}}

    def record(**tables):
        return Record("x", "CPU:0", "cpu", "", scalars={}, **tables)

    cut = record(batches={"epoch": [100, 200], "loss": [0.9, 0.8]})
    assert "tables differ" in compare(cut, golden, {}, 0).problems[0]
    fewer = record(columns=golden["columns"], batches=cut.batches)
    assert "the golden's epochs [300] are not in the run" in compare(fewer, golden, {}, 0).problems[0]
    assert compare(record(**golden), golden, {}, 0).status == "identical"


def test_a_run_longer_than_its_golden_is_not_a_shortened_one(device):
    experiment = catalog.get("mse_regression")
    golden_run = run(experiment, device, 600)
    longer = run(experiment, device, 1001)
    problems = compare(longer, golden_run.tables(), golden_run.scalars, 0).problems
    assert problems and "rows differ" in problems[0]


def test_a_perturbed_golden_file_is_explained_with_a_plot(record, tmp_path):
    """End to end through the golden store: one value a few ULPs off, one far off."""
    from harness.judge.verdict import verify
    from harness.report.plot import explain
    from harness.store import golden

    experiment = catalog.get("mse_regression")
    # Written as if whole (a golden of a run shortened in epochs is refused): the judge holds the
    # shortened run to the rows of its span.
    golden.write(tmp_path, dataclasses.replace(record, span=WHOLE))
    path = golden.paths(tmp_path, record.device_kind, experiment.name).columns
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    rows = [line.rstrip("\n").split(",") for line in lines[1:]]
    near = next(r for r in rows if r[header.index("epoch")] == "500")
    near[header.index("w1_1")] = repr(_steps(float(near[header.index("w1_1")]), 3))
    rows[0][header.index("loss")] = repr(float(rows[0][header.index("loss")]) * 1.5)
    path.write_text("".join([lines[0], *(",".join(r) + "\n" for r in rows)]), encoding="utf-8")

    comparison = verify(tmp_path, experiment, record)
    assert comparison.status == "fail"
    text = explain(record, comparison, plots=tmp_path / "plots")
    assert "loss: first beyond tolerance at epoch 0" in text
    assert f"w1_1: max 3 ULP (tolerance {experiment.tolerance.ulps})" in text  # named, though within tolerance
    plot = tmp_path / "plots" / f"mse_regression-{record.device.replace(':', '')}-eager.png"
    assert f"plot: {plot}" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_many_moved_columns_are_summarised(device):
    # The iris runs record 46 columns: an explanation names where it starts and the farthest.
    columns = {"epoch": [0, 1], **{f"w1_{i}": [1.0, 1.0] for i in range(10)}}
    record = Record("x", "CPU:0", "cpu", "-", columns=columns)
    moved = copy.deepcopy(columns)
    for i in range(10):
        moved[f"w1_{i}"][1] = _steps(1.0, i + 1)
    text = compare(record, {"columns": moved}, {}, 0).explain()
    assert "... and 4 more columns moved (the farthest: w1_9, 10 ULP)" in text
