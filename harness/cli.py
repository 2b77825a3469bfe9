"""``python -m harness``: list, run, check and regenerate the experiments of the note and the
course, and draw the course's figures from the goldens.

Exit status: 0 when everything holds; 1 when a run leaves its golden or a printed number or a
claim fails; 2 when the input cannot be used (an option, a golden, a manifest), with a
message that names it and the fix; 3 when the harness itself fails (a bug), with its traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# TensorFlow's C++ start-up chatter would bury the summary; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from harness import banners, modes, options, preamble
from harness.errors import HarnessError, UsageError
from harness.experiments.keras import CHECK_WHOLE_SECONDS

if TYPE_CHECKING:  # the CLI imports TensorFlow only when a command needs it
    from harness.execution.devices import Device
    from harness.execution.pool import Done, Job, WorkerSetup
    from harness.experiments.declare import Experiment
    from harness.judge.verdict import Result
    from harness.record import Record
    from harness.store.golden import ClassRuns

PROJECT = Path(__file__).resolve().parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    parser.add_argument("--logical-cpus", metavar="N",
                        type=options.count("--logical-cpus", options.MAX_PARALLEL),
                        help="split the CPU into N logical devices (CPU:0 .. CPU:N-1) first")
    parser.add_argument("--intra-op-threads", metavar="N",
                        type=options.count("--intra-op-threads", options.MAX_PARALLEL),
                        help="TensorFlow's intra-op thread pool size (default: one per core)")
    parser.add_argument("--inter-op-threads", metavar="N",
                        type=options.count("--inter-op-threads", options.MAX_PARALLEL),
                        help="TensorFlow's inter-op thread pool size (default: one per core)")
    parser.add_argument("--own-kernels", action="store_true",
                        help="run this CPU's own kernels even where the goldens do not cover their class (by "
                             "default such a CPU runs the nearest covered class it can: docs/devices.md)")
    parser.add_argument("--strict-kernels", action="store_true",
                        help="on a CPU the goldens' classes were not computed on, fail where its class's golden is "
                             "not reproduced bit for bit (by default judged by the envelope of the covered classes)")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up banners (by default they are left out of standard error)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments, grouped by the chapter and section they come from")
    kernels = sub.add_parser("kernels", help="this machine's CPU kernels (as oneDNN, XLA's flags and OpenBLAS "
                                             "report them), the kernel classes it can run, and the goldens' "
                                             "coverage of them")
    kernels.add_argument("--golden-dir", type=options.folder("--golden-dir"), metavar="DIR",
                         help="default: golden/ of the project")

    def runs(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("names", nargs="*", metavar="NAME", help="experiments (default: all)")
        p.add_argument("--device", action="append", type=options.nonempty("--device"), metavar="DEV",
                       help="all, cpu, gpu or a device name such as CPU:0 (repeatable; default all)")
        p.add_argument("--jobs", type=options.count("--jobs", options.MAX_PARALLEL), metavar="N",
                       default=os.cpu_count() or 1,
                       help="processes to run experiments in (default: one per core)")
        p.add_argument("--whole", action="store_true",
                       help="run every Keras program whole (default: a program longer than "
                            f"{CHECK_WHOLE_SECONDS:.0f} s here runs its declared prefix, held to its golden's rows)")
        if name in ("run", "check"):
            p.add_argument("--mode", type=options.mode, metavar="MODE",
                           help=f"execution mode of the training programs: {', '.join(modes.MODES)} "
                                f"(default: each as written, {modes.REFERENCE} for the GradientTape loops, "
                                f"{modes.KERAS_REFERENCE} (the compiled fit) for Keras; a mode runs the "
                                "training programs only, against the goldens of their reference mode)")
        return p

    run = runs("run", "run experiments and print what their programs print")
    run.add_argument("--json", action="store_true", help="one JSON document of records on stdout")
    run.add_argument("--epochs", type=options.count("--epochs"), metavar="N",
                     help="shorten training loops to N epochs (a smoke run; not for goldens)")
    check = runs("check", "run everything against the goldens and the printed numbers")
    check.add_argument("--golden-dir", type=options.folder("--golden-dir"), metavar="DIR",
                       help="default: golden/ of the project")
    check.add_argument("--epochs", type=options.count("--epochs"), metavar="N",
                       help="check a prefix: the first N epochs of each training loop against its golden's "
                            "rows (the printed numbers and claims, which are the whole run's, are not judged)")
    check.add_argument("--json-out", type=options.output_file("--json-out"), metavar="FILE",
                       help="also write the results and the environment as JSON (for reports)")
    check.add_argument("--plots", type=options.writable_folder("--plots"), metavar="DIR",
                       default=PROJECT / "reports" / "failures",
                       help="where a failing trajectory's plot goes (default: reports/failures/)")
    check.add_argument("--ledger", choices=("summary", "full"), default="summary",
                       help="the printed numbers: counts and every one that does not reproduce "
                            "(summary), or every one (full)")
    regen = runs("regen", "rewrite the goldens and their manifest from this environment")
    regen.add_argument("--golden-dir", type=options.writable_folder("--golden-dir"), metavar="DIR",
                       help="default: golden/ of the project")
    regen.add_argument("--drift-report", type=options.output_file("--drift-report"), metavar="FILE",
                       default=PROJECT / "reports" / "drift.md",
                       help="where to say what changed (default: reports/drift.md)")
    regen.add_argument("--kernel-classes", type=options.kernel_classes, default=["all"], metavar="CLASSES",
                       help="the CPU kernel classes to write goldens for: all (default: every class this "
                            "CPU can run, each in its own processes), this (this environment's only), "
                            "or class keys such as avx2,sse41 (python -m harness kernels)")
    # Two ways of writing a class's files beside the base's: one at a time.
    beside = regen.add_mutually_exclusive_group()
    beside.add_argument("--add-kernel-class", action="store_true",
                        help="cover this CPU's own kernel class beside the others (every experiment, in every "
                             "mode), without rewriting the base or another class: the answer to 'my CPU is not "
                             "covered' (docs/devices.md); with a drift report of what the class moves")
    beside.add_argument("--cpu-spread", action="store_true",
                        help="on a CPU other than the goldens', measure how far each covered class it can run (or "
                             "--kernel-classes) moves from that class's goldens, and write it beside the class's "
                             "files (<experiment>.cpus.yml): the envelope's measure of one class on another CPU "
                             "model (docs/devices.md); the goldens themselves are not touched")
    regen.add_argument("--lock-timeout", type=options.seconds("--lock-timeout"), default=600.0,
                       metavar="SECONDS", help="how long to wait for another regeneration of the "
                                               "same folder (default 600)")
    matrix = runs("matrix", "every experiment in every mode, run twice here and once in fresh "
                            "processes, against the goldens; the results and the times per step "
                            "as JSON, for reports/tf-matrix.md")
    matrix.add_argument("--golden-dir", type=options.folder("--golden-dir"), metavar="DIR",
                        help="default: golden/ of the project")
    matrix.add_argument("--json-out", type=options.output_file("--json-out"), metavar="FILE", required=True,
                        help="where to write the results")
    matrix.add_argument("--update", action="store_true",
                        help="keep the results FILE already holds of the experiments not named (a release's "
                             "column brought up to date for new experiments)")
    figures = sub.add_parser("figures", help="the course's figures, drawn from the goldens")
    figures.add_argument("--golden-dir", type=options.folder("--golden-dir"), metavar="DIR",
                         help="default: golden/ of the project")
    figures.add_argument("--out", type=options.writable_folder("--out"), metavar="DIR",
                         default=PROJECT / "reports" / "figures", help="default: reports/figures/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    with banners.filtered(enabled=not args.verbose):
        _kernels_for(args)
        return _main(parser, args)


def _kernels_for(args: argparse.Namespace) -> None:
    """Before TensorFlow starts: a command that judges runs (check, run, matrix) on a CPU whose own
    kernel class the goldens do not cover runs the nearest covered class it can (``--own-kernels``
    or HARNESS_KERNELS=own: its own); ``regen`` writes what this CPU's own kernels compute."""
    from harness import kernels
    from harness.judge.verdict import STRICT_ENV
    from harness.store import golden

    if args.own_kernels or args.command == "regen":
        os.environ[kernels.CHOICE_ENV] = "own"
    if args.strict_kernels:
        os.environ[STRICT_ENV] = "1"
    if args.command in ("check", "run", "matrix"):
        kernels.run_covered(golden.covered_classes(getattr(args, "golden_dir", None) or golden.ROOT, "cpu"))


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        if args.command == "list":
            return _list()
        root = getattr(args, "golden_dir", None) or _default_root()
        if args.command == "kernels":
            return _kernels(root)
        _outputs_outside(root, args)
        if args.command == "figures":
            return _figures(root, args.out)
        experiments = _experiments(args)
        devices = _devices(args)
        setup = _setup(args)
        if args.command == "run":
            return _run(experiments, devices, args, setup)
        if args.command == "check":
            return _check(experiments, devices, root, args, setup)
        if args.command == "matrix":
            return _matrix(experiments, devices, root, args, setup)
        return _regen(experiments, devices, root, args, setup)
    except UsageError as exc:
        parser.error(str(exc))  # exits 2, like any other usage error
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise
        # TensorFlow comes with an extra (its CPU and CUDA builds cannot be installed together).
        print("error: TensorFlow is not installed: install the harness with one of its builds, "
              "python -m pip install -e '.[cpu]' (or '.[gpu]' on a machine with a GPU), or use tox",
              file=sys.stderr)
        return 2
    except Exception:
        # Not the input, not a result: a bug of the harness. Its traceback, and a code of its own.
        import traceback

        from harness.errors import INTERNAL_ERROR

        traceback.print_exc()
        print(f"internal error: the harness itself failed (exit {INTERNAL_ERROR}); the traceback above is "
              "what to report", file=sys.stderr)
        return INTERNAL_ERROR
    return 0


