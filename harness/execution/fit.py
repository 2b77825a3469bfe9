"""Runs a Keras program (``harness.experiments.keras.Fit``) into an outcome: ``fit`` with one
callback added that records what ``fit`` reports per epoch, on the validation data at the epochs
it validates, the weights every N epochs, and the running values within the first and last
epochs; then the counts ``model.summary()`` prints and what the program computes after ``fit``.

``tf.keras.backend.clear_session()`` first: Keras names layers from process-wide counters
(a second ``Dense`` is ``dense_1``), and a run must not depend on what ran before it. The
program runs in an empty working folder of its own: its checkpoints and files go there, and
nothing it left from an earlier run is there to load.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from harness import modes
from harness.errors import HarnessError
from harness.execution import runtime
from harness.execution.executor import Asked, Executed
from harness.experiments.declare import Outcome
from harness.experiments.keras import (
    AS_WRITTEN,
    IN_FULL,
    STARTED,
    WEIGHTS_SHA256,
    Fit,
    Line,
    sample_indices,
    summary_counts,
    weight_columns,
    weights,
)
from harness.record import plain

PARAMS = "params"
# The counts ``model.summary()`` prints after fit (Keras 3 adds the optimizer's to its total).
SUMMARY = "summary"


def _values(name: str, value: np.ndarray, in_full: int = IN_FULL) -> dict[str, Any]:
    """A variable's values under its columns (``weight_columns``): every element, or its digest."""
    flat = value.reshape(-1)
    if flat.size <= in_full:
        values = list(flat)
    else:
        wide = flat.astype(np.float64)
        values = [np.float32(v) for v in (wide.sum(), np.sqrt((wide * wide).sum()), flat.min(), flat.max())]
        values += [flat[i] for i in sample_indices(flat.size)]
    return dict(zip(weight_columns(name, value.shape, in_full), (plain(v) for v in values), strict=True))


class Recorder(tf.keras.callbacks.Callback):  # type: ignore[misc]
    """Per epoch, what ``fit`` reports; at each validation epoch, the validation values; at each
    checkpoint epoch, the weights; within the program's first and last epochs, the running values
    every ``batch_every`` batches (labelled by the batch's number since the start). With
    ``stop_after``, ``fit`` stops after that many batches, and an epoch it cut is not recorded."""

    def __init__(self, fit: Fit, epochs: int, stop_after: int | None) -> None:
        super().__init__()
        self.declared, self.stop_after = fit, stop_after
        self.validates, self.at = set(fit.validation_epochs(epochs)), set(fit.checkpoint_epochs(epochs))
        self.columns: dict[str, list[Any]] = {c: [] for c in fit.column_names()}
        self.validation: dict[str, list[Any]] = {c: [] for c in fit.validation_names()}
        self.checkpoints: dict[str, list[Any]] = {c: [] for c in fit.checkpoint_names()}
        self.batches: dict[str, list[Any]] = {c: [] for c in fit.batch_names()}
        self.hashes: dict[str, dict[str, str]] = {}
        self.epoch, self.cut = 0, False
        # The epochs of earlier runs of the program (a resumed run's epochs count on).
        self.offset = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = self.offset + epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # ``batch``: the last batch this call ran (with steps_per_execution N, a call runs N; an
        # epoch's last call, cut short by the end of the data, still says N: Keras 3.15 reports
        # batch 35 for the 33rd and last step of an epoch of 33).
        batch = min(batch, self.params["steps"] - 1)
        steps = self.epoch * self.params["steps"] + batch + 1
        every = self.declared.batch_every
        if every and self.epoch in (0, self.declared.epochs - 1) and (batch + 1) % every == 0:
            self.batches["epoch"].append(steps)
            for metric in self.declared.metrics:
                self.batches[metric].append(plain(np.float32((logs or {})[metric])))
        if self.stop_after is not None and steps >= self.stop_after:
            self.model.stop_training = True
            self.cut = batch + 1 < self.params["steps"]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.cut:
            return
        logs = dict(logs or {})
        label = self.offset + epoch + 1  # as fit prints it: Epoch 1/500 (a second run's first: 6)
        self.columns["epoch"].append(label)
        for metric in self.declared.metrics:
            self.columns[metric].append(plain(np.float32(logs[metric])))
        if label in self.validates:
            self.validation["epoch"].append(label)
            for metric in self.declared.metrics:
                self.validation[f"val_{metric}"].append(plain(np.float32(logs[f"val_{metric}"])))
        if label not in self.at:
            return
        self.checkpoints["epoch"].append(label)
        self.hashes[str(label)] = {}
        for name, variable in weights(self.model).items():
            value = np.asarray(variable.numpy())
            for column, v in _values(name, value, self.declared.in_full).items():
                self.checkpoints[column].append(v)
            self.hashes[str(label)][name] = hashlib.sha256(value.tobytes()).hexdigest()


