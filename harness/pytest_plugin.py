"""The pytest side of the harness: options, parametrisation and thin fixtures over
``harness.judge`` (the engine) and pytest-regressions (storage and regeneration)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness import kernels, modes
from harness.errors import DatasetMissing, GoldenError, GoldenMissing, HarnessError
from harness.execution import devices as devices_mod
from harness.execution import runtime
from harness.execution.devices import Device
from harness.experiments import catalog
from harness.experiments.declare import Experiment
from harness.judge.compare import Comparison
from harness.judge.verdict import coverage, held_to, load, portable_note, verify
from harness.record import Record
from harness.report.console import environment_drift
from harness.report.plot import explain
from harness.span import WHOLE, Span
from harness.store import golden


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "TF2 notes reproducibility harness")
    group.addoption("--devices", default="all", metavar="SPEC",
                    help="devices to run on: all, cpu, gpu or names such as CPU:0,GPU:1 (default all)")
    group.addoption("--logical-cpus", type=int, default=None, metavar="N",
                    help="split the CPU into N logical devices before TensorFlow starts")
    group.addoption("--golden-dir", type=Path, default=None, metavar="DIR",
                    help="where the goldens are (default: golden/ of the project)")
    group.addoption("--whole", action="store_true",
                    help="train the Keras programs whole (default: their declared prefix, compared with "
                         "the whole run's golden rows; their printed numbers and claims then skip)")
    group.addoption("--prove-all", action="store_true",
                    help="prove every published file against its declaration (tests/test_published.py), the four "
                         "long CNNs' prefixes too (measured: 173 s more of CPU time on 2 cores)")
    group.addoption("--modes", default="all", metavar="MODES",
                    help="execution modes of the training programs to check against the goldens of "
                         "their reference mode, and of the loops to benchmark: all or some of "
                         f"{','.join(modes.MODES)} (default all)")
    group.addoption("--phase-budget", action="store_true",
                    help="at the end, time the phase against a reference run timed in this process "
                         "(harness/report/budget.py; tox's default environment gives it)")
    group.addoption("--slow-down", default=None, metavar="NAME=FRACTION",
                    help="benchmarks: make experiment NAME's timed calls that fraction slower (a busy wait "
                         "after each), to see that the report flags a slowed loop (harness.report.benchflags)")


def _slow_down(spec: str | None) -> tuple[str, float] | None:
    """``--slow-down NAME=FRACTION``: a training program of the catalogue (a GradientTape loop or a
    Keras program), and a fraction above 0."""
    if spec is None:
        return None
    name, _, fraction = spec.partition("=")
    trainer = catalog.get(name.strip())
    try:
        value = float(fraction)
    except ValueError:
        value = math.nan
    if not trainer.runs_in_modes or not value > 0 or not math.isfinite(value):
        raise HarnessError(f"--slow-down {spec!r}: give a training program and a fraction above 0, such as "
                           f"--slow-down iris_sgd=0.3 (30% more time per step)")
    return trainer.name, value


def pytest_configure(config: pytest.Config) -> None:
    regenerating = config.getoption("force_regen", False) or config.getoption("regen_all", False)
    parallel = config.getoption("numprocesses", None) or hasattr(config, "workerinput")
    if regenerating and parallel:
        # Two workers must never write one golden: regeneration runs in one process.
        raise pytest.UsageError("--force-regen/--regen-all under pytest-xdist would let workers "
                                "write goldens side by side: drop -n, or use `tox -e regen`")
    try:
        if config.getoption("logical_cpus") is not None:
            devices_mod.split_cpu(config.getoption("logical_cpus"))
        available = devices_mod.visible()
        spec = config.getoption("devices")
        config._harness_devices = devices_mod.select(spec, available)  # type: ignore[attr-defined]
        config._harness_missing = devices_mod.missing_kinds(spec, available)  # type: ignore[attr-defined]
        config._harness_modes = modes.select(config.getoption("modes"))  # type: ignore[attr-defined]
        catalog.all_experiments()  # a declaration that cannot work stops the run here, by name
        config._harness_slow_down = _slow_down(config.getoption("slow_down"))  # type: ignore[attr-defined]
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line("markers", "xdist_group(name): pytest-xdist's loadgroup key")
    config.addinivalue_line("markers", "harness_missing_kind(kind): a case for a device kind not visible")
    runtime.configure()
    if not hasattr(config, "workerinput"):
        # Read once here, before pytest-xdist starts its workers: they inherit the answer
        # instead of each asking oneDNN in a TensorFlow of its own (kernels.onednn_isa).
        kernels.current()


def pytest_report_header(config: pytest.Config) -> list[str]:
    import tensorflow as tf

    root = golden_root(config)
    lines = [f"harness: TensorFlow {tf.__version__}, devices "
             f"{[d.name for d in config._harness_devices]}, goldens in {root}"]  # type: ignore[attr-defined]
    for kind in sorted({d.kind for d in config._harness_devices}):  # type: ignore[attr-defined]
        try:
            drift = environment_drift(golden.read_manifest(root, kind), runtime.fingerprint(kind))
            covered = coverage(root, kind)
        except GoldenError as exc:
            drift, covered = [str(exc)], None
        if covered is not None:
            lines.append(f"harness: {kind} goldens of {covered.describe()}")
            for note in (kernels.unnamed(), kernels.chosen(), portable_note(root, kind)):
                if note is not None:
                    lines.append(f"harness: {note}")
        lines += [f"harness: {kind} goldens differ in environment: {d}" for d in drift]
    return lines


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """What a timing depends on beyond the code, saved with every benchmark run."""
    machine_info["harness"] = {
        "devices": [d.name for d in config._harness_devices],  # type: ignore[attr-defined]
        **{kind: runtime.fingerprint(kind)
           for kind in sorted({d.kind for d in config._harness_devices})},  # type: ignore[attr-defined]
    }


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "device" in metafunc.fixturenames:
        params = [pytest.param(d, id=d.name) for d in config._harness_devices]  # type: ignore[attr-defined]
        module = metafunc.module.__name__
        params += [pytest.param(None, id=kind.upper(), marks=[pytest.mark.skip(
            reason=f"{devices_mod.why_missing(kind)}: every {kind.upper()} case of {module} is left out"),
            pytest.mark.harness_missing_kind(kind)])
            for kind in config._harness_missing]  # type: ignore[attr-defined]
        # Session scope: the cases of one device stay together, and module fixtures may use it.
        metafunc.parametrize("device", params, scope="session")
    if "mode" in metafunc.fixturenames:
        metafunc.parametrize("mode", config._harness_modes)  # type: ignore[attr-defined]
    if "moded" in metafunc.fixturenames:
        # Each training program in each mode judged against its reference mode's golden (the
        # reference itself is judged by its golden).
        chosen = config._harness_modes  # type: ignore[attr-defined]
        metafunc.parametrize("moded", [pytest.param((e, m), id=f"{e.name}-{m}", marks=_modes_skipped(config, e, m))
                                       for e in catalog.all_experiments() for m in modes.others(e, chosen)])
    # pyproject's addopts disable pytest-benchmark; --benchmark-enable (tox -e bench) overrides
    # that without clearing the option, so both are read.
    untimed = config.getoption("benchmark_disable", False) and not config.getoption("benchmark_enable", False)
    if "trainer" in metafunc.fixturenames:
        trainers = catalog.training_experiments()
        if "benchmark" in metafunc.fixturenames and untimed:
            # Untimed, a benchmark is a smoke check of the timing code, which goes the same way
            # for every program with the same update rule (test_modes builds every loop in
            # every mode): one per rule. ``tox -e bench`` times them all.
            trainers = catalog.one_per_update_rule(trainers)
        metafunc.parametrize("trainer", trainers, ids=lambda e: e.name)
    if "keras_program" in metafunc.fixturenames:
        programs = catalog.keras_experiments()
        if "benchmark" in metafunc.fixturenames and untimed:
            # Untimed, the Keras benchmark is a smoke check of the step clock in every mode: on the
            # program that costs least.
            programs = [min(programs, key=lambda e: e.program.cost(WHOLE, modes.KERAS_REFERENCE))]
        metafunc.parametrize("keras_program", programs, ids=lambda e: e.name)
    if "experiment" in metafunc.fixturenames:
        metafunc.parametrize("experiment", catalog.all_experiments(), ids=lambda e: e.name)
    if "printed" in metafunc.fixturenames:
        metafunc.parametrize("printed", [
            pytest.param((e, p), id=f"{e.name}: {p.source.cite}: {p.where}")
            for e in catalog.all_experiments() for p in e.printed if not p.not_comparable])
    if "claim" in metafunc.fixturenames:
        metafunc.parametrize("claim", [
            pytest.param((e, c), id=f"{e.name}: {c.text}")
            for e in catalog.all_experiments() for c in e.claims])


def _modes_skipped(config: pytest.Config, experiment: Experiment, mode: str) -> list[pytest.MarkDecorator]:
    if (same := experiment.program.mode_cannot_depart(mode)) is not None:
        return [pytest.mark.skip(reason=f"{experiment.name} {same}")]
    if test_span(config, experiment).whole:
        return []
    if experiment.trains_as:
        return [pytest.mark.skip(reason=f"{experiment.name} trains as {experiment.trains_as}, bit for bit (its golden "
                                        f"is held to {experiment.trains_as}'s by test_goldens): its modes are that "
                                        "program's; pytest --whole, or python -m harness check --whole --mode MODE, "
                                        "runs them")]
    why = experiment.program.modes_left_to_whole()
    return [] if why is None else [pytest.mark.skip(reason=f"{experiment.name} {why}")]


def _subject(item: pytest.Item) -> Experiment | None:
    params = getattr(item, "callspec", None)
    params = params.params if params else {}
    for key in ("experiment", "trainer", "keras_program", "moded", "printed", "claim", "published_program"):
        value = params.get(key)
        found = value[0] if isinstance(value, tuple) else value
        if isinstance(found, Experiment):
            return found
    return None


def _module(item: pytest.Item) -> str:
    module = getattr(item, "module", None)
    return module.__name__ if module is not None else item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the marks into groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A device kind with no visible device is said once per module (one skipped case with the
    # reason), not once for each of its hundreds of cases: the others are deselected.
    said: set[tuple[str, str]] = set()
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("harness_missing_kind")
        key = (_module(item), marker.args[0]) if marker else None
        if key is not None and key in said:
            dropped.append(item)
            continue
        if key is not None:
            said.add(key)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    # Under pytest-xdist --dist loadgroup: the tests that share one run of an experiment
    # (through record_of) go to one worker, so that each run is made once; so do experiments
    # whose claims compare them (their run group). The rest stay with their module, whose
    # module-scoped fixtures they share.
    for item in items:
        subject = _subject(item)
        shares_run = subject is not None and "record_of" in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.xdist_group(subject.run_group if subject is not None and shares_run
                                                 else _module(item)))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")  # after pytest's reordering by scope
def pytest_collection_modifyitems_longest_runs_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The groups with the longest runs first (each group's tests in their order): two workers
    then end together, instead of one starting a 30-second run when the other is done."""
    runs: dict[str, dict[str, float]] = {}
    for item in items:
        subject = _subject(item)
        if subject is not None and "record_of" in getattr(item, "fixturenames", ()):
            runs.setdefault(subject.run_group, {})[subject.name] = _cost(config, subject)
    costs = {group: sum(found.values()) for group, found in runs.items()}

    def group(item: pytest.Item) -> str:
        mark = item.get_closest_marker("xdist_group")
        return str(mark.args[0]) if mark else ""

    items.sort(key=lambda item: -costs.get(group(item), 0.0))


