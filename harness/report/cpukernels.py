"""``python -m harness.report.cpukernels`` (``tox -e kernels``): every experiment, in every mode,
under every CPU kernel class this machine can run, and under every OpenBLAS core type;
writes ``reports/cpu-kernels.md``, its JSON and a chart.

For each kernel class (harness/kernels.py), in processes of its own:

- every experiment eagerly, against the *base* goldens with the experiment's tolerance
  (identical / within tolerance / differs: first epoch, largest ULP), and against the
  goldens the class is held to (its own files where it has them): identical when the golden
  store covers the class;
- every training experiment in every other mode, against that class's eager run: where it
  departs (first epoch, largest ULP), and whether that is what is declared for the class;
- the printed numbers of the note and the course that reproduce under it.

For each OpenBLAS core type: every experiment eagerly under this machine's class (TensorFlow
does not use OpenBLAS; the programs' own NumPy lines might), and the oracle's digests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import kernels, modes, options
from harness.errors import HarnessError
from harness.execution import emulate
from harness.report import leaveout
from harness.report.charts import pyplot, save
from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]


def _measure_class(key: str, names: Sequence[str], jobs: int) -> dict[str, Any]:
    """One class's runs, judged in this process."""
    import numpy as np

    from harness.experiments import catalog
    from harness.judge import ledger
    from harness.judge.compare import same
    from harness.judge.verdict import against, departure, signature
    from harness.oracle import agreement, programs
    from harness.store import golden
    from harness.store.golden import Golden

    experiments = catalog.select(list(names)) if names else catalog.all_experiments()
    trainers = [e for e in experiments if e.program.whole_in_every_mode]
    start = time.perf_counter()
    eager, others = emulate.run_every_mode(key, [e.name for e in experiments], [e.name for e in trainers], jobs)
    rows = []
    for e in experiments:
        record = eager[e.name]
        columns = e.table_columns()
        base_golden = golden.load(golden.ROOT, "cpu", e.name, columns)
        base = against(base_golden, e, record)
        held = against(golden.load(golden.ROOT, "cpu", e.name, columns, key), e, record, exact=True)
        first, largest = signature(e, base)
        # Every printed number a run can give again, by whether it reproduces (not by what is declared).
        comparable = [p for p in ledger.printed_checks(e, record) if not p.printed.not_comparable]
        changed = [n for n in sorted(set(base_golden.scalars) | set(record.scalars))
                   if not same(base_golden.scalars.get(n), record.scalars.get(n))]
        row: dict[str, Any] = {
            "experiment": e.name, "status": base.status, "first_epoch": first, "max_ulp": largest,
            "scalars_changed": changed,
            "own_golden": held.status, "printed": len(comparable),
            "printed_reproduced": sum(p.reproduces for p in comparable),
            "printed_numbers": [{"where": f"{p.printed.source.cite}: {p.printed.where}", "text": p.printed.text,
                                 "reproduces": p.reproduces} for p in comparable],
            "claims_failing": [c.claim.text for c in ledger.claim_checks(e, record, eager) if not c.holds],
            "modes": {},
        }
        if e.name in programs.PROGRAMS:
            # The float32 oracle, its products as this class does them, against this class's run.
            run = programs.train(e.name, base_golden.scalars, np.float32, kernels=kernels.of_class(key))
            found = agreement.distances(run, record)
            row["oracle"] = {"agreement": programs.PROGRAMS[e.name].agreement,
                             "max_ulp": {c: float(d.max()) for c, d in sorted(found.items())},
                             "problems": agreement.problems(e.name, run, record, e.tolerance_for)}
        if e.program.whole_in_every_mode:
            own = golden.read_mode_signatures(golden.ROOT, "cpu", key, e.name)
            for mode, runs in others.items():
                measured = departure(e, Golden(record.scalars, record.tables()), runs[e.name])
                code = e.mode_difference(mode)
                declared = own.get(mode, None if code is None else code.signature)
                row["modes"][mode] = {"measured": measured, "declared": declared,
                                      "as_declared": measured == declared,
                                      "base_declaration": measured == (None if code is None else code.signature)}
        rows.append(row)
    return {"kernel_class": key, "environment": emulate_environment(key),
            "seconds": round(time.perf_counter() - start, 1), "results": rows}


def emulate_environment(key: str) -> dict[str, str]:
    """The variables a class's processes run with (only those that set the kernels)."""
    env = kernels.environment(key, {})
    return {k: v for k, v in env.items() if k in (kernels.ONEDNN_ENV, kernels.ONEDNN_OPTS_ENV, kernels.XLA_ENV)}


