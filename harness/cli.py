"""``python -m harness``: list, run, check and regenerate the experiments of the notes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# TensorFlow's C++ start-up chatter would bury the summary; warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from harness import registry  # noqa: E402
from harness.errors import HarnessError, UnknownName  # noqa: E402
from harness.training import MODES, REFERENCE_MODE, check_mode  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    parser.add_argument("--logical-cpus", type=int, metavar="N",
                        help="split the CPU into N logical devices (CPU:0 .. CPU:N-1) first")
    parser.add_argument("--intra-op-threads", type=int, metavar="N",
                        help="TensorFlow's intra-op thread pool size (default: one per core)")
    parser.add_argument("--inter-op-threads", type=int, metavar="N",
                        help="TensorFlow's inter-op thread pool size (default: one per core)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the experiments and the section of the notes each comes from")

    def runs(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("names", nargs="*", metavar="NAME", help="experiments (default: all)")
        p.add_argument("--device", action="append", metavar="DEV",
                       help="all, cpu, gpu or a device name such as CPU:0 (repeatable; default all)")
        if name != "regen":
            p.add_argument("--mode", default=REFERENCE_MODE, metavar="MODE",
                           help=f"execution mode of the training loops: {', '.join(MODES)} "
                                f"(default {REFERENCE_MODE}; another mode runs the training "
                                "experiments only, against the eager goldens)")
        return p

    run = runs("run", "run experiments and print what the notes print")
    run.add_argument("--json", action="store_true", help="one JSON document of records on stdout")
    run.add_argument("--epochs", type=int, metavar="N",
                     help="shorten training loops to N epochs (a smoke run; not for goldens)")
    for name, help in (("check", "run everything against the goldens and the notes"),
                       ("regen", "rewrite the goldens and their manifest from this environment")):
        p = runs(name, help)
        p.add_argument("--golden-dir", type=Path, metavar="DIR", help="default: golden/ of the project")
        if name == "check":
            p.add_argument("--json-out", type=Path, metavar="FILE",
                           help="also write the results and the environment as JSON (for reports)")
        else:
            p.add_argument("--drift-report", type=Path, metavar="FILE",
                           default=Path(__file__).resolve().parent.parent / "reports" / "drift.md",
                           help="where to say what changed (default: reports/drift.md)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        mode = check_mode(getattr(args, "mode", REFERENCE_MODE))
        experiments = registry.select(args.names) if args.names or mode == REFERENCE_MODE \
            else registry.training_experiments()
        devices = _devices(args)
        if args.command == "run":
            return _run(experiments, devices, args.json, args.epochs, mode)
        root = args.golden_dir or _default_root()
        if args.command == "check":
            return _check(experiments, devices, root, mode, args.json_out)
        return _regen(experiments, devices, root, args.drift_report)
    except UnknownName as exc:
        parser.error(str(exc))  # exits 2, like any other usage error
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _default_root() -> Path:
    from harness import golden

    return golden.ROOT


def _devices(args: argparse.Namespace) -> list:
    from harness import devices, runtime

    # Both must be set before TensorFlow starts its thread pools.
    runtime.set_threads(args.intra_op_threads, args.inter_op_threads)
    if args.logical_cpus:
        devices.split_cpu(args.logical_cpus)
    available = devices.visible()
    spec = ",".join(args.device or ["all"])
    chosen = devices.select(spec, available)
    for kind in devices.missing_kinds(spec, available):
        print(f"skipped: no {kind.upper()} visible to TensorFlow", file=sys.stderr)
    if not chosen:
        raise HarnessError(f"no visible device matches {spec!r}")
    return chosen


def _list() -> int:
    from harness.report import table

    rows = [(e.name, e.section, e.summary) for e in registry.all_experiments()]
    print(table(("experiment", "section of the notes", "what it does"), rows))
    return 0


def _run(experiments: list, devices: list, as_json: bool, epochs: int | None, mode: str) -> int:
    from harness.run import run

    records = []
    for device in devices:
        for experiment in experiments:
            record = run(experiment, device, epochs if experiment.trains else None, mode)
            records.append(record)
            if not as_json:
                print(f"== {experiment.name} on {device.name} ({mode}) ==")
                print(experiment.render(record) if experiment.render else record.scalars)
                print()
    if as_json:
        json.dump([r.to_json() for r in records], sys.stdout, indent=1, ensure_ascii=False)
        print()
    return 0


def _check(experiments: list, devices: list, root: Path, mode: str, json_out: Path | None) -> int:
    from harness import golden, report, runtime
    from harness.check import check
    from harness.run import run

    runtime.configure()
    golden.check_layout(root)
    kinds = sorted({d.kind for d in devices})
    manifests = {kind: golden.read_manifest(root, kind) for kind in kinds}
    fingerprints = {kind: runtime.fingerprint(kind) for kind in kinds}
    for kind in kinds:
        drift = report.environment_drift(manifests[kind], fingerprints[kind])
        print(f"{kind} goldens in {root / kind}: "
              + ("written in this environment" if not drift else "environment differs:"))
        for line in drift:
            print(f"  {line}")
    print(flush=True)
    results = []
    for device in devices:
        for experiment in experiments:
            results.append(check(root, experiment, run(experiment, device, mode=mode)))
            print(f"  {experiment.name} on {device.name} ({mode}): done", file=sys.stderr, flush=True)
    print(report.check_summary(results))
    from harness.check import explain_failure

    for result in results:
        if result.comparison is not None and result.comparison.status == "fail":
            experiment = registry.get(result.record.experiment)
            print(explain_failure(experiment, result.record, result.comparison))
    print()
    print(report.ledger_summary(results))
    if json_out is not None:
        from harness.files import atomic_write

        document = {"environment": fingerprints, "manifest": manifests,
                    "results": [report.result_json(r) for r in results]}
        atomic_write(json_out, json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8"))
    return 0 if all(r.ok for r in results) else 1


def _regen(experiments: list, devices: list, root: Path, drift_out: Path) -> int:
    from harness import drift, golden, runtime
    from harness.errors import GoldenError
    from harness.files import atomic_write
    from harness.run import run

    runtime.configure()
    # One device of each kind writes; every run finishes before the first file is touched,
    # and each kind's folder is replaced in one step (golden.regenerate).
    writers = {}
    for device in devices:
        writers.setdefault(device.kind, device)
    records = [run(e, d) for d in writers.values() for e in experiments]
    changes = [drift.change(root, r) for r in records]
    manifests = {}
    for kind in writers:
        try:
            manifests[kind] = golden.read_manifest(root, kind)
        except GoldenError:
            manifests[kind] = None
    fingerprints = {kind: runtime.fingerprint(kind) for kind in writers}
    for kind in writers:
        written = golden.regenerate(root, kind, [r for r in records if r.device_kind == kind],
                                    fingerprints[kind])
        for path in written:
            print(f"wrote {path}")
    atomic_write(drift_out, drift.render(changes, manifests, fingerprints).encode("utf-8"))
    for c in changes:
        print(f"  {c.experiment} on {c.device}: {c.verdict}" + (f": {c.detail}" if c.detail else ""))
    print(f"wrote {drift_out}: review it with `git diff golden/` before committing both")
    return 0
