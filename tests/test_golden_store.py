"""The golden store: damaged files are named with their fix, nothing is lost,
nothing executes, and a missing golden is never written in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import files, golden, registry
from harness.check import load
from harness.errors import GoldenError, GoldenMissing, UnknownName
from tests.helpers import ROOT, harness

MSE = registry.get("mse_regression")
CE = registry.get("cross_entropy")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the committed CPU goldens to damage."""
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    return tmp_path


def _damage(path: Path, edit) -> bytes:
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return path.read_bytes()


def _replace_first_row_cell(text: str, column: int, value: str) -> str:
    lines = text.splitlines(keepends=True)
    cells = lines[1].rstrip("\n").split(",")
    cells[column] = value
    lines[1] = ",".join(cells) + "\n"
    return "".join(lines)


CSV_DAMAGE = {
    "truncated mid-line": (lambda t: t[: len(t) - 7], "truncated"),
    "a column missing": (lambda t: "\n".join(",".join(l.split(",")[:-1]) for l in t.splitlines()) + "\n",
                         "missing ['loss']"),
    "a column renamed": (lambda t: t.replace("w1_1", "w1_b", 1), "unexpected ['w1_b']"),
    "text in a number column": (lambda t: _replace_first_row_cell(t, 2, "abc"), "'abc' is not a number"),
    "NaN": (lambda t: _replace_first_row_cell(t, 3, "nan"), "not a finite number"),
    "Inf": (lambda t: _replace_first_row_cell(t, 4, "inf"), "not a finite number"),
    "empty": (lambda t: "", "is empty"),
    "a header and no rows": (lambda t: t.splitlines(keepends=True)[0], "no rows"),
    "a row with an extra field": (lambda t: t.replace("\n", ",\n", 2).replace(",\n", "\n", 1), "fields"),
    "epochs out of order": (lambda t: _replace_first_row_cell(t, 1, "999999"), "not strictly increasing"),
}


@pytest.mark.parametrize("damage", CSV_DAMAGE, ids=list(CSV_DAMAGE))
def test_a_damaged_trajectory_golden_is_named_with_its_fix(root, damage):
    edit, says = CSV_DAMAGE[damage]
    path = root / "cpu" / "mse_regression.csv"
    before = _damage(path, edit)
    with pytest.raises(GoldenError) as info:
        load(root, MSE, "cpu")
    message = str(info.value)
    assert str(path) in message and says in message and "tox -e regen" in message
    assert path.read_bytes() == before  # reading never rewrites


YAML_DAMAGE = {
    "not valid YAML": ("loss_ce1: [0.5\n", "is not valid YAML"),
    "not a mapping": ("- 1\n- 2\n", "is not a mapping"),
    "a hostile tag": ("loss_ce1: !!python/object/apply:os.system ['touch {marker}']\n",
                      "is not valid YAML"),
}


@pytest.mark.parametrize("damage", YAML_DAMAGE, ids=list(YAML_DAMAGE))
def test_a_damaged_scalar_golden_is_named_and_nothing_executes(root, damage, tmp_path):
    text, says = YAML_DAMAGE[damage]
    marker = tmp_path / "executed"
    path = root / "cpu" / "cross_entropy.yml"
    path.write_text(text.format(marker=marker), encoding="utf-8")
    with pytest.raises(GoldenError) as info:
        load(root, CE, "cpu")
    assert str(path) in str(info.value) and says in str(info.value)
    assert not marker.exists()


def test_a_missing_golden_names_the_file_and_how_to_write_it(root):
    (root / "cpu" / "cross_entropy.yml").unlink()
    with pytest.raises(GoldenMissing) as info:
        load(root, CE, "cpu")
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
    assert str(root / "tpu") in str(info.value) and "rename it" in str(info.value)
    done = harness("check", "cross_entropy", "--golden-dir", str(root))
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


def test_a_missing_golden_fails_in_ci_without_being_written(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_goldens.py", "-k", "CPU:0 and cross_entropy",
         "--golden-dir", str(tmp_path), "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "CI": "true"})
    assert done.returncode == 1, done.stdout
    assert "cross_entropy.yml does not exist" in done.stdout
    assert "CI is set: nothing was written" in done.stdout
    assert list(tmp_path.iterdir()) == []
