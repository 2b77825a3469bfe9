"""The whole-run check spread over GitHub Actions runners (``.github/workflows/whole.yml``), and
its report.

Every Keras program longer than ``CHECK_WHOLE_SECONDS`` here (``Fit.whole_here``) is a job of its
own; every other experiment runs in one job (``short``). Each job runs ``python -m harness check
--whole`` on its experiments and writes its results as JSON; the last job renders them into
``reports/whole-runs.md``. The workflow names its jobs' experiments itself (reviewable in its
diff); ``--matrix`` prints the list it must hold, and the tests fail the day an experiment is
missing from it.

    python -m harness.report.wholeruns --matrix          # the workflow's job list, as YAML
    python -m harness.report.wholeruns [--results DIR]   # reports/whole-runs.md from the jobs' JSON
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.report.markdown import table

PROJECT = Path(__file__).resolve().parents[2]
RESULTS = PROJECT / "reports" / "whole-runs"
REPORT = PROJECT / "reports" / "whole-runs.md"
WORKFLOW = PROJECT / ".github" / "workflows" / "whole.yml"
SHORT = "short"


def jobs() -> dict[str, list[str]]:
    """Job name -> the experiments it checks whole: one job per long Keras program, one for the rest."""
    from harness.experiments import catalog

    found: dict[str, list[str]] = {SHORT: []}
    for experiment in catalog.all_experiments():
        if not experiment.span_for("check").whole:
            found[experiment.name] = [experiment.name]
        else:
            found[SHORT].append(experiment.name)
    return found


def matrix_yaml() -> str:
    """The ``include:`` list of the workflow's job matrix."""
    lines = []
    for job, names in jobs().items():
        lines += [f"          - job: {job}", "            experiments: >-"]
        lines += [f"              {name}" for name in names]
    return "\n".join(lines)


def workflow_jobs(text: str) -> dict[str, list[str]]:
    """The job matrix the workflow holds (job -> experiments)."""
    import yaml

    document = yaml.safe_load(text)
    include = document["jobs"]["whole"]["strategy"]["matrix"]["include"]
    return {entry["job"]: str(entry["experiments"]).split() for entry in include}


def render(documents: Sequence[dict[str, Any]]) -> str:
    """One row per experiment: how its whole run went against its golden, its printed numbers and
    claims, and how long it took on the runner."""
    rows = []
    environments = set()
    for document in documents:
        environment = document.get("environment", {}).get("cpu", {})
        environments.add(f"TensorFlow {environment.get('tensorflow', '?')}, {environment.get('device', '?')}, "
                         f"kernel class {environment.get('kernel_class', '?')}")
        for r in document["results"]:
            printed = f"{r['printed_reproduced']} of {r['printed']}" if r["printed"] else ""
            claims = "" if r["status"] in ("error", "skipped") else "hold" if r["claims_hold"] else "FAIL"
            rows.append((r["experiment"], r["cell"], "" if r.get("seconds") is None else f"{r['seconds']:.0f}",
                         printed, claims))
    rows.sort()
    lines = ["# Whole runs", "",
             "Every experiment run whole (`python -m harness check --whole`), spread over GitHub Actions runners "
             "by `.github/workflows/whole.yml`: one job per Keras program too long for the default check, one for "
             "the rest. Regenerate with `python -m harness.report.wholeruns` from the jobs' results.", "",
             "Runners: " + "; ".join(sorted(environments)), "",
             *table(("experiment", "against its golden", "seconds", "printed numbers reproduced", "claims"), rows)]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", action="store_true", help="print the workflow's job list (YAML) and stop")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the jobs' JSON (default: reports/whole-runs/)")
    parser.add_argument("--out", type=Path, default=REPORT, help="default: reports/whole-runs.md")
    args = parser.parse_args(argv)
    if args.matrix:
        print(matrix_yaml())
        return 0
    files = sorted(args.results.glob("*.json"))
    if not files:
        parser.error(f"no results in {args.results}: the workflow's jobs write them (check --json-out)")
    from harness.store.files import atomic_write

    atomic_write(args.out, render([json.loads(f.read_text(encoding="utf-8")) for f in files]).encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
