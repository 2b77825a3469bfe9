"""What a training experiment is made of, as the note and the course write it.

Every training program of the note and the course is the same loop: for each epoch,
for each batch of its data, a GradientTape around the program's lines, the gradients
of the loss with respect to its variables, and an update rule; then what the program
prints for that epoch. A ``Training`` declares the parts that differ:

- ``setup``: the program's data and variables, drawn with its seeds (a tensor, or
  ``tf.data`` batches as the iris and regularization scripts make them);
- ``tape``: the lines inside its GradientTape, called as ``tape(*batch, **variables)``;
- ``update``: its update rule with its state (``harness.experiments.rules``);
- ``lr``: a constant, or a schedule of the epoch;
- ``prints``: the values it prints, and ``print_every``;
- ``checkpoints``: when the weights and the optimizer state are recorded besides;
- ``after``: what the program computes from the trained weights (the prediction grid).

The loop itself, in each execution mode, is ``harness.execution``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from harness.record import Record, flat_names
from harness.span import WHOLE, Span, Tier


@dataclass(frozen=True)
class Setup:
    """What a program's set-up made: its variables (in the order it differentiates them),
    its training data, and its test data when it has any."""

    variables: dict[str, Any]
    # A tf.data.Dataset of batches, or one batch: a tuple of inputs.
    train: Any
    test: Any = None

    def batches(self) -> Iterable[tuple[Any, ...]]:
        """The training batches, as the program iterates them."""
        return [self.train] if isinstance(self.train, tuple) else self.train


# --- what a program prints per epoch ------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """A variable's value, flattened row-major (``w1_0``, ``w1_1``; a scalar keeps its name)."""

    variable: str


@dataclass(frozen=True)
class StepLoss:
    """The loss of the epoch's last step, as the program prints ``loss`` after its loop."""

    name: str = "loss"


@dataclass(frozen=True)
class MeanBatchLoss:
    """``loss_all / 4``: the batch losses of the epoch summed as the program sums them
    (``loss_all += loss.numpy()``), divided by the number of batches."""

    name: str = "loss"


@dataclass(frozen=True)
class LearningRate:
    """The epoch's learning rate, as the program computes it (Python float)."""

    name: str = "lr"


@dataclass(frozen=True)
class TestAccuracy:
    """``total_correct / total_number`` over the test batches, with the weights after the epoch.

    ``count_correct(x_test, y_test, **variables)`` is the program's test lines up to
    ``correct = tf.reduce_sum(correct)``.
    """

    count_correct: Callable[..., Any]
    name: str = "test_acc"


Column = Weights | StepLoss | MeanBatchLoss | LearningRate | TestAccuracy


@dataclass(frozen=True)
class UpdateRule:
    """How gradients become new weights, as the course writes it for one variable.

    ``step(w, g, lr, *moments, global_step=...)`` assigns to ``w`` and returns the new
    moments. Per-variable state is named as the course names it, ``m_w`` for the ``m`` of
    ``w1``: the moment, then the variable's name without its trailing digits.
    """

    name: str
    variables: tuple[str, ...]
    step: Callable[..., tuple[Any, ...]]
    moments: tuple[str, ...] = ()
    counts_steps: bool = False

    def state_names(self) -> list[str]:
        names = [f"{m}_{v.rstrip('0123456789')}" for m in self.moments for v in self.variables]
        return names + (["global_step"] if self.counts_steps else [])

    def moment_names(self, variable: str) -> list[str]:
        stem = variable.rstrip("0123456789")
        return [f"{m}_{stem}" for m in self.moments]


@dataclass(frozen=True)
class ModeDifference:
    """An execution mode that does not reproduce the eager run bit for bit, as measured on the
    goldens' TensorFlow: the first epoch at which any recorded value differs, the largest
    distance (float32 ULPs, every table), and why. A later run that differs otherwise, or
    not at all, is news: ``harness.judge.verdict.judge_mode``."""

    mode: str
    first_epoch: int
    max_ulp: float
    why: str
    # The epoch of the mode's first NaN or infinity (None: it has none). Where the mode turns to
    # NaN at another epoch than eager, the distance is infinite: the epoch is what bounds it.
    diverges_at: int | None = None

    def __post_init__(self) -> None:
        if math.isinf(self.max_ulp) and self.diverges_at is None:
            raise ValueError(f"mode {self.mode}: an infinite distance accepts any run that turns to NaN "
                             "anywhere; declare the epoch of its first NaN (diverges_at)")

    @property
    def signature(self) -> tuple[int, float, int | None]:
        return self.first_epoch, self.max_ulp, self.diverges_at


