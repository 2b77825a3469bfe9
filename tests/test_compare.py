"""The ULP judge: distances, and where a perturbed golden is reported to leave a run."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from harness import registry
from harness.compare import compare, ulp_distance
from harness.registry import Tolerance
from harness.run import run
from tests.helpers import SHORT_EPOCHS


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


def test_ulp_distance_across_zero_and_nan():
    tiny = float(np.nextafter(np.float32(0), np.float32(1)))
    assert ulp_distance(-tiny, tiny) == 2
    assert ulp_distance(-0.0, 0.0) == 0
    assert ulp_distance(float("nan"), 1.0) == np.inf


@pytest.fixture(scope="module")
def record(device):
    return run(registry.get("mse_regression"), device, SHORT_EPOCHS)


def _golden_of(record):
    return copy.deepcopy(record.columns), copy.deepcopy(record.scalars)


def test_identical(record):
    assert compare(record, *_golden_of(record), Tolerance(0, "")).status == "identical"


def test_a_value_moved_a_few_ulps_is_within_tolerance_and_named(record):
    columns, scalars = _golden_of(record)
    row = columns["epoch"].index(500)
    columns["w1_1"][row] = _steps(columns["w1_1"][row], 3)
    loose = compare(record, columns, scalars, Tolerance(128, ""))
    assert loose.status == "within" and loose.max_ulp == 3
    strict = compare(record, columns, scalars, Tolerance(2, ""))
    assert strict.status == "fail"
    (bad,) = [c for c in strict.columns if not c.ok]
    assert (bad.column, bad.first_beyond, bad.first_beyond_ulp) == ("w1_1", 500, 3)
    assert "w1_1: first beyond tolerance at epoch 500 (3 ULP)" in strict.explain()


def test_a_value_moved_far_is_a_failure_at_its_checkpoint(record):
    columns, scalars = _golden_of(record)
    row = columns["epoch"].index(500)
    columns["loss"][row] += 0.25
    result = compare(record, columns, scalars, Tolerance(128, ""))
    (bad,) = [c for c in result.columns if not c.ok]
    assert bad.column == "loss" and bad.first_beyond == 500
    assert bad.max_abs == pytest.approx(0.25, rel=1e-6)


def test_structure_and_scalar_differences_are_named(record):
    columns, scalars = _golden_of(record)
    columns["epoch"][-1] += 1
    scalars["w1_initial"] = [0.0, 0.0]
    problems = compare(record, columns, scalars, Tolerance(128, "")).problems
    assert any("checkpoints differ" in p for p in problems)
    assert any("scalar 'w1_initial'" in p for p in problems)


def test_a_perturbed_golden_file_is_explained_with_a_plot(record, tmp_path):
    """End to end through the golden store: one value a few ULPs off, one far off."""
    from harness import golden
    from harness.check import explain_failure, verify

    experiment = registry.get("mse_regression")
    golden.write(tmp_path, record)
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
    text = explain_failure(experiment, record, comparison, plots=tmp_path / "plots")
    assert "loss: first beyond tolerance at epoch 0" in text
    assert "w1_1: max 3 ULP (tolerance 128)" in text  # named, though within tolerance
    plot = tmp_path / "plots" / f"mse_regression-{record.device.replace(':', '')}-eager.png"
    assert f"plot: {plot}" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
