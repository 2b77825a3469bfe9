"""The golden store: damaged files are named with their fix, nothing is lost, nothing
executes, a NaN the run produced round-trips and one typed by hand is refused, and a
missing golden is never written by a test run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.errors import GoldenError, GoldenMissing, UnknownName
from harness.experiments import catalog
from harness.judge.compare import compare
from harness.record import Record
from harness.store import files, golden
from tests.helpers import cli, nested

MSE = catalog.get("mse_regression")
CE = catalog.get("cross_entropy")
RMSPROP = catalog.get("iris_rmsprop")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the committed CPU goldens to damage."""
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    return tmp_path


def _base(root: Path, experiment) -> golden.Golden:
    """The base class's goldens (the store's own files), whatever kernel class this process runs:
    these tests are about reading and writing the files they damage, not about the kernels."""
    return golden.load(root, "cpu", experiment.name, experiment.table_columns())


def _damage(path: Path, edit) -> bytes:
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path.read_bytes()


def _replace_cell(text: str, row: int, column: int, value: str) -> str:
    lines = text.splitlines(keepends=True)
    cells = lines[row].rstrip("\n").split(",")
    cells[column] = value
    lines[row] = ",".join(cells) + "\n"
    return "".join(lines)


CSV_DAMAGE = {
    "truncated mid-line": (lambda t: t[: len(t) - 7], "truncated"),
    "a column missing": (lambda t: "\n".join(",".join(l.split(",")[:-1]) for l in t.splitlines()) + "\n",
                         "missing ['loss']"),
    "a column renamed": (lambda t: t.replace("w1_1", "w1_b", 1), "unexpected ['w1_b']"),
    "text in a number column": (lambda t: _replace_cell(t, 1, 2, "abc"), "'abc' is not a number"),
    "NaN typed in": (lambda t: _replace_cell(t, 1, 3, "nan"), "not a finite number"),
    "an empty cell": (lambda t: _replace_cell(t, 2, 3, ""), "not a finite number"),
    "Inf": (lambda t: _replace_cell(t, 1, 4, "inf"), "not a finite number"),
    "a number out of range": (lambda t: _replace_cell(t, 1, 4, "1e999"), "is not a finite number"),
    "empty": (lambda t: "", "is empty"),
    "a header and no rows": (lambda t: t.splitlines(keepends=True)[0], "no rows"),
    "a row with an extra field": (lambda t: t.replace("\n", ",\n", 2).replace(",\n", "\n", 1), "fields"),
    "epochs out of order": (lambda t: _replace_cell(t, 1, 1, "999999"), "not strictly increasing"),
    "a row duplicated": (lambda t: t + t.splitlines(keepends=True)[-1], "row index"),
    "rows swapped": (lambda t: "".join([*t.splitlines(keepends=True)[:1], *t.splitlines(keepends=True)[2:0:-1],
                                        *t.splitlines(keepends=True)[3:]]), "row index"),
}


@pytest.mark.parametrize("damage", CSV_DAMAGE, ids=list(CSV_DAMAGE))
def test_a_damaged_table_golden_is_named_with_its_fix(root, damage):
    edit, says = CSV_DAMAGE[damage]
    path = root / "cpu" / "mse_regression.csv"
    before = _damage(path, edit)
    with pytest.raises(GoldenError) as info:
        _base(root, MSE)
    message = str(info.value)
    assert str(path) in message and says in message and "tox -e regen" in message
    assert path.read_bytes() == before  # reading never rewrites


YAML_DAMAGE = {
    "not valid YAML": ("loss_ce1: [0.5\n", "is not valid YAML"),
    "not a mapping": ("- 1\n- 2\n", "is not a mapping"),
    "a hostile tag": ("loss_ce1: !!python/object/apply:os.system ['touch {marker}']\n",
                      "is not valid YAML"),
    # safe_load's own types that JSON cannot hold (found by `tox -e fuzz` in a manifest).
    "bytes": ("loss_ce1: !!binary aGk=\n", "holds a bytes at loss_ce1"),
    "a date, nested": ("loss_ce1:\n  value: [1, 2026-11-27]\n", "holds a date at loss_ce1.value[1]"),
    "a set": ("loss_ce1: !!set {{a: null}}\n", "holds a set at loss_ce1"),
    "a key that is not text": ("loss_ce1:\n  1: 2\n", "holds a int at loss_ce1 (a key)"),
}


