"""The envelope proved by leaving each covered kernel class out (docs/devices.md, "Verdicts on a CPU
the goldens do not cover").

For every covered class this CPU can run (the base's files cannot be left out: every other class's
are kept as differences from them), a scratch copy of the goldens is made without that class (its
folder deleted, its key dropped from the manifest), and ``python -m harness check`` runs, as a user
runs it, under that class's kernels (``ONEDNN_MAX_CPU_ISA`` and the rest, ``HARNESS_KERNELS=own``):
so the class is one the goldens do not cover, and every verdict that depends on the kernels is the
envelope of the others'. Each program must pass, in every execution mode; and each regression made
on purpose (harness/report/regressions.py, held to its original's goldens) must be caught by some
verdict (its eager run, or a mode's). A program that fails there means the envelope is too narrow; a
regression no verdict catches, too wide: the report says which, and which mode verdicts alone miss a
regression another verdict catches.

    python -m harness.report.leaveout [--classes avx2,sse41] [NAME ...]

writes ``reports/cpu-kernels-leave-one-out.json`` and the section "Each class left out" of
``reports/cpu-kernels.md`` (the rest of that report is the sweep's, ``tox -e kernels``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import kernels, modes, options
from harness.errors import HarnessError
from harness.experiments.catalog import SECTIONS_VARIABLE
from harness.report import regressions
from harness.store import golden
from harness.store.files import atomic_write

PROJECT = Path(__file__).resolve().parents[2]
REPORT = PROJECT / "reports" / "cpu-kernels.md"
RESULTS = PROJECT / "reports" / "cpu-kernels-leave-one-out.json"
BEGIN, END = "<!-- leave-one-class-out: python -m harness.report.leaveout -->", "<!-- /leave-one-class-out -->"


def moved_programs(root: Path = golden.ROOT) -> list[str]:
    """The programs run whole in every mode (the GradientTape loops) that some covered class computes
    otherwise than the base (a file of its own): the ones whose verdict on a class left out is the
    envelope's, not a copy of every class's bits."""
    from harness.experiments import catalog

    names = {path.name.split(".", 1)[0] for path in (root / "cpu" / golden.KERNELS).glob("*/*")}
    return [e.name for e in catalog.all_experiments() if e.name in names and e.program.whole_in_every_mode]


def hide(key: str, dest: Path, source: Path = golden.ROOT) -> Path:
    """A copy of the goldens without class ``key`` (its files and its place in the manifest), with each
    regressed program's original's files copied under its name. Returns the copy's root."""
    shutil.copytree(source, dest)
    manifest = golden.read_manifest(dest, "cpu") or {}
    if key == manifest.get("kernel_class"):
        raise HarnessError(f"{key} is the base class: every other class's files are kept as differences from "
                           "its files, so it cannot be left out")
    if key not in (manifest.get("kernel_classes") or ()):
        raise HarnessError(f"{key} is not a class the goldens cover: {', '.join(manifest.get('kernel_classes') or ())}")
    manifest["kernel_classes"] = [k for k in manifest["kernel_classes"] if k != key]
    golden.write_manifest(dest, "cpu", manifest)
    shutil.rmtree(golden.kernel_dir(dest, "cpu", key), ignore_errors=True)
    for experiment in regressions.EXPERIMENTS:
        target = regressions.target_of(experiment.name)
        for path in [*(dest / "cpu").glob(f"{target}.*"), *(dest / "cpu" / golden.KERNELS).glob(f"*/{target}.*")]:
            shutil.copyfile(path, path.with_name(experiment.name + path.name[len(str(target)):]))
    return dest


def check(key: str, root: Path, names: Sequence[str], mode: str, jobs: int, scratch: Path) -> list[dict[str, Any]]:
    """``python -m harness check`` under class ``key``'s kernels against ``root``: its JSON results."""
    out = scratch / f"{mode}.json"
    env = kernels.environment(key, os.environ)
    env[SECTIONS_VARIABLE] = ",".join(filter(None, (os.environ.get(SECTIONS_VARIABLE), regressions.__name__)))
    args = [sys.executable, "-m", "harness", "check", *names, "--golden-dir", str(root), "--device", "CPU:0",
            "--jobs", str(jobs), "--json-out", str(out), "--plots", str(scratch / "plots")]
    if mode != modes.REFERENCE:
        args += ["--mode", mode]
    done = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or not out.exists():
        raise HarnessError(f"check under {key} ({mode}) ended with exit {done.returncode}: "
                           f"{(done.stderr or done.stdout).strip()[-2000:]}")
    if f"kernel class {key}, which the goldens do not cover" not in done.stdout:
        raise HarnessError(f"check under {key} ({mode}) did not run as a class the goldens do not cover:\n"
                           f"{done.stdout[:2000]}")
    return list(json.loads(out.read_text(encoding="utf-8"))["results"])


