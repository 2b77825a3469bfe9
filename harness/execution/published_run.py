"""Runs a Keras program's published file itself (``harness.experiments.published``), into a record
of the same kind its declaration's run makes, so that the two can be required equal bit for bit.

The file runs as published, in a scratch folder, with only this changed: each line its declaration
quotes (``Line.written``) is evaluated as the declaration's run evaluates it (the line as written,
and the adapted one where it raises or misleads, both recorded in ``as_written``), the preamble runs
first (``pinned``), ``fit`` gets ``verbose=0`` and the recorder, ``load_data`` reads the pinned
arrays (``harness.experiments.datasets``) and ``plt.show()`` returns at once; a prefix stops where
``fit`` returns, without the validation a cut inside the first epoch would not record.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import matplotlib.pyplot as plt
import tensorflow as tf

from harness.errors import HarnessError
from harness.execution import runtime
from harness.execution.devices import Device
from harness.execution.fit import Recorder, line_values, recorded, started_from
from harness.execution.run import pinned, to_record
from harness.experiments import datasets, published
from harness.experiments.declare import Experiment
from harness.experiments.keras import Fit
from harness.record import Record
from harness.span import Span

LINE = "__harness_line__"


class NotProvable(HarnessError):
    """A program whose file cannot be run against its declaration as it is, and why."""


class _Cut(Exception):
    """A prefix run's fit returned: the file's code after it is the whole run's."""


def why_not(experiment: Experiment, span: Span) -> str | None:
    """Why this experiment's declaration cannot be proved against its file on ``span`` by running the
    file, or None."""
    fit = experiment.fit
    if fit is None:
        return "it is not a Keras program"
    if experiment.name not in published.FILES:
        return f"it has no published file of its own: {published.UNPUBLISHED.get(experiment.name, 'not listed')}"
    if len(published.FILES[experiment.name]) != 1:
        return "it runs two files (a training program, then the application that loads its checkpoint)"
    if span.whole and fit.after is not None:
        return ("what its file computes after fit is not read from the file's run yet (a prefix of it is proved: "
                "the code after fit is the whole run's)")
    return None


def substituted(source: str, fit: Fit) -> str:
    """The file with each quoted line replaced by the call that evaluates it as the declaration does;
    HarnessError names a quoted line the file does not hold."""
    spans = []
    for number, line in enumerate(fit.lines):
        found = published.where(source, line.written)
        if found is None:
            raise HarnessError(f"the declaration quotes {line.written!r}, which is not the file's code: correct the "
                               "declaration's Line (tests/test_published.py)")
        spans.append((found, number))
    for (start, end), number in sorted(spans, reverse=True):
        source = source[:start] + f"{LINE}({number})" + source[end:]
    return source


@contextlib.contextmanager
def _patched(fit: Fit, recorder: Recorder, span: Span, models: list[Any], started: list[Any]) -> Iterator[None]:
    """fit with verbose=0 and the recorder, the pinned datasets, a show that returns; a prefix stops
    where fit returns. What the code before fit did (it loaded a checkpoint or not) goes to ``started``."""
    original_fit, show, load_weights = keras.Model.fit, plt.show, keras.Model.load_weights
    loaders = {m: m.load_data for m in (tf.keras.datasets.mnist, tf.keras.datasets.fashion_mnist,
                                        tf.keras.datasets.cifar10)}
    loaded: list[Any] = []

    def recorded_fit(model: Any, *args: Any, **kwargs: Any) -> Any:
        models.append(model)
        if fit.before is not None:
            started.append(started_from({"loaded": bool(loaded)}, model, recorder.hashes))
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or ()), recorder]
        if span.batches_asked is not None and span.batches_asked < fit.steps_per_epoch:
            # As the declaration's run: a prefix that ends inside the first epoch reaches no validation,
            # and fit would evaluate the whole test set at the cut all the same (not recorded).
            kwargs.pop("validation_data", None)
        history = original_fit(model, *args, **{**kwargs, "verbose": 0})
        if not span.whole and model.stop_training:  # the recorder stopped it at the span's last batch
            raise _Cut
        return history

    def noted_load(model: Any, *args: Any, **kwargs: Any) -> Any:
        loaded.append(args)
        return load_weights(model, *args, **kwargs)

    try:
        keras.Model.fit, keras.Model.load_weights = recorded_fit, noted_load
        plt.show = lambda *a, **k: None
        for module in loaders:
            module.load_data = _loader(module)
        yield
    finally:
        keras.Model.fit, keras.Model.load_weights, plt.show = original_fit, load_weights, show
        for module, load in loaders.items():
            module.load_data = load


def _loader(module: Any) -> Callable[..., Any]:
    return lambda *args, **kwargs: datasets.load_data(module)


def run_file(experiment: Experiment, device: Device, span: Span) -> Record:
    """The published file run whole or cut to ``span`` (batches), into its record. What it prints is
    not kept: the declaration's record holds no printed text to compare it with (yet)."""
    if (why := why_not(experiment, span)) is not None:
        raise NotProvable(f"{experiment.name}: {why}")
    fit = experiment.fit
    assert fit is not None
    experiment.program.require_data()
    source = substituted(published.read(published.FILES[experiment.name][0]), fit)
    as_written: dict[str, str] = {}
    evaluate = line_values(as_written)
    recorder = Recorder(fit, fit.epochs, span.batches_asked)
    models: list[Any] = []
    started: list[Any] = []
    code = compile(source, published.FILES[experiment.name][0], "exec")
    with tempfile.TemporaryDirectory(prefix="harness-file-") as folder, contextlib.chdir(folder), \
            pinned(device), _patched(fit, recorder, span, models, started), contextlib.redirect_stdout(io.StringIO()):
        for name in datasets.COURSE_FILES:  # the course's data files the program reads from its folder
            if Path(name).name in source:
                shutil.copyfile(datasets.course_file(name), Path(name).name)
        for run in range(fit.runs):
            # Each run of the file is a process of its own in the same folder (a second run finds what
            # the first saved), as the declaration's runs are: a fresh session, random state and namespace.
            if run:
                runtime.reset_random_state()
            tf.keras.backend.clear_session()
            recorder.offset = run * fit.per_run
            namespace: dict[str, Any] = {"__name__": "__main__"}
            namespace[LINE] = lambda number, names=namespace: evaluate(fit.lines[number], **names)
            try:
                exec(code, namespace)
            except _Cut:
                break
    if len(models) > fit.runs or (span.whole and len(models) != fit.runs):
        raise HarnessError(f"{experiment.name}: its file called fit {len(models)} times; its declaration runs it "
                           f"{fit.runs} times")
    outcome = recorded(models[-1], recorder, started, as_written)
    return to_record(outcome, experiment, device, experiment.program.reference_mode, span)