# Every option that names a place to write. Only `regen` writes into a golden folder, and only
# its kinds' folders: a report or figure there would be a stray file in a reviewed folder.
OUTPUTS = (("json_out", "--json-out"), ("drift_report", "--drift-report"), ("out", "--out"), ("plots", "--plots"))


def _outputs_outside(root: Path, args: argparse.Namespace) -> None:
    from harness.store import golden

    for dest, flag in OUTPUTS:
        path = getattr(args, dest, None)
        if path is None:
            continue
        target = path.resolve()
        found = root if options.inside(target, root) else next(
            (f for f in (target, *target.parents) if f.is_dir() and golden.holds_goldens(f)), None)
        if found is not None:
            raise UsageError(f"argument {flag}: {str(path)!r} is inside the golden folder {found}, "
                             "which only `regen` writes; choose a place outside it (e.g. reports/)")


def _default_root() -> Path:
    from harness.store import golden

    return golden.ROOT


def _experiments(args: argparse.Namespace) -> list[Experiment]:
    from harness.experiments import catalog

    options.no_repeats("experiment", args.names)
    mode = getattr(args, "mode", None)
    if mode is not None:
        chosen = catalog.select(args.names) if args.names else [e for e in catalog.all_experiments()
                                                                 if e.runs_in_modes]
        one_shot = [e.name for e in chosen if not e.runs_in_modes]
        if one_shot:
            raise UsageError(f"--mode {mode} applies to training experiments; {', '.join(one_shot)} "
                             "has no training loop")
        return chosen
    return catalog.select(args.names)


