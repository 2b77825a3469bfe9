"""``python -m harness.report.variants``: the goldens checked in other environments, side by side.

A variant is the JSON of one ``python -m harness check`` or ``python -m harness matrix`` in
another environment:

- ``matrix``: one per TensorFlow release or candidate (the ``tfNNN`` tox environments write
  ``reports/tf-matrix/<environment>.json``: every experiment in every mode, run twice in one
  process and once more in a fresh one, with times per step); this renders
  ``reports/tf-matrix.md`` and ``reports/tf-matrix-speed.png``. The columns are the
  environments whose results are there: nothing lists the releases a second time.
- ``sensitivity``: the pinned TensorFlow with oneDNN on and off, 1 and 2 intra-op threads,
  and each execution mode; this runs them and renders ``reports/sensitivity.md``.

Standard library (and matplotlib for the chart) only: the matrix's last environment has no
TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import modes, options
from harness.errors import HarnessError
from harness.report import documents
from harness.report.charts import pyplot, save
from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]
REMAKE = "run its environment again (tox -e <environment>), or delete the file"


@dataclass(frozen=True)
class Variant:
    label: str
    args: tuple[str, ...] = ()  # before the command: global options such as --intra-op-threads
    check_args: tuple[str, ...] = ()  # after `check`: --mode
    env: dict[str, str] = field(default_factory=dict)


SENSITIVITY = (
    Variant("as pinned (oneDNN default, threads default, eager)"),
    Variant("oneDNN off (TF_ENABLE_ONEDNN_OPTS=0)", env={"TF_ENABLE_ONEDNN_OPTS": "0"}),
    Variant("oneDNN on (TF_ENABLE_ONEDNN_OPTS=1)", env={"TF_ENABLE_ONEDNN_OPTS": "1"}),
    Variant("1 intra-op thread", args=("--intra-op-threads", "1")),
    Variant("2 intra-op threads", args=("--intra-op-threads", "2")),
    # Every other execution mode, as the mode registry lists them.
    *(Variant(f"mode {mode}", check_args=("--mode", mode)) for mode in modes.MODES if mode != modes.REFERENCE),
)


@dataclass(frozen=True)
class Column:
    """One variant's results, or why there are none."""

    label: str
    document: dict[str, Any] | None = None
    missing: str = ""

    def results(self) -> list[dict[str, Any]]:
        return self.document["results"] if self.document else []


def load(path: Path, label: str | None = None) -> Column:
    """A check's or a matrix's JSON, checked where the reports read it."""
    document = documents.read(path, REMAKE)
    shape = documents.Shape(path, REMAKE)
    environment = shape.get(document, "environment", dict)
    shape.get(document, "manifest", dict)
    for i, result in enumerate(shape.items(document, "results")):
        where = f"results[{i}]"
        for key in ("experiment", "device", "mode", "cell"):
            shape.get(result, key, str, where)
        for key in ("printed", "printed_reproduced"):
            shape.get(result, key, int, where)
        shape.get(result, "as_written", bool, where)
        for key in ("nondeterministic", "mode_verdict", "us_per_step"):
            if key in result and result[key] is not None:
                shape.get(result, key, str if key != "us_per_step" else (int, float), where)
    version = environment.get("cpu", {}).get("tensorflow") if isinstance(environment.get("cpu"), dict) else None
    return Column(label or f"TF {version or '?'}", document)


def _short_cell(result: dict[str, Any]) -> str:
    """A result as a table cell: the verdict, and where for anything but identical."""
    cell = str(result["cell"])
    if result.get("nondeterministic"):
        return "**NONDETERMINISTIC**"
    for word in ("FAIL", "CHANGED", "NOW IDENTICAL", "DIFFERS", "ERROR", "STOPPED"):
        cell = cell.replace(word, f"**{word}**", 1) if cell.startswith(word) else cell
    return cell


def table(columns: Sequence[Column]) -> list[str]:
    """Experiments (and modes) down, variants across; a cell is the run's verdict."""
    keys: list[tuple[str, str]] = []
    written: set[tuple[str, str]] = set()
    for column in columns:
        for r in column.results():
            if (r["experiment"], r["mode"]) not in keys:
                keys.append((r["experiment"], r["mode"]))
            if r["as_written"]:
                written.add((r["experiment"], r["mode"]))
    order = {m: i for i, m in enumerate(modes.MODES)}
    # The runs as written first, in the catalogue's order; then each other mode's.
    keys.sort(key=lambda k: (k not in written, 0 if k in written else order.get(k[1], len(order))))
    rows = []
    for name, mode in keys:
        cells = [f"`{name}`" + ("" if (name, mode) in written else f" ({mode})")]
        for column in columns:
            if column.document is None:
                cells.append(column.missing)
                continue
            found = [r for r in column.results() if (r["experiment"], r["mode"]) == (name, mode)]
            cells.append("; ".join(_short_cell(r) for r in found) if found else "not run")
        rows.append(cells)
    printed = ["*printed numbers that reproduce*"]
    for column in columns:
        results = [r for r in column.results() if r["as_written"]]
        printed.append(f"{sum(r['printed_reproduced'] for r in results)} of "
                       f"{sum(r['printed'] for r in results)}" if results else "-")
    return markdown_table(["experiment", *[c.label for c in columns]], [*rows, printed])


