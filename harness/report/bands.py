"""``python -m harness.report.bands``: every tolerance band derived again from what it rests on.

A band (``Tolerance.rounding``) is the smallest power of two at least twice the largest
rounding-only change measured on the goldens' TensorFlow and kernel class: another float32
evaluation order (the NumPy oracle), exact arithmetic (the float64 oracle), XLA's kernels
(modes ``xla``, ``fused_xla``), Grappler's rewrites (modes ``function``, ``fused``). This
measures each of them again for every training experiment, the values and the optimizer's
state apart; it also measures what the bands are for (a learning rate 0.1% off, which moves
the final weights by far more than the band) and what the Grappler declarations say (with
``arithmetic_optimization`` off, both graph modes are the eager run bit for bit).

Writes ``reports/bands.md`` and ``reports/bands.json``; exits 1 when a declared measurement, a
band or a claim above is not what this run measures (run it on the goldens' kernel class: on
another, the numbers are reported and not compared).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import modes
from harness.errors import HarnessError
from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

if TYPE_CHECKING:
    from harness.experiments.declare import Experiment
    from harness.store.golden import Golden

ROOT = Path(__file__).resolve().parents[2]
LR_FACTOR = 1.001
CAUSES = modes.CAUSES


def split(experiment: Experiment, found: dict[str, float]) -> dict[str, float]:
    """The largest distance over the values and over the optimizer's state."""
    training = experiment.training
    assert training is not None
    return {"values": max((d for c, d in found.items() if not training.is_state(c)), default=0.0),
            "state": max((d for c, d in found.items() if training.is_state(c)), default=0.0)}


def _run_distances(experiment: Experiment, stored: Golden, mode: str) -> dict[str, float]:
    from harness.execution import devices
    from harness.execution.run import run
    from harness.judge.verdict import against

    record = run(experiment, devices.visible()[0], mode=mode)
    return {c.column: c.max_ulp for c in against(stored, experiment, record, exact=True).columns}


def _final_weights(experiment: Experiment, stored: Golden) -> dict[str, float]:
    """How far a learning rate 0.1% off moves each final weight, in ULPs."""
    from harness.execution import devices
    from harness.execution.run import run
    from harness.judge.compare import ulp_distance
    from harness.record import flat_names

    training = experiment.training
    assert training is not None
    lr = training.lr
    moved = dataclasses.replace(training, lr=(lambda e: lr(e) * LR_FACTOR) if callable(lr) else lr * LR_FACTOR)
    record = run(dataclasses.replace(experiment, training=moved), devices.visible()[0])
    tables = {name: getattr(record, name) for name in ("columns", "checkpoints")}
    found = {}
    for variable, shape in training.variables.items():
        for column in flat_names(variable, shape):
            table = next(t for name, t in tables.items() if column in t)
            golden_table = stored.tables["columns" if column in stored.tables.get("columns", {}) else "checkpoints"]
            found[column] = float(ulp_distance(table[column][-1], golden_table[column][-1]))
    return found


def _oracle(experiment: Experiment, stored: Golden, dtype: Any) -> dict[str, float]:
    from harness import kernels
    from harness.oracle import agreement, programs

    run = programs.train(experiment.name, stored.scalars, dtype, kernels=kernels.current())
    record = stored.record(experiment.name, "cpu")
    return {c: float(d.max()) for c, d in agreement.distances(run, record).items()}