def _setup(args: argparse.Namespace) -> WorkerSetup:
    from harness.execution.pool import WorkerSetup

    return WorkerSetup(args.logical_cpus, args.intra_op_threads, args.inter_op_threads)


def _devices(args: argparse.Namespace) -> list[Device]:
    from harness.execution import devices, runtime

    # Both must be set before TensorFlow starts its thread pools.
    runtime.set_threads(args.intra_op_threads, args.inter_op_threads)
    if args.logical_cpus:
        devices.split_cpu(args.logical_cpus)
    available = devices.visible()
    spec = ",".join(args.device or ["all"])
    options.no_repeats("device", args.device or [])
    chosen = devices.select(spec, available)
    for kind in devices.missing_kinds(spec, available):
        print(f"skipped: {devices.why_missing(kind)}", file=sys.stderr)
    if not chosen:
        raise HarnessError(f"no visible device matches --device {spec!r}")
    return chosen


def _kernels(root: Path) -> int:
    from harness import kernels
    from harness.store import golden

    here = kernels.current()
    manifest = golden.read_manifest(root, "cpu") if (root / "cpu").is_dir() else None
    covered = golden.coverage(manifest, here.key)
    print("this machine's CPU kernels:")
    for name, value in here.fields().items():
        print(f"  {name}: {value}")
    print(f"kernel classes this CPU can run: {', '.join(kernels.emulable())}")
    print(f"OpenBLAS core types this CPU can run: {', '.join(kernels.openblas_cores())}")
    print(f"the CPU goldens in {root / 'cpu'}: base {covered.base}, covering {', '.join(covered.covered) or 'none'}")
    print(f"a run here is held to the goldens of {covered.describe()}")
    for key in covered.covered:
        files = sorted(p.name for p in golden.kernel_dir(root, "cpu", key).glob("*")) \
            if golden.kernel_dir(root, "cpu", key).is_dir() else []
        print(f"  {key}: {len(files)} files of its own" + (f" ({', '.join(files)})" if files else ""))
    return 0


