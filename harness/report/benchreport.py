"""``python -m harness.benchreport``: pytest-benchmark's saved runs as a report people read.

Reads the newest run in the storage (and the one before it, for the comparison),
writes ``reports/benchmarks.md`` with a table and the speed targets, and a chart
next to it. Speed-ups are ratios measured within one run, which a shared, noisy
machine keeps far better than absolute times across runs. Exits 1 when a speed
target is missed.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import options
from harness.errors import HarnessError
from harness.report import documents
from harness.report.charts import pyplot, save
from harness.report.markdown import table as markdown_table
from harness.store.files import atomic_write

REFERENCE = "eager"
NUMPY = "numpy_float32"
# A step that got this much slower than in the previous run is flagged.
SLOWER = 1.25
# The targets of the benchmarks, as ratios in one run (mse_regression on the CPU).
TARGET_STEADY = 2000.0  # fastest mode per step against eager
TARGET_FIRST = 50.0  # eager run against the fastest mode's time to first result
TARGET_NUMPY = 10.0  # NumPy float32 per step against the fastest mode


@dataclass(frozen=True)
class Timing:
    experiment: str
    device: str
    mode: str
    epochs: int
    us_per_step: float
    first_result_s: float
    compile_s: float
    rounds: int
    # What the experiment declares for this mode against eager ("" when bit-identical).
    declared: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return self.experiment, self.device, self.mode


def saved_runs(storage: Path) -> list[Path]:
    """pytest-benchmark's saved runs, oldest first (their names start with a counter)."""
    return sorted(storage.glob("*/[0-9][0-9][0-9][0-9]_*.json"), key=lambda p: p.name)


REMAKE = "run `tox -e bench` again to save a new run, or delete the file"


def load(path: Path) -> tuple[dict[str, Any], list[Timing]]:
    """A saved run and its timed training loops, checked where the report reads them."""
    run = documents.read(path, REMAKE)
    shape = documents.Shape(path, REMAKE)
    for key, kind in (("datetime", str), ("version", str), ("machine_info", dict)):
        shape.get(run, key, kind)
    found = []
    for i, bench in enumerate(shape.items(run, "benchmarks")):
        where = f"benchmarks[{i}]"
        info = shape.get(bench, "extra_info", dict, where)
        if "us_per_step" not in info:
            continue  # an untimed smoke run, or the NumPy loop without timings
        text = {k: shape.get(info, k, str, f"{where}.extra_info") for k in ("experiment", "device", "mode")}
        number = {k: float(shape.get(info, k, (int, float), f"{where}.extra_info"))
                  for k in ("us_per_step", "first_result_s", "compile_s")}
        if not (math.isfinite(number["us_per_step"]) and number["us_per_step"] > 0) or not all(
                math.isfinite(v) and v >= 0 for v in number.values()):
            raise documents.DocumentError(path, f"{where}.extra_info holds a time that is not a positive "
                                                f"finite number: {number}", REMAKE)
        rounds = shape.get(shape.get(bench, "stats", dict, where), "rounds", int, f"{where}.stats")
        found.append(Timing(text["experiment"], text["device"], text["mode"],
                            shape.get(info, "epochs", int, f"{where}.extra_info"), number["us_per_step"],
                            number["first_result_s"], number["compile_s"], rounds,
                            str(info.get("declared_difference", ""))))
    return run, sorted(found, key=lambda t: (t.experiment, t.device, t.us_per_step))


def _index(found: Sequence[Timing]) -> dict[tuple[str, str, str], Timing]:
    return {t.key: t for t in found}


def _eager(index: dict[tuple[str, str, str], Timing], t: Timing) -> Timing | None:
    # The NumPy loop is compared with the eager loop on the CPU.
    device = next((d for (e, d, m) in index if e == t.experiment and m == REFERENCE
                   and d.startswith("CPU")), None) if t.mode == NUMPY else t.device
    return index.get((t.experiment, device, REFERENCE)) if device is not None else None