def _cost(config: pytest.Config, experiment: Experiment) -> float:
    """A rough order of an experiment's run in this session (a Keras prefix, with its tracing: a twentieth
    of the whole run)."""
    whole = experiment.program.cost(WHOLE, modes.reference(experiment))
    return whole if test_span(config, experiment).whole else whole * 0.05


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    # pytest-xdist's loadgroup travels in the node ID (every test here has a group); where a
    # pytest release stops that (pytest-dev/pytest-xdist#1386), each run would be made once
    # per worker, silently. Stop instead.
    if node.config.getoption("dist", None) == "loadgroup" and ids and not any("@" in i for i in ids):
        raise pytest.UsageError(
            "pytest-xdist --dist loadgroup is not grouping (no node ID carries a group): this "
            "pytest and pytest-xdist do not work together (pytest-xdist#1386); install the "
            "pytest pinned in pyproject.toml")


def golden_root(config: pytest.Config) -> Path:
    return config.getoption("golden_dir") or golden.ROOT


RecordOf = Callable[..., Record]


def test_span(config: pytest.Config, experiment: Experiment) -> Span:
    """What a test run makes (``Experiment.span_for``, the tests' tier): a Keras program's declared
    prefix (the default run stays within its time), unless ``--whole``; every other program whole."""
    return experiment.span_for("tests", whole=config.getoption("whole"))


