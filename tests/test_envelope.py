"""On a CPU other than the one the covered classes were computed on, a verdict that depends on the
kernels is judged by the envelope of the covered classes (harness/judge/envelope.py): what every
class's golden holds, widened by the one band rule, and no more; a regression still fails."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness import kernels
from harness.experiments import catalog
from harness.judge import envelope, verdict
from harness.store import golden

# Its classes' goldens part beyond its tolerance (the regularization network moves under every class
# below AVX-512, docs/devices.md).
NAME = "regularization_free"


def _root(tmp_path: Path, **manifest: object) -> Path:
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT, root)
    path = root / "cpu" / golden.MANIFEST
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(manifest)
    path.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    return root


def _another_class_s_run(root: Path, name: str) -> tuple[verdict.Record, str]:
    """A covered class's golden other than the one this process is held to, as a run here."""
    experiment = catalog.get(name)
    held = verdict.held_to(root, "cpu")
    stored = verdict.load(root, experiment, "cpu")
    for key in golden.covered_classes(root, "cpu"):
        if key == held:
            continue
        other = golden.load(root, "cpu", name, experiment.table_columns(), key)
        if other.tables != stored.tables:
            return dataclasses.replace(other.record(name, "cpu"), device="CPU:0"), key
    raise AssertionError(f"no covered class computes {name} otherwise than {held}")


def test_a_run_another_class_computes_is_within_the_envelope_and_a_regression_is_not(tmp_path, monkeypatch):
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    experiment = catalog.get(NAME)
    elsewhere = _root(tmp_path, onednn_isa="avx512_core_amx", device="a CPU the classes were not computed on")
    assert verdict.portable(elsewhere, "cpu")
    run, key = _another_class_s_run(elsewhere, NAME)
    judged = verdict.verify(elsewhere, experiment, run)
    assert judged.status != "fail" and judged.portable, judged.explain()
    assert "judged by the envelope of the covered kernel classes" in judged.explain()
    # A regression (a learning rate 0.1% off moves the weights far beyond every class) still fails.
    moved = {c: list(v) for c, v in run.checkpoints.items()}
    moved["w1_0"][-1] = float(np.float32(moved["w1_0"][-1]) * np.float32(1.001))
    regressed = verdict.verify(elsewhere, experiment, dataclasses.replace(run, checkpoints=moved))
    assert regressed.status == "fail" and regressed.portable, regressed.explain()
    # Strict: no envelope.
    monkeypatch.setenv(verdict.STRICT_ENV, "1")
    assert not verdict.portable(elsewhere, "cpu")
    assert verdict.verify(elsewhere, experiment, run).status == "fail", key


def test_on_the_cpu_that_computed_the_classes_verdicts_stay_exact(tmp_path, monkeypatch):
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    here = _root(tmp_path, onednn_isa=kernels.cpu_identity()[0], device=kernels.cpu_identity()[1])
    if kernels.current().key not in golden.covered_classes(here, "cpu"):
        pytest.skip(f"this run's class {kernels.current().key} is not covered (HARNESS_KERNELS=own): "
                    "the test below judges that case")
    assert not verdict.portable(here, "cpu")
    run, _ = _another_class_s_run(here, NAME)
    judged = verdict.verify(here, catalog.get(NAME), run)
    assert judged.status == "fail" and not judged.portable


@pytest.mark.parametrize(("signatures", "measured", "admitted"), [
    # Every class departs from epoch 0 by up to 118 ULP: band_for(118) = 256.
    ([(0, 62.0, None), (0, 118.0, None)], (0, 250.0, None), True),
    ([(0, 62.0, None), (0, 118.0, None)], (0, 257.0, None), False),
    ([(0, 62.0, None), (0, 118.0, None)], (1, 10.0, None), False),  # another first epoch
    ([(0, 62.0, None), (0, 118.0, None)], None, False),  # identical where no class is
    ([(0, 62.0, None), None], None, True),
    # RMSProp's divergence: NaN from 365 to 371 on the classes, 368 +- band_for(3) = 8.
    ([(0, np.inf, 365), (0, np.inf, 371)], (0, np.inf, 372), True),
    ([(0, np.inf, 365), (0, np.inf, 371)], (0, np.inf, 377), False),
    ([(0, np.inf, 365), (0, np.inf, 371)], (0, 40.0, None), False),  # every class diverges; this run does not
    ([(0, np.inf, 365), (0, 30.0, None)], (0, np.inf, 366), False),  # a class that does not: no window
])
def test_a_mode_s_envelope_is_what_every_class_shares_widened_by_the_band_rule(signatures, measured, admitted):
    assert envelope.mode_envelope(signatures).admits(measured) is admitted


def test_a_class_the_goldens_do_not_cover_is_judged_by_the_envelope_even_on_their_own_cpu(tmp_path, monkeypatch):
    """Leaving a class out (or a CPU running its own uncovered kernels, HARNESS_KERNELS=own) on the very
    CPU that computed the others: its verdicts are the envelope's, not the base golden's exactly."""
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    here_key = kernels.current().key
    here = _root(tmp_path, onednn_isa=kernels.cpu_identity()[0], device=kernels.cpu_identity()[1],
                 kernel_classes=[k for k in golden.covered_classes(golden.ROOT, "cpu") if k != here_key])
    assert verdict.portable(here, "cpu")
    assert f"this run's kernel class {here_key} is not covered by the goldens" in verdict.portable_note(here, "cpu")
    monkeypatch.setenv(verdict.STRICT_ENV, "1")
    assert not verdict.portable(here, "cpu")


def test_a_number_the_program_computes_may_move_within_the_classes_spread_and_no_farther():
    classes = [0.05249592451792624, 0.05249594954566823, 0.052495873175147506]  # regularization_free's grid mean
    base = classes[0]
    assert envelope.scalar_admitted(0.05249592633917928, base, classes)  # AVX2's, no other class's
    assert envelope.scalar_admitted(classes[1], base, classes)
    assert not envelope.scalar_admitted(base * 1.001, base, classes)
    # Anything but a number only exactly.
    assert not envelope.scalar_admitted("0" * 64, "f" * 64, ["f" * 64, "e" * 64])
    assert envelope.scalar_admitted("e" * 64, "f" * 64, ["f" * 64, "e" * 64])


def _diverging(first_nan: int | None, rows: int = 12) -> dict[str, dict[str, list]]:
    loss = [1.0 + i / 100 for i in range(rows)]
    if first_nan is not None:
        loss = [*loss[:first_nan], *[float("nan")] * (rows - first_nan)]
    return {"columns": {"epoch": list(range(rows)), "loss": loss}}


def test_a_divergence_is_admitted_within_the_classes_window_and_nowhere_else():
    held, classes = _diverging(5), [_diverging(5), _diverging(4), _diverging(6), _diverging(None)]
    # The classes turn to NaN at epochs 4 to 6 (one never): 5 +- band_for(1) = 2.
    inside = envelope.admit_divergence(_diverging(7), held, classes)
    assert inside["columns"]["loss"][:4] == held["columns"]["loss"][:4]
    assert [math.isnan(v) for v in inside["columns"]["loss"][4:]] == [False] * 3 + [True] * 5
    assert envelope.admit_divergence(_diverging(9), held, classes) == held
    # A run that does not diverge is held to the class that does not.
    assert envelope.admit_divergence(_diverging(None), held, classes)["columns"]["loss"] == \
        _diverging(None)["columns"]["loss"]
    # Where no class diverges, nothing is admitted.
    steady = _diverging(None)
    assert envelope.admit_divergence(_diverging(5), steady, [steady, steady]) == steady
