"""``python -m harness.report.determinism``: is each Keras program deterministic as written?

The harness runs every program from a fixed random state (``harness.execution.run.pinned``:
TensorFlow's op determinism on, ``tf.random.set_seed``, ``np.random.seed(0)``, ``random.seed(0)``
before each run), so that its goldens mean something. This asks the other question, the one a
reader of the course has: run the program *as written* (its own seeds, or none) twice, each in a
fresh process, and compare every recorded value and the SHA-256 of every weight. Then twice with
one added line, ``random.seed(0)``, and twice with all the harness's lines, which must be identical.

Today's Keras draws the seeds of unseeded initializers from Python's ``random`` module (Keras 3's
``SeedGenerator``; TF 2.15's Keras 2 likewise), which ``tf.random.set_seed`` does not reach, so a
program that seeds with ``tf.random.set_seed`` alone (every seeded one in the course) draws other
initial weights in every fresh process (the course's TF 2.1 took them from TensorFlow's global seed,
its initializers being TensorFlow random ops; not measured here: no TF 2.1 wheel for Python 3.11). The
second variant shows whether ``random.seed`` is the one missing line. Run it with each release's
interpreter (``.tox/tf215/bin/python -m harness.report.determinism``, after ``tox -e tf215``).

Writes ``reports/determinism-<release>.md`` and ``.json``; exits 1 when a run with the harness's
lines is not deterministic (that is the harness's guarantee; a program as written may be either).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]
# The harness's lines, as run.pinned adds them (besides placing every op on the device).
ADDED = ("tf.config.experimental.enable_op_determinism()", "tf.random.set_seed(87654321)", "np.random.seed(0)",
         "random.seed(0)")  # harness.execution.runtime: configure(), reset_random_state()


# How a fresh process runs the program: its lines only, with Python's random seeded, with all
# the harness's lines.
VARIANTS = ("as_written", "python_random", "with_added_lines")


def child(name: str, variant: str, batches: int | None) -> dict[str, Any]:
    """One run in this (fresh) process."""
    from harness.execution import devices
    from harness.execution.fit import run_fit
    from harness.execution.run import pinned as pin
    from harness.experiments import catalog

    fit = catalog.get(name).fit
    if fit is None:
        raise SystemExit(f"{name} is not a Keras program")
    if variant == "with_added_lines":
        with pin(devices.visible()[0]):
            outcome = run_fit(fit, batches=batches)
    else:
        if variant == "python_random":
            import random

            random.seed(0)
        outcome = run_fit(fit, batches=batches)
    return {"columns": outcome.columns, "validation": outcome.validation, "checkpoints": outcome.checkpoints,
            "batches": outcome.batches, "scalars": outcome.scalars}


def _fresh(name: str, variant: str, batches: int | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "harness.report.determinism", "--child", name, "--variant", variant]
    argv += ["--batches", str(batches)] if batches else []
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["(no output)"])[-1]}
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def difference(first: dict[str, Any], second: dict[str, Any]) -> str:
    """Where two runs first differ ('' when every value and every weight's hash is the same)."""
    from harness.judge.compare import compare
    from harness.record import Record

    if "error" in first or "error" in second:
        return str(first.get("error") or second["error"])
    record = Record("", "", "cpu", "", columns=second["columns"], scalars=second["scalars"],
                    checkpoints=second["checkpoints"], batches=second["batches"], validation=second["validation"])
    tables = {t: first[t] for t in ("columns", "validation", "checkpoints", "batches") if first[t]}
    found = compare(record, tables, first["scalars"], 0)
    if found.status == "identical":
        return ""
    moved = found.first_failure
    if moved is not None:
        return f"{moved.label}: from epoch (or batch) {moved.first_beyond}, max {moved.max_ulp:.0f} ULP"
    return (found.problems + found.scalar_changes)[0][:160]


def measure(names: Sequence[str], whole: bool, jobs: int) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from harness.experiments import catalog

    experiments = [catalog.get(n) for n in names] if names else catalog.keras_experiments()
    start = time.perf_counter()
    runs = [(e.name, v, e.span_for("tests", whole).batches_asked) for e in experiments for v in VARIANTS
            for _ in range(2)]
    with ThreadPoolExecutor(jobs) as pool:  # each run is a process of its own
        done = list(pool.map(lambda job: _fresh(*job), runs))
    rows = []
    for i, e in enumerate(experiments):
        mine = done[2 * len(VARIANTS) * i:2 * len(VARIANTS) * (i + 1)]  # two runs of each variant, in order
        pairs = [mine[2 * k:2 * k + 2] for k in range(len(VARIANTS))]
        rows.append({"experiment": e.name, "batches": e.span_for("tests", whole).batches_asked,
                     **{v: difference(*pair) for v, pair in zip(VARIANTS, pairs, strict=True)}})
        print(f"  {e.name}: " + "; ".join(f"{v} {rows[-1][v] or 'identical'}" for v in VARIANTS), file=sys.stderr,
              flush=True)
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "whole": whole,
            "seconds": round(time.perf_counter() - start, 1), "results": rows}


def render(found: dict[str, Any]) -> str:
    cut = "whole" if found["whole"] else "cut to its declared prefix (the batches the default tests train)"
    rows = [(f"`{r['experiment']}`", r["batches"] or "whole", *(r[v] or "deterministic" for v in VARIANTS))
            for r in found["results"]]
    return "\n".join([
        f"# The Keras programs' determinism, TF {found['tensorflow']} (Keras {found['keras']})", "",
        f"Each program, {cut}, run twice as written (its own seeds only), each time in a fresh process; twice with "
        "one added line, `random.seed(0)` (Keras draws the seeds of its initializers from Python's random module); and "
        "twice with the harness's added lines (" + ", ".join(f"`{a}`" for a in ADDED) + "). A cell is "
        "*deterministic* when every recorded value and every weight's SHA-256 are the same in both runs, else "
        "where they first differ. Made by `python -m harness.report.determinism` "
        f"in {found['seconds']:.0f} s on {os.cpu_count()} cores.", "",
        *markdown_table(("experiment", "batches", "as written", "with random.seed(0)", "with the harness's lines"),
                        rows), ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.determinism", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="Keras experiments (default: all)")
    parser.add_argument("--whole", action="store_true", help="whole runs (default: each program's declared prefix)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N", help="processes at a time")
    parser.add_argument("--batches", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, metavar="DIR", default=ROOT / "reports")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.variant, args.batches)))
        return 0
    found = measure(args.names, args.whole, args.jobs)
    release = "tf" + "".join(found["tensorflow"].split(".")[:2])
    atomic_write(args.out / f"determinism-{release}.json",
                 (json.dumps(found, indent=1, ensure_ascii=False) + "\n").encode())
    atomic_write(args.out / f"determinism-{release}.md", render(found).encode())
    return 1 if any(r["with_added_lines"] for r in found["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