@pytest.mark.parametrize("damage", YAML_DAMAGE, ids=list(YAML_DAMAGE))
def test_a_damaged_scalar_golden_is_named_and_nothing_executes(root, damage, tmp_path):
    text, says = YAML_DAMAGE[damage]
    marker = tmp_path / "executed"
    path = root / "cpu" / "cross_entropy.yml"
    path.write_text(text.format(marker=marker), encoding="utf-8")
    with pytest.raises(GoldenError) as info:
        _base(root, CE)
    assert str(path) in str(info.value) and says in str(info.value)
    assert not marker.exists()


def test_the_nan_a_run_produced_round_trips_and_compares_equal(root):
    # The RMSProp run turns to NaN at epoch 371: its golden holds empty cells there, as
    # pandas writes NaN, and its scalars say where.
    stored = _base(root, RMSPROP)
    assert stored.scalars["non_finite"]["columns"] == {"cells": 129, "columns": ["loss"], "first_epoch": 371}
    record = Record("iris_rmsprop", "CPU:0", "cpu", "-", columns=stored.tables["columns"],
                    checkpoints=stored.tables["checkpoints"], scalars=stored.scalars)
    assert compare(record, stored.tables, stored.scalars, 0).status == "identical"
    # Written again, byte for byte the same file.
    golden.write(root, record)
    assert (root / "cpu" / "iris_rmsprop.csv").read_bytes() == (golden.ROOT / "cpu" / "iris_rmsprop.csv").read_bytes()


def test_a_nan_where_the_run_had_a_number_is_a_failure_that_names_the_epochs(root):
    stored = _base(root, RMSPROP)
    columns = {k: list(v) for k, v in stored.tables["columns"].items()}
    columns["loss"][370] = float("nan")  # one epoch early
    scalars = {**stored.scalars, "non_finite": {**stored.scalars["non_finite"],
                                                "columns": {"cells": 130, "columns": ["loss"], "first_epoch": 370}}}
    record = Record("iris_rmsprop", "CPU:0", "cpu", "-", columns=columns,
                    checkpoints=stored.tables["checkpoints"], scalars=scalars)
    comparison = compare(record, stored.tables, stored.scalars, 0)
    assert comparison.status == "fail"
    text = comparison.explain()
    assert "loss: first beyond tolerance at epoch 370 (inf ULP)" in text
    assert "NaN/inf from epoch 370 in the run, 371 in the golden" in text
    assert "scalar 'non_finite'" in text


def test_a_nan_typed_into_a_diverging_golden_is_refused(root):
    path = root / "cpu" / "iris_rmsprop.csv"
    before = _damage(path, lambda t: _replace_cell(t, 100, 2, ""))  # epoch 99's loss
    with pytest.raises(GoldenError, match="typed in by hand") as info:
        _base(root, RMSPROP)
    assert str(path) in str(info.value) and "from epoch 99" in str(info.value)
    assert path.read_bytes() == before


def test_a_missing_golden_names_the_file_and_how_to_write_it(root):
    (root / "cpu" / "cross_entropy.yml").unlink()
    with pytest.raises(GoldenMissing) as info:
        _base(root, CE)
    assert "cross_entropy.yml does not exist" in str(info.value)
    assert "tox -e regen" in str(info.value)


def test_a_manifest_without_a_field_is_named(root):
    path = root / "cpu" / golden.MANIFEST
    path.write_text("tensorflow: 2.21.0\n", encoding="utf-8")
    with pytest.raises(GoldenError, match="lacks the fields"):
        golden.read_manifest(root, "cpu")


