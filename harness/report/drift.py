"""What a regeneration changes: each new record against the golden it replaces, bit for bit.

``tox -e regen`` writes this as ``reports/drift.md``, the page a reviewer reads next
to ``git diff golden/`` in the pull request that accepts new goldens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import GoldenError, GoldenMissing
from harness.experiments.declare import Experiment
from harness.judge.verdict import agreement
from harness.record import Record
from harness.report.console import environment_drift
from harness.report.markdown import table as markdown_table

# The columns a drift line names before it counts the rest.
SHOWN = 3


@dataclass(frozen=True)
class Change:
    experiment: str
    device: str
    verdict: str  # identical / changed / new / replaces an unreadable golden
    detail: str = ""


def change(root: Path, experiment: Experiment, record: Record) -> Change:
    try:
        comparison = agreement(root, experiment, record)
    except GoldenMissing:
        return Change(record.experiment, record.device, "new")
    except GoldenError as exc:
        return Change(record.experiment, record.device, "replaces an unreadable golden", exc.problem)
    if comparison.status == "identical":
        return Change(record.experiment, record.device, "identical")
    moved = sorted((c for c in comparison.columns if not c.ok), key=lambda c: (c.first_beyond, -c.max_ulp))
    parts = [f"{c.label}: from epoch {c.first_beyond} ({c.first_beyond_ulp:.0f} ULP), "
             f"max {c.max_ulp:.0f} ULP, max rel {c.max_rel:.3g} "
             f"({'within' if c.max_ulp <= experiment.tolerance_for(c.column) else 'beyond'} its "
             f"{experiment.tolerance_for(c.column)}-ULP tolerance)"
             for c in moved[:SHOWN]]
    if len(moved) > SHOWN:
        worst = max(moved, key=lambda c: c.max_ulp)
        parts.append(f"{len(moved) - SHOWN} more columns (the farthest {worst.label}, {worst.max_ulp:.0f} ULP)")
    return Change(record.experiment, record.device, "changed",
                  "; ".join(parts + comparison.problems + comparison.scalar_changes))


def render(changes: Sequence[Change], manifests: dict[str, dict[str, Any] | None],
           fingerprints: dict[str, dict[str, Any]], class_files: dict[str, list[str]] | None = None) -> str:
    """``class_files``: for each CPU kernel class the regeneration ran, the files it keeps of
    its own (harness/store/golden.py)."""
    lines = ["# Golden drift of the last regeneration", ""]
    for kind, live in fingerprints.items():
        old = manifests.get(kind) or {}
        lines.append(f"`golden/{kind}/`: TensorFlow {old.get('tensorflow', '(none)')} -> "
                     f"{live['tensorflow']}, Keras {old.get('keras', '(none)')} -> {live['keras']}, "
                     f"written {old.get('date', '(never)')} -> {live['date']}.")
        lines += [f"- {d}" for d in environment_drift(manifests.get(kind), live)]
        lines.append("")
    counts = {v: sum(c.verdict == v for c in changes) for v in dict.fromkeys(c.verdict for c in changes)}
    lines += [
        ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) + ".",
        "",
        *markdown_table(("experiment", "device", "verdict", "where and by how much"),
                        [(f"`{c.experiment}`", c.device, c.verdict, c.detail or "-") for c in changes]),
        "",
    ]
    if class_files:
        lines += ["", "CPU kernel classes (`golden/cpu/kernels/<class>/`: the files whose bytes differ from the "
                      f"base class `{fingerprints.get('cpu', {}).get('kernel_class')}`'s):", ""]
        lines += [f"- `{key}`: " + (f"{len(files)} files: {', '.join(sorted(files))}" if files else
                                    "the base's bits for every experiment (no files)")
                  for key, files in sorted(class_files.items())]
    lines += ["", "Review with `git diff golden/`; commit the goldens and this page together."]
    return "\n".join(lines) + "\n"
