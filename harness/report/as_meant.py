"""The course's subclassed networks as written and as meant, whole, side by side with what the course
prints: on Keras 3 a ``call(self, x)`` that takes no ``training`` keeps fit's ``training=True`` from its
layers (batch normalization on its moving statistics, dropout dropping nothing); the variant with
``def call(self, x, training=None)`` (``harness.experiments.keras.as_meant``) trains the network the
course teaches. Neither variant has goldens of its own yet (the base class's machine writes them).

    python -m harness.report.as_meant [NAME ...]      # default: the Fashion baseline and LeNet5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.report.markdown import table

PROJECT = Path(__file__).resolve().parents[2]
REPORT = PROJECT / "reports" / "as-meant.md"
DEFAULT = ("fashion_cnn_baseline", "fashion_lenet5")
LAST = ("loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy")


def measure(name: str) -> dict[str, Any]:
    """Both variants of one program, whole, on the first CPU: their last epoch's values and seconds."""
    from harness.execution.devices import Device
    from harness.execution.fit import run_fit
    from harness.execution.run import pinned
    from harness.experiments import catalog
    from harness.experiments.keras import as_meant

    experiment = catalog.get(name)
    written = experiment.fit
    meant = None if written is None else as_meant(written)
    if written is None or meant is None:
        raise HarnessError(f"{name}: not a subclassed Keras network whose call drops training")
    experiment.program.require_data()
    found: dict[str, Any] = {"experiment": name, "printed": {p.where.removeprefix("last epoch, "): p.text
                                                             for p in experiment.printed}}
    for label, fit in (("as_written", written), ("as_meant", meant)):
        dict(fit.variables)
        start = time.perf_counter()
        with pinned(Device("CPU:0")):
            outcome = run_fit(fit)
        last = {**{k: v[-1] for k, v in outcome.columns.items() if k != "epoch"},
                **{k: v[-1] for k, v in outcome.validation.items() if k != "epoch"}}
        found[label] = {"last": {k: float(last[k]) for k in LAST if k in last},
                        "seconds": round(time.perf_counter() - start, 1)}
    return found


def render(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        for key in LAST:
            written, meant = r["as_written"]["last"].get(key), r["as_meant"]["last"].get(key)
            rows.append([f"`{r['experiment']}`", key, f"{written:.4f}", f"{meant:.4f}",
                         r["printed"].get(key, "nothing (the text prints the CIFAR-10 runs)")])
    same = [f"`{r['experiment']}`" for r in results if r["as_written"]["last"] == r["as_meant"]["last"]]
    times = "; ".join(f"`{r['experiment']}` {r['as_written']['seconds']:.0f} s and {r['as_meant']['seconds']:.0f} s"
                      for r in results)
    return "\n".join([
        "# The course's CNNs as written and as meant",
        "",
        "On Keras 3 a subclassed network whose `call(self, x)` takes no `training` never trains its batch",
        "normalization on the batch's statistics nor drops anything in its dropout. *As meant* changes one line,",
        "`def call(self, x, training=None)`, so that fit's `training=True` reaches the layers as it did on the",
        "course's Keras 2. The last epoch of each whole run, on CPU:0 (`python -m harness.report.as_meant`):",
        "",
        *table(["experiment", "value", "as written", "as meant", "the course prints"], rows),
        "",
        *([f"The same in every value above, as written and as meant: {', '.join(same)} (no layer of it uses "
           "`training`: no batch normalization, no dropout).", ""] if same else []),
        f"Whole runs, as written and as meant: {times}.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.as_meant", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=list(DEFAULT), metavar="NAME")
    parser.add_argument("--to", type=Path, default=REPORT)
    parser.add_argument("--render-only", action="store_true",
                        help="write the page again from its saved measurements (<to>.json), running nothing")
    args = parser.parse_args(argv)
    from harness.store.files import atomic_write

    if args.render_only:
        atomic_write(args.to, render(json.loads(args.to.with_suffix(".json").read_text(encoding="utf-8")))
                     .encode("utf-8"))
        print(f"wrote {args.to}")
        return 0
    try:
        results = [measure(name) for name in args.names]
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic_write(args.to.with_suffix(".json"), json.dumps(results, indent=1).encode("utf-8"))
    atomic_write(args.to, render(results).encode("utf-8"))
    print(f"wrote {args.to}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
