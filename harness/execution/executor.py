"""What a run asks of a program's kind and what the kind gives back: the one interface between
``run`` and the executor each kind names (``Program.executor``), so that ``run`` never asks
which kind it runs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from harness.experiments.declare import Outcome, Program
from harness.span import Span


@dataclass(frozen=True)
class Asked:
    """One run as ``run`` resolved it: the mode's name, the span and the counts that make it."""

    name: str
    mode: str
    span: Span
    epochs: int | None
    batches: int | None
    # The golden's ``<variable>_initial`` scalars: a run that drew other weights stops before it trains.
    expected_initial: dict[str, Any] | None
    # Whether the loop is also timed in its steady state (the benchmarks).
    timed: bool
    # Deterministic switches on, a fresh random state, every op on the device: entered by the
    # executor once the kind's own preparation (that draws nothing) is done.
    pinned: Callable[[], AbstractContextManager[None]]


@dataclass(frozen=True)
class Executed:
    """A run's outcome; for a timed run, the timed call's outcome, its seconds and steps."""

    outcome: Outcome
    again: Outcome | None = None
    seconds: float = 0.0
    steps: int = 0


Executor = Callable[[Any, Asked], Executed]


def of(program: Program) -> Executor:
    """The function that runs ``program``'s kind, from the name the kind gives."""
    module, _, function = program.executor.partition(":")
    found: Executor = getattr(importlib.import_module(module), function)
    return found
