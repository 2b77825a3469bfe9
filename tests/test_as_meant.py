"""The as-meant variant of a subclassed network (harness.experiments.keras.as_meant): one line changed,
``def call(self, x, training=None)``, which changes a network with batch normalization or dropout and
nothing else."""

from __future__ import annotations

import inspect

import pytest

from harness.execution.devices import Device
from harness.execution.fit import run_fit
from harness.execution.run import pinned
from harness.experiments import catalog
from harness.experiments.keras import as_meant
from tests.helpers import without_data


def _prefix(name: str, meant: bool) -> list[float]:
    experiment = catalog.get(name)
    if without_data(experiment):
        pytest.skip(f"{name}: no data")
    fit = as_meant(experiment.fit) if meant else experiment.fit
    assert fit is not None
    dict(fit.variables)
    with pinned(Device("CPU:0")):
        outcome = run_fit(fit, batches=20)
    return [v for table in (outcome.columns, outcome.batches) for k, values in table.items() if k != "epoch"
            for v in values]


def test_the_variant_takes_training_and_only_where_the_written_call_does_not():
    baseline = catalog.get("fashion_cnn_baseline").fit
    meant = as_meant(baseline)
    assert meant is not None and "training" in inspect.signature(meant.model.call).parameters
    assert "training" not in inspect.signature(baseline.model.call).parameters
    assert as_meant(meant) is None  # already as meant
    assert as_meant(catalog.get("keras_iris_sequential").fit) is None  # a Sequential passes training on


def test_as_meant_changes_a_network_with_batch_normalization_and_dropout():
    assert _prefix("fashion_cnn_baseline", meant=True) != _prefix("fashion_cnn_baseline", meant=False)


def test_as_meant_changes_nothing_in_a_network_without_them():
    assert _prefix("keras_iris_class", meant=True) == _prefix("keras_iris_class", meant=False)
