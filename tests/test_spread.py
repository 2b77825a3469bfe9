"""A covered class computed on another CPU model: what it moved, as measured (harness.store.spread),
widens the envelope by the band rule and no more, and the file is read strictly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from harness import modes
from harness.errors import GoldenError
from harness.experiments import catalog
from harness.judge import envelope, verdict
from harness.store import golden, spread
from tests.helpers import cli as run_cli
from tests.helpers import golden_copy

# A program the classes move (docs/devices.md), and one of its weights at its last checkpoint.
NAME, TABLE, COLUMN = "regularization_free", "checkpoints", "w1_0"
ELSEWHERE = "a CPU the classes were not computed on"
MEASURED_ON = "Some CPU (avx2)"


def _moved(value: float, ulps: int) -> float:
    """``value`` (a float32) moved up by ``ulps`` float32 steps."""
    bits = np.asarray(value, dtype=np.float32).view(np.int32)
    return float((bits + np.int32(ulps if bits >= 0 else -ulps)).view(np.float32))


def _run_moved(root: Path, ulps: int) -> verdict.Record:
    """The held class's golden as a run here, its last ``w1_0`` moved ``ulps`` from the golden's."""
    stored = verdict.load(root, catalog.get(NAME), "cpu")
    run = dataclasses.replace(stored.record(NAME, "cpu"), device="CPU:0")
    moved = {c: list(v) for c, v in run.checkpoints.items()}
    moved[COLUMN][-1] = _moved(moved[COLUMN][-1], ulps)
    return dataclasses.replace(run, checkpoints=moved)


def test_a_class_moved_on_another_cpu_widens_that_column_by_the_band_rule_and_no_more(tmp_path, monkeypatch):
    """Beyond the classes' spread a run fails; once a CPU measured the class moving that column that
    far, the same run is within the envelope (band_for of the measurement), and one moved beyond
    band_for of it still fails."""
    monkeypatch.delenv(verdict.STRICT_ENV, raising=False)
    root = golden_copy(tmp_path, onednn_isa="avx512_core_amx", device=ELSEWHERE)
    experiment = catalog.get(NAME)
    assert verdict.portable(root, "cpu")
    bands = verdict.envelope_bands(root, experiment, _run_moved(root, 0))
    assert bands is not None
    beyond = bands(COLUMN) + 1
    assert verdict.verify(root, experiment, _run_moved(root, beyond)).status == "fail"
    key = verdict.held_to(root, "cpu") or golden.covered_classes(root, "cpu")[0]
    written = spread.record(root, "cpu", key, NAME, MEASURED_ON, modes.reference(experiment),
                            {TABLE: {COLUMN: float(beyond)}})
    assert written == spread.path(root, "cpu", key, NAME) and written.is_file()
    widened = verdict.envelope_bands(root, experiment, _run_moved(root, 0))
    assert widened is not None and widened(COLUMN) == envelope.band_for(beyond) > bands(COLUMN)
    judged = verdict.verify(root, experiment, _run_moved(root, beyond))
    assert judged.status != "fail" and judged.portable, judged.explain()
    assert verdict.verify(root, experiment, _run_moved(root, widened(COLUMN) + 1)).status == "fail"
    # Measured in another mode: no widening of this one.
    other = next(m for m in ("function", "xla") if m != modes.reference(experiment))
    assert verdict.moved_elsewhere(root, experiment, "cpu", other) == {}


def test_this_cpu_s_measurement_replaces_its_own_keeps_the_others_and_goes_when_nothing_moved(tmp_path):
    root = golden_copy(tmp_path)
    key = golden.covered_classes(root, "cpu")[0]
    spread.record(root, "cpu", key, NAME, "Other CPU (sse41)", "eager", {TABLE: {COLUMN: 7.0}})
    spread.record(root, "cpu", key, NAME, MEASURED_ON, "eager", {TABLE: {COLUMN: 3.0, "w1_1": 0.0}})
    spread.record(root, "cpu", key, NAME, MEASURED_ON, "eager", {TABLE: {COLUMN: 5.0}})
    assert spread.read(root, "cpu", key, NAME) == {"Other CPU (sse41)": {"eager": {TABLE: {COLUMN: 7}}},
                                                   MEASURED_ON: {"eager": {TABLE: {COLUMN: 5}}}}
    assert spread.farthest([spread.read(root, "cpu", key, NAME)], "eager") == {COLUMN: 7.0}
    assert spread.record(root, "cpu", key, NAME, MEASURED_ON, "eager", {TABLE: {COLUMN: 5.0}}) is None  # unchanged
    spread.record(root, "cpu", key, NAME, MEASURED_ON, "eager", {TABLE: {COLUMN: 0.0}})
    spread.record(root, "cpu", key, NAME, "Other CPU (sse41)", "eager", {})
    assert not spread.path(root, "cpu", key, NAME).exists()


@pytest.mark.parametrize("text", [
    "[1, 2]\n",
    "Some CPU (avx2):\n  eagerly:\n    checkpoints:\n      w1_0: 3\n",
    "Some CPU (avx2):\n  eager:\n    weights:\n      w1_0: 3\n",
    "Some CPU (avx2):\n  eager:\n    checkpoints:\n      w1_0: -3\n",
    "Some CPU (avx2):\n  eager:\n    checkpoints:\n      w1_0: .inf\n",
    "Some CPU (avx2):\n  eager:\n    checkpoints:\n      w1_0: true\n",
    "Some CPU (avx2):\n  eager: {}\n",
    "Some CPU (avx2):\n  eager:\n    checkpoints:\n      w9_0: 3\n",  # no such weight
    "",
])
def test_a_damaged_measurement_is_refused_naming_the_file_and_how_to_measure_it_again(tmp_path, text):
    root = golden_copy(tmp_path)
    key = golden.covered_classes(root, "cpu")[0]
    where = spread.path(root, "cpu", key, NAME)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(text, encoding="utf-8")
    with pytest.raises(GoldenError) as raised:
        verdict.moved_elsewhere(root, catalog.get(NAME), "cpu", "eager")
    assert str(where) in str(raised.value) and "regen --cpu-spread" in str(raised.value)


def test_the_measurement_is_refused_on_the_cpu_that_computed_the_classes_and_for_a_class_not_covered(tmp_path):
    from harness import kernels

    isa, model = kernels.cpu_identity()
    here = golden_copy(tmp_path / "here", onednn_isa=isa, device=model)
    done = run_cli("regen", "--cpu-spread", "--golden-dir", str(here), NAME)
    assert done.returncode == 2 and "is the one the covered classes were computed on" in done.stderr, done
    runnable = kernels.emulable()
    elsewhere = golden_copy(tmp_path / "elsewhere", onednn_isa="avx512_core_amx", device=ELSEWHERE,
                      kernel_classes=[k for k in golden.covered_classes(golden.ROOT, "cpu") if k != runnable[0]])
    before = {p: p.read_bytes() for p in (elsewhere / "cpu").rglob("*") if p.is_file()}
    done = run_cli("regen", "--cpu-spread", "--kernel-classes", runnable[0], "--golden-dir", str(elsewhere), NAME)
    assert done.returncode == 2 and f"{runnable[0]}: --cpu-spread measures covered classes" in done.stderr, done
    assert {p: p.read_bytes() for p in (elsewhere / "cpu").rglob("*") if p.is_file()} == before  # nothing written
    done = run_cli("regen", "--cpu-spread", "--add-kernel-class", "--golden-dir", str(elsewhere))
    assert done.returncode == 2 and "not allowed with" in done.stderr, done
