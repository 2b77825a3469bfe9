"""Runs a Keras program (``harness.experiments.keras.Fit``) into an outcome: ``fit`` with one
callback added that records what ``fit`` reports per epoch and, at each validation epoch, the
validation values and every weight.

``tf.keras.backend.clear_session()`` first: Keras names layers from process-wide counters
(a second ``Dense`` is ``dense_1``), and a run must not depend on what ran before it.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import tensorflow as tf

from harness.errors import HarnessError
from harness.experiments.declare import Outcome
from harness.experiments.keras import IN_FULL, WEIGHTS_SHA256, Fit, Line, sample_indices, weight_columns
from harness.record import plain

# The scalar that says, per declared line, what the line as written did on this release.
AS_WRITTEN = "as_written"
PARAMS = "params"


def _variable_name(layer: Any, variable: Any) -> str:
    """``<layer>_<variable>``: ``dense_kernel``; Keras 2 names it ``dense/kernel:0``, Keras 3 ``kernel``."""
    short = variable.name.split("/")[-1].split(":")[0]
    return f"{layer.name}_{short}"


def weights(model: Any) -> dict[str, Any]:
    """Every trainable variable of the model, by the column name it records under."""
    return {_variable_name(layer, v): v for layer in model.layers for v in layer.trainable_weights}


def _values(name: str, value: np.ndarray) -> dict[str, Any]:
    """A variable's values under its columns (``weight_columns``): every element, or its digest."""
    flat = value.reshape(-1)
    if flat.size <= IN_FULL:
        values = list(flat)
    else:
        wide = flat.astype(np.float64)
        values = [np.float32(v) for v in (wide.sum(), np.sqrt((wide * wide).sum()), flat.min(), flat.max())]
        values += [flat[i] for i in sample_indices(flat.size)]
    return dict(zip(weight_columns(name, value.shape), (plain(v) for v in values), strict=True))


class Recorder(tf.keras.callbacks.Callback):  # type: ignore[misc]
    """Per epoch, what ``fit`` reports; at each validation epoch, the validation values and the
    weights; within the first epoch, the running values every ``batch_every`` batches. With
    ``stop_after``, ``fit`` stops after that many batches, and an epoch it cut is not recorded."""

    def __init__(self, fit: Fit, epochs: int, stop_after: int | None) -> None:
        super().__init__()
        self.declared, self.at, self.stop_after = fit, set(fit.checkpoint_epochs(epochs)), stop_after
        self.columns: dict[str, list[Any]] = {c: [] for c in fit.column_names()}
        self.checkpoints: dict[str, list[Any]] = {c: [] for c in fit.checkpoint_names()}
        self.batches: dict[str, list[Any]] = {c: [] for c in fit.batch_names()}
        self.hashes: dict[str, dict[str, str]] = {}
        self.steps, self.cut = 0, False

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.steps += 1
        every = self.declared.batch_every
        if every and self.steps == batch + 1 and (batch + 1) % every == 0:  # the first epoch
            self.batches["epoch"].append(batch + 1)
            for metric in self.declared.metrics:
                self.batches[metric].append(plain(np.float32((logs or {})[metric])))
        if self.stop_after is not None and self.steps >= self.stop_after:
            self.model.stop_training = True
            self.cut = batch + 1 < self.params["steps"]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.cut:
            return
        logs = dict(logs or {})
        label = epoch + 1  # as fit prints it: Epoch 1/500
        self.columns["epoch"].append(label)
        for metric in self.declared.metrics:
            self.columns[metric].append(plain(np.float32(logs[metric])))
        if label not in self.at:
            return
        self.checkpoints["epoch"].append(label)
        for metric in self.declared.metrics:
            self.checkpoints[f"val_{metric}"].append(plain(np.float32(logs[f"val_{metric}"])))
        self.hashes[str(label)] = {}
        for name, variable in weights(self.model).items():
            value = np.asarray(variable.numpy())
            for column, v in _values(name, value).items():
                self.checkpoints[column].append(v)
            self.hashes[str(label)][name] = hashlib.sha256(value.tobytes()).hexdigest()


def _line(found: dict[str, str]) -> Any:
    def value(line: Line) -> Any:
        namespace = {"tf": tf}
        try:
            result = eval(line.written, namespace)
        except (TypeError, ValueError) as exc:
            found[line.written] = f"raises {type(exc).__name__}: {exc}"
            return eval(line.adapted, namespace)
        found[line.written] = "runs"
        return result

    return value


def run_fit(fit: Fit, epochs: int | None = None, batches: int | None = None) -> Outcome:
    """One run of the program: whole, its first ``epochs`` epochs, or its first ``batches`` batches."""
    tf.keras.backend.clear_session()
    x_train, y_train, *validation = fit.data()
    as_written: dict[str, str] = {}
    model = fit.model()
    model.compile(**fit.compile(_line(as_written)))
    count = min(epochs or fit.epochs, fit.epochs)
    recorder = Recorder(fit, count, batches)
    per_epoch = math.ceil(len(x_train) * (1 - fit.fit.get("validation_split", 0.0)) / fit.fit.get("batch_size", 32))
    # A prefix that ends inside the first epoch reaches no validation: fit would evaluate the
    # test set at the cut all the same (its result is not recorded), so it is not given one.
    given = {"validation_data": validation[0]} if validation and not (batches and batches < per_epoch) else {}
    model.fit(x_train, y_train, **{**fit.fit, **given, "epochs": count}, verbose=0, callbacks=[recorder])
    found = {name: tuple(int(d) for d in variable.shape) for name, variable in weights(model).items()}
    if found != fit.variables:
        raise HarnessError(f"the model's variables are {found}; its declaration names {fit.variables}")
    scalars: dict[str, Any] = {PARAMS: int(model.count_params()), WEIGHTS_SHA256: recorder.hashes}
    if as_written:
        scalars[AS_WRITTEN] = dict(sorted(as_written.items()))
    first = next(iter(weights(model).values()))
    placement = getattr(first, "value", first).device  # Keras 3 wraps the tf.Variable
    tables = [t if t.get("epoch") else {} for t in (recorder.columns, recorder.checkpoints, recorder.batches)]
    return Outcome(tables[0], scalars, placement, tables[1], tables[2])
