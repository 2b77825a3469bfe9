"""``python -m harness.variants``: the goldens checked in other environments, side by side.

A variant is one ``python -m harness check --json-out`` in another environment:

- ``matrix``: one per TensorFlow release (the ``tf2NN`` tox environments write them
  into ``reports/tf-matrix/``); this renders ``reports/tf-matrix.md``.
- ``sensitivity``: the pinned TensorFlow with oneDNN on and off, 1 and 2 intra-op
  threads, and each execution mode; this runs them and renders ``reports/sensitivity.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.store.files import atomic_write
from harness.report.markdown import table as markdown_table

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variant:
    label: str
    args: tuple[str, ...] = ()  # before `check`: global options such as --intra-op-threads
    check_args: tuple[str, ...] = ()  # after `check`: --mode
    env: dict[str, str] = field(default_factory=dict)


SENSITIVITY = (
    Variant("as pinned (oneDNN default, threads default, eager)"),
    Variant("oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)", env={"TF_ENABLE_ONEDNN_OPTS": "0"}),
    Variant("oneDNN on (TF_ENABLE_ONEDNN_OPTS=1)", env={"TF_ENABLE_ONEDNN_OPTS": "1"}),
    Variant("1 intra-op thread", args=("--intra-op-threads", "1")),
    Variant("2 intra-op threads", args=("--intra-op-threads", "2")),
    *(Variant(f"mode {mode}", check_args=("--mode", mode))
      for mode in ("function", "xla", "fused", "fused_xla")),
)


def run_variant(variant: Variant, out: Path) -> dict[str, Any] | str:
    """The check's JSON document, or why there is none."""
    command = [sys.executable, "-m", "harness", *variant.args, "check", "--device", "cpu",
               *variant.check_args, "--json-out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **variant.env})
    if not out.exists():
        return f"did not run (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.read_text(encoding="utf-8"))


def table(columns: Sequence[tuple[str, dict[str, Any] | str]]) -> list[str]:
    """Experiments down, variants across; a cell says identical / within / FAIL and where."""
    experiments: list[str] = []
    for _, document in columns:
        if isinstance(document, dict):
            for r in document["results"]:
                if r["experiment"] not in experiments:
                    experiments.append(r["experiment"])
    rows = []
    for name in experiments:
        cells = [f"`{name}`"]
        for _, document in columns:
            if isinstance(document, str):
                cells.append(document)
                continue
            found = [r for r in document["results"] if r["experiment"] == name]
            # The check's own cell (report.result_cell), with a failure set in bold.
            cells.append("; ".join(r["cell"].replace("FAIL", "**FAIL**", 1) for r in found)
                         if found else "not run")
        rows.append(cells)
    printed = ["*printed numbers that reproduce*"]
    for _, document in columns:
        results = document["results"] if isinstance(document, dict) else []
        printed.append(f"{sum(r['printed_reproduced'] for r in results)} of "
                       f"{sum(r['printed'] for r in results)}" if results else "-")
    return markdown_table(["experiment", *[label for label, _ in columns]], [*rows, printed])


def _environment(document: dict[str, Any] | str) -> str:
    if isinstance(document, str):
        return "-"
    env = document["environment"].get("cpu", {})
    return (f"TF {env.get('tensorflow')}, Keras {env.get('keras')}, NumPy {env.get('numpy')}, "
            f"oneDNN {env.get('onednn')}, intra-op threads {env.get('intra_op_threads')}")


def _write(path: Path, lines: list[str]) -> None:
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {path}")


def sensitivity(out: Path) -> int:
    columns = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(SENSITIVITY):
            print(f"running: {variant.label}", file=sys.stderr, flush=True)
            columns.append((variant.label, run_variant(variant, Path(tmp) / f"{i}.json")))
    lines = [
        "# Sensitivity of the goldens to the environment",
        "",
        "Each column is `python -m harness check --device cpu` in one setting, on the pinned "
        "TensorFlow, against the committed CPU goldens (written in the default setting, "
        "eager); a cell is the result with the experiment's own tolerance. Made by "
        "`tox -e sensitivity`.",
        "",
        *table(columns),
        "",
        "Environments, as each run recorded them:",
        "",
        *[f"- {label}: {_environment(document)}" for label, document in columns],
    ]
    _write(out, lines)
    return 0


def matrix(folder: Path, out: Path) -> int:
    documents = sorted(folder.glob("*.json"))
    if not documents:
        print(f"no results in {folder}: run `tox -m matrix`", file=sys.stderr)
        return 2
    columns: list[tuple[str, dict[str, Any] | str]] = []
    versions: dict[str, list[dict[str, Any]]] = {}
    for path in documents:
        document = json.loads(path.read_text(encoding="utf-8"))
        version = document["environment"].get("cpu", {}).get("tensorflow")
        # A kept earlier run of a release (e.g. tf215-run1.json) gets a column of its own.
        columns.append((f"TF {version}" + ("" if path.stem in EXPECTED_MATRIX else f" ({path.stem})"),
                        document))
        versions.setdefault(version, []).append(document)
    unstable = sorted(v for v, docs in versions.items()
                      if len({json.dumps([r["cell"] for r in d["results"]]) for d in docs}) > 1)
    manifest = next((d["manifest"].get("cpu") for _, d in columns if isinstance(d, dict)), None) or {}
    lines = [
        "# The goldens across TensorFlow releases",
        "",
        f"The committed CPU goldens (written with TensorFlow {manifest.get('tensorflow')}, Keras "
        f"{manifest.get('keras')}) checked by `python -m harness check --device cpu` under each "
        "TensorFlow release with wheels for Python 3.11, each with the Keras of its release; a "
        "cell is the result with the experiment's own tolerance. Made by `tox -m matrix`.",
        "",
        *table(columns),
        "",
        "Environments:",
        "",
        *[f"- {label}: {_environment(document)}" for label, document in columns],
    ]
    if unstable:
        lines += ["", f"Runs of TensorFlow {', '.join(unstable)} disagree with each other: the "
                      "results on that release are not guaranteed to reproduce from run to run."]
    missing = sorted(set(EXPECTED_MATRIX) - {p.stem for p in documents})
    if missing:
        lines += ["", f"No result from {', '.join(missing)} (see its tox log)."]
    _write(out, lines)
    return 0


# The tox environments of the matrix (tox.ini), each writing <name>.json.
EXPECTED_MATRIX = ("tf215", "tf216", "tf217", "tf218", "tf219", "tf220", "tf221")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.variants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("matrix", help="render the TensorFlow matrix from its JSON results")
    m.add_argument("--results", type=Path, default=ROOT / "reports" / "tf-matrix")
    m.add_argument("--out", type=Path, default=ROOT / "reports" / "tf-matrix.md")
    s = sub.add_parser("sensitivity", help="run the settings and render the sensitivity report")
    s.add_argument("--out", type=Path, default=ROOT / "reports" / "sensitivity.md")
    args = parser.parse_args(argv)
    return matrix(args.results, args.out) if args.command == "matrix" else sensitivity(args.out)


if __name__ == "__main__":
    sys.exit(main())
