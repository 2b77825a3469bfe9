"""The determinism report (harness/report/determinism.py): how two fresh runs of a program are
told apart, and what the report says. Its measurements are in reports/determinism-*.md."""

from __future__ import annotations

import copy

from harness.report import determinism


def _run() -> dict:
    return {"columns": {"epoch": [1, 2], "loss": [0.5, 0.25]}, "validation": {},
            "checkpoints": {"epoch": [2], "dense_kernel_0": [0.125]}, "batches": {},
            "scalars": {"weights_sha256": {"2": {"dense_kernel": "ab"}}, "params": 1}}


def test_two_identical_runs_differ_nowhere():
    assert determinism.difference(_run(), _run()) == ""


def test_a_run_that_drew_other_weights_is_told_where_it_first_differs():
    other = copy.deepcopy(_run())
    other["columns"]["loss"][1] = 0.2500001
    said = determinism.difference(_run(), other)
    assert said.startswith("loss: from epoch (or batch) 2, max ")
    other = copy.deepcopy(_run())
    other["scalars"]["weights_sha256"]["2"]["dense_kernel"] = "cd"
    assert "weights_sha256" in determinism.difference(_run(), other)


def test_a_run_that_failed_is_its_error():
    assert determinism.difference({"error": "ValueError: x"}, _run()) == "ValueError: x"


def test_the_report_names_each_variant_and_the_added_lines():
    found = {"tensorflow": "2.21.0", "keras": "3.15.1", "whole": False, "seconds": 1.0,
             "results": [{"experiment": "keras_iris_sequential", "batches": 80, "as_written": "loss: from epoch 1",
                          "python_random": "", "with_added_lines": ""}]}
    text = determinism.render(found)
    assert "| `keras_iris_sequential` | 80 | loss: from epoch 1 | deterministic | deterministic |" in text
    assert all(f"`{line}`" in text for line in determinism.ADDED)
