"""``python -m harness.benchreport``: pytest-benchmark's saved runs as a report people read.

Reads the newest run in the storage (and the one before it, for the comparison),
writes ``reports/benchmarks.md`` with a table, the speed targets of every loop, the course's
own timings beside this machine's, and a chart next to it. Speed-ups are ratios measured
within one run, which a shared, noisy machine keeps far better than absolute times across
runs. So is the flag against the previous run: a loop's *pace*, its fastest round against the
fastest round of the same program's NumPy loop in the same run, must grow by ``FLAG_AT`` before
the loop is called slower (``python -m harness.report.benchflags`` measures what that
threshold lets through). Exits 1 when a speed target is missed.
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
# A loop whose pace grew this much since the previous run, over its modes (the geometric mean of
# their changes), is flagged SLOWER. Measured here (python -m harness.report.benchflags, iris_sgd,
# three times on 2026-12-06, 9 comparisons each way): one mode's pace moved by 0.84x to 1.20x
# between runs of one commit, and by 1.06x to 1.59x for a loop slowed by 30%, so no threshold on
# one mode tells them apart; over the five modes the same code moved 0.91x to 1.09x and the slowed
# loop 1.19x to 1.44x. The threshold was set between them after two of the three measurements; the
# third (reports/benchmark-flags.md) held it: 0.95x to 1.03x, and 1.19x to 1.25x.
FLAG_AT = 1.15
# Per training loop, its targets as ratios in one run: the fastest mode per step against eager,
# and the eager run's time to first result against the fastest mode's. Each is half the ratio
# measured in the full run of 2026-12-06, rounded down to one significant figure (``suggest``):
# half leaves room for a shared machine's load, which moved one loop's time by up to 1.6x
# between runs of the same commit; a target missed says the loop lost half its speed-up.
TARGETS: dict[str, tuple[float, float]] = {
    "course_custom_loss_cost99": (2000, 20),
    "course_custom_loss_profit99": (2000, 20),
    "custom_loss_cost99": (5000, 40),
    "custom_loss_profit99": (5000, 40),
    # 40 steps: compiling costs what the whole eager run does, so the first result comes no sooner.
    "gradient_descent": (10, 0.5),
    "iris_adagrad": (100, 5),
    "iris_adam": (100, 5),
    "iris_rmsprop": (100, 5),
    "iris_sgd": (100, 5),
    "iris_sgdm": (100, 6),
    "lr_exponential_decay": (10, 0.5),
    "mse_regression": (1000, 20),
    "regularization_free": (400, 7),
    "regularization_l2": (500, 8),
}
TARGET_NUMPY = 10.0  # mse_regression: its NumPy float32 loop per step against the fastest mode
# The course's section 2.6 prints each optimizer's time; the ratios are to SGD's.
COURSE_BASE = "iris_sgd"


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
    # The fastest round, per step: the least disturbed by the machine's other work.
    min_us_per_step: float = math.nan
    # What the experiment declares for this mode against eager ("" when bit-identical).
    declared: str = ""
    # The time the course printed for the whole program (its machine, TF 2.1), if it did.
    course_seconds: float | None = None
    # A loop slowed on purpose (--slow-down) by this fraction, to see the flag.
    slowed_by: float = 0.0

    @property
    def seconds(self) -> float:
        """A whole run (the median round): every epoch of the program."""
        return self.us_per_step * self.epochs / 1e6

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
        stats = shape.get(bench, "stats", dict, where)
        rounds = shape.get(stats, "rounds", int, f"{where}.stats")
        epochs = shape.get(info, "epochs", int, f"{where}.extra_info")
        fastest = float(shape.get(stats, "min", (int, float), f"{where}.stats")) / epochs * 1e6
        course = info.get("course_seconds")
        found.append(Timing(text["experiment"], text["device"], text["mode"], epochs, number["us_per_step"],
                            number["first_result_s"], number["compile_s"], rounds, fastest,
                            str(info.get("declared_difference", "")),
                            float(course) if isinstance(course, (int, float)) else None,
                            float(info.get("slowed_by") or 0.0)))
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


def pace(index: dict[tuple[str, str, str], Timing], t: Timing) -> float | None:
    """A loop's fastest round against its program's NumPy loop's fastest round in the same run:
    a load that slows the whole machine slows both (None: no NumPy loop, or the NumPy loop)."""
    numpy = next((n for (e, d, m), n in index.items() if e == t.experiment and m == NUMPY), None)
    if numpy is None or t.mode == NUMPY or not math.isfinite(t.min_us_per_step * numpy.min_us_per_step):
        return None
    return t.min_us_per_step / numpy.min_us_per_step


def change(found: Sequence[Timing], previous: Sequence[Timing], t: Timing) -> float | None:
    """How much a loop's pace grew since the previous run (None where either run has no pace)."""
    before = _index(previous)
    old = before.get(t.key)
    now, was = pace(_index(found), t), pace(before, old) if old is not None else None
    return None if now is None or was is None else now / was