def line_values(found: dict[str, str]) -> Any:
    """What gives a declared line's value in a run: the line as written, or the adapted one where it
    raises or misleads, each recorded in ``found`` (the record's ``as_written``)."""
    def value(line: Line, **names: Any) -> Any:
        namespace = {"tf": tf, **names}
        try:
            result = eval(line.written, namespace)
        except (TypeError, ValueError, AttributeError) as exc:
            found[line.written] = f"raises {type(exc).__name__}: {exc}"
            return eval(line.adapted, namespace)
        if line.misleads:
            # It runs, and does what today's libraries make of it: what it gave is the record's.
            found[line.written] = f"gives {result!r}"
            return eval(line.adapted, namespace)
        found[line.written] = "runs"
        return result

    return value


@contextlib.contextmanager
def xla_allowed(switches: Mapping[str, Any]) -> Iterator[None]:
    """Keras 3 turns ``jit_compile=True`` off, with a warning, wherever op determinism is on (its
    ``model_supports_jit``), and the harness turns it on for every run: an XLA mode of a Keras
    program runs with it off, as on any user's machine (the matrix runs each run twice and once
    more in a fresh process: a nondeterministic one is seen there)."""
    from tensorflow.python.framework import config

    if not switches.get("jit_compile") or not config.is_op_determinism_enabled():
        yield
        return
    config.disable_op_determinism()
    try:
        yield
    finally:
        config.enable_op_determinism()


def check_switches(model: Any, switches: Mapping[str, Any]) -> None:
    """Keras sets aside a switch it cannot honour with a warning only: a mode must run as named."""
    for name in ("jit_compile", "run_eagerly"):
        if name in switches and bool(getattr(model, name)) != bool(switches[name]):
            raise HarnessError(f"Keras {keras.__version__} compiled the model with {name}={getattr(model, name)} "
                               f"where the mode asks for {name}={switches[name]}: this mode does not run here")


def execute(fit: Fit, asked: Asked) -> Executed:
    """A Keras program's fit in the asked mode (its ``compile`` switches), whole or its first epochs
    or batches."""
    # A declaration that builds its model to list its variables does it now, not after the
    # random state is reset for the run (building draws initial weights).
    dict(fit.variables)
    with asked.pinned():
        return Executed(run_fit(fit, asked.epochs, asked.batches, modes.get(asked.mode).keras))


def run_fit(fit: Fit, epochs: int | None = None, batches: int | None = None,
            switches: Mapping[str, Any] | None = None) -> Outcome:
    """One run of the program: whole, its first ``epochs`` epochs, or its first ``batches``
    batches; ``switches``, an execution mode's ``compile`` arguments (``harness.modes``)."""
    with tempfile.TemporaryDirectory(prefix="harness-fit-") as folder, contextlib.chdir(folder):
        return _run(fit, epochs, batches, switches or {})


