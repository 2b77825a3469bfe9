"""A run against its golden and its sources: the engine under both the pytest plugin and
``python -m harness check``."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from harness.errors import DatasetMissing, GoldenError, HarnessError
from harness.experiments.declare import Experiment
from harness.experiments.keras import AS_WRITTEN
from harness.experiments.training import ModeDifference
from harness.judge import envelope, ledger
from harness.judge.compare import Comparison, compare
from harness.record import NON_FINITE, Record, iter_values, non_finite_summary
from harness.span import Span
from harness.store import golden, spread
from harness.store.golden import Golden

Checked = TypeVar("Checked", ledger.PrintedCheck, ledger.ClaimCheck)


def kernel_class(kind: str) -> str | None:
    """The key of this process's CPU kernels, for the goldens of the CPU (None for a GPU's)."""
    from harness import kernels

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
    GoldenMissing) when they cannot be used, its class's mode measurements included (read whichever
    mode runs, so that a damaged one is named by every check of the program, not by some)."""
    key = held_to(root, kind)
    stored = golden.load(root, kind, experiment.name, experiment.table_columns(), key)
    if key is not None and experiment.program.whole_in_every_mode:
        golden.read_mode_signatures(root, kind, key, experiment.name)
    return stored


def coverage(root: Path, kind: str) -> golden.Coverage | None:
    """Whether the goldens of a kind cover this process's kernel class (None: not a CPU kind)."""
    key = kernel_class(kind)
    return None if key is None else golden.coverage(golden.read_manifest(root, kind), key)


def scoped(experiment: Experiment, record: Record, asked: Span, golden_span: Span) -> Record:
    """What a record holds of the part of the program both a run (``asked``) and a golden
    (``golden_span``) cover, and what a run in its mode makes of it (a run of the loop alone in
    another mode does not run the code after it)."""
    program = experiment.program
    part = program.cut(program.cut(record, asked), golden_span)
    if program.runs_after(asked, record.mode) or not experiment.after_scalars:
        return part
    return dataclasses.replace(part, scalars={k: v for k, v in part.scalars.items()
                                              if k not in experiment.after_scalars})


def shortfall(experiment: Experiment, record: Record, stored: Golden, expected: Record) -> list[str]:
    """What a run asked to make the whole program lacks of it, each in one sentence: a table, its
    last epochs, the code after training, the weights' hashes, a scalar its golden holds
    (``expected``: the golden as a run in its mode makes it); empty when it lacks nothing."""
    if not record.span.whole:
        return []
    program, found = experiment.program, []
    tables = record.tables()
    absent = [t for t in experiment.table_columns() if t not in tables]
    if absent:
        found.append(f"the run has no {' or '.join(absent)} table: a whole run records "
                     f"{', '.join(experiment.table_columns())}")
    ends = {name: program.epoch_number(name, int(table["epoch"][-1])) for name, table in tables.items()}
    wanted = {name: program.epoch_number(name, int(table["epoch"][-1])) for name, table in stored.tables.items()} \
        if stored.span.whole else {}
    short = [(name, end, max(wanted.get(name, 0), program.epochs if name == "columns" else 0))
             for name, end in ends.items()]
    short = [(name, end, want) for name, end, want in short if end < want]
    if short:
        name, end, want = min(short, key=lambda s: s[1])
        found.append(f"the run's record ends at epoch {end:,} of {want:,} (the last row of its {name} table)")
    if program.runs_after(record.span, record.mode):
        lacking = [name for name in experiment.after_scalars if name not in record.scalars]
        if lacking:
            found.append(f"the run lacks what the program computes after training: {', '.join(lacking)}")
    found += program.unrecorded(record)
    absent = [k for k in expected.scalars if k not in record.scalars and k != NON_FINITE
              and k not in experiment.after_scalars]
    if absent:
        found.append(f"the run lacks {', '.join(absent)}, which its golden holds")
    return found