def _bit_identical(t: Timing) -> str:
    if t.mode in (REFERENCE, NUMPY):
        return "reference" if t.mode == REFERENCE else "-"
    return "no (see below)" if t.declared else "yes"


def rows(found: Sequence[Timing], previous: Sequence[Timing]) -> list[list[str]]:
    index, before = _index(found), _index(previous)
    out = []
    for t in found:
        eager = _eager(index, t)
        was = before.get(t.key)
        change = ""
        if was is not None:
            ratio = t.us_per_step / was.us_per_step
            change = f"{ratio:.2f}x" + (" SLOWER" if ratio > SLOWER else "")
        out.append([
            t.experiment, t.device, t.mode, f"{t.us_per_step:,.2f}", f"{1e6 / t.us_per_step:,.0f}",
            f"{eager.us_per_step / t.us_per_step:,.0f}x" if eager else "-",
            f"{t.first_result_s:.3f}", f"{t.compile_s:.3f}", _bit_identical(t),
            str(t.rounds), change or "-",
        ])
    return out


@dataclass(frozen=True)
class Target:
    text: str
    ratio: float
    goal: float
    detail: str

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal


def targets(found: Sequence[Timing], experiment: str = "mse_regression") -> list[Target]:
    cpu = [t for t in found if t.experiment == experiment and t.device.startswith("CPU")]
    eager = next((t for t in cpu if t.mode == REFERENCE), None)
    numpy = next((t for t in found if t.experiment == experiment and t.mode == NUMPY), None)
    modes = [t for t in cpu if t.mode not in (REFERENCE, NUMPY)]
    if eager is None or not modes:
        return []
    fastest = min(modes, key=lambda t: t.us_per_step)
    exact = [t for t in modes if _bit_identical(t) == "yes"]
    fastest_exact = min(exact, key=lambda t: t.us_per_step) if exact else None
    identical = _bit_identical(fastest) == "yes"
    detail = (f"fastest mode {fastest.mode} on {fastest.device}: {fastest.us_per_step:.3f} us/step "
              f"against {eager.us_per_step:,.1f}; its trajectory is "
              + ("bit-identical to eager" if identical else "NOT bit-identical to eager"))
    if not identical and fastest_exact:
        detail += (f"; the fastest bit-identical mode is {fastest_exact.mode}, "
                   f"{eager.us_per_step / fastest_exact.us_per_step:,.0f}x")
    found_targets = [
        Target(f"{experiment}: steady state, fastest mode against eager, per step",
               eager.us_per_step / fastest.us_per_step, TARGET_STEADY, detail),
        Target(f"{experiment}: time to first result (tracing + compilation + run), eager "
               "against the fastest mode", eager.first_result_s / fastest.first_result_s,
               TARGET_FIRST, f"eager {eager.first_result_s:.2f} s, {fastest.mode} "
                             f"{fastest.first_result_s:.3f} s"),
    ]
    if numpy is not None:
        found_targets.append(Target(
            f"{experiment}: NumPy float32 loop against the fastest mode, per step",
            numpy.us_per_step / fastest.us_per_step, TARGET_NUMPY,
            f"NumPy {numpy.us_per_step:.2f} us/step, {fastest.mode} {fastest.us_per_step:.3f}"))
    return found_targets


def _mapping(value: Any) -> dict[str, Any]:
    # Machine details are for the reader: a part missing or of another shape reads as "?".
    return value if isinstance(value, dict) else {}


