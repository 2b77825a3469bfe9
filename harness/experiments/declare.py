"""What an experiment is: its code, where it comes from, what its source prints and claims,
and how far a run may move from its golden.

An experiment is declared next to its code (``harness/experiments/note/``,
``harness/experiments/course/``) with everything needed to judge it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol

from harness.span import WHOLE, Span, Tier

if TYPE_CHECKING:
    from harness.experiments.keras import Fit
    from harness.experiments.training import ModeDifference, Training
    from harness.record import Record

NOTE: Final = "note"
COURSE: Final = "course"


@dataclass(frozen=True, order=True)
class Section:
    """A section of the note or of the course, as ``python -m harness list`` groups them."""

    source: Literal["note", "course"]
    chapter: str
    number: str
    title: str

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip()

    @property
    def cite(self) -> str:
        """``the note, 2.4`` / ``the course, 1.3``: where a printed number comes from."""
        return f"the {self.source}, {self.number or self.title}"


def band_for(largest: float) -> int:
    """The one rule of the bands: the smallest power of two at least twice the largest
    rounding-only change measured (0 where nothing moved)."""
    return 0 if largest <= 0 else 1 << math.ceil(math.log2(2 * largest))


# What moves a run by float32 rounding only, as a band's measurements name it (exact arithmetic,
# the float64 oracle, is reported beside them: another precision, not another float32 order).
ROUNDING = {
    "oracle": "another float32 evaluation order (the NumPy oracle)",
    "xla": "XLA's kernels (modes xla, fused_xla)",
    "grappler": "Grappler's rewrites (modes function, fused)",
}


@dataclass(frozen=True)
class Tolerance:
    """How far a table column may move from its golden, in float32 ULPs.

    Scalars (initial weights, dtypes, shapes, single-op results) are always
    compared exactly: they come from one deterministic op, not from a long
    chain of roundings. A band (``rounding``) is derived from its measurements by
    ``band_for``; ``python -m harness.report.bands`` measures them again.
    """

    ulps: int
    why: str
    # The optimizer's state (momentum, squared gradients), when it needs a band of its own:
    # moments near zero count many ULPs for a rounding that moves the weights by few.
    state_ulps: int | None = None
    # A band's measurements on the goldens' TensorFlow and kernel class: source -> ULPs.
    measured: tuple[tuple[str, int], ...] = ()
    state_measured: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.ulps < 0 or (self.state_ulps or 0) < 0:
            raise ValueError(f"a tolerance is a non-negative number of ULPs, got {self.ulps}")
        unknown = [s for s, _ in self.measured + self.state_measured if s not in ROUNDING]
        if unknown:
            raise ValueError(f"unknown rounding-only sources {unknown}: the sources are {list(ROUNDING)}")
        for band, found, what in ((self.ulps, self.measured, "band"), (self.state_ulps, self.state_measured,
                                                                    "state band")):
            if found and band != band_for(max(n for _, n in found)):
                raise ValueError(f"a {what} of {band} ULP is not the rule's for its measurements {dict(found)}: "
                                 f"band_for gives {band_for(max(n for _, n in found))} (Tolerance.rounding)")

    @classmethod
    def rounding(cls, measured: dict[str, int], state: dict[str, int] | None = None, note: str = "") -> Tolerance:
        """A band from what moved the values (and the optimizer's state) by rounding only
        (``python -m harness.report.bands`` measures each figure again)."""
        state = state or {}

        def said(found: dict[str, int]) -> str:
            return ", ".join(f"{ROUNDING[s]} {n}" for s, n in sorted(found.items(), key=lambda x: -x[1]))

        why = (f"rounding only, measured on the goldens' TensorFlow: {said(measured)} ULP"
               + (f"; the optimizer's state: {said(state)}" if state else "") + (f" ({note})" if note else "")
               + "; a learning rate 0.1% off moves the final weights far beyond (python -m harness.report.bands)")
        return cls(band_for(max(measured.values())), why, band_for(max(state.values())) if state else None,
                   tuple(sorted(measured.items())), tuple(sorted(state.items())))


EXACT = Tolerance(0, "single deterministic ops: any change of a bit is a change of behaviour")

Precision = Literal["float32", "float64", "exact"]
# How the program printed a number: as NumPy and TensorFlow print array elements (the
# shortest digits that identify the value, at most 8 decimals: ``1.``), as they print a
# 0-d value (``str`` of the NumPy scalar: ``1.0``), with a fixed number of decimals
# (``%f``, a hand-rounded 0.511), or as Python's repr of a float.
Style = Literal["numpy", "scalar", "fixed", "repr"]


@dataclass(frozen=True)
class Printed:
    """A number (or a dtype, a shape) the note or the course prints, as printed, and where
    a record holds it.

    Exactly one of the last three fields may say why the printed text is not expected to
    match: a measured non-reproduction (``known_difference``), an output its code as
    written cannot give (``impossible``), or a value no run can give again
    (``not_comparable``: unseeded draws, wall-clock times).
    """

    where: str
    text: str
    locate: Callable[[Record], Any]
    source: Section
    # float32 / float64: a number printed to some digits, its distance counted in ULPs of
    # that precision; exact: integers and text (dtypes, shapes), compared as printed.
    precision: Precision = "float32"
    style: Style = "numpy"
    known_difference: str = ""
    impossible: str = ""
    not_comparable: str = ""

    def __post_init__(self) -> None:
        reasons = [r for r in (self.known_difference, self.impossible, self.not_comparable) if r]
        if len(reasons) > 1:
            raise ValueError(f"{self.where}: give one reason it does not match, not {len(reasons)}")


@dataclass(frozen=True)
class Claim:
    """A qualitative statement of the note or the course that must hold whatever the digits.

    ``needs`` names other experiments whose records the claim compares with (the L2 run's
    weights against the free run's); ``holds`` then takes their records after its own.
    """

    text: str
    holds: Callable[..., bool]
    source: Section | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotRunnable:
    """A program of the course the harness lists but cannot run, and why (``python -m harness list``)."""

    name: str
    section: Section
    summary: str
    why: str
    # "not runnable" (it needs what is not here), or "not run separately" (another experiment
    # runs its lines).
    status: str = "not runnable"


class Program(Protocol):
    """What the judge, the runner and the reports ask of a program, whatever its kind (a one-shot
    computation: ``OneShot``, a GradientTape loop: ``Training``, a Keras fit: ``Fit``). Code outside
    the kind modules asks these, never which kind it has: a new kind is a new module that answers them."""

    # The function of the execution layer that runs this kind (``module:function``), named and not
    # imported, so that a declaration does not reach up into the layer that runs it.
    executor: ClassVar[str]
    # Whether it runs in every execution mode (a one-shot computation runs as written only).
    runs_in_modes: ClassVar[bool]
    # Whether the benchmarks time its loop (pytest-benchmark, ``run_and_time``).
    timed: ClassVar[bool]
    # Whether every execution mode runs it whole where its goldens are written: each kernel class
    # signs its mode runs, and the determinism matrix runs it in every mode.
    whole_in_every_mode: ClassVar[bool]

    @property
    def reference_mode(self) -> str: ...
    @property
    def after_scalars(self) -> tuple[str, ...]: ...
    @property
    def known_mode_differences(self) -> tuple[ModeDifference, ...]: ...
    @property
    def epochs(self) -> int: ...
    def describe(self) -> str: ...
    def part(self, span: Span) -> str: ...
    def span(self, epochs: int | None = None, batches: int | None = None) -> Span: ...
    def default_span(self, tier: Tier) -> Span: ...
    def epoch_number(self, table: str, label: int) -> int: ...
    def runs_after(self, span: Span, mode: str) -> bool: ...
    def unrecorded(self, record: Record) -> list[str]: ...
    def cut(self, record: Record, span: Span) -> Record: ...
    def require_data(self) -> None: ...
    def cost(self, span: Span, mode: str) -> float: ...
    def mode_cannot_depart(self, mode: str) -> str | None: ...
    def modes_left_to_whole(self) -> str | None: ...


@dataclass(frozen=True)
class OneShot:
    """A one-shot computation: no epochs, no rows; a run of it is always the whole program."""

    fn: Callable[[], Outcome]
    executor: ClassVar[str] = "harness.execution.run:one_shot"
    runs_in_modes: ClassVar[bool] = False
    timed: ClassVar[bool] = False
    whole_in_every_mode: ClassVar[bool] = False
    reference_mode: ClassVar[str] = "eager"
    after_scalars: ClassVar[tuple[str, ...]] = ()
    known_mode_differences: ClassVar[tuple[ModeDifference, ...]] = ()
    epochs: ClassVar[int] = 0

    def describe(self) -> str:
        return "one-shot"

    def part(self, span: Span) -> str:
        return str(span)

    def span(self, epochs: int | None = None, batches: int | None = None) -> Span:
        if epochs is not None or batches is not None:
            raise ValueError("a one-shot computation has no epochs or batches to shorten")
        return WHOLE

    def default_span(self, tier: Tier) -> Span:
        return WHOLE

    def epoch_number(self, table: str, label: int) -> int:
        return label

    def runs_after(self, span: Span, mode: str) -> bool:
        return False

    def unrecorded(self, record: Record) -> list[str]:
        return []

    def cut(self, record: Record, span: Span) -> Record:
        if not span.whole:
            raise ValueError("a one-shot computation cannot be cut")
        return record

    def require_data(self) -> None:
        """Nothing to check before: a one-shot program that loads a dataset stops saying so when it runs."""

    def cost(self, span: Span, mode: str) -> float:
        """Nothing worth a process of its own."""
        return 0.0

    def mode_cannot_depart(self, mode: str) -> str | None:
        return None

    def modes_left_to_whole(self) -> str | None:
        return None


@dataclass(frozen=True)
class Experiment:
    name: str
    section: Section
    summary: str
    # A one-shot computation, or ...
    fn: Callable[[], Outcome] | None = None
    # ... a training loop, which runs in every execution mode, or ...
    training: Training | None = None
    # ... a Keras model trained with fit (chapters 3 to 6).
    fit: Fit | None = None
    tolerance: Tolerance = EXACT
    printed: tuple[Printed, ...] = ()
    claims: tuple[Claim, ...] = ()
    # Renders a record as the program prints it (``python -m harness run``).
    render: Callable[[Record], str] | None = None
    # False for a plain Python or NumPy program: it runs on the host whatever device is
    # selected, so where TensorFlow placed it is not checked.
    on_device: bool = True
    # Experiments whose claims compare them share a group: their runs stay in one
    # pytest-xdist worker, so that each is made once (the Keras programs on MNIST and
    # Fashion-MNIST share one too: the data loads once, and two never run side by side).
    group: str = ""
    # The experiment whose training this one repeats, bit for bit (chapter 4 adds callbacks and
    # code around chapter 3's fit): a claim of its whole run says so, and the default tests judge
    # the execution modes of the one it repeats.
    trains_as: str = ""

    def __post_init__(self) -> None:
        if [self.fn, self.training, self.fit].count(None) != 2:
            raise ValueError(f"experiment {self.name!r} needs one of fn, training and fit")

    @property
    def runs_in_modes(self) -> bool:
        return self.program.runs_in_modes

    @property
    def program(self) -> Program:
        """The program, behind the interface every kind gives."""
        if self.training is not None:
            return self.training
        return self.fit if self.fit is not None else OneShot(self.fn)  # type: ignore[arg-type]

    @property
    def known_mode_differences(self) -> tuple[ModeDifference, ...]:
        return self.program.known_mode_differences

    def span_for(self, tier: Tier, whole: bool = False, epochs: int | None = None) -> Span:
        """The one rule of what a run of this experiment makes, for the tests, ``check`` (and the
        commands that run as it does) and the reports: ``--whole`` the whole program, ``--epochs``
        its first epochs (a GradientTape loop's), else the tier's default (a long Keras program's
        declared prefix)."""
        if epochs is not None and self.epochs is not None:
            return self.program.span(epochs=epochs)
        return WHOLE if whole else self.program.default_span(tier)

    def mode_difference(self, mode: str) -> ModeDifference | None:
        return next((d for d in self.known_mode_differences if d.mode == mode), None)

    def epoch_of(self, table: str, label: int) -> int:
        """The epoch a row of a table lies in (a Keras batch row is labelled by its batch)."""
        return self.fit.epoch_of(table, label) if self.fit else label

    def ends_epoch(self, table: str, label: int) -> bool:
        return self.fit.ends_epoch(table, label) if self.fit else True

    @property
    def epochs(self) -> int | None:
        """The program's epoch count, for a training loop or a Keras fit (None for the others)."""
        return self.training.epochs if self.training else self.fit.epochs if self.fit else None

    @property
    def after_scalars(self) -> tuple[str, ...]:
        """The scalars of the program's code after its training (a whole run's only)."""
        return self.program.after_scalars

    def tolerance_for(self, column: str) -> int:
        """The ULPs a column may move: the state band for the update rule's state, if declared."""
        if self.training is not None and self.tolerance.state_ulps is not None and self.training.is_state(column):
            return self.tolerance.state_ulps
        return self.tolerance.ulps

    def table_columns(self) -> dict[str, list[str]]:
        """The tables a run of this experiment records (and its goldens hold), with their columns."""
        if self.fit is not None:
            found = {"columns": self.fit.column_names(), "validation": self.fit.validation_names(),
                     "checkpoints": self.fit.checkpoint_names(), "batches": self.fit.batch_names()}
            return {name: columns for name, columns in found.items() if columns}
        if self.training is None:
            return {}
        found = {"columns": self.training.column_names()}
        if self.training.checkpoints is not None:
            found["checkpoints"] = self.training.checkpoint_names()
        return found

    @property
    def run_group(self) -> str:
        return self.group or self.name


@dataclass(frozen=True)
class Outcome:
    """What an experiment returns: its values and where TensorFlow placed them."""

    columns: dict[str, list[Any]]
    scalars: dict[str, Any]
    placement: str
    checkpoints: dict[str, list[Any]] = field(default_factory=dict)
    batches: dict[str, list[Any]] = field(default_factory=dict)
    validation: dict[str, list[Any]] = field(default_factory=dict)


def with_printed(experiment: Experiment, printed: tuple[Printed, ...],
                 claims: tuple[Claim, ...] = ()) -> Experiment:
    """The experiment with more printed numbers and claims (another source printing the same run)."""
    from dataclasses import replace

    return replace(experiment, printed=experiment.printed + printed, claims=experiment.claims + claims)