def loop_change(found: Sequence[Timing], previous: Sequence[Timing], experiment: str, device: str) -> float | None:
    """How much a loop's pace grew over its modes on a device: the geometric mean of the modes'
    changes (None when no mode has one). One mode's change is within this machine's noise."""
    changes = [c for t in found if (t.experiment, t.device) == (experiment, device) and t.mode != NUMPY
               and (c := change(found, previous, t)) is not None]
    return math.exp(sum(math.log(c) for c in changes) / len(changes)) if changes else None


def flagged(found: Sequence[Timing], previous: Sequence[Timing]) -> dict[tuple[str, str], float]:
    """The loops (experiment, device) whose pace grew beyond ``FLAG_AT``, and by how much."""
    loops = {(t.experiment, t.device) for t in found if t.mode != NUMPY}
    grown = {key: loop_change(found, previous, *key) for key in sorted(loops)}
    return {key: g for key, g in grown.items() if g is not None and g > FLAG_AT}


def rows(found: Sequence[Timing], previous: Sequence[Timing]) -> list[list[str]]:
    index = _index(found)
    slower = flagged(found, previous)
    out = []
    for t in found:
        eager = _eager(index, t)
        grew = change(found, previous, t)
        loop = slower.get((t.experiment, t.device))
        moved = "-" if grew is None else f"{grew:.2f}x" + (f"; loop {loop:.2f}x SLOWER" if loop else "")
        out.append([
            t.experiment, t.device, t.mode, f"{t.us_per_step:,.2f}", f"{1e6 / t.us_per_step:,.0f}",
            f"{eager.us_per_step / t.us_per_step:,.0f}x" if eager else "-",
            f"{t.first_result_s:.3f}", f"{t.compile_s:.3f}", _bit_identical(t),
            str(t.rounds), moved + (f" (slowed on purpose by {t.slowed_by:.0%})" if t.slowed_by else ""),
        ])
    return out


@dataclass(frozen=True)
class Target:
    text: str
    ratio: float
    # None: no target declared for this loop (the report suggests one).
    goal: float | None
    detail: str

    @property
    def met(self) -> bool:
        return self.goal is None or self.ratio >= self.goal

    def line(self) -> str:
        verdict = ("no target declared" if self.goal is None else "met" if self.met else "**NOT MET**")
        goal = (f"this run suggests {suggest(self.ratio):g}x" if self.goal is None else f"target {self.goal:,g}x")
        return f"- {verdict}: {self.text}: {self.ratio:,.1f}x ({goal}). {self.detail}."


def suggest(ratio: float) -> float:
    """Half a measured ratio, rounded down to one significant figure (the rule of ``TARGETS``)."""
    half = ratio / 2
    if half <= 0:
        return 0.0
    unit = 10 ** math.floor(math.log10(half))
    return float(math.floor(half / unit) * unit)


def targets(found: Sequence[Timing]) -> list[Target]:
    """For every loop timed eagerly on a CPU: its fastest mode against eager per step (and which
    mode is the fastest bit-identical one), and its time to first result."""
    found_targets = []
    for experiment in sorted({t.experiment for t in found}):
        cpu = [t for t in found if t.experiment == experiment and t.device.startswith("CPU")]
        eager = next((t for t in cpu if t.mode == REFERENCE), None)
        modes = [t for t in cpu if t.mode not in (REFERENCE, NUMPY)]
        if eager is None or not modes:
            continue
        steady_goal, first_goal = TARGETS.get(experiment, (None, None))
        fastest = min(modes, key=lambda t: t.us_per_step)
        exact = [t for t in modes if _bit_identical(t) == "yes"]
        fastest_exact = min(exact, key=lambda t: t.us_per_step) if exact else None
        identical = _bit_identical(fastest) == "yes"
        detail = (f"fastest mode {fastest.mode} on {fastest.device}: {fastest.us_per_step:,.3f} us/step "
                  f"against {eager.us_per_step:,.1f}; its trajectory is "
                  + ("bit-identical to eager" if identical else "NOT bit-identical to eager"))
        if not identical:
            detail += (f"; the fastest bit-identical mode is {fastest_exact.mode}, "
                       f"{eager.us_per_step / fastest_exact.us_per_step:,.1f}x" if fastest_exact
                       else "; no mode is bit-identical")
        first = min(modes, key=lambda t: t.first_result_s)
        found_targets += [
            Target(f"{experiment}: steady state, fastest mode against eager, per step",
                   eager.us_per_step / fastest.us_per_step, steady_goal, detail),
            Target(f"{experiment}: time to first result (tracing + compilation + run), eager against the "
                   "fastest mode there", eager.first_result_s / first.first_result_s, first_goal,
                   f"eager {eager.first_result_s:.2f} s, {first.mode} {first.first_result_s:.3f} s"),
        ]
        numpy = next((t for t in found if t.experiment == experiment and t.mode == NUMPY), None)
        if experiment == "mse_regression" and numpy is not None:
            found_targets.append(Target(
                f"{experiment}: NumPy float32 loop against the fastest mode, per step",
                numpy.us_per_step / fastest.us_per_step, TARGET_NUMPY,
                f"NumPy {numpy.us_per_step:.2f} us/step, {fastest.mode} {fastest.us_per_step:.3f}"))
    return found_targets


