"""A run against its golden and its sources: the engine under both the pytest plugin and
``python -m harness check``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import DatasetMissing, GoldenError, HarnessError
from harness.experiments.declare import Experiment
from harness.experiments.keras import AS_WRITTEN, STARTED, WEIGHTS_SHA256
from harness.experiments.training import ModeDifference
from harness.judge import ledger
from harness.judge.compare import Comparison, compare
from harness.record import CUT, Record, non_finite_summary
from harness.store import golden
from harness.store.golden import Golden


def kernel_class(kind: str) -> str | None:
    """The key of this process's CPU kernels, for the goldens of the CPU (None for a GPU's)."""
    from harness.execution import kernels

    return kernels.current().key if kind == "cpu" else None


def held_to(root: Path, kind: str) -> str | None:
    """The kernel class whose files this process's runs are held to: its own where the goldens
    cover it, else None (the base goldens: a class they do not cover has no files to trust,
    nor does a manifest that cannot be read, which the check and pytest's header name)."""
    try:
        covered = coverage(root, kind)
    except GoldenError:
        return None
    return covered.kernel_class if covered is not None and covered.known else None


def load(root: Path, experiment: Experiment, kind: str) -> Golden:
    """The goldens of an experiment, as this process's kernel class has them; GoldenError (or
    GoldenMissing) when they cannot be used."""
    return golden.load(root, kind, experiment.name, experiment.table_columns(), held_to(root, kind))


def coverage(root: Path, kind: str) -> golden.Coverage | None:
    """Whether the goldens of a kind cover this process's kernel class (None: not a CPU kind)."""
    key = kernel_class(kind)
    return None if key is None else golden.coverage(golden.read_manifest(root, kind), key)


def within(record: Record, experiment: Experiment, batches: int) -> Record:
    """The part of a Keras run its first ``batches`` batches made: the batch rows up to there, the
    epochs they completed, the weights' hashes and the runs of those epochs; not the code after fit."""
    import dataclasses

    assert experiment.fit is not None
    epochs = batches // experiment.fit.steps_per_epoch

    def rows(table: dict[str, list[object]], last: int) -> dict[str, list[object]]:
        keep = [i for i, label in enumerate(table.get("epoch", [])) if int(str(label)) <= last]
        return {c: [v[i] for i in keep] for c, v in table.items()} if keep else {}

    scalars = {k: v for k, v in record.scalars.items() if k not in (*experiment.after_scalars, CUT)}
    if isinstance(hashes := scalars.get(WEIGHTS_SHA256), dict):
        scalars[WEIGHTS_SHA256] = {k: v for k, v in hashes.items() if int(k) <= epochs}
    if isinstance(started := scalars.get(STARTED), list):
        scalars[STARTED] = started[:1 + max(0, epochs - 1) // experiment.fit.per_run]
    return dataclasses.replace(record, scalars=scalars, batches=rows(record.batches, batches),
                               columns=rows(record.columns, epochs), validation=rows(record.validation, epochs),
                               checkpoints=rows(record.checkpoints, epochs))


def against(stored: Golden, experiment: Experiment, record: Record, exact: bool = False) -> Comparison:
    """The record against goldens already read, with the experiment's tolerance (or bit for bit).

    A run in another mode, or a shortened one, is a run of the loop only: the program's code
    after its loop runs with the whole program in the reference mode (``run`` sees to it that
    such a run has its scalars), so they are not asked of the others."""
    scalars = stored.scalars
    if CUT in scalars:
        # A golden of a declared prefix: the run is held to the rows of those batches.
        record = within(record, experiment, int(scalars[CUT]))
        scalars = {k: v for k, v in scalars.items() if k != CUT}
    shortened = not set(experiment.after_scalars) <= set(record.scalars)
    if shortened:
        scalars = {k: v for k, v in scalars.items() if k not in experiment.after_scalars}
    if experiment.fit is not None:
        # A prefix of a Keras run reaches some of the whole run's checkpoint epochs, and tries the
        # lines it reaches (a line of the code after fit, a whole run's only).
        # A resumed program's prefix reaches its first run only, and the lines that run tries.
        runs, all_runs = record.scalars.get(STARTED), scalars.get(STARTED)
        fewer_runs = False
        if isinstance(runs, list) and isinstance(all_runs, list) and len(runs) < len(all_runs):
            fewer_runs, scalars = True, {**scalars, STARTED: all_runs[:len(runs)]}
        reached = [WEIGHTS_SHA256, *([AS_WRITTEN] if shortened or fewer_runs else [])]
        scalars = {**scalars, **{name: {k: v for k, v in theirs.items() if k in ours}
                                 for name in reached
                                 if isinstance(ours := record.scalars.get(name), dict)
                                 and isinstance(theirs := scalars.get(name), dict)}}
    return compare(record, stored.tables, scalars, 0 if exact else experiment.tolerance_for)


def verify(root: Path, experiment: Experiment, record: Record) -> Comparison:
    return against(load(root, experiment, record.device_kind), experiment, record)


def agreement(root: Path, experiment: Experiment, record: Record) -> Comparison:
    """A run in another execution mode against the eager golden, bit for bit."""
    return against(load(root, experiment, record.device_kind), experiment, record, exact=True)


# A run in another execution mode against the eager golden, bit for bit:
# identical, or differing as the experiment declares (the same first epoch and largest
# distance), are what is expected; the rest is news.
ModeVerdict = Literal["identical", "declared", "NOW IDENTICAL", "CHANGED", "DIFFERS"]
EXPECTED_MODE_VERDICTS = ("identical", "declared")


@dataclass(frozen=True)
class Result:
    """Everything known about one experiment on one device (in one mode)."""

    record: Record
    comparison: Comparison | None = None
    # A golden that could not be used, or a run that stopped (the random state was not reset).
    error: HarnessError | None = None
    printed: list[ledger.PrintedCheck] = field(default_factory=list)
    claims: list[ledger.ClaimCheck] = field(default_factory=list)
    # For a run in another mode: its verdict against the eager golden, and what the
    # experiment declares for that mode.
    mode_verdict: ModeVerdict | None = None
    declared: ModeDifference | None = None
    # Where it left that golden (epoch), by how much at most, and where it turned to NaN.
    departed: tuple[int | None, float, int | None] | None = None
    # A run in the mode its program is written in (judged by its golden), or in another.
    as_written: bool = True
    # Run to run, bit for bit: "" when every run of it gave the same bits, else where they part.
    nondeterministic: str = ""
    # The steady time of one step of its loop, when it was timed (the matrix).
    seconds_per_step: float | None = None
    # The wall time of its run (check: the whole-run report's times).
    seconds: float | None = None

    @property
    def skipped(self) -> bool:
        """A run whose data is not on this machine (the reason says how to get it)."""
        return isinstance(self.error, DatasetMissing)

    @property
    def ok(self) -> bool:
        if self.comparison is None or self.nondeterministic:
            return False
        if self.mode_verdict is not None:
            return self.mode_verdict in EXPECTED_MODE_VERDICTS
        return (
            self.comparison.status != "fail"
            and all(p.ok for p in self.printed)
            and all(c.ok for c in self.claims)
        )


def signature(experiment: Experiment, comparison: Comparison) -> tuple[int | None, float]:
    """Where a run first differs from its golden (the earliest epoch in any table, None when
    only its structure or scalars differ) and by how much at most."""
    firsts = [experiment.epoch_of(c.table, c.first_beyond) for c in comparison.columns if c.first_beyond is not None]
    return (min(firsts) if firsts else None), comparison.max_ulp


def first_nan(experiment: Experiment, record: Record) -> int | None:
    """The epoch at which a run turns to NaN or an infinity, in any table (None: never)."""
    found = non_finite_summary(record.tables())
    return min((experiment.epoch_of(table, f["first_epoch"]) for table, f in found.items()), default=None)


def reached(experiment: Experiment, record: Record) -> tuple[int, bool]:
    """The last epoch a run reached, in any table (a prefix of a run ends before its program's),
    and whether it ran it to its end (a Keras prefix may stop inside an epoch)."""
    return max((experiment.epoch_of(name, label), experiment.ends_epoch(name, label))
               for name, table in record.tables().items() for label in (int(table["epoch"][-1]),))


def departure(experiment: Experiment, eager: Golden, run: Record) -> golden.ModeSignature:
    """How a run in another mode departs from the eager run it is held to: where it first
    differs, by how many ULPs at most, and where it turns to NaN; None where it is identical."""
    comparison = against(eager, experiment, run, exact=True)
    if comparison.status == "identical":
        return None
    first, largest = signature(experiment, comparison)
    if first is None:
        raise HarnessError(f"{experiment.name} in mode {run.mode}: differs from the eager run in its "
                           f"structure or scalars, not its trajectory: {comparison.explain()}")
    return first, largest, first_nan(experiment, run)


def declared_mode(root: Path, experiment: Experiment, kind: str, mode: str) -> ModeDifference | None:
    """What is declared for a mode under this process's kernel class: the class's own
    measurement where the goldens hold one, else the experiment's declaration."""
    declared = experiment.mode_difference(mode)
    key = held_to(root, kind)
    if key is None:
        return declared
    own = golden.read_mode_signatures(root, kind, key, experiment.name)
    if mode not in own:
        return declared
    signature = own[mode]
    if signature is None:
        return None
    why = declared.why if declared else "measured under this kernel class only"
    return ModeDifference(mode, signature[0], signature[1], f"{why} (as kernel class {key} computes it)",
                          signature[2])


def mode_signatures(experiment: Experiment, eager: Record, runs: list[Record]) -> dict[str, golden.ModeSignature]:
    """How each mode's run departs from the eager run of the same kernel class, where that is
    not what the experiment declares: a class's own declarations, for the golden store."""
    own: dict[str, golden.ModeSignature] = {}
    for run in runs:
        measured = departure(experiment, Golden(eager.scalars, eager.tables()), run)
        declared = experiment.mode_difference(run.mode)
        if measured != (None if declared is None else declared.signature):
            own[run.mode] = measured
    return own


def mode_verdict(measured: golden.ModeSignature, declared: ModeDifference | None,
                 through: int | None = None, ended: bool = True) -> ModeVerdict:
    """A mode's measured departure against its declaration: only the declared one, exactly, is.
    A prefix of the run (its last epoch ``through``) is held to what the declaration says of
    those epochs: identical before the declared first epoch; from it, the same first epoch, no
    farther than declared, and NaN exactly where declared."""
    expected = declared if declared is None or through is None or declared.first_epoch <= through else None
    if measured is None and not ended and expected is not None and expected.first_epoch == through:
        return "identical"  # a prefix that stops inside the epoch the departure starts in may stop before it
    if measured is None:
        return "NOW IDENTICAL" if expected else "identical"
    if expected is None:
        return "CHANGED" if declared else "DIFFERS"
    if through is None:
        return "declared" if measured == expected.signature else "CHANGED"
    first, largest, nan = measured
    said_nan = expected.diverges_at if expected.diverges_at is not None and expected.diverges_at <= through else None
    return "declared" if (first, nan) == (expected.first_epoch, said_nan) and largest <= expected.max_ulp \
        else "CHANGED"


def judge_mode(root: Path, experiment: Experiment, record: Record, whole: bool = True) -> Result:
    """A run in another execution mode against its reference golden, bit for bit, and against what
    is declared for that mode (``declared_mode``); a prefix (``whole=False``), against what the
    declaration says of its epochs."""
    try:
        declared = declared_mode(root, experiment, record.device_kind, record.mode)
        comparison = agreement(root, experiment, record)
    except GoldenError as exc:
        return Result(record, None, exc, declared=experiment.mode_difference(record.mode), as_written=False)
    first, largest = signature(experiment, comparison)
    departed = (first, largest, first_nan(experiment, record))
    through, ended = (None, True) if whole else reached(experiment, record)
    verdict = (mode_verdict(None, declared, through, ended) if comparison.status == "identical"
               # A structure or scalar that differs, or a table that cannot be compared: never declared.
               else "DIFFERS" if comparison.problems or first is None
               else mode_verdict((first, largest, departed[2]), declared, through, ended))
    return Result(record, comparison, mode_verdict=verdict, declared=declared, departed=departed, as_written=False)


def describe_mode(result: Result) -> str:
    """A mode verdict in words: where the run left the eager golden, and what is declared."""
    comparison = result.comparison
    assert comparison is not None and result.mode_verdict is not None
    assert result.departed is not None
    first, largest, nan = result.departed
    measured = f"from epoch {first}, max {largest:.0f} ULP" + (f", NaN from epoch {nan}" if nan is not None else "")
    declared = result.declared
    said = (f"declared from epoch {declared.first_epoch}, max {declared.max_ulp:.0f} ULP"
            + (f", NaN from epoch {declared.diverges_at}" if declared.diverges_at is not None else "")
            if declared else "nothing declared")
    return {
        "identical": "identical",
        "declared": f"declared ({measured})",
        "NOW IDENTICAL": f"NOW IDENTICAL ({said}: remove the declaration)",
        "CHANGED": f"CHANGED: {measured}; {said}",
        "DIFFERS": f"DIFFERS ({measured}; {said})",
    }[result.mode_verdict]


def kernel_golden(root: Path, experiment: Experiment, kind: str) -> ledger.KernelGolden | None:
    """Under a covered kernel class other than the base: that class's golden, as a record, for
    the ledger (None on the base class, a GPU, or a class the goldens do not cover)."""
    covered = coverage(root, kind)
    if covered is None or not covered.known or covered.kernel_class == covered.base:
        return None
    return ledger.KernelGolden(covered.kernel_class, load(root, experiment, kind).record(experiment.name, kind))


def judge(root: Path, experiment: Experiment, record: Record,
          others: Mapping[str, Record] | None = None, whole: bool = True) -> Result:
    """The record against its golden, its printed numbers and its claims. A prefix of a run
    (``whole=False``) is held to its golden's rows only: the printed numbers and the claims are
    the whole run's."""
    try:
        comparison, error = verify(root, experiment, record), None
        kernels = kernel_golden(root, experiment, record.device_kind)
    except GoldenError as exc:
        comparison, error, kernels = None, exc, None
    if not whole:
        return Result(record, comparison, error)
    return Result(record, comparison, error, ledger.printed_checks(experiment, record, kernels),
                  ledger.claim_checks(experiment, record, others, kernels))