def _measure_openblas(core: str, names: Sequence[str], jobs: int) -> dict[str, Any]:
    """This machine's class under one OpenBLAS core type: the eager records against the goldens
    this class is held to, bit for bit, and the oracle's digests."""
    from harness.experiments import catalog
    from harness.judge.verdict import against
    from harness.store import golden

    here = kernels.current().key
    saved = os.environ.get(kernels.OPENBLAS_ENV)
    os.environ[kernels.OPENBLAS_ENV] = core
    try:
        start = time.perf_counter()
        chosen = catalog.select(list(names)) if names else catalog.all_experiments()
        records = emulate.run_under(here, [e.name for e in chosen], None, jobs)
        oracle = subprocess.run([sys.executable, "-m", "harness.oracle"], capture_output=True, text=True,
                                check=True, env=dict(os.environ)).stdout
    finally:
        if saved is None:
            os.environ.pop(kernels.OPENBLAS_ENV, None)
        else:
            os.environ[kernels.OPENBLAS_ENV] = saved
    differ = []
    for record in records:
        e = catalog.get(record.experiment)
        held = against(golden.load(golden.ROOT, "cpu", e.name, e.table_columns(), here), e, record, exact=True)
        if held.status != "identical":
            differ.append(e.name)
    document = json.loads(oracle)
    return {"core": core, "reported": document["openblas"], "differ": differ, "experiments": len(records),
            "oracle": document["digests"], "seconds": round(time.perf_counter() - start, 1)}


def _cell(row: dict[str, Any]) -> str:
    if row["status"] == "identical":
        return "identical"
    names = row.get("scalars_changed", [])
    scalars = f"scalars {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" if names else ""
    # Beyond the tolerance: from which epoch; within it: how far. A one-shot program differs in
    # what it printed (its scalars), not along a trajectory.
    moved = (f"from epoch {row['first_epoch']}, {row['max_ulp']:.0f} ULP" if row["first_epoch"] is not None
             else f"{row['max_ulp']:.0f} ULP" if row["max_ulp"] else "")
    where = ", ".join(filter(None, [moved, scalars]))
    return f"within ({where})" if row["status"] == "within" else f"**differs** ({where})"


def _mode_cell(found: dict[str, Any]) -> str:
    measured = found["measured"]
    text = "identical" if measured is None else f"{measured[0]}/{measured[1]:.0f}" + (
        f", NaN at {measured[2]}" if len(measured) > 2 and measured[2] is not None else "")
    return text + ("" if found["base_declaration"] else (" (own)" if found["as_declared"] else " **CHANGED**"))