def _list() -> int:
    from harness.experiments import catalog
    from harness.report.console import table

    current: tuple[str, str] | tuple[()] = ()
    lines: list[str] = []
    rows: list[tuple[str, str, str]] = []
    for e in catalog.all_experiments():
        group = (e.section.source, e.section.chapter)
        if group != current:
            if rows:
                lines += [table(("experiment", "section", "what it runs"), rows), ""]
                rows = []
            lines.append(f"== the {e.section.source}, {e.section.chapter} ==")
            current = group
        rows.append((e.name, str(e.section), f"{e.summary} [{e.program.describe()}]"))
    lines.append(table(("experiment", "section", "what it runs"), rows))
    unrunnable = [(p.name, str(p.section), f"{p.summary} [{p.status}: {p.why}]") for p in catalog.not_runnable()]
    if unrunnable:
        lines += ["", "== listed, not run here ==", table(("program", "section", "what it runs"), unrunnable)]
    kinds = [(m.name, m.summary + (" (as written)" if m.name == modes.REFERENCE else ""),
              m.keras_summary + (" (as written)" if m.name == modes.KERAS_REFERENCE else ""))
             for m in modes.MODES.values()]
    lines += ["", "== execution modes (--mode) ==", table(("mode", "a GradientTape loop", "a Keras program"), kinds)]
    lines += ["", "== the preamble: run before every program, which does not write it ==",
              table(("line", "why"), preamble.rows())]
    print("\n".join(lines))
    return 0


def _jobs(experiments: list[Experiment], devices: list[Device], mode: str | None, epochs: int | None = None,
          golden: Path | None = None, twice: bool = False, whole: bool = False) -> list[Job]:
    """One job per experiment and device; a Keras program too long to run whole here runs its
    declared prefix (``cut``), unless ``whole`` or a prefix in epochs is asked for."""
    from harness.execution.pool import Job

    return [Job(e.name, d.name, mode, e.span_for("check", whole, epochs), str(golden) if golden else None, twice)
            for d in devices for e in experiments]


def _run(experiments: list[Experiment], devices: list[Device], args: argparse.Namespace,
         setup: WorkerSetup) -> int:
    from harness.execution.pool import run_all

    records = _records(run_all(_jobs(experiments, devices, args.mode, args.epochs, whole=args.whole), args.jobs,
                               setup))
    if args.json:
        json.dump([r.to_json() for r in records], sys.stdout, indent=1, ensure_ascii=False)
        print()
        return 0
    for experiment, record in zip(experiments * len(devices), records, strict=True):
        print(f"== {record.experiment} on {record.device} ({record.mode}) ==")
        print(experiment.render(record) if experiment.render else _scalars(record.scalars))
        print()
    return 0


def _records(done: list[Done]) -> list[Record]:
    """The records of jobs that must all have run (run, regen): the first error stops here."""
    records = []
    for d in done:
        if d.error is not None:
            raise d.error
        if d.record is None:
            raise HarnessError(f"{d.job.experiment} on {d.job.device} stopped without a record or an error")
        records.append(d.record)
    return records


def _scalars(scalars: dict[str, Any]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in scalars.items())


def _check(experiments: list[Experiment], devices: list[Device], root: Path, args: argparse.Namespace,
           setup: WorkerSetup) -> int:
    from harness.execution.pool import run_all
    from harness.experiments import catalog
    from harness.judge.verdict import coverage
    from harness.report import console
    from harness.report.plot import explain

    manifests, fingerprints = _environment(root, devices)
    done = run_all(_jobs(experiments, devices, args.mode, args.epochs, golden=root, whole=args.whole), args.jobs,
                   setup)
    results = _judged(root, experiments * len(devices), done)
    print(console.check_summary(results))
    if args.epochs is not None:
        print(f"a prefix of {args.epochs} epochs of each training loop, held to its golden's rows: the printed "
              "numbers and claims of the training experiments (the whole runs') were not judged")
    # What ran its declared prefix by default (not asked for with --epochs).
    cuts = {d.job.experiment: d.job.span for d in done if not d.job.span.whole and args.epochs is None and d.record}
    if cuts:
        print(f"{len(cuts)} Keras programs longer than {CHECK_WHOLE_SECONDS:.0f} s here ran their declared prefix, "
              "held to their golden's rows (their printed numbers and claims are the whole run's: check --whole, "
              "or the whole-run workflow, judges them):")
        for name, span in sorted(cuts.items()):
            print(f"  {name}: {catalog.get(name).program.part(span)}")
    for result in results:
        if result.comparison is not None and not result.ok and result.comparison.status == "fail":
            print(explain(result.record, result.comparison, args.plots))
            covered = coverage(root, result.record.device_kind)
            if covered is not None and not covered.known:
                print(f"  kernels differ: {covered.warning()}")
    as_written = [r for r in results if r.as_written]
    if as_written:
        print()
        print(console.ledger_summary(as_written, full=args.ledger == "full"))
        unjudged = [(e.name, len(e.printed), _unjudged_why(r))
                    for e, r in zip(experiments * len(devices), results, strict=True)
                    if r.as_written and e.printed and not r.printed]
        if unjudged:
            print(f"{sum(n for _, n, _ in unjudged)} printed numbers not judged here: "
                  + "; ".join(f"{name} ({n}: {why})" for name, n, why in unjudged))
    if args.json_out is not None:
        import dataclasses

        from harness.store.files import atomic_write

        document = {"environment": fingerprints, "manifest": manifests,
                    "preamble": [dataclasses.asdict(a) for a in preamble.PREAMBLE],
                    "results": [console.result_json(r) for r in results]}
        atomic_write(args.json_out, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))
    return _status(results)


