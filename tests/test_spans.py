"""A verdict knows what was asked: a run asked to make the whole program and lacking any of it
(its last epoch, a table, the code after training, the weights' hashes) fails, saying what it
lacks in one sentence; a part of a run is held to exactly its rows; a prefix never becomes a
golden by accident."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.experiments import catalog
from harness.judge import verdict
from harness.record import Record
from harness.span import WHOLE, Span
from harness.store import golden
from tests.helpers import ROOT, harness


def _golden_record(name: str) -> tuple[golden.Golden, Record]:
    experiment = catalog.get(name)
    stored = verdict.load(golden.ROOT, experiment, "cpu")
    return stored, stored.record(name, "cpu", experiment.program.reference_mode)


def _without_last_row(record: Record, table: str) -> Record:
    rows = getattr(record, table)
    return dataclasses.replace(record, **{table: {c: v[:-1] for c, v in rows.items()}})


# One program of each kind, whole goldens: what a whole run that lacks some of it is told.
TRUNCATIONS = [
    ("constant", "a scalar", lambda e, r: dataclasses.replace(r, scalars={k: v for k, v in r.scalars.items()
                                                                          if k != next(iter(r.scalars))}),
     "the run lacks a, which its golden holds"),
    ("mse_regression", "the last epoch", lambda e, r: _without_last_row(r, "columns"),
     "the run's record ends at epoch 14,501 of 15,000 (the last row of its columns table)"),
    ("iris_sgd", "a table", lambda e, r: dataclasses.replace(r, checkpoints={}),
     "the run has no checkpoints table"),
    ("regularization_l2", "the code after training", lambda e, r: dataclasses.replace(
        r, scalars={k: v for k, v in r.scalars.items() if k not in e.after_scalars}),
     "the run lacks what the program computes after training"),
    ("mnist_sequential", "the last epoch", lambda e, r: _without_last_row(r, "columns"),
     "the run's record ends at epoch 4 of 5 (the last row of its columns table)"),
    ("lstm_stock", "a table", lambda e, r: dataclasses.replace(r, validation={}),
     "the run has no validation table"),
    ("lstm_stock", "the code after training", lambda e, r: dataclasses.replace(
        r, scalars={k: v for k, v in r.scalars.items() if k not in e.after_scalars}),
     "the run lacks what the program computes after training"),
    ("rnn_onehot_1pre1", "the weights' hashes", lambda e, r: dataclasses.replace(
        r, scalars={**r.scalars, "weights_sha256": {}}), "the run holds no hash of its weights"),
    ("mnist_app", "the weights' hashes at one epoch", lambda e, r: dataclasses.replace(
        r, scalars={**r.scalars, "weights_sha256": {k: v for k, v in r.scalars["weights_sha256"].items()
                                                    if k != "5"}}),
     "the run holds no hash of its weights at epochs 5"),
]


@pytest.mark.parametrize(("name", "what", "truncate", "says"), TRUNCATIONS,
                         ids=[f"{n}-{w}" for n, w, _, _ in TRUNCATIONS])
def test_a_whole_run_that_lacks_part_of_the_program_fails_saying_what(name, what, truncate, says):
    stored, record = _golden_record(name)
    experiment = catalog.get(name)
    assert record.span == WHOLE and stored.span == WHOLE
    assert verdict.against(stored, experiment, record).status == "identical"
    comparison = verdict.against(stored, experiment, truncate(experiment, record))
    assert comparison.status == "fail", what
    assert says in comparison.explain(), comparison.explain()
    result = verdict.judge(golden.ROOT, experiment, truncate(experiment, record))
    assert not result.ok and not result.printed and not result.claims  # a record that lacks part cannot answer


def test_the_same_rows_as_a_prefix_are_a_prefix_held_to_exactly_its_rows():
    """What decides is the span asked, not what the record holds: the first 500 epochs of the MSE run
    asked as such are judged on their rows; a row of them missing is named."""
    stored, record = _golden_record("mse_regression")
    experiment = catalog.get("mse_regression")
    part = experiment.program.cut(record, Span.epochs(1000))
    assert part.columns["epoch"] == [0, 500] and part.span == Span.epochs(1000)
    assert verdict.against(stored, experiment, part).status == "identical"
    assert verdict.against(stored, experiment, dataclasses.replace(part, span=WHOLE)).lacking
    missing = _without_last_row(part, "columns")
    comparison = verdict.against(stored, experiment, missing)
    assert comparison.status == "fail" and "the golden's epochs [500] are not in the run" in comparison.explain()


def test_a_keras_prefix_is_cut_in_batches_and_a_whole_run_is_held_to_a_prefix_golden_s_rows():
    stored, record = _golden_record("mnist_sequential")
    experiment = catalog.get("mnist_sequential")
    fit = experiment.fit
    assert fit is not None
    part = fit.cut(record, Span.batches(fit.steps_per_epoch + 1))
    assert part.columns["epoch"] == [1] and list(part.scalars["weights_sha256"]) == ["1"]
    assert not set(experiment.after_scalars) & set(part.scalars)
    assert verdict.against(stored, experiment, part).status == "identical"
    # A prefix golden (written from the first batches) holds a whole run to its rows only.
    prefix_golden = dataclasses.replace(stored, scalars=part.scalars, tables=part.tables(), span=part.span)
    assert verdict.against(prefix_golden, experiment, record).status == "identical"
    moved = dataclasses.replace(part, columns={**part.columns, "loss": [part.columns["loss"][0] * 1.01]})
    assert verdict.against(prefix_golden, experiment, dataclasses.replace(record, columns={
        **record.columns, "loss": moved.columns["loss"] + record.columns["loss"][1:]})).status == "fail"


def test_a_span_is_chosen_by_one_rule_for_the_tests_check_and_the_reports():
    long, short = catalog.get("fashion_vgg16"), catalog.get("mnist_sequential")
    assert long.fit is not None and short.fit is not None
    assert long.span_for("check") == Span.batches(long.fit.prefix) and short.span_for("check") == WHOLE
    assert short.span_for("tests") == Span.batches(short.fit.prefix)
    assert long.span_for("check", whole=True) == WHOLE == long.span_for("tests", whole=True)
    assert catalog.get("mse_regression").span_for("check", epochs=20) == Span.epochs(20)
    assert catalog.get("mse_regression").span_for("check", epochs=15000) == WHOLE
    assert catalog.get("constant").span_for("tests") == WHOLE


def test_a_span_is_read_back_from_a_golden_and_a_bad_one_is_named(tmp_path):
    target = golden.paths(golden.ROOT, "cpu", "fashion_alexnet8")
    assert verdict.load(golden.ROOT, catalog.get("fashion_alexnet8"), "cpu").span == Span.batches(20)
    damaged = tmp_path / "fashion_alexnet8.yml"
    damaged.write_text(target.scalars.read_text(encoding="utf-8").replace("cut_at_batch: 20", "cut_at_batch: -3"),
                       encoding="utf-8")
    with pytest.raises(golden.GoldenError, match="not the number of batches"):
        golden.span_of(damaged, golden.read_scalars(damaged))


def _golden_copy(tmp_path: Path, name: str, as_name: str) -> Path:
    """A golden folder holding one experiment's goldens (as this machine's kernel class has them)
    under another name, with the committed manifest."""
    root = tmp_path / "golden"
    (root / "cpu").mkdir(parents=True)
    shutil.copy(golden.ROOT / "cpu" / golden.MANIFEST, root / "cpu" / golden.MANIFEST)
    held = verdict.held_to(golden.ROOT, "cpu")
    found = golden.paths(golden.ROOT, "cpu", name, held)
    for path in [found.scalars, *found.tables.values()]:
        if path.exists():
            shutil.copy(path, root / "cpu" / path.name.replace(name, as_name, 1))
    return root


def test_check_of_a_truncated_declaration_fails_with_the_sentence_and_exit_1(tmp_path):
    """A declaration edited to stop one epoch early (with the printed numbers it had) is a failure
    of that run, exit 1, not an error of the harness (the ledger cannot read a missing row)."""
    root = _golden_copy(tmp_path, "iris_sgd", "iris_sgd_truncated")
    (tmp_path / "truncated_section.py").write_text(textwrap.dedent("""
        import dataclasses
        from harness.experiments import catalog
        from harness.experiments.course import c1_6_iris
        _e = next(e for e in c1_6_iris.EXPERIMENTS if e.name == "iris_sgd")
        EXPERIMENTS = (dataclasses.replace(_e, name="iris_sgd_truncated",
                                           training=dataclasses.replace(_e.training, epochs=499)),)
    """), encoding="utf-8")
    done = harness("check", "--golden-dir", str(root), "--jobs", "1", "iris_sgd_truncated",
                   env={"HARNESS_SECTIONS": "truncated_section",
                        "PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the run's record ends at epoch 499 of 500 (the last row of its columns table)" in done.stdout, done.stdout
    assert "internal error" not in done.stderr


def test_force_regen_of_a_prefix_writes_nothing_and_names_the_command(tmp_path):
    """pytest-regressions would write a Keras prefix's tables over the whole run's golden."""
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT, root)
    before = {p: p.read_bytes() for p in root.rglob("keras_iris_sequential*")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
                           "tests/test_goldens.py", "-k", "keras_iris_sequential and CPU", "--force-regen",
                           "--golden-dir", str(root)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "python -m harness regen keras_iris_sequential" in done.stdout, done.stdout[-2000:]
    assert {p: p.read_bytes() for p in root.rglob("keras_iris_sequential*")} == before