def against(stored: Golden, experiment: Experiment, record: Record, exact: bool = False,
            tolerance: Callable[[str], int] | None = None, alternatives: Sequence[Record] = (),
            diverged: Sequence[int] = ()) -> Comparison:
    """The record against goldens already read, with the experiment's tolerance (or bit for bit),
    held to what it was asked to make (``record.span``): the part of the program both it and the
    golden cover is compared row for row; a whole run that lacks any of the program is a failure
    that says what it lacks. ``alternatives`` (the covered classes' goldens) and ``diverged`` (the
    epochs their other modes turn to NaN at) make it the envelope's verdict (harness.judge.envelope)."""
    ours = scoped(experiment, record, record.span, stored.span)
    theirs = scoped(experiment, stored.record(experiment.name, record.device_kind, record.mode),
                    record.span, stored.span)
    scalars, tables = theirs.scalars, theirs.tables()
    if alternatives:
        # The envelope: a scalar another covered class computed (or, for a number, one inside their
        # spread: envelope.scalar_admitted) is one this CPU may compute; a divergence where every
        # class diverges, within their window, is one too (envelope.admit_divergence).
        others = [scoped(experiment, r, record.span, stored.span) for r in alternatives]
        tables = envelope.admit_divergence(ours.tables(), tables, [o.tables() for o in others], diverged)
        moved = max((tolerance(c) for t in tables.values() for c, _ in iter_values(t)), default=0) if tolerance else 0
        scalars = {k: ours.scalars[k] if k in ours.scalars and envelope.scalar_admitted(
            k, ours.scalars[k], v, [o.scalars[k] for o in others if k in o.scalars], moved) else v
            for k, v in scalars.items()}
        if tables != theirs.tables() and NON_FINITE in scalars:
            scalars = {**scalars, NON_FINITE: non_finite_summary(tables)}
    if not record.span.whole and AS_WRITTEN in scalars and isinstance(tried := ours.scalars.get(AS_WRITTEN), dict):
        # A prefix of a Keras run tries the lines it reaches (a line of the code after fit, a
        # whole run's only).
        scalars = {**scalars, AS_WRITTEN: {k: v for k, v in scalars[AS_WRITTEN].items() if k in tried}}
    band = tolerance or (0 if exact else experiment.tolerance_for)
    comparison = compare(ours, tables, scalars, band)
    return dataclasses.replace(comparison, lacking=shortfall(experiment, record, stored, theirs),
                               portable=bool(alternatives), span=str(record.span))


# Set (to anything): a CPU whose kernels the goldens do not reproduce fails, instead of being judged
# by the envelope of the covered classes (--strict-kernels).
STRICT_ENV = "HARNESS_STRICT_KERNELS"


def portable_reason(root: Path, kind: str) -> str | None:
    """Why verdicts that depend on the kernels are judged by the envelope of the covered classes
    (harness.judge.envelope), or None where they are exact: a run under a class the goldens do not
    cover (an arm64 CPU, a Sapphire Rapids one running its own kernels, a class left out to prove the
    envelope), or on a CPU other than the one every covered class was computed on (the manifest's
    onednn_isa and device), where a class is not always the same arithmetic."""
    from harness import kernels

    if kind != "cpu" or os.environ.get(STRICT_ENV):
        return None
    try:
        manifest = golden.read_manifest(root, kind) or {}
    except GoldenError:
        return None
    here, covered = kernels.current().key, list(manifest.get("kernel_classes") or ())
    if here not in covered:
        return f"this run's kernel class {here} is not covered by the goldens ({', '.join(covered) or 'none'})"
    if not kernels.computed_here(manifest):
        return (f"the covered classes were computed on another CPU ({manifest.get('device')}, "
                f"{manifest.get('onednn_isa')})")
    return None


def portable(root: Path, kind: str) -> bool:
    return portable_reason(root, kind) is not None


def portable_note(root: Path, kind: str) -> str | None:
    """What ``portable`` means for this run, in words for headers (None: verdicts are exact)."""
    reason = portable_reason(root, kind)
    if reason is None:
        return None
    return (f"{reason}: a run its class's golden does not reproduce is judged by the envelope of the covered "
            f"classes, saying so ({STRICT_ENV}=1 or --strict-kernels: exactly)")


def _covered(root: Path, kind: str) -> list[str]:
    return list(golden.covered_classes(root, kind))


def verify(root: Path, experiment: Experiment, record: Record) -> Comparison:
    """The record against its class's golden; on a CPU the classes were not computed on, a run
    that fails it is judged again against the envelope of the covered classes."""
    stored = load(root, experiment, record.device_kind)
    comparison = against(stored, experiment, record)
    if comparison.status != "fail" or comparison.lacking or not portable(root, record.device_kind):
        return comparison
    bands, classes = _envelope(root, experiment, record, stored)
    return against(stored, experiment, record, tolerance=bands, alternatives=classes,
                   diverged=divergences(root, experiment, record.device_kind))