def prove(key: str, names: Sequence[str], run_modes: Sequence[str], jobs: int,
          regressed: Sequence[str] | None = None) -> dict[str, Any]:
    """One class left out: every program and every regression of them (or those ``regressed`` names),
    in every mode."""
    if regressed is None:
        regressed = [e.name for e in regressions.EXPERIMENTS if regressions.target_of(e.name) in names]
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=f"leave-out-{key}-") as tmp:
        root = hide(key, Path(tmp) / "golden")
        for mode in run_modes:
            for result in check(key, root, [*names, *regressed], mode, jobs, Path(tmp)):
                name = result["experiment"]
                must = "fail" if regressions.target_of(name) else "pass"
                failed, cell = not result["ok"], result["cell"]
                if failed and result["status"] != "fail" and result["mode_verdict"] is None:
                    # Its golden passed: a printed number or a claim is not as its declaration says.
                    cell += (f"; but the printed numbers or the claims fail ({result['printed_reproduced']} of "
                             f"{result['printed']} printed numbers reproduce; the claims "
                             f"{'hold' if result['claims_hold'] else 'do not all hold'})")
                rows.append({"experiment": name, "mode": mode, "must": must, "cell": cell, "failed": failed})
    return {"kernel_class": key, "seconds": round(time.perf_counter() - start, 1), "rows": rows}