def measure(names: Sequence[str]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    from harness import kernels
    from harness.execution import runtime
    from harness.experiments import catalog
    from harness.judge.verdict import held_to, load
    from harness.store import golden

    runtime.configure()
    experiments = [catalog.get(n) for n in names] if names else catalog.training_experiments()
    loops = {e.name for e in catalog.training_experiments()}
    for e in experiments:
        if e.name not in loops:
            raise HarnessError(f"{e.name} has no training loop: bands are the training experiments'")
    rows = []
    start = time.perf_counter()
    for e in experiments:
        stored = load(golden.ROOT, e, "cpu")
        found: dict[str, dict[str, float]] = {
            "oracle": split(e, _oracle(e, stored, np.float32)),
            "float64": split(e, _oracle(e, stored, np.float64)),
        }
        for cause, pair in CAUSES.items():
            parts = [split(e, _run_distances(e, stored, mode)) for mode in pair]
            found[cause] = {k: max(p[k] for p in parts) for k in ("values", "state")}
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
        try:
            grappler_off = max(max(_run_distances(e, stored, m).values(), default=0.0) for m in CAUSES["grappler"])
        finally:
            tf.config.optimizer.set_experimental_options({"arithmetic_optimization": True})
        lr_moves = _final_weights(e, stored)
        rows.append({"experiment": e.name, "measured": found, "grappler_off": grappler_off,
                     "lr_moves": {"min": min(lr_moves.values()), "max": max(lr_moves.values())},
                     "declared": _declared(e)})
        print(f"  {e.name}: {json.dumps(rows[-1]['measured'])}", file=sys.stderr, flush=True)
    here = kernels.current().key
    return {"kernel_class": here, "held_to": held_to(golden.ROOT, "cpu"),
            "base": (golden.read_manifest(golden.ROOT, "cpu") or {}).get("kernel_class"),
            "tensorflow": tf.__version__, "seconds": round(time.perf_counter() - start, 1), "results": rows}


def _declared(experiment: Experiment) -> dict[str, Any]:
    t = experiment.tolerance
    return {"ulps": t.ulps, "state_ulps": t.state_ulps, "measured": dict(t.measured),
            "state_measured": dict(t.state_measured)}


def problems(row: dict[str, Any], compared: bool) -> list[str]:
    """Where the declaration is not what was measured (only on the goldens' base class)."""
    from harness.experiments.declare import ROUNDING, band_for

    declared, measured = row["declared"], row["measured"]
    found = []
    if row["grappler_off"] != 0:
        found.append(f"with arithmetic_optimization off a graph mode is {row['grappler_off']:.0f} ULP from eager")
    if not declared["measured"]:
        return found  # no band: the tolerance says why none exists
    if row["lr_moves"]["max"] <= declared["ulps"]:
        # A band that holds a run with another learning rate would hide the change it is for.
        found.append(f"a learning rate 0.1% off moves the final weights by {row['lr_moves']['max']:.0f} ULP "
                     f"at most, within the band {declared['ulps']}")
    if not compared:
        return found
    for group, key in (("values", "measured"), ("state", "state_measured")):
        for source, value in measured.items():
            said = declared[key].get(source)
            if said is not None and said != round(value[group]):
                found.append(f"{source} ({group}): declared {said} ULP, measured {value[group]:.0f}")
    for group, band in (("values", "ulps"), ("state", "state_ulps")):
        largest = max((v[group] for s, v in measured.items() if s in ROUNDING), default=0.0)
        if declared[band] is not None and band_for(largest) != declared[band]:
            found.append(f"the rule gives the {group} a band of {band_for(largest)} ULP from {largest:.0f}; "
                         f"declared {declared[band]}")
    return found


def render(document: dict[str, Any]) -> list[str]:
    compared = document["kernel_class"] == document["base"]
    lines = [
        "# Tolerance bands, derived again",
        "",
        "A band is the smallest power of two at least twice the largest rounding-only change measured "
        "(`harness.experiments.declare.band_for`). Each row measures those changes again, as the largest "
        "distance in float32 ULPs from the committed golden over the values (weights, loss, what the "
        "program prints) and over the optimizer's state: the NumPy oracle in float32, in float64 (exact "
        "arithmetic: reported, not part of the rule), the XLA modes (`xla`, `fused_xla`), the graph "
        "modes that Grappler rewrites (`function`, `fused`); "
        f"then the graph modes with `arithmetic_optimization` off, and the final weights of a run whose "
        f"learning rate is {LR_FACTOR - 1:.1%} off. Made by `python -m harness.report.bands` "
        f"(`tox -e sensitivity`) in {document['seconds']:.0f} s, TensorFlow {document['tensorflow']}, kernel "
        f"class {document['kernel_class']} (the goldens' base: {document['base']}"
        + ("" if compared else "; measurements not compared with the declared ones") + ").",
        "",
    ]
    rows = []
    for row in document["results"]:
        m, d = row["measured"], row["declared"]
        cell = " / ".join(f"{m[s]['values']:.0f}" for s in ("oracle", "float64", "xla", "grappler"))
        state = " / ".join(f"{m[s]['state']:.0f}" for s in ("oracle", "float64", "xla", "grappler"))
        band = f"{d['ulps']}" + (f" (state {d['state_ulps']})" if d["state_ulps"] else "")
        found = problems(row, compared)
        rows.append((f"`{row['experiment']}`", cell, state if any(m[s]["state"] for s in m) else "",
                     band, f"{row['grappler_off']:.0f}",
                     f"{row['lr_moves']['min']:,.0f} to {row['lr_moves']['max']:,.0f}",
                     "; ".join(found) or ("as declared" if d["measured"] else "no band (see its reason)")))
    lines += (markdown_table(("experiment", "values: oracle / float64 / XLA / Grappler",
                                 "state: the same", "band", "Grappler off", "lr +0.1%: final weights moved",
                                 "verdict"), rows))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.bands", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="training experiments (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bands.md")
    args = parser.parse_args(argv)
    try:
        document = measure(args.names)
    except HarnessError as exc:
        parser.error(str(exc))
    atomic_write(args.out.with_suffix(".json"), json.dumps(document, indent=1).encode("utf-8"))
    atomic_write(args.out, ("\n".join(render(document)) + "\n").encode("utf-8"))
    compared = document["kernel_class"] == document["base"]
    bad = {r["experiment"]: problems(r, compared) for r in document["results"] if problems(r, compared)}
    for name, found in bad.items():
        print(f"{name}: {'; '.join(found)}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