def counts(column: Column) -> str:
    """How a variant's runs came out, in words."""
    found: Counter[str] = Counter()
    for r in column.results():
        if r.get("nondeterministic"):
            found["nondeterministic"] += 1
        else:
            found[r.get("mode_verdict") or r.get("status", "?")] += 1
    return ", ".join(f"{n} {verdict}" for verdict, n in sorted(found.items(), key=lambda kv: -kv[1]))


def _environment(column: Column) -> str:
    if column.document is None:
        return "-"
    env = column.document["environment"].get("cpu", {})
    return (f"TF {env.get('tensorflow')}, Keras {env.get('keras')}, NumPy {env.get('numpy')}, "
            f"tf.losses from {env.get('tf_losses_module', '?')}, oneDNN {env.get('onednn')}, "
            f"intra-op threads {env.get('intra_op_threads')}")


def _write(path: Path, lines: list[str]) -> None:
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {path}")


def run_variant(variant: Variant, out: Path) -> Column:
    """The check's results in one setting, or why there are none."""
    command = [sys.executable, "-m", "harness", *variant.args, "check", "--device", "cpu",
               *variant.check_args, "--json-out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **variant.env})
    if not out.exists():
        return Column(variant.label, missing=f"did not run (exit {done.returncode}): "
                                             f"{done.stderr.strip().splitlines()[-1:]}")
    return load(out, variant.label)


def sensitivity(out: Path) -> int:
    columns = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, variant in enumerate(SENSITIVITY):
            print(f"running: {variant.label}", file=sys.stderr, flush=True)
            columns.append(run_variant(variant, Path(tmp) / f"{i}.json"))
    lines = [
        "# Sensitivity of the goldens to the environment",
        "",
        "Each column is `python -m harness check --device cpu` in one setting, on the pinned "
        "TensorFlow, against the committed CPU goldens (written in the default setting, "
        "eager); a cell is the result with the experiment's own tolerance, or for another "
        "mode its verdict against what the experiment declares. Made by `tox -e sensitivity`.",
        "",
        *table(columns),
        "",
        "Environments, as each run recorded them:",
        "",
        *[f"- {c.label}: {_environment(c)}" for c in columns],
    ]
    _write(out, lines)
    return 0


SPEED_MODES = ("eager", "function")


def speed(columns: Sequence[Column]) -> tuple[list[str], dict[str, dict[str, dict[str, float]]]]:
    """Per training experiment and release: the steady microseconds per step of eager, function
    and the fastest mode, and that mode; as a table, and as numbers for the chart."""
    numbers: dict[str, dict[str, dict[str, float]]] = {}
    fastest_mode: dict[tuple[str, str], str] = {}
    for column in columns:
        for r in column.results():
            if r.get("us_per_step") is None:
                continue
            per = numbers.setdefault(r["experiment"], {}).setdefault(column.label, {})
            if r["mode"] in SPEED_MODES:
                per[r["mode"]] = float(r["us_per_step"])
            if float(r["us_per_step"]) < per.get("fastest", float("inf")):
                per["fastest"] = float(r["us_per_step"])
                fastest_mode[r["experiment"], column.label] = r["mode"]
    rows = []
    for name, releases in numbers.items():
        cells = [f"`{name}`"]
        for column in columns:
            got = releases.get(column.label)
            if not got:
                cells.append("-")
                continue
            eager = got.get("eager")
            fast = got["fastest"]
            cells.append(f"{eager:,.0f} / {got.get('function', float('nan')):,.0f} / "
                         f"{fast:,.2f} ({fastest_mode[name, column.label]}"
                         + (f", {eager / fast:,.0f}x" if eager else "") + ")")
        rows.append(cells)
    lines = markdown_table(["experiment: eager / function / fastest (us per step)",
                            *[c.label for c in columns]], rows)
    return lines, numbers


def speed_chart(columns: Sequence[Column], numbers: dict[str, dict[str, dict[str, float]]],
                path: Path) -> str:
    """Writes the chart; returns its file name, or why there is none."""
    try:
        plt = pyplot()
    except ImportError:
        return "(no chart: matplotlib is not installed here)"

    labels = [c.label for c in columns if c.document is not None]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.5), sharey=False)
    # More loops than a palette has colours: each line its own colour and marker.
    colours = plt.get_cmap("tab20").colors
    for ax, what in zip(axes, ("eager", "function", "fastest"), strict=True):
        for i, (name, releases) in enumerate(sorted(numbers.items())):
            ys = [releases.get(label, {}).get(what, float("nan")) for label in labels]
            ax.plot(labels, ys, marker="os^vDPX*"[i % 8], color=colours[i % len(colours)], label=name)
        ax.set_yscale("log")
        ax.set_title(f"{what}: microseconds per step")
        ax.tick_params(axis="x", rotation=45)
    if numbers:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="center right", fontsize=8)
    fig.suptitle("The training loops of the note and the course, per TensorFlow release (one run each)")
    fig.tight_layout(rect=(0, 0, 0.84, 1))
    return save(fig, path, dpi=90).name