def render(run: dict[str, Any], found: Sequence[Timing], previous_run: dict[str, Any] | None,
           previous: Sequence[Timing], chart: str | None) -> str:
    info = run["machine_info"]
    harness_info = _mapping(info.get("harness"))
    env = _mapping(harness_info.get("cpu"))
    lines = [
        "# Benchmarks of the training loops of the note and the course",
        "",
        f"Run {run['datetime']} (pytest-benchmark {run['version']}): TensorFlow "
        f"{env.get('tensorflow', '?')}, Keras {env.get('keras', '?')}, NumPy {env.get('numpy', '?')}, "
        f"Python {info.get('python_version', '?')}; "
        f"CPU {env.get('device', _mapping(info.get('cpu')).get('brand_raw', '?'))} "
        f"({env.get('cpu_count', '?')} cores), oneDNN {env.get('onednn', '?')}; devices "
        f"{', '.join(map(str, harness_info.get('devices') or [])) or '?'}.",
        "",
        "Each round runs all the epochs of the program from the initial weights and reads the "
        "trajectory back; a fresh build's first call (tracing, XLA compilation and one run) is "
        "timed on its own as *first result* (median of five builds; eager: one), and *compile* "
        "is what it cost beyond a steady round. "
        "*Speed-up* is against the eager loop of the same experiment and device in this run.",
        "",
    ]
    header = ["experiment", "device", "mode", "us/step (median)", "steps/s", "speed-up",
              "first result (s)", "compile (s)", "bit-identical", "rounds",
              "vs previous run"]
    lines += markdown_table(header, rows(found, previous))
    lines += ["", "## Targets (ratios measured in this run)", ""]
    for t in targets(found):
        lines.append(f"- {'met' if t.met else '**NOT MET**'}: {t.text}: {t.ratio:,.0f}x "
                     f"(target {t.goal:,.0f}x). {t.detail}.")
    differences = sorted({(t.experiment, t.mode, t.declared) for t in found if t.declared})
    if differences:
        lines += ["", "## Modes that are not bit-identical to eager", "",
                  "As each experiment declares it, measured by `tests/test_modes.py` (an expected failure "
                  "each, failing the day they agree or differ otherwise):",
                  ""]
        lines += [f"- `{name}` in `{mode}`: {text}." for name, mode, text in differences]
    lines += ["", "## Against the previous run", ""]
    if previous_run is None:
        lines.append("No previous run in the storage: the next `tox -e bench` compares with this one.")
    else:
        slower = [r for r in rows(found, previous) if r[-1].endswith("SLOWER")]
        lines.append(f"Previous run {previous_run['datetime']}; a step more than {SLOWER:.2f} times "
                     f"slower than there is flagged SLOWER ({len(slower)} flagged). Absolute times "
                     "across runs move with the load of a shared machine: confirm a flag by "
                     "rerunning before believing it.")
    if chart:
        lines += ["", f"![us per step, log scale]({chart})"]
    return "\n".join(lines) + "\n"


def chart(found: Sequence[Timing], path: Path) -> None:
    plt = pyplot()
    labels = [f"{t.experiment} {t.device} {t.mode}" for t in found]
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(found) + 1.2))
    ax.barh(labels, [t.us_per_step for t in found],
            color=["tab:gray" if t.mode in (REFERENCE, NUMPY) else "tab:blue" for t in found])
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("microseconds per training step (median round; log scale)")
    ax.set_title("The training loops by execution mode")
    fig.tight_layout()
    save(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.benchreport", description=__doc__)
    parser.add_argument("--storage", type=options.folder("--storage"), required=True,
                        help="pytest-benchmark storage folder")
    parser.add_argument("--out", type=options.output_file("--out"), required=True,
                        help="the Markdown report to write")
    args = parser.parse_args(argv)
    runs = saved_runs(args.storage)
    if not runs:
        parser.error(f"no saved benchmark run in {args.storage}: run `tox -e bench` first")
    try:
        run, found = load(runs[-1])
        previous_run, previous = load(runs[-2]) if len(runs) > 1 else (None, [])
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not found:
        parser.error(f"{runs[-1]} holds no timed training loop (was pytest-benchmark disabled?)")
    png = args.out.with_suffix(".png")
    chart(found, png)
    text = render(run, found, previous_run, previous, png.name)
    atomic_write(args.out, text.encode("utf-8"))
    print(f"wrote {args.out} and {png} from {runs[-1]}")
    missed = [t for t in targets(found) if not t.met]
    for t in missed:
        print(f"target missed: {t.text}: {t.ratio:,.0f}x < {t.goal:,.0f}x", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