def repeated_training(config: pytest.Config, experiment: Experiment) -> None:
    """Skips, in the default tier, the prefix of a program whose training is another's bit for bit
    (``trains_as``: chapter 4's programs around chapter 3's fit, chapter 3's subclasses): its rows
    would be the other's, which the tier holds to its golden; ``--whole`` and ``check`` run it,
    with the claim that says so (the default test phase stays within its 240 s)."""
    if experiment.trains_as and not test_span(config, experiment).whole:
        pytest.skip(f"{experiment.name} trains as {experiment.trains_as}, bit for bit: the default tier holds "
                    f"{experiment.trains_as}'s prefix to its golden, and this golden to that one at every shared row "
                    "and weight hash (test_a_repeated_training_s_golden_is_its_target_s_at_every_shared_row_and_hash); "
                    "pytest --whole, or python -m harness check, runs this one")


def whole_record(config: pytest.Config, experiment: Experiment, device: Device, record_of: RecordOf) -> Record:
    """What the printed numbers and the claims are read from: this session's run where it makes the
    whole program; for a program the tests cut to its prefix (held to its golden's rows by
    test_goldens), the committed whole golden it is held to, which answers them without training.
    A golden of a prefix answers nothing: skipped, saying what does."""
    span = test_span(config, experiment)
    if span.whole:
        return record_of(experiment, device)
    try:
        stored = load(golden_root(config), experiment, device.kind)
    except GoldenMissing as exc:
        try:
            experiment.program.require_data()
        except DatasetMissing as missing:
            pytest.skip(f"{experiment.name} has no golden yet and its data is not here: {missing}")
        pytest.fail(str(exc), pytrace=False)
    except GoldenError as exc:
        pytest.fail(str(exc), pytrace=False)
    if not stored.span.whole:
        pytest.skip(f"{experiment.name} makes {span} here and its golden holds {stored.span}: its printed numbers "
                    "and claims are the whole run's; python -m harness check --whole (or pytest --whole) judges them")
    return stored.record(experiment.name, device.kind, experiment.program.reference_mode)


