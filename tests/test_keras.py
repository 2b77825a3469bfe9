"""The Keras kind of experiment (harness/experiments/keras.py, harness/execution/fit.py): what a
run of ``fit`` records, how a prefix is cut, and a line as written that raises."""

from __future__ import annotations

import hashlib

import numpy as np

from harness.execution.devices import Device
from harness.execution.fit import AS_WRITTEN, _values
from harness.execution.run import run
from harness.experiments import catalog
from harness.experiments.keras import IN_FULL, WEIGHTS_SHA256, sample_indices, weight_columns
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