def test_names_cannot_leave_the_golden_folder(root):
    with pytest.raises(GoldenError, match="not a valid experiment name"):
        golden.paths(root, "cpu", "../x")
    with pytest.raises(UnknownName, match="valid device kinds: cpu, gpu"):
        golden.paths(root, "../../etc", "mse_regression")
    with pytest.raises(UnknownName, match="valid device kinds"):
        golden.paths(root, "tpu", "mse_regression")


def test_a_manifest_that_is_not_valid_yaml_is_named(root):
    path = root / "cpu" / golden.MANIFEST
    path.write_text("tensorflow: [2.21\n", encoding="utf-8")
    with pytest.raises(GoldenError, match="is not valid YAML") as info:
        golden.read_manifest(root, "cpu")
    assert str(path) in str(info.value)


def test_a_folder_for_a_device_kind_that_does_not_exist_is_named(root):
    (root / "tpu").mkdir()
    (root / "tpu" / "cross_entropy.yml").write_text("loss_ce1: 0.5\n", encoding="utf-8")
    with pytest.raises(GoldenError, match=r"not the folder of a device kind \(cpu, gpu\)") as info:
        golden.check_layout(root)
    assert str(root / "tpu") in str(info.value) and "move tpu out of it" in str(info.value)
    done = cli("check", "cross_entropy", "--golden-dir", str(root))
    assert done.returncode == 2 and "tpu" in done.stderr


def test_the_committed_goldens_hold_only_device_kinds():
    golden.check_layout(golden.ROOT)


def test_an_interrupted_write_leaves_the_old_file_whole(root, monkeypatch):
    path = root / "cpu" / "cross_entropy.yml"
    before = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        files.atomic_write(path, b"new: 1\n")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        p.name for p in (golden.ROOT / "cpu").iterdir())  # no temporary file left behind


@pytest.mark.parametrize("ci", ["true", None])
def test_a_missing_golden_fails_without_being_written(pytester, tmp_path, monkeypatch, ci):
    pytester.makepyfile(test_one="""
from harness.execution.devices import Device
from harness.execution.run import run
from harness.experiments import catalog

def test_golden(golden_check):
    golden_check(run(catalog.get("cross_entropy"), Device("CPU:0")))
""")
    empty = tmp_path / "empty"
    empty.mkdir()
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    result = nested(pytester, "--golden-dir", str(empty))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cross_entropy.yml does not exist*",
                                 "*nothing was written: goldens are written on purpose*"])
    assert list(empty.iterdir()) == []


def test_regeneration_refuses_to_run_under_xdist(pytester):
    pytester.makepyfile(test_one="def test_nothing_runs():\n    raise AssertionError\n")
    result = nested(pytester, "-n", "2", "--force-regen")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # nothing ran
    result.stderr.fnmatch_lines(["*drop -n*"])


def test_a_golden_read_back_as_a_record_holds_every_table():
    """The ledger judges a kernel class's golden as a record (its validation values included)."""
    from harness.record import TABLES

    stored = golden.load(golden.ROOT, "cpu", "lstm_stock", None)
    record = stored.record("lstm_stock", "cpu")
    assert set(stored.tables) == {"columns", "validation", "checkpoints", "batches"} == set(TABLES)
    assert record.tables() == stored.tables and record.scalars == stored.scalars


def test_a_kernel_class_s_missing_copy_is_named_when_the_base_s_disagrees(tmp_path):
    """AVX2 keeps its own iris_rmsprop.csv and .yml (NaN from another epoch): with its .csv
    removed, the base's table disagrees with the class's scalars, and the refusal names the
    missing copy as well as the two files that disagree."""
    from harness.errors import GoldenError

    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    own = golden.kernel_dir(tmp_path, "cpu", "avx2")
    (own / "iris_rmsprop.csv").unlink()
    with pytest.raises(GoldenError) as refused:
        golden.load(tmp_path, "cpu", "iris_rmsprop", None, "avx2")
    assert own / "iris_rmsprop.csv" in refused.value.also
    assert f"{own / 'iris_rmsprop.csv'} may be the file that is missing" in str(refused.value)
