"""The second kind of training experiment: a Keras model trained with ``fit``, as the course's
chapters 3 to 6 write it (``Sequential`` or a subclassed ``Model``, ``compile``, ``fit``).

A declaration holds the program's lines: its data, its model, its ``compile`` and ``fit``
arguments. The harness adds a recording callback and nothing else
(``harness.execution.fit``). A line the course wrote that raises on today's Keras (``SGD(lr=0.1)``:
Keras 3 knows only ``learning_rate``) is declared as written and adapted (``Line``): the run
tries the line as written, records what it did on this release, and runs the adapted line
where it raised, so both facts are in the record.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.record import flat_names


@dataclass(frozen=True)
class Line:
    """A line of the program as the course writes it, and the fewest changes that make it run
    where it raises (an expression, evaluated with ``tf`` in scope)."""

    written: str
    adapted: str
    why: str


@dataclass(frozen=True)
class Fit:
    """What a Keras program does, as it writes it."""

    # The program's data lines: (x_train, y_train) for ``fit``, and its validation_data where
    # it gives one.
    data: Callable[[], tuple[Any, ...]]
    # Its model, built as the program builds it (a Sequential, or the subclass).
    model: Callable[[], Any]
    # Its ``compile`` arguments; ``line`` gives the value of a declared ``Line``.
    compile: Callable[[Callable[[Line], Any]], dict[str, Any]]
    # Its ``fit`` arguments (batch_size, epochs, validation_split, validation_freq ...).
    fit: dict[str, Any]
    # What ``fit`` reports per epoch (``loss`` and the metrics), and its trainable variables by
    # the columns they record (``<layer>_<variable>``) with their shapes.
    metrics: tuple[str, ...]
    variables: dict[str, tuple[int, ...]]
    # The lines that raise on some release, as written and adapted.
    lines: tuple[Line, ...] = ()
    # The batches the default test run trains (whole runs: ``python -m harness check``); its
    # rows are compared with the whole run's golden.
    prefix: int = 1
    # Within the first epoch, the running values ``fit`` reports every N batches (so that a
    # prefix shorter than an epoch has rows to compare); None: none.
    batch_every: int | None = None
    # A whole run's seconds on this project's 2-core machine (the pool gives long runs a process).
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return int(self.fit["epochs"])

    @property
    def validation_freq(self) -> int:
        return int(self.fit.get("validation_freq", 1))

    def column_names(self) -> list[str]:
        """Per epoch: what ``fit`` reports on the training data."""
        return ["epoch", *self.metrics]

    def batch_names(self) -> list[str]:
        """Within the first epoch, every ``batch_every`` batches (the row's label is the batch)."""
        return ["epoch", *self.metrics] if self.batch_every else []

    def checkpoint_names(self) -> list[str]:
        """At each validation epoch: the validation values and every weight (a large one as its digest)."""
        weights = [c for name, shape in self.variables.items() for c in weight_columns(name, shape)]
        return ["epoch", *(f"val_{m}" for m in self.metrics), *weights]

    def checkpoint_epochs(self, epochs: int) -> list[int]:
        """The epochs (as Keras counts them, from 1) a run of ``epochs`` records weights at:
        those ``fit`` validates at."""
        return list(range(self.validation_freq, epochs + 1, self.validation_freq))

    def problems(self) -> list[str]:
        """What is inconsistent in this declaration (empty when nothing is)."""
        found = []
        if self.prefix < 1:
            found.append(f"its prefix of {self.prefix} batches trains nothing")
        if self.epochs % self.validation_freq:
            found.append(f"trains {self.epochs} epochs, validating every {self.validation_freq}: its last "
                         "epoch's weights would not be recorded")
        return found


# The scalar that holds, per validation epoch, the SHA-256 of each variable's bits: what a
# digest's columns cannot say (a prefix of the run is held to the epochs it reached).
WEIGHTS_SHA256 = "weights_sha256"
# A variable of up to this many elements is recorded in full; a larger one as its digest.
IN_FULL = 64
# The elements of a digest's sample: this many, evenly spaced over the flattened variable.
SAMPLE = 8


def sample_indices(size: int) -> list[int]:
    return sorted({round(i * (size - 1) / (SAMPLE - 1)) for i in range(SAMPLE)})


def weight_columns(name: str, shape: tuple[int, ...]) -> list[str]:
    """A variable's columns: every element (``dense_kernel_0`` ..), or for a large one its digest:
    sum, L2 norm, min, max and a fixed sample of elements (``dense_kernel_at0`` ..); the SHA-256
    of its bits is a scalar, so that identical stays exact."""
    size = math.prod(shape)
    if size <= IN_FULL:
        return flat_names(name, shape)
    return [f"{name}_{s}" for s in ("sum", "l2", "min", "max")] + [f"{name}_at{i}" for i in sample_indices(size)]