def render(document: dict[str, Any], chart_name: str) -> list[str]:
    from harness.experiments import catalog
    from harness.oracle import agreement

    classes = document["classes"]
    keys = [c["kernel_class"] for c in classes]
    base = document["base"]
    names = [r["experiment"] for r in classes[0]["results"]] if classes else []
    by = {c["kernel_class"]: {r["experiment"]: r for r in c["results"]} for c in classes}
    moved = [n for n in names if any(by[k][n]["status"] != "identical" for k in keys)]
    lines = [
        "# The goldens under every CPU kernel class",
        "",
        "What the CPU's kernels do to every experiment: each kernel class this machine can run "
        "(the instruction set oneDNN dispatches to, forced with `ONEDNN_MAX_CPU_ISA`, with XLA's "
        "`--xla_cpu_max_isa` of the same generation; oneDNN's options off with "
        "`TF_ENABLE_ONEDNN_OPTS=0`), each in processes of its own, and each OpenBLAS core type "
        "NumPy can run here (`OPENBLAS_CORETYPE`). Made by `tox -e kernels` "
        f"(`python -m harness.report.cpukernels`) in {document['seconds'] / 60:.0f} min on "
        f"{document['machine']}; the goldens' base class is `{base}`.",
        "",
        "## Summary",
        "",
        f"- Experiments: {len(names)}; identical under every class: {len(names) - len(moved)}; moved by "
        f"some class: {len(moved)} ({', '.join(f'`{n}`' for n in moved) or 'none'}).",
    ]
    for c in classes:
        rows = c["results"]
        count = {s: sum(r["status"] == s for r in rows) for s in ("identical", "within", "fail")}
        own = sum(r["own_golden"] == "identical" for r in rows)
        changed = sum(not m["as_declared"] for r in rows for m in r["modes"].values())
        lines.append(f"- `{c['kernel_class']}`: against the base {count['identical']} identical, {count['within']} "
                     f"within tolerance, {count['fail']} beyond; against its own goldens {own} of {len(rows)} "
                     f"identical; mode departures not as declared: {changed}; printed numbers reproduced "
                     f"{sum(r['printed_reproduced'] for r in rows)} of {sum(r['printed'] for r in rows)}; "
                     f"{c['seconds']:.0f} s.")
    totals = {c["kernel_class"]: sum(r["printed_reproduced"] for r in c["results"]) for c in classes}
    if totals:
        most = max(totals.values())
        lines.append(f"- Most printed numbers reproduce ({most}) under "
                     f"{', '.join(f'`{k}`' for k, n in totals.items() if n == most)}.")
    lines += ["", f"![experiments by kernel class]({chart_name})" if chart_name.endswith(".png") else chart_name, "",
              "## Eager, against the base goldens", "",
              "A cell: identical, within the experiment's tolerance, or **differs** beyond it (the first "
              "epoch where any value leaves its tolerance, and the largest distance in float32 ULPs). Only "
              "experiments some class moves are listed; the others are identical under every class.", ""]
    lines += markdown_table(["experiment", *[f"`{k}`" for k in keys]],
                            [[f"`{n}`", *[_cell(by[k][n]) for k in keys]] for n in moved])
    lines += ["", "## Every other mode, against the same class's eager run", "",
              "A cell: where the mode first departs from the class's eager run and by how much "
              "(first epoch / largest ULP), or identical; *(own)* where it is not the experiment's "
              "declaration but the class's own (`golden/cpu/kernels/<class>/<experiment>.modes.yml`), "
              "**CHANGED** where it is neither.", ""]
    mode_rows = []
    for n in names:
        for mode in modes.MODES:
            if mode == modes.REFERENCE or mode not in by[keys[0]][n]["modes"]:
                continue
            mode_rows.append([f"`{n}` ({mode})", *[_mode_cell(by[k][n]["modes"][mode]) for k in keys]])
    lines += markdown_table(["experiment (mode)", *[f"`{k}`" for k in keys]], mode_rows)
    lines += ["", "## Printed numbers of the note and the course", "",
              "Every printed number a run can give again (unseeded draws and times left out), by whether "
              "the run, printed as the program prints it, gives the same text under each class: first the "
              "counts, then each number that reproduces under some classes and not others.", ""]
    lines += markdown_table(["", *[f"`{k}`" for k in keys]], [
        ["reproduce", *[f"{sum(r['printed_reproduced'] for r in by[k].values())} of "
                        f"{sum(r['printed'] for r in by[k].values())}" for k in keys]],
        ["claims that fail", *[", ".join(f"`{n}`: {t}" for n, r in by[k].items() for t in r["claims_failing"])
                               or "none" for k in keys]]])
    varying = []
    for n in names:
        numbers = [by[k][n]["printed_numbers"] for k in keys]
        for i, first in enumerate(numbers[0]):
            flags = [found[i]["reproduces"] for found in numbers]
            if len(set(flags)) > 1:
                varying.append([f"`{n}`", first["where"], f"`{first['text']}`",
                                ", ".join(f"`{k}`" for k, ok in zip(keys, flags, strict=True) if ok)])
    lines += [""] + (markdown_table(["experiment", "printed at", "as printed", "reproduces under"], varying)
                     if varying else ["The same printed numbers reproduce under every class."])
    lines += ["", "## The oracle under each class", "",
              "The float32 NumPy oracle (harness/oracle/), its products done as each class does them where "
              "its program's are modelled (harness/oracle/arithmetic.py), against that class's TensorFlow run: "
              "the largest distance of a weight and of the loss in ULPs, and whether it is the agreement the "
              "program declares (**no** names what is not; a band is judged as declared when this page "
              "was rendered).", ""]
    oracle_rows = []
    for n in names:
        if "oracle" not in by[keys[0]][n]:
            continue
        cells = [f"`{n}` ({by[keys[0]][n]['oracle']['agreement']})"]
        for k in keys:
            o = by[k][n]["oracle"]
            if o["agreement"] == "band":  # judged against the bands as declared now
                o = {**o, "problems": agreement.band_problems(n, o["max_ulp"], catalog.get(n).tolerance_for)}
            weights = max((v for c, v in o["max_ulp"].items() if c != "loss"), default=0.0)
            cells.append(f"{weights:.0f} / {o['max_ulp'].get('loss', 0.0):.0f}"
                         + ("" if not o["problems"] else " **no**: " + "; ".join(o["problems"])))
        oracle_rows.append(cells)
    lines += markdown_table(["program (declared agreement): weights / loss ULP", *[f"`{k}`" for k in keys]],
                            oracle_rows)
    lines += ["", "## OpenBLAS core types", "",
              f"Every experiment eagerly under this machine's class `{document['here']}`, and the float32 "
              "oracle (fused and unfused), under each core type. TensorFlow does not call OpenBLAS; the "
              "oracle does its products without it (harness/oracle/arithmetic.py).", ""]
    blas = document["openblas"]
    reference = blas[0]["oracle"] if blas else {}
    lines += markdown_table(["core type (threadpoolctl)", "experiments not identical", "oracle digests", "seconds"],
                            [[f"{b['core']} ({b['reported']})", ", ".join(b["differ"]) or f"none of {b['experiments']}",
                              "same as the first" if b["oracle"] == reference else "**differ**: " + ", ".join(
                                  n for n in b["oracle"] if b["oracle"][n] != reference.get(n)),
                              f"{b['seconds']:.0f}"] for b in blas])
    lines += ["", "## Environments", "", *[f"- `{c['kernel_class']}`: " + ", ".join(
        f"`{k}={v}`" for k, v in sorted(c["environment"].items())) for c in classes]]
    return lines


