"""On a CPU other than the one the covered classes were computed on, a verdict that depends on the
kernels is judged by the envelope of the covered classes (harness/judge/envelope.py): what every
class's golden holds, widened by the one band rule, and no more; a regression still fails."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from harness import kernels
from harness.experiments import catalog
from harness.experiments.keras import WEIGHTS_SHA256
from harness.judge import envelope, verdict
from harness.store import golden
from tests.helpers import golden_copy

# Its classes' goldens part beyond its tolerance (the regularization network moves under every class
# below AVX-512, docs/devices.md).
NAME = "regularization_free"


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
    elsewhere = golden_copy(tmp_path, onednn_isa="avx512_core_amx", device="a CPU the classes were not computed on")
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
    here = golden_copy(tmp_path, onednn_isa=kernels.cpu_identity()[0], device=kernels.cpu_identity()[1])
    if kernels.current().key not in golden.covered_classes(here, "cpu"):
        pytest.skip(f"this run's class {kernels.current().key} is not covered (HARNESS_KERNELS=own): "
                    "the test below judges that case")
    assert not verdict.portable(here, "cpu")
    run, _ = _another_class_s_run(here, NAME)
    judged = verdict.verify(here, catalog.get(NAME), run)
    assert judged.status == "fail" and not judged.portable


@pytest.mark.parametrize(("signatures", "band", "window"), [
    # Every class departs from epoch 0 by up to 118 ULP: band_for(118) = 256.
    ([(0, 62.0, None), (0, 118.0, None)], 256, None),
    ([None, None], 0, None),  # every class identical to its reference in this mode
    # RMSProp's divergence: NaN from 365 to 371 on the classes.
    ([(0, np.inf, 365), (0, np.inf, 371)], 0, (365, 371)),
    ([(0, np.inf, 365), (0, 30.0, None)], 64, None),  # a class that does not diverge: no window
])
def test_a_mode_s_envelope_is_what_every_class_measured_of_it(signatures, band, window):
    found = envelope.mode_envelope(signatures)
    assert (found.band, found.nan_window) == (band, window)
    assert found.describe().startswith("the covered classes' envelope: ")


@pytest.mark.parametrize("in_mode", ["function", "fused_xla"])
def test_a_mode_s_run_on_an_uncovered_class_is_judged_by_the_envelope_and_a_regression_is_not(
        tmp_path, monkeypatch, in_mode):
    """Another class's eager run, presented as a run in a mode on a CPU the classes were not computed on:
    its departure from the held class's golden is the kernels', which no class's mode declaration holds
    (the exact mode verdict says DIFFERS or CHANGED); the envelope admits it, and not a learning rate
    0.1% off."""
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    name = "iris_sgd"
    experiment = catalog.get(name)
    elsewhere = golden_copy(tmp_path, onednn_isa="avx512_core_amx", device="a CPU the classes were not computed on")
    run, key = _another_class_s_run(elsewhere, name)
    run = dataclasses.replace(run, mode=in_mode)
    judged = verdict.judge_mode(elsewhere, experiment, run)
    assert judged.mode_verdict == "envelope" and judged.comparison.portable, (key, judged.comparison.explain())
    moved = {c: [float(np.float32(v) * np.float32(1.001)) for v in values] if c != "epoch" else values
             for c, values in run.checkpoints.items()}
    regressed = verdict.judge_mode(elsewhere, experiment, dataclasses.replace(run, checkpoints=moved))
    assert regressed.mode_verdict in ("CHANGED", "DIFFERS"), regressed.comparison.explain()
    assert not regressed.ok and regressed.comparison.portable


def test_a_class_the_goldens_do_not_cover_is_judged_by_the_envelope_even_on_their_own_cpu(tmp_path, monkeypatch):
    """Leaving a class out (or a CPU running its own uncovered kernels, HARNESS_KERNELS=own) on the very
    CPU that computed the others: its verdicts are the envelope's, not the base golden's exactly."""
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    here_key = kernels.current().key
    here = golden_copy(tmp_path, onednn_isa=kernels.cpu_identity()[0], device=kernels.cpu_identity()[1],
                 kernel_classes=[k for k in golden.covered_classes(golden.ROOT, "cpu") if k != here_key])
    assert verdict.portable(here, "cpu")
    assert f"this run's kernel class {here_key} is not covered by the goldens" in verdict.portable_note(here, "cpu")
    monkeypatch.setenv(verdict.STRICT_ENV, "1")
    assert not verdict.portable(here, "cpu")


def test_a_number_the_program_computes_may_move_within_the_classes_spread_and_no_farther():
    classes = [0.05249592451792624, 0.05249594954566823, 0.052495873175147506]  # regularization_free's grid mean
    base = classes[0]
    assert envelope.scalar_admitted("x", 0.05249592633917928, base, classes)  # AVX2's, no other class's
    assert envelope.scalar_admitted("x", classes[1], base, classes)
    assert not envelope.scalar_admitted("x", base * 1.001, base, classes)
    # A number computed from the weights moves as far as they may: regularization_l2's grid min leaving
    # AVX2 out is 7 ULP from the base's where the classes span 2 (band_for(2) = 4), its columns' band 256.
    grid_min = [-0.8556637763977051, -0.8556638956069946]
    assert not envelope.scalar_admitted("x", -0.8556641936302185, grid_min[0], grid_min)
    assert envelope.scalar_admitted("x", -0.8556641936302185, grid_min[0], grid_min, moved=256)
    assert not envelope.scalar_admitted("x", grid_min[0] * 1.001, grid_min[0], grid_min, moved=256)
    # A digest of the weights: judged by the columns it stands behind.
    digests = {"10": {"dense_kernel": "a" * 64, "dense_bias": "b" * 64}}
    ours = {"10": {"dense_kernel": "c" * 64, "dense_bias": "d" * 64}}
    assert envelope.scalar_admitted(WEIGHTS_SHA256, ours, digests, [digests])
    assert not envelope.scalar_admitted(WEIGHTS_SHA256, {"20": {"dense_kernel": "c" * 64}}, digests, [digests])
    # ... and only a digest: another record of strings is judged exactly.
    assert not envelope.scalar_admitted("as_written", ours, digests, [digests])
    # Anything but a number only exactly.
    assert not envelope.scalar_admitted("x", "0" * 64, "f" * 64, ["f" * 64, "e" * 64])
    assert envelope.scalar_admitted("x", "e" * 64, "f" * 64, ["f" * 64, "e" * 64])


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


def test_a_value_every_class_computes_alike_cannot_be_judged_by_the_envelope_and_the_failure_says_so():
    """mnist_train_ex2's first 200 batches: the same bits on every covered class but AVX2; leaving AVX2 out,
    its batch loss moves 33 ULP at batch 100 where the envelope measured nothing."""
    from harness.judge.compare import ColumnDiff, Comparison

    moved = ColumnDiff("loss", 7.9e-06, 3.6e-06, 33.0, 0, 100, 33.0, table="batches")
    failed = Comparison("mnist_train_ex2", "CPU:0", columns=[moved], portable=True)
    assert failed.status == "fail"
    assert "bit for bit alike: no measurement says how far the kernels move them" in failed.explain()
    assert "bit for bit alike" not in dataclasses.replace(failed, portable=False).explain()
    widened = dataclasses.replace(failed, columns=[dataclasses.replace(moved, tolerance=16)])
    assert "bit for bit alike" not in widened.explain()