def verdicts(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """(programs that failed, regressions no verdict caught, mode verdicts that alone miss a regression
    another verdict of it catches). A regression is caught when any of its verdicts fails: a chaotic
    program's mode is judged by where it turns to NaN, which a 0.1% larger learning rate may keep inside
    the classes' window, while its eager verdict sees every row."""
    failed = [f"`{r['experiment']}` ({r['mode']}): {r['cell']}" for r in rows if r["must"] == "pass" and r["failed"]]
    by_regression: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["must"] == "fail":
            by_regression.setdefault(r["experiment"], []).append(r)
    missed = [f"`{name}`" for name, runs in by_regression.items() if not any(r["failed"] for r in runs)]
    blind = [f"`{r['experiment']}` ({r['mode']})" for name, runs in by_regression.items()
             if any(x["failed"] for x in runs) for r in runs if not r["failed"]]
    return failed, missed, blind


def render(document: dict[str, Any]) -> list[str]:
    lines = [BEGIN, "## Each class left out", "",
             f"Made by `python -m harness.report.leaveout` on {document['machine']} in {document['seconds']:.0f} s: "
             "for each covered class this CPU can run, the goldens without it (its files deleted, its key "
             "dropped from the manifest), and `python -m harness check` under its kernels, so that every verdict "
             "that depends on them is the envelope of the other classes. Each program must pass in every mode; "
             f"each regression made on purpose (`harness/report/regressions.py`: the learning rate 0.1% larger, "
             "one epoch fewer; held to its original's goldens) must be caught by some verdict. Programs: "
             f"{', '.join(f'`{n}`' for n in document['programs'])}; modes: {', '.join(document['modes'])}.", "",
             "| class left out | programs passed (of runs) | regressions caught | programs failed (the envelope "
             "too narrow) | regressions missed (too wide) | mode verdicts that alone miss a caught regression "
             "| seconds |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for found in document["classes"]:
        rows = found["rows"]
        programs = [r for r in rows if r["must"] == "pass"]
        failed, missed, blind = verdicts(rows)
        regressed = {r["experiment"] for r in rows if r["must"] == "fail"}
        lines.append(f"| `{found['kernel_class']}` | {len(programs) - len(failed)} of {len(programs)} | "
                     f"{len(regressed) - len(missed)} of {len(regressed)} | {'; '.join(failed) or 'none'} | "
                     f"{', '.join(missed) or 'none'} | {', '.join(blind) or 'none'} | {found['seconds']:.0f} |")
    for key, why in document["not_run"].items():
        lines.append(f"| `{key}` | not run here: {why} | | | | | |")
    lines += ["", "### The envelope per program", "",
              "What a run under a class the goldens do not cover may compute, from the covered classes' "
              "goldens (`harness/judge/envelope.py`): each column may move by `band_for` of the largest "
              "distance between two classes' goldens of it, never less than the median band of its table's "
              "columns some class moves (and at least the program's own tolerance); a number computed from the "
              "float results within the same rule over the classes' values, or as far as the program's columns "
              "may move; a run in another mode as far as this, or as the classes' runs in that mode depart "
              "from their reference; a run may turn to NaN within the window of epochs the classes turn to NaN "
              "at, eagerly and in the other modes, widened by `band_for` of its half-width.", "",
              *envelope_table(), "", END]
    return lines


def envelope_table(root: Path = golden.ROOT) -> list[str]:
    """Per program some class moves: what the envelope of every covered class allows (from the goldens
    alone): its widest column band, its narrowest, and the epochs its runs turn to NaN at."""
    from harness.experiments import catalog
    from harness.judge import envelope
    from harness.judge.verdict import divergences, moved_elsewhere
    from harness.record import iter_values

    covered = golden.covered_classes(root, "cpu")
    lines = ["| program | columns | narrowest band (ULP) | widest band (ULP) | first NaN, eager / other modes |",
             "| --- | --- | --- | --- | --- |"]
    for name in moved_programs(root):
        experiment = catalog.get(name)
        mode = modes.reference(experiment)
        classes = envelope.class_records(root, experiment, "cpu", covered, mode)
        held = classes[str((golden.read_manifest(root, "cpu") or {}).get("kernel_class"))]  # the base's
        bands = envelope.column_bands(experiment, held, list(classes.values()),
                                      moved_elsewhere(root, experiment, "cpu", mode))
        found = sorted((bands(c), f"{t}.{c}" if t != "columns" else c)
                       for t, table in held.tables().items() for c, _ in iter_values(table))
        eager = sorted({e for r in classes.values() for t in r.tables().values() for _, v in iter_values(t)
                        if (i := envelope._first_non_finite(v)) is not None and t is r.columns
                        for e in [t["epoch"][i]]})
        others = sorted(set(divergences(root, experiment, "cpu")))
        nan = (f"{'/'.join(map(str, eager)) or 'none'} / {'/'.join(map(str, others)) or 'none'}"
               if eager or others else "never")
        lines.append(f"| `{name}` | {len(found)} | {found[0][0]} (`{found[0][1]}`) | {found[-1][0]} (`{found[-1][1]}`) "
                     f"| {nan} |")
    return lines


def section_of(report: Path) -> list[str] | None:
    """The section a report holds (None: none), for the sweep to keep when it rewrites the rest."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    return found.group(0).splitlines() if found else None


def write_section(report: Path, section: list[str]) -> None:
    """The section in place of the one the report holds, or after it: the rest is the sweep's."""
    text = report.read_text(encoding="utf-8") if report.exists() else ""
    block = "\n".join(section)
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    updated = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    atomic_write(report, (updated.rstrip("\n") + "\n").encode("utf-8"))


def sweep(classes: Sequence[str], names: Sequence[str], run_modes: Sequence[str], jobs: int) -> dict[str, Any]:
    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    covered = [k for k in manifest.get("kernel_classes") or () if k != manifest.get("kernel_class")]
    runnable = set(kernels.emulable())
    asked = covered if list(classes) == ["all"] else list(classes)
    document: dict[str, Any] = {"machine": f"{kernels.cpu_model()} ({os.cpu_count()} cores)", "programs": list(names),
                                "modes": list(run_modes), "classes": [], "seconds": 0.0, "not_run": {}}
    start = time.perf_counter()
    for key in asked:
        if key not in runnable:
            document["not_run"][key] = f"this CPU runs {', '.join(sorted(runnable))}"
            continue
        document["classes"].append(prove(key, names, run_modes, jobs))
        document["seconds"] = round(time.perf_counter() - start, 1)
        failed, missed, _ = verdicts(document["classes"][-1]["rows"])
        print(f"{key}: programs failed {len(failed)}, regressions missed {len(missed)}", flush=True)
    base = str(manifest.get("kernel_class"))
    document["not_run"][base] = "the base class: the others are kept as differences from it"
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.leaveout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="programs (default: every GradientTape program some covered class moves)")
    parser.add_argument("--classes", type=options.kernel_classes, default=["all"], metavar="CLASSES",
                        help="classes to leave out, one at a time (default: every covered class but the base)")
    parser.add_argument("--modes", default=",".join(modes.MODES), metavar="MODES",
                        help="execution modes, comma-separated (default: every mode)")
    parser.add_argument("--jobs", type=options.count("--jobs", options.MAX_PARALLEL), default=os.cpu_count() or 1)
    parser.add_argument("--out", type=options.output_file("--out"), default=REPORT)
    parser.add_argument("--hide", metavar="CLASS",
                        help="only write a copy of the goldens without CLASS to --to, for a run of its own "
                             "(tox -- --golden-dir=DIR under that class's ONEDNN_MAX_CPU_ISA, HARNESS_KERNELS=own)")
    parser.add_argument("--to", type=Path, metavar="DIR", help="where --hide writes the copy (a new folder)")
    args = parser.parse_args(argv)
    if args.hide:
        if args.to is None or args.to.exists():
            print("error: --hide needs --to DIR, a folder that does not exist yet", file=sys.stderr)
            return 2
        try:
            hide(args.hide, args.to)
        except HarnessError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.to}: the goldens without kernel class {args.hide}, with the regressions made on purpose "
              f"({', '.join(e.name for e in regressions.EXPERIMENTS)}) held to their originals' goldens")
        return 0
    try:
        run_modes = [options.mode(m.strip()) for m in args.modes.split(",") if m.strip()]
        document = sweep(args.classes, args.names or moved_programs(), run_modes, args.jobs)
    except (HarnessError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    atomic_write(args.out.with_name(RESULTS.name), (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    write_section(args.out, render(document))
    print(f"wrote {args.out} (section 'Each class left out') and {args.out.with_name(RESULTS.name)}")
    wrong = [v for c in document["classes"] for v in verdicts(c["rows"])[:2] if v]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