def release_order(stem: str) -> tuple[int, int, int, str]:
    """tf215 < ... < tf221 < tf222rc0 < tf222rc1 < tf222; anything else after them, by name."""
    found = re.fullmatch(r"tf(\d+)(?:rc(\d+))?", stem)
    if found is None:
        return (sys.maxsize, 0, 0, stem)
    release, candidate = int(found[1]), found[2]
    return (release, 0 if candidate is not None else 1, int(candidate or 0), stem)


def matrix(folder: Path, out: Path, chart: Path) -> int:
    found = sorted(folder.glob("*.json"), key=lambda p: release_order(p.stem))
    if not found:
        raise HarnessError(f"no results in {folder}: run `tox -m matrix` (each tfNNN environment writes one)")
    columns = [load(path, None) for path in found]
    columns = [Column(f"{c.label} ({p.stem})", c.document) for c, p in zip(columns, found, strict=True)]
    manifest = next((c.document["manifest"].get("cpu") for c in columns if c.document), None) or {}
    speed_lines, numbers = speed(columns)
    chart_name = speed_chart(columns, numbers, chart)
    lines = [
        "# The goldens across TensorFlow releases",
        "",
        f"The committed CPU goldens (written with TensorFlow {manifest.get('tensorflow')}, Keras "
        f"{manifest.get('keras')}) under each TensorFlow release and candidate with wheels for "
        "Python 3.11, each with the Keras of its release: every experiment eagerly, every training "
        "experiment in every execution mode, each run twice in one process and once more in a "
        "fresh process. A cell is the verdict against the golden (eager: with the experiment's "
        "tolerance; another mode: bit for bit against the eager golden and what the experiment "
        "declares, so *declared* is expected and **CHANGED** is news); **NONDETERMINISTIC** when "
        "the runs of one release did not all give the same bits. Made by `tox -m matrix`.",
        "",
        *[f"- {c.label}: {counts(c)}." for c in columns],
        "",
        *table(columns),
        "",
        "## Speed per release",
        "",
        "The steady time of one step of each training loop (a step is one batch), one timed run "
        "per release on the machine of the environment below: eager and `function` as the "
        "program runs them, and the fastest mode with its speed-up over eager in the same run. "
        "Absolute times move with the load of a shared machine; read the ratios.",
        "",
        *speed_lines,
        "",
        f"![microseconds per step by release]({chart_name})" if chart_name.endswith(".png") else chart_name,
        "",
        "## Environments, as each run recorded them",
        "",
        *[f"- {c.label}: {_environment(c)}" for c in columns],
    ]
    _write(out, lines)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.variants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("matrix", help="render the TensorFlow matrix from its JSON results")
    m.add_argument("--results", type=options.folder("--results"), default=ROOT / "reports" / "tf-matrix")
    m.add_argument("--out", type=options.output_file("--out"), default=ROOT / "reports" / "tf-matrix.md")
    m.add_argument("--chart", type=options.output_file("--chart"),
                   default=ROOT / "reports" / "tf-matrix-speed.png")
    s = sub.add_parser("sensitivity", help="run the settings and render the sensitivity report")
    s.add_argument("--out", type=options.output_file("--out"), default=ROOT / "reports" / "sensitivity.md")
    args = parser.parse_args(argv)
    try:
        return matrix(args.results, args.out, args.chart) if args.command == "matrix" else sensitivity(args.out)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
