"""The whole-run workflow (.github/workflows/whole.yml, harness/report/wholeruns.py): it names
every experiment, each in one job, and its report renders the jobs' results."""

from __future__ import annotations

import collections

from harness.experiments import catalog
from harness.report import wholeruns


def test_the_workflow_names_every_experiment_once_and_gives_each_long_program_a_job():
    held = wholeruns.workflow_jobs(wholeruns.WORKFLOW.read_text(encoding="utf-8"))
    named = collections.Counter(name for names in held.values() for name in names)
    every = {e.name for e in catalog.all_experiments()}
    assert set(named) == every, (f"missing from .github/workflows/whole.yml: {sorted(every - set(named))}; unknown: "
                                 f"{sorted(set(named) - every)} (python -m harness.report.wholeruns --matrix)")
    assert max(named.values()) == 1
    assert held == wholeruns.jobs(), "python -m harness.report.wholeruns --matrix prints the list the workflow holds"
    long = [e.name for e in catalog.all_experiments() if e.fit is not None and not e.fit.whole_here]
    assert long and all(held[name] == [name] for name in long)


def test_the_report_has_a_row_per_result_with_its_time_and_a_failing_claim_shows():
    result = {"experiment": "fashion_vgg16", "cell": "identical", "seconds": 2400.4, "printed_reproduced": 0,
              "printed": 0, "claims_hold": False, "status": "pass"}
    text = wholeruns.render([{"environment": {"cpu": {"tensorflow": "2.21.0", "device": "x", "kernel_class": "avx2"}},
                              "results": [result, {**result, "experiment": "cifar10_vgg16", "claims_hold": True,
                                                   "printed": 4, "printed_reproduced": 1}]}])
    assert "| fashion_vgg16 | identical | 2400 |  | FAIL |" in text
    assert "| cifar10_vgg16 | identical | 2400 | 1 of 4 | hold |" in text
    assert "TensorFlow 2.21.0, x, kernel class avx2" in text
