"""``python -m harness``: list, run, check and regen as a user calls them."""

from __future__ import annotations

import shutil
import subprocess
import sys

import yaml

from harness import golden, registry
from harness.training import MODES
from tests.helpers import ROOT, harness, run_json

CHEAP = ("cross_entropy", "softmax_cross_entropy", "tensor_creation", "common_functions")


def test_list_names_every_experiment_and_its_section():
    done = harness("list")
    assert done.returncode == 0, done.stderr
    for experiment in registry.all_experiments():
        line = next(l for l in done.stdout.splitlines() if l.startswith(experiment.name + " "))
        assert experiment.section in line


def test_run_prints_what_the_notes_print():
    done = harness("run", "cross_entropy", "--device", "CPU:0")
    assert done.returncode == 0, done.stderr
    # The notes' own lines, as they quote TensorFlow's print.
    assert "loss_ce1 tf.Tensor(0.5108256, shape=(), dtype=float32)" in done.stdout
    assert "loss_ce2 tf.Tensor(0.22314353, shape=(), dtype=float32)" in done.stdout


def test_run_json_gives_records_with_the_golden_columns_and_scalars():
    records = run_json("mse_regression", "cross_entropy", "--device", "cpu", "--epochs", "501")
    for record in records:
        assert {"experiment", "device", "tf_version", "columns", "scalars"} <= set(record)
    mse, ce = records
    assert list(mse["columns"]) == ["epoch", "w1_0", "w1_1", "loss"]
    assert mse["columns"]["epoch"] == [0, 500]
    committed = golden.paths(golden.ROOT, "cpu", "cross_entropy").scalars
    assert ce["scalars"] == yaml.safe_load(committed.read_text(encoding="utf-8"))


def test_an_unknown_experiment_exits_2_listing_the_valid_ones():
    done = harness("run", "mse_regresion")
    assert done.returncode == 2
    assert "unknown experiment 'mse_regresion'" in done.stderr
    assert all(e.name in done.stderr for e in registry.all_experiments())


def test_check_passes_on_the_committed_goldens():
    done = harness("check", *CHEAP)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(CHEAP)} runs: {len(CHEAP)} identical" in done.stdout
    assert "h1 > h2" in done.stdout and "reproduces" in done.stdout


def test_check_fails_and_says_where_on_a_changed_golden(tmp_path):
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    path = tmp_path / "cpu" / "cross_entropy.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("loss_ce2: 0.", "loss_ce2: 1."),
                    encoding="utf-8")
    done = harness("check", "cross_entropy", "--golden-dir", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL: scalar 'loss_ce2'" in done.stdout


def test_check_names_a_missing_golden(tmp_path):
    done = harness("check", "tensor_creation", "--golden-dir", str(tmp_path))
    assert done.returncode == 1
    assert "tensor_creation.yml does not exist" in done.stdout and "tox -e regen" in done.stdout


def test_regen_writes_what_is_committed_and_a_manifest(tmp_path):
    done = harness("regen", *CHEAP, "--golden-dir", str(tmp_path / "golden"),
                   "--drift-report", str(tmp_path / "drift.md"))
    assert done.returncode == 0, done.stderr
    drift = (tmp_path / "drift.md").read_text(encoding="utf-8")
    assert f"{len(CHEAP)} new." in drift and "TensorFlow (none) -> " in drift
    tmp_path = tmp_path / "golden"
    for name in CHEAP:
        committed = golden.paths(golden.ROOT, "cpu", name).scalars
        assert (tmp_path / "cpu" / committed.name).read_bytes() == committed.read_bytes()
    manifest = golden.read_manifest(tmp_path, "cpu")
    assert manifest is not None and manifest["op_determinism"] is True


def test_regeneration_refuses_to_run_under_xdist():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_goldens.py", "-n", "2", "--force-regen",
         "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 4, done.stdout + done.stderr  # a usage error: nothing ran
    assert "drop -n" in done.stderr


def test_an_unknown_mode_exits_2_listing_the_valid_ones():
    done = harness("run", "mse_regression", "--mode", "graph")
    assert done.returncode == 2
    assert "unknown mode 'graph'" in done.stderr
    assert all(mode in done.stderr for mode in MODES)


def test_run_in_another_mode_gives_a_record_of_the_same_shape():
    (eager,) = run_json("mse_regression", "--device", "CPU:0", "--epochs", "501")
    (fused,) = run_json("mse_regression", "--device", "CPU:0", "--epochs", "501", "--mode", "fused")
    assert (eager["mode"], fused["mode"]) == ("eager", "fused")
    # The fused loop is bit-identical to eager on TF 2.21 (tests/test_modes.py).
    assert fused["columns"] == eager["columns"] and fused["scalars"] == eager["scalars"]


def test_a_mode_does_not_apply_to_a_computation_without_a_training_loop():
    done = harness("run", "cross_entropy", "--mode", "xla")
    assert done.returncode == 2
    assert "cross_entropy has no training loop" in done.stderr
