"""The experiments of the notes, each with what the notes print and its tolerance.

An experiment is declared next to its code (``harness/experiments/``) with
everything needed to judge it: the numbers the notes print, the claims they
make, and the tolerance policy with the reason for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import UnknownName

if TYPE_CHECKING:
    from harness.record import Outcome, Record
    from harness.training import Training


@dataclass(frozen=True)
class Tolerance:
    """How far a trajectory column may move from its golden, in float32 ULPs.

    Scalars (initial weights, dtypes, shapes, single-op results) are always
    compared exactly: they come from one deterministic op, not from a long
    chain of roundings.
    """

    ulps: int
    why: str

    def __post_init__(self) -> None:
        if self.ulps < 0:
            raise ValueError(f"a tolerance is a non-negative number of ULPs, got {self.ulps}")


EXACT = Tolerance(0, "single deterministic ops: any change of a bit is a change of behaviour")


@dataclass(frozen=True)
class Printed:
    """A number the notes print, as printed, and where a record holds it."""

    where: str
    text: str
    locate: Callable[[Record], float]
    # Empty when the number is expected to reproduce; otherwise why it does not.
    known_difference: str = ""


@dataclass(frozen=True)
class Claim:
    """A qualitative statement of the notes that must hold whatever the digits."""

    text: str
    holds: Callable[[Record], bool]


@dataclass(frozen=True)
class Experiment:
    name: str
    section: str
    summary: str
    # A one-shot computation, or ...
    fn: Callable[[], Outcome] | None = None
    # ... a training loop of the notes, which runs in every execution mode.
    training: Training | None = None
    tolerance: Tolerance = EXACT
    printed: tuple[Printed, ...] = ()
    claims: tuple[Claim, ...] = ()
    # Renders a record as the notes print it (``python -m harness run``).
    render: Callable[[Record], str] | None = None

    def __post_init__(self) -> None:
        if (self.fn is None) == (self.training is None):
            raise ValueError(f"experiment {self.name!r} needs either fn or training, not both")

    @property
    def trains(self) -> bool:
        return self.training is not None

    @property
    def epochs(self) -> int | None:
        """The notes' epoch count for a training experiment."""
        return self.training.epochs if self.training else None


_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    if experiment.name in _REGISTRY:
        raise ValueError(f"experiment {experiment.name!r} is registered twice")
    _REGISTRY[experiment.name] = experiment
    return experiment


def all_experiments() -> list[Experiment]:
    """Every experiment, in the order of the notes."""
    _load()
    return list(_REGISTRY.values())


def training_experiments() -> list[Experiment]:
    """The experiments with a training loop: those that run in every execution mode."""
    return [e for e in all_experiments() if e.trains]


def get(name: str) -> Experiment:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownName("experiment", name, _REGISTRY) from None


def select(names: Iterable[str] | None) -> list[Experiment]:
    """The named experiments (all when none are named), failing on the first unknown name."""
    names = list(names or [])
    return [get(n) for n in names] if names else all_experiments()


def _load() -> None:
    # Importing the package registers its experiments, in the order of the notes.
    import harness.experiments  # noqa: F401