def envelope_bands(root: Path, experiment: Experiment, record: Record) -> Callable[[str], int] | None:
    """Per column, the band the covered classes' goldens span (``envelope.column_bands``) where this
    run's verdicts are the envelope's (``portable``); None where they are exact."""
    if not portable(root, record.device_kind):
        return None
    return _envelope(root, experiment, record, load(root, experiment, record.device_kind))[0]


def _envelope(root: Path, experiment: Experiment, record: Record,
              stored: Golden) -> tuple[Callable[[str], int], list[Record]]:
    classes = envelope.class_records(root, experiment, record.device_kind, _covered(root, record.device_kind),
                                     record.mode)
    held = scoped(experiment, stored.record(experiment.name, record.device_kind, record.mode), record.span,
                  stored.span)
    others = [scoped(experiment, r, record.span, stored.span) for r in classes.values()]
    return (envelope.column_bands(experiment, held, others, moved_elsewhere(root, experiment, record.device_kind,
                                                                            record.mode)),
            list(classes.values()))


def moved_elsewhere(root: Path, experiment: Experiment, kind: str, mode: str) -> dict[str, float]:
    """Per column, the farthest a covered class moved it on another CPU model than the goldens' (in
    ``mode``, as measured: harness.store.spread)."""
    columns = experiment.table_columns()
    return spread.farthest([spread.read(root, kind, key, experiment.name, columns) for key in _covered(root, kind)],
                           mode)


def agreement(root: Path, experiment: Experiment, record: Record) -> Comparison:
    """A run in another execution mode against the eager golden, bit for bit."""
    return against(load(root, experiment, record.device_kind), experiment, record, exact=True)


# A run in another execution mode against the eager golden, bit for bit:
# identical, or differing as the experiment declares (the same first epoch and largest
# distance), are what is expected; the rest is news.
ModeVerdict = Literal["identical", "declared", "envelope", "NOW IDENTICAL", "CHANGED", "DIFFERS"]
EXPECTED_MODE_VERDICTS = ("identical", "declared", "envelope")


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
    # A mode judged by the envelope of the covered classes: that envelope, in words.
    envelope: str = ""

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


def judge_mode(root: Path, experiment: Experiment, record: Record) -> Result:
    """A run in another execution mode against its reference golden, bit for bit, and against what
    is declared for that mode (``declared_mode``); a prefix (its span), against what the
    declaration says of its epochs."""
    try:
        declared = declared_mode(root, experiment, record.device_kind, record.mode)
        comparison = agreement(root, experiment, record)
    except GoldenError as exc:
        return Result(record, None, exc, declared=experiment.mode_difference(record.mode), as_written=False)
    first, largest = signature(experiment, comparison)
    departed = (first, largest, first_nan(experiment, record))
    through, ended = (None, True) if record.span.whole else reached(experiment, record)
    measured = None if comparison.status == "identical" or first is None else (first, largest, departed[2])
    verdict = (mode_verdict(None, declared, through, ended) if comparison.status == "identical"
               # A structure or scalar that differs, or a table that cannot be compared: never declared.
               else "DIFFERS" if comparison.problems or comparison.lacking or measured is None
               else mode_verdict(measured, declared, through, ended))
    if verdict not in EXPECTED_MODE_VERDICTS and portable(root, record.device_kind):
        # This class's own run in the mode is not measured: the departure from the held class's reference
        # golden holds its kernels' difference as well as the mode's (iris_sgd's function mode leaving
        # AVX2 out: 80 ULP from epoch 0, where every class's function mode is identical to its eager run).
        judged, found = mode_in_envelope(root, experiment, record)
        if judged.status != "fail":
            verdict = "envelope"
        return Result(record, judged, mode_verdict=verdict, declared=declared, departed=departed, as_written=False,
                      envelope=found.describe())
    return Result(record, comparison, mode_verdict=verdict, declared=declared, departed=departed, as_written=False)


def mode_in_envelope(root: Path, experiment: Experiment, record: Record) -> tuple[Comparison, envelope.ModeEnvelope]:
    """A run in another mode on a class the goldens do not reproduce, against the reference golden by
    the envelope's rules, each column widened to what the classes' runs in that mode measured."""
    stored = load(root, experiment, record.device_kind)
    bands, classes = _envelope(root, experiment, record, stored)
    found = mode_classes(root, experiment, record.device_kind, record.mode)
    return against(stored, experiment, record, tolerance=lambda column: max(bands(column), found.band),
                   alternatives=classes, diverged=divergences(root, experiment, record.device_kind)), found