def differing(why: str, **measured: tuple[int, float] | tuple[int, float, int]) -> tuple[ModeDifference, ...]:
    """``mode=(first_epoch, max_ulp)``, or ``(first_epoch, max_ulp, diverges_at)`` for a mode
    that turns to NaN, for each mode that differs for the same reason."""
    return tuple(ModeDifference(mode, m[0], m[1], why, m[2] if len(m) == 3 else None)
                 for mode, m in measured.items())


# The two causes measured on TF 2.21 (CPU) for the programs here.
XLA = ("XLA compiles the step into fused kernels of its own, which sum the batch's reductions in "
       "another order than TensorFlow's kernels (for the note's MSE, the 32 squared errors)")
GRAPPLER = ("Grappler's arithmetic optimizer rewrites the graph's lr * g / tf.sqrt(v) into other "
            "float32 operations: with tf.config.optimizer.set_experimental_options("
            "{'arithmetic_optimization': False}) both graph modes are bit-identical to eager")


@dataclass(frozen=True)
class Training:
    setup: Callable[[], Setup]
    # The program's variables and their shapes, in the order it differentiates them
    # (``[w1, b1]``); the set-up must make exactly these.
    variables: dict[str, tuple[int, ...]]
    tape: Callable[..., Any]
    update: UpdateRule
    lr: float | Callable[[int], float]
    epochs: int
    prints: tuple[Column, ...]
    # The program prints when epoch % print_every == 0 (and this project adds the last epoch).
    print_every: int = 1
    # The weights and optimizer state are recorded every N epochs and at the last, at the
    # last only ("end"), or not beyond what the program prints (None).
    checkpoints: int | Literal["end"] | None = None
    # What the program computes from its trained weights, after its loop: more scalars of the
    # record, with these names. It is the same eager code in every mode, so it runs (and is
    # judged) in the reference mode only.
    after: Callable[[Setup], dict[str, Any]] | None = None
    after_scalars: tuple[str, ...] = ()
    # Modes known not to reproduce the eager run bit for bit, with what was measured.
    known_mode_differences: tuple[ModeDifference, ...] = ()
    # The execution mode the program is written in (harness.modes): its golden's.
    reference_mode: ClassVar[str] = "eager"
    executor: ClassVar[str] = "harness.execution.loops:execute"
    runs_in_modes: ClassVar[bool] = True
    timed: ClassVar[bool] = True
    whole_in_every_mode: ClassVar[bool] = True

    def describe(self) -> str:
        return "trains"

    def part(self, span: Span) -> str:
        return str(span) if span.whole else f"{span.count:,} of {self.epochs:,} epochs"

    def cost(self, span: Span, mode: str) -> float:
        """Its epochs, in steps of an eager loop (a compiled mode's: a tenth of that)."""
        epochs = span.count if span.unit == "epochs" else self.epochs
        return float(epochs) * (1.0 if mode == self.reference_mode else 0.1)

    def mode_cannot_depart(self, mode: str) -> str | None:
        """Every mode builds another loop: each can depart from the eager run."""
        return None

    def modes_left_to_whole(self) -> str | None:
        """The default tier runs every loop whole, in every mode."""
        return None

    def span(self, epochs: int | None = None, batches: int | None = None) -> Span:
        """What a run asked for ``epochs`` makes: the program's first epochs, or the whole
        program when the count reaches its own."""
        if batches is not None:
            raise ValueError("a GradientTape loop is shortened in epochs, not batches")
        return WHOLE if epochs is None or epochs >= self.epochs else Span.epochs(epochs)

    def default_span(self, tier: Tier) -> Span:
        """Whole everywhere: the loops are short enough."""
        return WHOLE

    def epoch_number(self, table: str, label: int) -> int:
        """The epoch (counted from 1) a row lies in: the loop labels its rows by the loop index."""
        return label + 1

    def runs_after(self, span: Span, mode: str) -> bool:
        """The code after the loop is the same eager code in every mode: a whole run in the
        reference mode makes it."""
        return span.whole and mode == self.reference_mode

    def unrecorded(self, record: Record) -> list[str]:
        """Nothing beyond its rows: the loop's weights are its tables' columns."""
        return []

    def require_data(self) -> None:
        """Nothing: the GradientTape programs' data ships with the harness."""

    def cut(self, record: Record, span: Span) -> Record:
        """The part of a record (a run's, a golden's) that the first ``span`` epochs make: the whole
        program's rows before there, without the code after the loop."""
        if span.whole:
            return record
        if span.unit != "epochs":
            raise ValueError(f"a GradientTape loop is cut in epochs, not {span.unit}")
        rows = {"columns": set(self.print_epochs(self.epochs)), "checkpoints": set(self.checkpoint_epochs(self.epochs))}
        return record.restricted(span, lambda table, label: label < span.count and label in rows.get(table, ()),
                                 {k: v for k, v in record.scalars.items() if k not in self.after_scalars})

    def lr_at(self, epoch: int) -> float:
        return self.lr(epoch) if callable(self.lr) else self.lr

    def print_epochs(self, epochs: int) -> list[int]:
        """The epochs the program prints (``epoch % print_every == 0``) and the last one."""
        return sorted(set(range(0, epochs, self.print_every)) | {epochs - 1})

    def checkpoint_epochs(self, epochs: int) -> list[int]:
        if self.checkpoints is None:
            return []
        if self.checkpoints == "end":
            return [epochs - 1]
        return sorted(set(range(0, epochs, self.checkpoints)) | {epochs - 1})

    def row_epochs(self, epochs: int) -> list[int]:
        """Every epoch after which something is recorded."""
        return sorted(set(self.print_epochs(epochs)) | set(self.checkpoint_epochs(epochs)))

    def short_epochs(self) -> int:
        """The shortest run that reaches two of the program's printed rows: a cheap smoke run
        whose rows are all rows of the full golden."""
        return min(self.epochs, self.print_every + 1)

    def column_names(self) -> list[str]:
        """The columns of what the program prints: ``epoch``, then each printed value."""
        return ["epoch", *(name for column in self.prints for name in self._names(column))]

    def checkpoint_names(self) -> list[str]:
        """The columns of the checkpoints: ``epoch``, the variables, then the update rule's state."""
        if self.checkpoints is None:
            return []
        names = ["epoch", *(n for v, shape in self.variables.items() for n in flat_names(v, shape))]
        for state in self.update.state_names():
            names += flat_names(state, self.state_shape(state))
        return names

    def state_shape(self, state: str) -> tuple[int, ...]:
        if state == "global_step":
            return ()
        owner = next(v for v in self.update.variables if state in self.update.moment_names(v))
        return self.variables[owner]

    def _names(self, column: Column) -> list[str]:
        if isinstance(column, Weights):
            return flat_names(column.variable, self.variables[column.variable])
        return [column.name]

    def is_state(self, column: str) -> bool:
        """A column of the update rule's state (``m_w_3``, ``global_step``), not of the values."""
        return any(column == s or column.startswith(f"{s}_") for s in self.update.state_names())

    def problems(self) -> list[str]:
        """What is inconsistent in this declaration (empty when nothing is)."""
        found = []
        declared = set(self.variables)
        for column in self.prints:
            if isinstance(column, Weights) and column.variable not in declared:
                found.append(f"prints the weights of {column.variable!r}, which is not one of "
                             f"its variables {list(self.variables)}")
        unknown = [v for v in self.update.variables if v not in declared]
        if unknown:
            found.append(f"its update rule {self.update.name} names {unknown}, which are not "
                         f"among its variables {list(self.variables)}")
        missing = [v for v in self.variables if v not in self.update.variables]
        if missing:
            found.append(f"its update rule {self.update.name} does not update {missing}")
        state = self.update.state_names()
        if len(set(state)) != len(state):
            found.append(f"its update rule's state names collide: {state} (the course names "
                         "state after the variable without its digits)")
        names = [name for column in self.prints for name in _column_names(column)]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            found.append(f"prints the column(s) {duplicated} twice")
        if (self.after is None) != (not self.after_scalars):
            found.append("names the scalars of its after-loop code without the code, or the other way")
        if self.epochs < 1 or self.print_every < 1:
            found.append(f"epochs ({self.epochs}) and print_every ({self.print_every}) must be >= 1")
        return found


def _column_names(column: Column) -> list[str]:
    # Weights expand to one column per element, known only once the variable exists; its
    # stem stands for them here.
    return [column.variable] if isinstance(column, Weights) else [column.name]
