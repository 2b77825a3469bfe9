"""``python -m harness.report.benchflags``: what the benchmark report's SLOWER flag lets through.

Times the same loops several times from this commit, then as many times with one loop slowed
on purpose (``--slow-down NAME=FRACTION``: a busy wait of that fraction after each call), each
run compared with the last unslowed one as the report compares a run with the previous one
(``benchreport.change``). Writes ``reports/benchmark-flags.md``: every pace change, and whether
the flag stayed down for the same code and went up for the slowed loop in every run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import options
from harness.report import benchreport
from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]


def _bench(storage: Path, select: str, slow_down: str | None) -> Path:
    """One pytest-benchmark run of the selected loops, saved in ``storage``; its file."""
    before = set(benchreport.saved_runs(storage))
    command = [sys.executable, "-m", "pytest", "tests/test_benchmarks.py", "-q", "-p", "no:cacheprovider",
               "-n", "0", "--benchmark-enable", "--benchmark-only", f"--benchmark-storage=file://{storage}",
               "--benchmark-autosave", "-k", select, *(["--slow-down", slow_down] if slow_down else [])]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the benchmark run stopped ({done.returncode}):\n{done.stdout[-2000:]}")
    (new,) = set(benchreport.saved_runs(storage)) - before
    return new


def measure(select: str, runs: int, slow_down: str, keep: Path | None = None) -> tuple[list[str], bool]:
    """The report's lines, and whether the flag stayed down for the same code and went up for the
    slowed loop in every comparison."""
    with tempfile.TemporaryDirectory(prefix="harness-benchflags-") as folder:
        storage = keep or Path(folder)
        same = [benchreport.load(_bench(storage, select, None))[1] for _ in range(runs + 1)]
        slowed = [benchreport.load(_bench(storage, select, slow_down))[1] for _ in range(runs)]
    return report(select, slow_down, same, slowed)


def report(select: str, slow_down: str, same: list[list[benchreport.Timing]],
           slowed: list[list[benchreport.Timing]]) -> tuple[list[str], bool]:
    """Each run of the same code against the one before it, each slowed run against the last
    unslowed one: the report's lines, and whether the flag held (down, then up)."""
    runs = len(slowed)
    name = slow_down.split("=")[0]
    rows, loops, quiet, caught = [], [], True, True
    pairs = [(f"same code, run {i + 1} against run {i}", same[i + 1], same[i]) for i in range(runs)]
    pairs += [(f"{name} slowed, run {i + 1} against the last unslowed run", s, same[-1]) for i, s in enumerate(slowed)]
    for label, found, previous in pairs:
        for experiment, device in sorted({(t.experiment, t.device) for t in found
                                          if t.mode != benchreport.NUMPY and t.kind != benchreport.PEAK}):
            grew = benchreport.loop_change(found, previous, experiment, device)
            if grew is None:
                continue
            flag = grew > benchreport.FLAG_AT
            slowed_on_purpose = any(t.slowed_by for t in found if t.experiment == experiment)
            if slowed_on_purpose:
                caught &= flag
            else:
                quiet &= not flag
            loops.append(grew)
            modes = [(t.mode, c) for t in found if (t.experiment, t.device) == (experiment, device)
                     and (c := benchreport.change(found, previous, t)) is not None]
            rows.append([label, f"`{experiment}`", f"{grew:.3f}x", "SLOWER" if flag else "-",
                         ", ".join(f"{m} {c:.3f}x" for m, c in modes),
                         f"slowed by {float(slow_down.split('=')[1]):.0%}" if slowed_on_purpose else ""])
    same_loops = [float(r[2].rstrip("x")) for r in rows if not r[5]]
    one_mode = [float(part.split()[-1].rstrip("x")) for r in rows if not r[5] for part in r[4].split(", ")]
    slowed_modes = [float(part.split()[-1].rstrip("x")) for r in rows if r[5] for part in r[4].split(", ")]
    lines = [
        "# What the benchmark flag lets through",
        "",
        f"`python -m harness.report.benchflags -k \"{select}\" --runs {runs} --slow-down {slow_down}`: the "
        f"selected loops timed {runs + 1} times from one commit, then {runs} times with `{name}` slowed on "
        "purpose (a busy wait of that fraction after each timed call), each run compared with the one before it "
        "(a slowed run: with the last unslowed run). A mode's pace is its fastest round against its program's "
        "NumPy loop's fastest round in the same run (a Keras program's: against the device's peak, a float32 "
        "matrix product); a loop is flagged SLOWER when the geometric mean of its "
        f"modes' pace changes exceeds {benchreport.FLAG_AT}x.",
        "",
        f"- Same code: {'no flag' if quiet else '**a flag**'} in {runs} comparisons; the loop's pace moved between "
        f"{min(same_loops):.3f}x and {max(same_loops):.3f}x, one mode's between {min(one_mode):.3f}x and "
        f"{max(one_mode):.3f}x." if same_loops else "- Same code: no comparable loop.",
        f"- `{name}` slowed: {'flagged in every run' if caught else '**not flagged in every run**'}"
        + (f"; one mode's pace grew by {min(slowed_modes):.3f}x to {max(slowed_modes):.3f}x." if slowed_modes else "."),
        "",
        *markdown_table(["comparison", "loop", "pace change (its modes)", "flag", "each mode", ""], rows),
    ]
    return lines, quiet and caught and bool(same_loops)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.benchflags", description=__doc__)
    parser.add_argument("-k", dest="select", default="iris_sgd and not iris_sgdm",
                        help="pytest -k expression of the loops to time (default: iris_sgd)")
    parser.add_argument("--runs", type=options.count("--runs"), default=3,
                        help="comparisons of the same code, and of the slowed loop (default 3)")
    parser.add_argument("--slow-down", default="iris_sgd=0.3", metavar="NAME=FRACTION",
                        help="the loop to slow and by how much (default iris_sgd=0.3)")
    parser.add_argument("--out", type=options.output_file("--out"), default=ROOT / "reports" / "benchmark-flags.md")
    parser.add_argument("--keep", type=options.folder("--keep"), metavar="DIR",
                        help="keep the saved runs in DIR, an existing folder (default: a temporary one)")
    args = parser.parse_args(argv)
    lines, ok = measure(args.select, args.runs, args.slow_down, args.keep)
    atomic_write(args.out, ("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