def divergences(root: Path, experiment: Experiment, kind: str) -> list[int]:
    """The epochs of the first NaN every covered class measured in every mode but the reference: its
    own measurement where the goldens hold one, else the experiment's declaration."""
    from harness import modes

    found = []
    for key in _covered(root, kind):
        own = golden.read_mode_signatures(root, kind, key, experiment.name)
        for m in modes.of(experiment):
            declared = experiment.mode_difference(m)
            signature = own.get(m, declared.signature if declared else None)
            if signature is not None and signature[2] is not None:
                found.append(signature[2])
    return found


def mode_classes(root: Path, experiment: Experiment, kind: str, mode: str) -> envelope.ModeEnvelope:
    """The envelope of a mode's departure over every covered class and the modes that round as it
    does (XLA's two, Grappler's two): each class's own measurement where the goldens hold one,
    else the experiment's declaration (measured on the base)."""
    from harness import modes

    signatures = []
    for key in _covered(root, kind):
        own = golden.read_mode_signatures(root, kind, key, experiment.name)
        for m in modes.alike(mode):
            declared = experiment.mode_difference(m)
            signatures.append(own.get(m, declared.signature if declared else None))
    return envelope.mode_envelope(signatures)


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
        "envelope": f"within the envelope ({measured}; {result.envelope}; {said} on this class)",
        "NOW IDENTICAL": f"NOW IDENTICAL ({said}: remove the declaration)",
        "CHANGED": f"CHANGED: {measured}; {said}",
        "DIFFERS": f"DIFFERS ({measured}; {said})",
    }[result.mode_verdict]


def kernel_goldens(root: Path, experiment: Experiment, kind: str, every: bool = False) -> list[ledger.KernelGolden]:
    """What a printed number or a claim may answer under this process's kernels besides the
    declarations (made on the base class): under a covered class other than the base, that class's
    golden; ``every``: every covered class's (where verdicts are the envelope's); else none."""
    covered = coverage(root, kind)
    if covered is None:
        return []
    if every:
        return [ledger.KernelGolden(key, record)
                for key, record in envelope.class_records(root, experiment, kind, _covered(root, kind)).items()]
    if not covered.known or covered.kernel_class == covered.base:
        return []
    return [ledger.KernelGolden(covered.kernel_class, load(root, experiment, kind).record(experiment.name, kind))]


def ledger_checks(root: Path, experiment: Experiment, record: Record, others: Mapping[str, Record] | None = None
                  ) -> tuple[list[ledger.PrintedCheck], list[ledger.ClaimCheck]]:
    """The printed numbers and the claims (those whose runs are at hand) against a run: as its class's
    golden answers them; where verdicts are the envelope's (``portable``), one that fails so is asked
    again of every covered class's golden (read only then, as the envelope of the goldens is)."""
    kind = record.device_kind
    held = kernel_goldens(root, experiment, kind)
    widened = portable(root, kind)  # the manifest, read once
    every = functools.cache(functools.partial(kernel_goldens, root, experiment, kind, every=True))

    def answered(check: Callable[[list[ledger.KernelGolden]], Checked]) -> Checked:
        found = check(held)
        return found if found.ok or not widened else check(every())

    printed = [answered(functools.partial(ledger.check_printed, experiment, p, record)) for p in experiment.printed]
    claims = [answered(functools.partial(ledger.check_claim, experiment, c, record, others))
              for c in experiment.claims if all(n in (others or {}) for n in c.needs)]
    return printed, claims


def judge(root: Path, experiment: Experiment, record: Record,
          others: Mapping[str, Record] | None = None) -> Result:
    """The record against its golden, its printed numbers and its claims. A prefix of a run (its
    span) is held to its golden's rows only: the printed numbers and the claims are the whole
    run's."""
    try:
        comparison, error = verify(root, experiment, record), None
    except GoldenError as exc:
        comparison, error = None, exc
    if not record.span.whole or (comparison is not None and comparison.lacking):
        # The printed numbers and the claims are the whole program's: a part of it, or a run that
        # lacks some of what it was asked to make, cannot answer them.
        return Result(record, comparison, error)
    try:
        printed, claims = ledger_checks(root, experiment, record, others)
    except GoldenError as exc:
        # A golden that cannot be read (the one ``error`` names, or another class's the envelope
        # needed): the declarations alone, and the error.
        printed, claims = ledger.printed_checks(experiment, record), ledger.claim_checks(experiment, record, others)
        error = error or exc
    return Result(record, comparison, error, printed, claims)