def chart(document: dict[str, Any], path: Path) -> str:
    """A grid of experiments by class: identical, within tolerance, beyond (with the ULPs)."""
    try:
        plt = pyplot()
    except ImportError:
        return "(no chart: matplotlib is not installed here)"
    classes = document["classes"]
    keys = [c["kernel_class"] for c in classes]
    names = [r["experiment"] for r in classes[0]["results"]]
    level = {"identical": 0, "within": 1, "fail": 2}
    grid = [[level[next(r for r in c["results"] if r["experiment"] == n)["status"]] for c in classes] for n in names]
    fig, ax = plt.subplots(figsize=(max(6.5, 2.5 + 1.3 * len(keys)), 0.3 * len(names) + 1.8))
    from matplotlib.colors import ListedColormap

    ax.imshow(grid, cmap=ListedColormap(["#d9efd9", "#ffe9a8", "#f4a6a6"]), vmin=0, vmax=2, aspect="auto")
    for i, n in enumerate(names):
        for j, c in enumerate(classes):
            row = next(r for r in c["results"] if r["experiment"] == n)
            if row["status"] != "identical":
                label = f"{row['max_ulp']:.0f}" if row["max_ulp"] else "scalars"
                ax.text(j, i, label, ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(keys)), keys, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_title("Eager runs against the base goldens\ngreen identical, yellow within tolerance, "
                 "red beyond (largest ULP)", fontsize=9)
    fig.tight_layout()
    return save(fig, path, dpi=90).name


def sweep(names: Sequence[str], classes_asked: Sequence[str], jobs: int, save: Path) -> dict[str, Any]:
    """Every class, then every OpenBLAS core type; the document so far is saved after each, so
    that a sweep stopped part way keeps what it measured (``--from-json`` renders it)."""
    from harness.store import golden

    start = time.perf_counter()
    keys = kernels.emulable() if list(classes_asked) == ["all"] else list(classes_asked)
    manifest = golden.read_manifest(golden.ROOT, "cpu", lenient=True) or {}
    document: dict[str, Any] = {"machine": kernels.cpu_model() + f" ({os.cpu_count()} cores)",
                                "here": kernels.current().key, "base": manifest.get("kernel_class"),
                                "seconds": 0.0, "classes": [], "openblas": []}
    for what, measure, items in (("classes", _measure_class, keys), ("openblas", _measure_openblas,
                                                                     kernels.openblas_cores())):
        for item in items:
            document[what].append(measure(item, names, jobs))
            document["seconds"] = round(time.perf_counter() - start, 1)
            atomic_write(save, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.cpukernels", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="experiments (default: all)")
    parser.add_argument("--classes", type=options.kernel_classes, default=["all"], metavar="CLASSES",
                        help="kernel classes: all (default: every class this CPU can run) or keys such as avx2,sse41")
    parser.add_argument("--out", type=options.output_file("--out"), default=ROOT / "reports" / "cpu-kernels.md")
    parser.add_argument("--jobs", type=options.count("--jobs", options.MAX_PARALLEL), default=os.cpu_count() or 1)
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="render a sweep's saved JSON instead of running one")
    args = parser.parse_args(argv)
    results = args.out.with_suffix(".json")
    try:
        if args.from_json:
            from harness.report import documents

            document = documents.read(args.from_json, "run the sweep again (tox -e kernels)")
        else:
            if args.classes == ["this"]:
                args.classes = [kernels.current().key]
            document = sweep(args.names, args.classes, args.jobs, results)
            print(f"wrote {results}")
        name = chart(document, args.out.with_suffix(".png"))
        kept = leaveout.section_of(args.out)  # "Each class left out": its own command's (harness.report.leaveout)
        atomic_write(args.out, ("\n".join(render(document, name)) + "\n").encode("utf-8"))
        if kept is not None:
            leaveout.write_section(args.out, kept)
        print(f"wrote {args.out}")
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
