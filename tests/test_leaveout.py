"""The envelope proved by leaving a covered class out (harness/report/leaveout.py), fast: one class this
CPU can run, hidden; a program it computes otherwise than the base passes by the envelope of the other
classes, not by its own files; the same program with its learning rate 0.1% off still fails under it.
The whole proof, every class this CPU can run and every mode: ``python -m harness.report.leaveout``
(reports/cpu-kernels.md, "Each class left out")."""

from __future__ import annotations

import filecmp

import pytest
import yaml

from harness import kernels
from harness.errors import HarnessError
from harness.judge import verdict
from harness.report import leaveout, regressions
from harness.store import golden

# Chaotic (RMSProp turns to NaN): under AVX2 its golden is not the base's from epoch 0, so only the
# envelope (it diverges where every class does) can pass it there.
PROGRAM = "iris_rmsprop"


def _left_out() -> str:
    """The newest covered class this CPU can run that keeps files of its own for PROGRAM."""
    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    for key in reversed(kernels.emulable()):
        if key in (manifest.get("kernel_classes") or ()) and key != manifest.get("kernel_class") \
                and any(golden.kernel_dir(golden.ROOT, "cpu", key).glob(f"{PROGRAM}.*")):
            return key
    pytest.skip(f"no covered class this CPU can run ({', '.join(kernels.emulable())}) computes {PROGRAM} otherwise "
                "than the base")


def _rows(found: dict) -> dict[str, dict]:
    return {r["experiment"]: r for r in found["rows"]}


def test_a_class_left_out_is_judged_by_the_envelope_and_a_regression_under_it_still_fails(monkeypatch):
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    key = _left_out()
    rows = _rows(leaveout.prove(key, [PROGRAM], ["eager"], jobs=2, regressed=[PROGRAM + regressions.LR]))
    assert not rows[PROGRAM]["failed"] and "within the envelope" in rows[PROGRAM]["cell"], rows[PROGRAM]
    assert rows[PROGRAM + regressions.LR]["failed"], rows[PROGRAM + regressions.LR]


def test_a_mode_s_run_under_a_class_left_out_is_judged_by_the_envelope_of_the_classes_modes(monkeypatch):
    """iris_sgd's function mode is identical to its eager run on every class; under a class left out it
    departs from the base's eager golden as that class's kernels do (80 ULP from epoch 0 leaving AVX2
    out): the mode's exact verdict says DIFFERS, the envelope admits it."""
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    rows = _rows(leaveout.prove(_left_out(), ["iris_sgd"], ["function"], jobs=1, regressed=[]))
    assert not rows["iris_sgd"]["failed"] and "within the envelope" in rows["iris_sgd"]["cell"], rows["iris_sgd"]


def test_under_a_class_left_out_strict_verdicts_fail_so_the_envelope_is_what_passes(monkeypatch):
    monkeypatch.setenv(verdict.STRICT_ENV, "1")
    rows = _rows(leaveout.prove(_left_out(), [PROGRAM], ["eager"], jobs=1, regressed=[]))
    assert rows[PROGRAM]["failed"], rows[PROGRAM]


def test_hiding_a_class_removes_its_files_and_its_key_and_nothing_else(tmp_path):
    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    key = next(k for k in manifest["kernel_classes"] if golden.kernel_dir(golden.ROOT, "cpu", k).is_dir())
    root = leaveout.hide(key, tmp_path / "golden")
    hidden = yaml.safe_load((root / "cpu" / golden.MANIFEST).read_text(encoding="utf-8"))
    assert hidden["kernel_classes"] == [k for k in manifest["kernel_classes"] if k != key]
    assert {k: v for k, v in hidden.items() if k != "kernel_classes"} == \
        {k: v for k, v in manifest.items() if k != "kernel_classes"}
    assert not golden.kernel_dir(root, "cpu", key).exists()
    kept = [p.relative_to(golden.ROOT) for p in golden.ROOT.rglob("*") if p.is_file()
            and p.name != golden.MANIFEST and golden.kernel_dir(golden.ROOT, "cpu", key) not in p.parents]
    assert kept and all(filecmp.cmp(golden.ROOT / p, root / p, shallow=False) for p in kept)
    # Each regression is held to its original's files, byte for byte.
    for experiment in regressions.EXPERIMENTS:
        target = regressions.target_of(experiment.name)
        assert filecmp.cmp(root / "cpu" / f"{target}.yml", root / "cpu" / f"{experiment.name}.yml", shallow=False)
    with pytest.raises(HarnessError, match="base class"):
        leaveout.hide(manifest["kernel_class"], tmp_path / "again")