def _unjudged_why(result: Result) -> str:
    """Why a run's printed numbers were not judged."""
    if result.skipped:
        return "its data is not on this machine"
    if result.error is not None or result.comparison is None:
        return "it has no record to read them from"
    if result.comparison.lacking:
        return "the run lacks part of the program: " + "; ".join(result.comparison.lacking)
    return f"it made {result.record.span}"


def _status(results: list[Result]) -> int:
    from harness.errors import DatasetError, GoldenError

    # 2: a golden or a dataset could not be used (missing, damaged): the input, not the run, is wrong.
    if any(isinstance(r.error, GoldenError | DatasetError) for r in results):
        return 2
    return 0 if all(r.ok or r.skipped for r in results) else 1


def _judged(root: Path, experiments: list[Experiment], done: list[Done]) -> list[Result]:
    """Each run against its golden (a run in another mode: against the eager golden and what
    its experiment declares), the printed numbers and the claims; a run that stopped, as such."""
    import dataclasses

    from harness.judge.verdict import Result, judge, judge_mode
    from harness.record import Record

    by_run = {(d.record.device, d.record.experiment): d.record for d in done if d.record is not None}
    results: list[Result] = []
    for experiment, d in zip(experiments, done, strict=True):
        if d.record is None:
            placeholder = Record(d.job.experiment, d.job.device, d.job.device.split(":")[0].lower(), "",
                                 mode=d.job.mode or modes.reference(experiment))
            results.append(Result(placeholder, error=d.error))
        else:
            if d.record.mode != modes.reference(experiment):
                result = judge_mode(root, experiment, d.record)
            else:
                others = {name: r for (device, name), r in by_run.items() if device == d.record.device}
                result = judge(root, experiment, d.record, others)
            results.append(dataclasses.replace(result, seconds=d.seconds))
    return results