@pytest.fixture(scope="session")
def record_of(pytestconfig: pytest.Config) -> RecordOf:
    """One run per experiment, device and mode in a session, shared by every test that reads it."""
    from harness.execution.run import run

    cache: dict[tuple[str, str, str], Record] = {}

    def get(experiment: Experiment, device: Device, mode: str | None = None) -> Record:
        key = (experiment.name, device.name, mode or modes.reference(experiment))
        if key not in cache:
            try:
                cache[key] = run(experiment, device, mode=mode,
                                 batches=test_span(pytestconfig, experiment).batches_asked)
            except DatasetMissing as exc:
                pytest.skip(str(exc))
        return cache[key]

    return get


@pytest.fixture
def golden_check(request: pytest.FixtureRequest, num_regression: Any,
                 data_regression: Any) -> Callable[[Record], Comparison | None]:
    """Checks a record against its goldens: the ULP judgement first, then pytest-regressions.

    A missing golden fails without being written, CI or not (pytest-regressions would write
    it, outside the lock and the manifest): goldens are written on purpose, by ``regen`` or
    pytest-regressions' --force-regen and --regen-all, which also skip the judgement so they
    can rewrite what differs.
    """
    config = request.config
    root = golden_root(config)
    regenerating = config.getoption("force_regen") or config.getoption("regen_all")

    def check(record: Record) -> Comparison | None:
        __tracebackhide__ = True
        experiment = catalog.get(record.experiment)
        try:
            target = golden.paths(root, record.device_kind, experiment.name, held_to(root, record.device_kind))
        except GoldenError as exc:
            pytest.fail(str(exc), pytrace=False)
        needed = [target.scalars, *(target.tables[t] for t in golden.needed_tables(target,
                                                                                   list(experiment.table_columns())))]
        missing = [p for p in needed if not p.exists()]
        if missing and not regenerating:
            pytest.fail(f"{GoldenMissing(missing[0])}\n  (nothing was written: goldens are written on purpose, "
                        "by `tox -e regen` or pytest-regressions' --force-regen)", pytrace=False)
        comparison = None
        if not missing and not regenerating:
            try:
                comparison = verify(root, experiment, record)
            except GoldenError as exc:
                pytest.fail(str(exc), pytrace=False)
            if comparison.status == "fail":
                covered = coverage(root, record.device_kind)
                note = "" if covered is None or covered.known else f"\n  kernels differ: {covered.warning()}"
                pytest.fail(explain(record, comparison) + note, pytrace=False)
        if not record.span.whole:
            if regenerating:
                # pytest-regressions would write the prefix's tables over the whole run's golden.
                pytest.fail(f"{experiment.name} made {record.span} here: --force-regen and --regen-all write whole "
                            f"runs only (nothing was written). Regenerate with `python -m harness regen "
                            f"{experiment.name}` (tox -e regen), or pytest --whole --force-regen", pytrace=False)
            return comparison  # a prefix is judged on its rows above; pytest-regressions compares whole files
        if comparison is not None and comparison.portable:
            # Judged by the envelope of the covered classes (a CPU whose kernels no golden file holds):
            # pytest-regressions compares one file, the held class's, which this run is not expected to be.
            return comparison
        for name, table in record.tables().items():
            num_regression.check(
                {column: np.asarray(values) for column, values in table.items()},
                fullpath=target.tables[name],
                default_tolerance=_atol(table, max(experiment.tolerance_for(c) for c in table)),
            )
        data_regression.check(record.scalars, fullpath=target.scalars)
        return comparison

    return check


def _atol(table: dict[str, list[Any]], ulps: int) -> dict[str, float]:
    # num_regression knows only atol/rtol: the widest ULP band of any value, so that it
    # never rejects what the ULP judgement accepted (that judgement is the stricter one).
    finite = [abs(float(v)) for name, values in table.items() if name != "epoch" for v in values
              if np.isfinite(float(v))]
    spacing = float(np.spacing(np.float32(max(finite, default=0.0))))
    return {"atol": ulps * spacing, "rtol": 0.0}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._harness_started = time.perf_counter()  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The phase's time as a ratio to a reference run timed here, after the tests (--phase-budget)."""
    if not config.getoption("phase_budget") or hasattr(config, "workerinput") or config.getoption("collectonly"):
        return
    from harness.report import budget

    phase = time.perf_counter() - config._harness_started  # type: ignore[attr-defined]
    terminalreporter.write_sep("-", "harness: the test phase's budget")
    terminalreporter.write_line(budget.PhaseTime(phase, budget.reference_seconds()).describe())
