"""The Keras kind of experiment (harness/experiments/keras.py, harness/execution/fit.py): what a
run of ``fit`` records, how a prefix is cut, and a line as written that raises."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.execution.devices import Device
from harness.execution.fit import SUMMARY, _values, run_fit
from harness.execution.run import run
from harness.experiments import catalog
from harness.experiments.keras import AS_WRITTEN, IN_FULL, WEIGHTS_SHA256, sample_indices, weight_columns
from harness.judge.verdict import load
from harness.store import golden


def test_a_small_variable_is_recorded_in_full_and_a_large_one_as_its_digest():
    assert weight_columns("dense_kernel", (4, 3)) == [f"dense_kernel_{i}" for i in range(12)]
    big = weight_columns("dense_kernel", (784, 128))
    assert big[:4] == ["dense_kernel_sum", "dense_kernel_l2", "dense_kernel_min", "dense_kernel_max"]
    assert big[4:] == [f"dense_kernel_at{i}" for i in sample_indices(784 * 128)] and len(big) == 12
    value = np.arange(784 * 128, dtype=np.float32).reshape(784, 128)
    found = _values("dense_kernel", value)
    assert list(found) == big and found["dense_kernel_max"] == 784 * 128 - 1 and found["dense_kernel_at0"] == 0
    assert len(weight_columns("b", (IN_FULL,))) == IN_FULL


def test_a_prefix_records_only_the_epochs_it_finished():
    """Six batches of iris's four an epoch: epoch 1 is recorded, the cut epoch 2 is not."""
    e = catalog.get("keras_iris_sequential")
    record = run(e, Device("CPU:0"), batches=6)
    assert record.columns["epoch"] == [1] and not record.checkpoints
    assert record.scalars[WEIGHTS_SHA256] == {}


def test_a_line_as_written_is_tried_and_what_it_did_is_recorded():
    """In the golden (its run is held to it by tests/test_goldens.py): what the line did here."""
    stored = load(golden.ROOT, catalog.get("keras_iris_sequential"), "cpu")
    (said,) = stored.scalars[AS_WRITTEN].values()
    # Keras 2 takes lr; Keras 3 refuses it, and the adapted line runs.
    assert said == "runs" or said.startswith("raises ValueError: Argument(s) not recognized: {'lr': 0.1}")
    assert stored.scalars["params"] == 15


def test_the_weights_hash_is_of_the_bits_recorded():
    """The recorder's SHA-256 of a variable is of the bits its columns hold (in the golden it wrote)."""
    stored = load(golden.ROOT, catalog.get("keras_iris_sequential"), "cpu")
    table = stored.tables["checkpoints"]
    for row, epoch in enumerate(table["epoch"]):
        kernel = np.array([table[f"dense_kernel_{i}"][row] for i in range(12)], np.float32).reshape(4, 3)
        digest = hashlib.sha256(kernel.tobytes()).hexdigest()
        assert stored.scalars[WEIGHTS_SHA256][str(epoch)]["dense_kernel"] == digest


def test_the_programs_callbacks_write_in_a_folder_of_their_own_and_a_prefix_stops_before_the_code_after_fit(
        tmp_path, monkeypatch):
    """p15 saves its checkpoint under ./checkpoint/: not where the harness runs. Its after-fit
    predictions are a whole run's (tests/test_goldens.py holds them to the golden)."""
    monkeypatch.chdir(tmp_path)
    e = catalog.get("rnn_onehot_1pre1")
    record = run(e, Device("CPU:0"), batches=3)
    assert list(tmp_path.iterdir()) == [] and Path.cwd() == tmp_path
    assert record.columns["epoch"] == [1, 2, 3] and not record.checkpoints  # weights every 10 epochs
    assert "predictions" not in record.scalars and e.after_scalars == ("predictions",)
    said = record.scalars[AS_WRITTEN][e.fit.lines[0].written]
    # Keras 2 saves to *.ckpt; Keras 3 refuses it, and the adapted line runs.
    assert said == "runs" or said.startswith("raises ValueError: When using `save_weights_only=True`")


def test_validation_values_and_weights_are_tables_of_their_own():
    """iris validates every 20 epochs and records its weights there; p15 does not validate and
    records its weights every 10 epochs; a stock program validates every epoch, weights every 10."""
    iris, letters, stock = (catalog.get(n) for n in ("keras_iris_sequential", "rnn_onehot_1pre1", "lstm_stock"))
    assert iris.fit.validation_epochs(500) == iris.fit.checkpoint_epochs(500) == list(range(20, 501, 20))
    assert "validation" not in letters.table_columns() and letters.fit.checkpoint_epochs(100)[:2] == [10, 20]
    assert stock.fit.validation_epochs(50) == list(range(1, 51)) and stock.fit.checkpoint_epochs(50)[-1] == 50
    stored = load(golden.ROOT, iris, "cpu")
    assert stored.tables["validation"]["epoch"] == stored.tables["checkpoints"]["epoch"] == list(range(20, 501, 20))


def test_an_inconsistent_fit_is_refused_by_name():
    base = catalog.get("rnn_onehot_1pre1").fit
    assert any("last epoch's weights" in p for p in dataclasses.replace(base, weights_every=30).problems())
    assert any("code after fit" in p for p in dataclasses.replace(base, after_scalars=()).problems())
    validating = dataclasses.replace(base, data=lambda: (*base.data(), (None, None)))
    with pytest.raises(HarnessError, match="gives validation data, but its fit names neither"):
        run_fit(validating, batches=1)


def test_summary_counts_are_what_model_summary_prints():
    """Keras 3 adds the optimizer's variables to Total params; the golden holds what it printed."""
    stored = load(golden.ROOT, catalog.get("rnn_onehot_4pre1"), "cpu")
    counts = stored.scalars[SUMMARY]
    assert counts["Trainable params"] == stored.scalars["params"] == 47
    assert counts["Total params"] == counts["Trainable params"] + counts["Non-trainable params"] + counts.get(
        "Optimizer params", 0)


def test_a_mode_runs_as_named():
    """Keras turns jit_compile=True off (a warning, nothing more) where op determinism is on, which
    the harness turns on for every run: the XLA modes compile with XLA all the same, and a switch
    Keras set aside stops the run instead of passing the compiled fit off as the mode."""
    import tensorflow as tf
    from tensorflow.python.framework import config

    from harness.execution.fit import _check_switches, _xla_allowed
    from harness.execution.run import pinned

    with pinned(Device("CPU:0")):
        assert config.is_op_determinism_enabled()
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        with _xla_allowed({"jit_compile": True}):
            model.compile(loss="mse", jit_compile=True)
            _check_switches(model, {"jit_compile": True})
        assert model.jit_compile and config.is_op_determinism_enabled()
        refused = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        refused.compile(loss="mse", jit_compile=True)  # op determinism on: Keras sets it aside
        with pytest.raises(HarnessError, match="jit_compile=False where the mode asks for jit_compile=True"):
            _check_switches(refused, {"jit_compile": True})