def _run(fit: Fit, epochs: int | None, batches: int | None, switches: Mapping[str, Any]) -> Outcome:
    variables = dict(fit.variables)  # a declaration that builds its model to list them does it first
    tf.keras.backend.clear_session()
    x_train, y_train, *validation = fit.data()
    if bool(validation) and not fit.validates:
        raise HarnessError("the program's data gives validation data, but its fit names neither validation_freq "
                           "nor validation_split: declare the validation_freq it uses (Keras's default is 1)")
    as_written: dict[str, str] = {}
    line = line_values(as_written)
    count = min(epochs or fit.epochs, fit.epochs)
    recorder = Recorder(fit, count, batches)
    # A generator (ImageDataGenerator.flow) gives its batches itself: fit takes neither y nor batch_size.
    given_y: dict[str, Any] = {} if y_train is None else {"y": y_train}
    args = {k: v for k, v in fit.fit.items() if y_train is not None or k != "batch_size"}
    per_epoch = len(x_train) if y_train is None else math.ceil(
        len(x_train) * (1 - fit.fit.get("validation_split", 0.0)) / fit.fit.get("batch_size", 32))
    # A prefix that ends inside the first epoch reaches no validation: fit would evaluate the
    # test set at the cut all the same (its result is not recorded), so it is not given one.
    given = {"validation_data": validation[0]} if validation and not (batches and batches < per_epoch) else {}
    model, before = None, []
    for run in range(fit.runs):
        if run * fit.per_run >= count or (model is not None and model.stop_training):
            break
        # Each run of the program is a process of its own, in the same working folder (a second
        # run finds what the first saved): a fresh session and random state, its model built afresh.
        if run:
            tf.keras.backend.clear_session()
            runtime.reset_random_state()
        model = fit.model()
        with xla_allowed(switches):
            model.compile(**fit.compile(line), **switches)
            check_switches(model, switches)
        if fit.before is not None:
            before.append(started_from(fit.before(model, line), model, recorder.hashes))
        callbacks = [*(fit.callbacks(line) if fit.callbacks else ()), recorder]
        recorder.offset = run * fit.per_run
        model.fit(x_train, **given_y, **{**args, **given, "epochs": min(fit.per_run, count - recorder.offset)},
                  verbose=0, callbacks=callbacks)
        if recorder.params["steps"] != fit.steps_per_epoch:
            raise HarnessError(f"fit counts {recorder.params['steps']} steps per epoch; the declaration names "
                               f"{fit.steps_per_epoch} (steps_per_epoch)")
    assert model is not None
    found = {name: tuple(int(d) for d in variable.shape) for name, variable in weights(model).items()}
    if found != variables:
        raise HarnessError(f"the model's variables are {found}; its declaration names {variables}")
    after = None
    if fit.after is not None and count == fit.epochs and batches is None:
        # What the program computes from the trained model, as it writes it; a run cut short
        # does not get there.
        after = fit.after(model, line)
        if tuple(after) != fit.after_scalars:
            raise HarnessError(f"the code after fit gave {list(after)}; its declaration names "
                               f"{list(fit.after_scalars)}")
    return recorded(model, recorder, before, as_written, after)


def recorded(model: Any, recorder: Recorder, started: list[Any], as_written: dict[str, str],
             after: dict[str, Any] | None = None) -> Outcome:
    """What a run of a Keras program records, from its trained model and the recorder that watched its
    fit: the same for the declaration's run and for the published file's (``published_run``)."""
    scalars: dict[str, Any] = {PARAMS: int(model.count_params()), SUMMARY: summary_counts(model),
                               WEIGHTS_SHA256: recorder.hashes}
    if started:
        scalars[STARTED] = started
    scalars.update(after or {})
    if as_written:
        scalars[AS_WRITTEN] = dict(sorted(as_written.items()))
    first = next(iter(weights(model).values()))
    # Keras 3 wraps the tf.Variable (its ``value``); Keras 2's is one (whose ``value`` is a method).
    placement = first.device if isinstance(first, tf.Variable) else first.value.device
    tables = [t if t.get("epoch") else {} for t in (recorder.columns, recorder.checkpoints, recorder.batches,
                                                    recorder.validation)]
    return Outcome(tables[0], scalars, placement, *tables[1:])


def started_from(said: dict[str, Any], model: Any, hashes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What a run's code before fit did (it loaded a checkpoint, or found none), and the weights it
    starts from: the epoch of an earlier run whose bits they are, bit for bit, or none."""
    start = {name: hashlib.sha256(np.asarray(v.numpy()).tobytes()).hexdigest() for name, v in weights(model).items()}
    same = [int(epoch) for epoch, at in hashes.items() if at == start]
    return {**said, "weights_of_epoch": same[-1] if same else None,
            "optimizer_iterations": int(model.optimizer.iterations.numpy())}