def _environment(root: Path, devices: list[Device]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The manifests of the goldens of the devices' kinds, and this environment; printed as the
    differences between them. Stops when there are no goldens for a kind."""
    from harness import kernels
    from harness.execution import runtime
    from harness.judge.verdict import portable_note
    from harness.report import console
    from harness.store import golden

    runtime.configure()
    golden.check_layout(root)
    kinds = sorted({d.kind for d in devices})
    for kind in kinds:
        if not (root / kind).is_dir():
            raise HarnessError(f"no {kind} goldens in {root}: there is no folder {root / kind}; "
                               f"write them on purpose with `tox -e regen` (python -m harness regen "
                               f"--golden-dir {root}), review and commit them")
    manifests = {kind: golden.read_manifest(root, kind) for kind in kinds}
    fingerprints = {kind: runtime.fingerprint(kind) for kind in kinds}
    for kind in kinds:
        drift = console.environment_drift(manifests[kind], fingerprints[kind])
        print(f"{kind} goldens in {root / kind}: "
              + ("written in this environment" if not drift else "environment differs:"))
        for line in drift:
            print(f"  {line}")
        if kind == "cpu":
            covered = golden.coverage(manifests[kind], str(fingerprints[kind]["kernel_class"]))
            print(f"  held to the goldens of {covered.describe()}")
            for note in (kernels.unnamed(), kernels.chosen(), portable_note(root, kind)):
                if note is not None:
                    print(f"  {note}")
    print("every program runs after this preamble (python -m harness list says why each line is there):")
    for added in preamble.PREAMBLE:
        print(f"  {added.line}")
    print(flush=True)
    return manifests, fingerprints


def _matrix(experiments: list[Experiment], devices: list[Device], root: Path, args: argparse.Namespace,
            setup: WorkerSetup) -> int:
    import dataclasses

    from harness.execution.pool import run_all
    from harness.judge.compare import compare
    from harness.report import console
    from harness.store.files import atomic_write

    manifests, fingerprints = _environment(root, devices)
    # The loops in every mode; a Keras program as written only (its four other modes, whole and
    # three times, would cost an hour per release: tox's modes tests judge them on prefixes).
    runs = [(e, m) for m in modes.MODES for e in experiments
            if m in (modes.of(e) if e.program.whole_in_every_mode else [modes.reference(e)])]
    jobs = [job for e, m in runs for job in _jobs([e], devices, m, golden=root, twice=True, whole=args.whole)]
    subjects = [e for e, _ in runs for _ in devices]
    print(f"{len(jobs)} runs, twice in one process each, then once more in fresh processes",
          file=sys.stderr, flush=True)
    first = run_all(jobs, args.jobs, setup)
    fresh = run_all([dataclasses.replace(j, twice=False) for j in jobs], args.jobs, setup, fresh=True)
    results = []
    for result, d, f in zip(_judged(root, subjects, first), first, fresh, strict=True):
        parted = [(what, other) for what, other in (("the second run in the same process", d.again),
                                                     ("the timed call of the second run's loop", d.timed),
                                                     ("a run in a fresh process", f.record))
                  if other is not None and d.record is not None and not _same_bits(d.record, other)]
        if parted and d.record is not None:
            what, other = parted[0]
            where = compare(other, d.record.tables(), d.record.scalars, 0).explain().splitlines()
            nondeterministic = f"{what} differs from the first: " + "; ".join(line.strip() for line in where[1:3])
            result = dataclasses.replace(result, nondeterministic=nondeterministic)
        results.append(dataclasses.replace(result, seconds_per_step=d.seconds_per_step))
    print(console.check_summary(results))
    found = [console.result_json(r) for r in results]
    if args.update and args.json_out.exists():
        found = updated(json.loads(args.json_out.read_text(encoding="utf-8")).get("results", []), found)
    document = {"environment": fingerprints, "manifest": manifests, "results": found}
    atomic_write(args.json_out, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))
    print(f"wrote {args.json_out}")
    return _status(results)


def updated(kept: list[dict[str, Any]], found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A release's results brought up to date: the new ones, and the old ones of the experiments
    this run did not make."""
    ran = {r["experiment"] for r in found}
    return [r for r in kept if r["experiment"] not in ran] + found


def _same_bits(a: object, b: object) -> bool:
    """Two records with the same values, bit for bit, NaN included."""
    from harness.record import TABLES

    return all(json.dumps(getattr(a, f), sort_keys=True) == json.dumps(getattr(b, f), sort_keys=True)
               for f in (*TABLES, "scalars"))


def _regen(experiments: list[Experiment], devices: list[Device], root: Path, args: argparse.Namespace,
           setup: WorkerSetup) -> int:
    from harness.execution import runtime
    from harness.store import golden, lock

    runtime.configure()
    golden.check_layout(root)
    with lock.held(root, args.lock_timeout, lambda line: print(line, file=sys.stderr, flush=True)):
        if args.add_kernel_class:
            return _add_kernel_class(experiments, devices, root, args)
        if args.cpu_spread:
            return _cpu_spread(experiments, devices, root, args)
        return _regenerate(experiments, devices, root, args, setup)


def _add_kernel_class(experiments: list[Experiment], devices: list[Device], root: Path,
                      args: argparse.Namespace) -> int:
    """This CPU's own class beside the covered ones: every experiment with goldens run under it
    eagerly and every training program in every mode, in processes of their own; its files written
    where they differ from the base's, all at once (golden.add_class)."""
    from harness import kernels
    from harness.execution import emulate
    from harness.judge.verdict import mode_signatures
    from harness.report import drift
    from harness.store import golden
    from harness.store.files import atomic_write

    if args.names or args.kernel_classes != ["all"]:
        raise HarnessError("--add-kernel-class covers this CPU's own class for every experiment, all or nothing: "
                           "name no experiment and no --kernel-classes")
    cpu = next((d for d in devices if d.kind == "cpu"), None)
    if cpu is None:
        raise HarnessError("--add-kernel-class covers a CPU kernel class: give --device cpu (or none)")
    key = kernels.current().key
    manifest = golden.read_manifest(root, "cpu")
    covered = list((manifest or {}).get("kernel_classes") or ())
    if key in covered:
        raise HarnessError(f"this CPU's kernel class {key} is already covered ({', '.join(covered)}): nothing to add; "
                           "python -m harness regen rewrites every class")
    held = [e for e in experiments if golden.paths(root, "cpu", e.name).scalars.is_file()]
    trainers = [e for e in held if e.program.whole_in_every_mode]
    print(f"covering kernel class {key}: {len(held)} experiments, {len(trainers)} of them in every mode", flush=True)
    eager, others = emulate.run_every_mode(key, [e.name for e in held], [e.name for e in trainers], args.jobs,
                                           cpu.name, whole=args.whole)
    signatures = {e.name: mode_signatures(e, eager[e.name], [by_name[e.name] for by_name in others.values()])
                  for e in trainers}
    changes = [drift.change(root, e, eager[e.name]) for e in held]  # against the base: what the class moves
    written = golden.add_class(root, "cpu", key, golden.ClassRuns([eager[e.name] for e in held],
                                                                  {n: sig for n, sig in signatures.items() if sig}))
    for path in written:
        print(f"wrote {path}")
    after = golden.read_manifest(root, "cpu")
    class_files = {key: [p.name for p in written if p.parent.name == key]}
    atomic_write(args.drift_report, drift.render(changes, {"cpu": manifest}, {"cpu": after or {}},
                                                 class_files).encode("utf-8"))
    for c in changes:
        print(f"  {c.experiment} under {key}: {c.verdict}" + (f": {c.detail}" if c.detail else ""))
    print(f"wrote {args.drift_report}: review it with `git diff golden/` before committing both")
    return 0


def _cpu_spread(experiments: list[Experiment], devices: list[Device], root: Path, args: argparse.Namespace) -> int:
    """Each covered class this CPU can run, run here in processes of its own and held to that class's
    goldens: per column, how far it moved, written for this CPU (harness.store.spread). Exit 1 where a
    run is not the same program as its golden (rows, tables, what it lacks): that is no spread."""
    from harness import kernels
    from harness.errors import DatasetMissing
    from harness.execution import emulate
    from harness.experiments import catalog
    from harness.judge.envelope import distances
    from harness.judge.verdict import against, scoped
    from harness.store import golden, spread

    cpu = next((d for d in devices if d.kind == "cpu"), None)
    if cpu is None:
        raise HarnessError("--cpu-spread measures CPU kernel classes: give --device cpu (or none)")
    manifest = golden.read_manifest(root, "cpu") or {}
    isa, model = kernels.cpu_identity()
    if kernels.computed_here(manifest):
        raise HarnessError(f"this CPU ({model}, {isa}) is the one the covered classes were computed on: it reproduces "
                           "them, there is no spread to measure here; run --cpu-spread on another CPU")
    covered = list(manifest.get("kernel_classes") or ())
    runnable = kernels.emulable()
    asked = ([k for k in covered if k in runnable] if args.kernel_classes == ["all"]
             else [kernels.current().key] if args.kernel_classes == ["this"] else args.kernel_classes)
    uncovered = [k for k in asked if k not in covered]
    if uncovered or not asked:
        raise HarnessError(f"{', '.join(uncovered) or 'no class'}: --cpu-spread measures covered classes this CPU "
                           f"can run ({', '.join(k for k in covered if k in runnable) or 'none'}); "
                           "python -m harness regen --add-kernel-class covers a new one")
    held, failed = [], []
    for e in experiments:
        try:
            e.program.require_data()
        except DatasetMissing as exc:
            print(f"  {e.name}: not measured here: {exc}", file=sys.stderr)
            continue
        if golden.paths(root, "cpu", e.name).scalars.is_file():
            held.append(e)
    here = f"{model} ({isa})"
    for key in asked:
        for record in emulate.run_under(key, [e.name for e in held], None, args.jobs, cpu.name, whole=args.whole):
            e = catalog.get(record.experiment)
            stored = golden.load(root, "cpu", e.name, e.table_columns(), key)
            comparison = against(stored, e, record, exact=True)
            if comparison.problems or comparison.lacking:
                failed.append(f"{e.name} under {key}: {'; '.join([*comparison.problems, *comparison.lacking])}")
                continue
            moved = distances(scoped(e, record, record.span, stored.span),
                              scoped(e, stored.record(e.name, "cpu", record.mode), record.span, stored.span))
            farthest = max(((u, f"{t}.{c}") for t, cols in moved.items() for c, u in cols.items()), default=(0.0, ""))
            written = spread.record(root, "cpu", key, e.name, here, record.mode, moved)
            said = f"farthest {farthest[1]} {farthest[0]:.0f} ULP" if farthest[0] else "identical"
            print(f"  {e.name} under {key} ({record.mode}, {record.span}): {said}"
                  + (f"; wrote {written}" if written else ""), flush=True)
    for line in failed:
        print(f"not measured: {line}", file=sys.stderr)
    return 1 if failed else 0


def _regenerate(experiments: list[Experiment], devices: list[Device], root: Path, args: argparse.Namespace,
                setup: WorkerSetup) -> int:
    from harness import kernels
    from harness.errors import DatasetMissing, GoldenError
    from harness.execution import runtime
    from harness.execution.pool import run_all
    from harness.report import drift
    from harness.store import golden
    from harness.store.files import atomic_write

    kernels.current()  # read once here: the workers inherit the answer (kernels.onednn_isa)
    # One device of each kind writes; every run finishes before the first file is touched,
    # and each kind's folder is replaced in one step (golden.regenerate).
    writers: dict[str, Device] = {}
    for device in devices:
        writers.setdefault(device.kind, device)
    jobs = _jobs(experiments, list(writers.values()), None, whole=args.whole)
    done = run_all(jobs, args.jobs, setup)
    # An experiment whose data is not on this machine (CIFAR-10 offline) keeps its goldens.
    absent = {d.job.experiment: d.error for d in done if isinstance(d.error, DatasetMissing)}
    for name, error in absent.items():
        print(f"  {name}: not regenerated, its goldens are kept: {error}", file=sys.stderr)
    experiments = [e for e in experiments if e.name not in absent]
    if not experiments:
        raise HarnessError("nothing to regenerate: no named experiment's data is on this machine")
    kept = [(j, d) for j, d in zip(jobs, done, strict=True) if j.experiment not in absent]
    records = _records([d for _, d in kept])
    classes = _other_classes(experiments, writers, args)
    changes = [drift.change(root, e, r) for e, r in zip(experiments * len(writers), records, strict=True)]
    manifests: dict[str, dict[str, Any] | None] = {}
    for kind in writers:
        try:
            manifests[kind] = golden.read_manifest(root, kind, lenient=True)
        except GoldenError:
            manifests[kind] = None
    fingerprints = {kind: runtime.fingerprint(kind) for kind in writers}
    class_files: dict[str, list[str]] = {}
    for kind in writers:
        covered = _covered(root, kind, experiments, fingerprints[kind], classes)
        fingerprints[kind]["kernel_classes"] = covered
        if kind == "cpu":
            class_files = {key: [] for key in classes if key in covered}
        # A class this run cannot complete (regenerating some experiments, it was not covered
        # before) gets no files: they would sit unread beside the covered ones.
        written = golden.regenerate(root, kind, [r for r in records if r.device_kind == kind], fingerprints[kind],
                                    {k: v for k, v in classes.items() if k in covered} if kind == "cpu" else None)
        for path in written:
            print(f"wrote {path}")
            if path.parent.parent.name == golden.KERNELS:
                class_files[path.parent.name].append(path.name)
    atomic_write(args.drift_report, drift.render(changes, manifests, fingerprints, class_files).encode("utf-8"))
    for c in changes:
        print(f"  {c.experiment} on {c.device}: {c.verdict}" + (f": {c.detail}" if c.detail else ""))
    print(f"wrote {args.drift_report}: review it with `git diff golden/` before committing both")
    return 0


def _covered(root: Path, kind: str, experiments: list[Experiment], fingerprint: dict[str, Any],
             classes: dict[str, ClassRuns]) -> list[str]:
    """The kernel classes whose files are complete after a regeneration: the ones it ran; of
    those, when it regenerates only some experiments, the ones that were complete before too
    (the others' files for the rest are missing or stale), and only while the base class
    stays the same."""
    from harness.errors import GoldenError
    from harness.experiments import catalog
    from harness.store import golden

    if kind != "cpu":
        return []
    ran = {str(fingerprint["kernel_class"]), *classes}
    if {e.name for e in experiments} == {e.name for e in catalog.all_experiments()}:
        return sorted(ran)
    try:
        before = golden.read_manifest(root, kind) or {}
    except GoldenError:
        before = {}
    if before.get("kernel_class") != fingerprint["kernel_class"]:
        return sorted({str(fingerprint["kernel_class"])})
    return sorted(ran & set(before.get("kernel_classes") or ()))


def _other_classes(experiments: list[Experiment], writers: dict[str, Device],
                   args: argparse.Namespace) -> dict[str, ClassRuns]:
    """What every other kernel class asked for computes on the CPU, each in its own processes:
    every experiment eagerly, and every training experiment in every other mode, measured
    against that class's own eager run."""
    from harness import kernels
    from harness.execution import emulate
    from harness.judge.verdict import mode_signatures
    from harness.store.golden import ClassRuns

    if "cpu" not in writers or args.kernel_classes == ["this"]:
        return {}
    here = kernels.current().key
    keys = kernels.emulable() if args.kernel_classes == ["all"] else args.kernel_classes
    trainers = [e for e in experiments if e.program.whole_in_every_mode]
    found = {}
    for key in keys:
        if key == here:
            continue
        eager, runs = emulate.run_every_mode(key, [e.name for e in experiments], [e.name for e in trainers],
                                             args.jobs, writers["cpu"].name, whole=args.whole)
        signatures = {e.name: mode_signatures(e, eager[e.name], [by_name[e.name] for by_name in runs.values()])
                      for e in trainers}
        found[key] = ClassRuns([eager[e.name] for e in experiments],
                               {name: sig for name, sig in signatures.items() if sig})
    return found


def _figures(root: Path, out: Path) -> int:
    from harness.report import figures

    drawn, skipped = figures.draw_all(root, out)
    for path in drawn:
        print(f"wrote {path}")
    for name, why in skipped.items():
        print(f"skipped {out / name}: {why}")
    return 0