def course_table(found: Sequence[Timing]) -> list[str]:
    """The course's timings (section 2.6, its machine, TF 2.1) beside this run's: the eager
    program as written and the fastest mode, each also as the ratio to SGD's."""
    eager = {t.experiment: t for t in found if t.mode == REFERENCE and t.device.startswith("CPU")}
    printed = {name: t for name, t in eager.items() if t.course_seconds is not None}
    course = {name: t.course_seconds for name, t in printed.items() if t.course_seconds is not None}
    if COURSE_BASE not in printed:
        return []
    fastest = {name: min((t for t in found if t.experiment == name and t.device.startswith("CPU")
                          and t.mode not in (REFERENCE, NUMPY)), key=lambda t: t.us_per_step, default=t)
               for name, t in printed.items()}
    base, base_fast, base_course = printed[COURSE_BASE], fastest[COURSE_BASE], course[COURSE_BASE]
    order = sorted(printed, key=lambda name: course[name])
    rows = [[f"`{name}`", f"{course[name]:.2f}", f"{course[name] / base_course:.2f}",
             f"{printed[name].seconds:.2f}", f"{printed[name].seconds / base.seconds:.2f}",
             f"{fastest[name].seconds:.3f} ({fastest[name].mode})", f"{fastest[name].seconds / base_fast.seconds:.2f}"]
            for name in order]
    slowest = order[-1]
    s = printed[slowest]
    return [
        "## The course's own timings, as ratios",
        "",
        "Section 2.6 of the course prints the time (耗时) of each optimizer's 500 epochs on its machine "
        "(TF 2.1): whole programs, as this run's eager rounds are (every epoch and its test accuracy). "
        "Seconds do not travel between machines; ratios to SGD's time on the same machine do.",
        "",
        *markdown_table(["program", "course (s)", "course / SGD", "eager here (s)", "eager / SGD",
                         "fastest mode here (s)", "fastest / SGD's fastest"], rows),
        "",
        f"Since TF 2.1: the course's slowest, `{slowest}`, took {course[slowest] / base_course:.2f}x "
        f"SGD's time; here it takes {s.seconds / base.seconds:.2f}x eagerly and "
        f"{fastest[slowest].seconds / base_fast.seconds:.2f}x in its fastest mode ({fastest[slowest].mode}).",
        "",
    ]


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
    lines += ["", "## Targets (ratios measured in this run)", "",
              "Each loop's targets are half the ratio the full run of 2026-12-06 measured, rounded down to one "
              "significant figure: a shared machine moved one loop's time by up to 1.6x between runs of one "
              "commit, and a target missed says the loop lost half its speed-up.", ""]
    lines += [t.line() for t in targets(found)]
    lines += ["", *course_table(found)]
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
        slower = flagged(found, previous)
        lines.append(f"Previous run {previous_run['datetime']}. *vs previous run* is how much a mode's pace grew: its "
                     "fastest round against the fastest round of its program's NumPy loop in the same run, so that "
                     "a load on the whole machine, which slows both, cancels. One mode's pace moved by up to 1.2x "
                     "between runs of one commit here, more than a 30% slowdown can show: a loop is flagged SLOWER "
                     f"when its pace over its modes (the geometric mean) grew more than {FLAG_AT:.2f}x "
                     f"({len(slower)} flagged"
                     + "".join(f"; `{e}` on {d}: {g:.2f}x" for (e, d), g in slower.items()) + "). How to read a "
                     "flag: measured here, three runs of one commit raised none and a loop slowed by 30% was "
                     "flagged in each run ([benchmark-flags.md](benchmark-flags.md), "
                     "`python -m harness.report.benchflags`); rerun before believing one. A loop without a NumPy "
                     "loop (a GPU's) has no pace and is not flagged.")
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
