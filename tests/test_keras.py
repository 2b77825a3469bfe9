"""The Keras kind of experiment (harness/experiments/keras.py, harness/execution/fit.py): what a
run of ``fit`` records, how a prefix is cut, and a line as written that raises."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.execution.devices import Device
from harness.execution.fit import SUMMARY, _values, run_fit
from harness.execution.run import pinned, run
from harness.experiments import catalog
from harness.experiments.keras import (
    AS_WRITTEN,
    IN_FULL,
    STARTED,
    WEIGHTS_SHA256,
    Fit,
    sample_indices,
    weight_columns,
    weights,
)
from harness.judge.verdict import against, load
from harness.record import Record
from harness.span import WHOLE, Span
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

    from harness.execution.fit import check_switches, xla_allowed
    from harness.execution.run import pinned

    with pinned(Device("CPU:0")):
        assert config.is_op_determinism_enabled()
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        with xla_allowed({"jit_compile": True}):
            model.compile(loss="mse", jit_compile=True)
            check_switches(model, {"jit_compile": True})
        assert model.jit_compile and config.is_op_determinism_enabled()
        refused = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        refused.compile(loss="mse", jit_compile=True)  # op determinism on: Keras sets it aside
        with pytest.raises(HarnessError, match="jit_compile=False where the mode asks for jit_compile=True"):
            check_switches(refused, {"jit_compile": True})


# ---- chapters 4 and 5: resumed programs, nested models, prefixes as goldens ----------------


def _tiny_resumed(tmp_path: Path) -> Fit:
    """p16's lines on 64 random 28x28 images: saves the best epoch, and a second run loads it."""
    from harness.experiments.course import c4_extensions as c4
    from harness.experiments.course.c3_mnist import adam_compile, sequential

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28)), rng.integers(0, 10, 64)
    return Fit(lambda: (x, y, (x[:16], y[:16])), sequential, adam_compile,
               dict(batch_size=32, epochs=3, validation_freq=1), ("loss", "sparse_categorical_accuracy"),
               {"dense_kernel": (784, 128), "dense_bias": (128,), "dense_1_kernel": (128, 10), "dense_1_bias": (10,)},
               (c4.checkpoint_path("tiny"), c4.exists_line("tiny"), c4.load_line("tiny")), steps_per_epoch=2,
               callbacks=c4.checkpointing("tiny"), before=c4.loading("tiny"), runs=2)


def test_a_program_run_twice_resumes_from_its_checkpoint_and_says_from_which_epoch(tmp_path):
    """The second run finds the first's best epoch (save_best_only) and starts from its bits; the
    epochs count on (1-3, 4-6); what the lines as written did is recorded, the misleading one too."""
    fit = _tiny_resumed(tmp_path)
    with pinned(Device("CPU:0")):
        outcome = run_fit(fit)
    first, second = outcome.scalars[STARTED]
    validation = dict(zip(outcome.validation["epoch"], outcome.validation["val_loss"], strict=True))
    best = min((validation[e], e) for e in (1, 2, 3))[1]
    assert not first["loaded"] and first["weights_of_epoch"] is None
    assert second["loaded"] and second["weights_of_epoch"] == best and second["optimizer_iterations"] == 0
    assert outcome.columns["epoch"] == [1, 2, 3, 4, 5, 6] and sorted(outcome.scalars[WEIGHTS_SHA256]) == [
        str(e) for e in range(1, 7)]
    said = outcome.scalars[AS_WRITTEN]
    assert said["os.path.exists('./checkpoint/tiny.ckpt' + '.index')"] == "gives False"
    assert said["model.load_weights('./checkpoint/tiny.ckpt')"].startswith("raises ValueError")


def test_a_prefix_of_a_resumed_program_stops_in_its_first_run(tmp_path):
    fit = _tiny_resumed(tmp_path)
    with pinned(Device("CPU:0")):
        outcome = run_fit(fit, batches=3)
    assert len(outcome.scalars[STARTED]) == 1 and outcome.columns["epoch"] == [1]


def test_a_network_of_blocks_records_every_variable_batch_normalizations_moving_statistics_included():
    """ResNet18's blocks are Models of their own: walked into, each layer under its session-unique name."""
    from harness.experiments.course import c5_cnn

    variables = c5_cnn.networks()[5].fit.variables  # fashion_resnet18
    assert len(variables) == 102 and variables["conv2d_kernel"] == (3, 3, 1, 64)
    assert variables["batch_normalization_moving_variance"] == (64,)
    assert sum(math.prod(s) for n, s in variables.items() if "moving" in n) == 9600  # the text's non-trainable count


def test_two_variables_under_one_name_are_refused():
    import tensorflow as tf

    class Twice(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.a = tf.keras.layers.Dense(2, name="same")
            self.b = tf.keras.layers.Dense(2, name="same")

        def call(self, x):
            return self.b(self.a(x))

    model = Twice()
    model(np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="two variables record as same_kernel"):
        weights(model)


def test_a_longer_run_is_held_to_a_golden_of_its_prefix_on_those_rows_only():
    """A golden written from a declared prefix (its span): the rows it holds are compared, later ones are not."""
    e = catalog.get("fashion_alexnet8")
    stored = load(golden.ROOT, e, "cpu")
    assert stored.span == Span.batches(e.fit.prefix) and "cut_at_batch" not in stored.scalars
    cut_rows = stored.tables["batches"]
    steps = e.fit.steps_per_epoch
    longer = dataclasses.replace(
        Record(e.name, "CPU:0", "cpu", "", scalars=stored.scalars, mode="function", span=Span.batches(steps + 10)),
        batches={c: [*v, *([v[-1]] * 3)] for c, v in cut_rows.items()} | {
            "epoch": [*cut_rows["epoch"], steps // 2, steps, steps + 10]},
        columns={"epoch": [1], "loss": [9.0], "sparse_categorical_accuracy": [0.5]})
    assert against(stored, e, longer).status != "fail"
    moved = dataclasses.replace(longer, batches={**longer.batches, "loss": [v + 1 for v in longer.batches["loss"]]})
    assert against(stored, e, moved).status == "fail"
    kept = e.fit.cut(longer, Span.batches(e.fit.prefix))
    assert kept.batches["epoch"] == cut_rows["epoch"] and kept.columns == {}
    # Asked as a whole run, the same record lacks four epochs of the program: a failure that says so.
    whole = against(stored, e, dataclasses.replace(longer, span=WHOLE))
    assert whole.status == "fail" and "the run's record ends at epoch 1 of 5" in whole.explain()


def test_on_keras_3_the_courses_cnns_never_move_their_batch_normalization_statistics():
    """The course's networks write ``call(self, x)``, without ``training``: Keras 2 passed fit's
    training=True on to their layers, Keras 3 (TF 2.16 on) passes None, so their BatchNormalization
    normalizes with its moving statistics and never updates them, and their Dropout drops nothing.
    Inception10's ConvBNRelu passes training=False itself: never, on either. The day Keras passes
    it on again, this fails (and docs/experiments.md, chapter 5, changes)."""
    import keras

    from harness.experiments.course import c5_models
    from harness.report.keras_training import moving_statistics_move, seen_in_fit

    keras2 = int(keras.__version__.split(".")[0]) < 3
    with pinned(Device("CPU:0")):
        assert set(seen_in_fit()) == ({True} if keras2 else {None})
        assert moving_statistics_move(c5_models.Baseline) == keras2
    # (Inception10's ConvBNRelu passes training=False itself: python -m harness.report.keras_training
    # shows its statistics never move on either; the default tests leave its 5-second fit out.)
