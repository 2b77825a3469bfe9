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

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from harness import modes
from harness.experiments.training import ModeDifference, differing
from harness.record import Record, flat_names
from harness.span import WHOLE, Span, Tier

# A declared line's value in the run: ``line(SGD_LR)``, or with the program's names the line
# reads, ``line(INT_PRED, pred=pred)``.
LineValue = Callable[..., Any]


@dataclass(frozen=True)
class Line:
    """A line of the program as the course writes it, and the fewest changes that make it run
    where it raises (an expression, evaluated with ``tf`` in scope)."""

    written: str
    adapted: str
    why: str
    # A line that runs on today's libraries but no longer does what the program means (it looks
    # for a file Keras 3 does not write): the run records what it gave and uses the adapted one.
    misleads: bool = False


# A variable of up to this many elements is recorded in full; a larger one as its digest.
IN_FULL = 64
# The longest whole run ``check`` and ``regen`` make of a Keras program by default, in seconds on
# this project's 2-core machine: the default check stays within 10 minutes (README, "Times").
CHECK_WHOLE_SECONDS = 90.0
# The default tier checks the other modes of the Keras programs whose whole run takes at most
# this long here: the stock programs' prefixes (26 to 63 s whole) cost 85 s of compilation and
# eager steps in 4 modes; with chapters 4 and 5 in the suite (their CNNs' prefixes cost 8 to 10 s
# of tracing each) the MNIST and iris programs' modes (12 to 20 s whole, 30 s of the test phase)
# left it too, to keep it within its 240 s: the letter programs' stay. ``--whole`` and ``python -m
# harness check --mode MODE`` check every one.
MODES_TIER_SECONDS = 10.0


@dataclass(frozen=True)
class Fit:
    """What a Keras program does, as it writes it."""

    # The program's data lines: (x_train, y_train) for ``fit``, and its validation_data where
    # it gives one.
    data: Callable[[], tuple[Any, ...]]
    # Its model, built as the program builds it (a Sequential, or the subclass).
    model: Callable[[], Any]
    # Its ``compile`` arguments; ``line`` gives the value of a declared ``Line``.
    compile: Callable[[LineValue], dict[str, Any]]
    # Its ``fit`` arguments (batch_size, epochs, validation_split, validation_freq ...).
    fit: dict[str, Any]
    # What ``fit`` reports per epoch (``loss`` and the metrics), and its trainable variables by
    # the columns they record (``<layer>_<variable>``) with their shapes.
    metrics: tuple[str, ...]
    variables: Mapping[str, tuple[int, ...]]
    # The lines that raise on some release, as written and adapted.
    lines: tuple[Line, ...] = ()
    # The steps of one epoch as fit counts them (checked by each run): the epoch a row of the
    # batches table, labelled by its global batch number, lies in.
    steps_per_epoch: int = 1
    # The batches the default test run trains (whole runs: ``python -m harness check``); its
    # rows are compared with the whole run's golden.
    prefix: int = 1
    # Within the first and the last epoch, the running values ``fit`` reports every N batches (so
    # that a prefix shorter than an epoch has rows to compare, and the values a log prints within
    # the last epoch are recorded); None: none.
    batch_every: int | None = None
    # Variables of up to this many elements are recorded in full (what the NumPy oracle needs to
    # follow the program), larger ones as their digest.
    in_full: int = IN_FULL
    # The weights are recorded every N epochs (N divides the program's epochs, so its last is one);
    # default: at each epoch the program validates, or every epoch where it does not.
    weights_every: int | None = None
    # A whole run's seconds on this project's 2-core machine (the pool gives long runs a process).
    seconds: float = 0.0
    # The program's own callbacks (its ModelCheckpoint), built with ``line``. A run starts in an
    # empty working folder, where they write what they write (so a program's "load the
    # checkpoint if there is one" finds none, as on its first run).
    callbacks: Callable[[LineValue], list[Any]] | None = None
    # What the program computes from the trained model after ``fit`` (its predictions, its test
    # metrics): more scalars of the record, with these names. A run cut short does not get there.
    after: Callable[[Any, LineValue], dict[str, Any]] | None = None
    after_scalars: tuple[str, ...] = ()
    # The Keras execution modes that do not reproduce the compiled fit bit for bit, as measured
    # (``harness.modes``; the first epoch counts a batch row in the epoch it lies in).
    known_mode_differences: tuple[ModeDifference, ...] = ()
    # The program's code between compile and fit (it loads a checkpoint where there is one): what
    # it did, recorded per run of the program with the weights that run starts from.
    before: Callable[[Any, LineValue], dict[str, Any]] | None = None
    # The Keras dataset module the program loads (tf.keras.datasets.cifar10 ..), where it may be
    # missing while the others are here: a run without it stops before it builds anything.
    dataset: Any = None
    # The program is run this many times in one working folder (a second run resumes from the
    # first's checkpoint); the record's epochs count on (5 and 5: 1 .. 10).
    runs: int = 1
    # The execution mode the program is written in (harness.modes): the compiled fit.
    reference_mode: ClassVar[str] = "function"
    executor: ClassVar[str] = "harness.execution.fit:execute"
    runs_in_modes: ClassVar[bool] = True
    timed: ClassVar[bool] = False
    # The class goldens and the matrix hold a Keras program's compiled fit whole; its other modes
    # are judged on prefixes (tox) or by ``check --whole --mode``.
    whole_in_every_mode: ClassVar[bool] = False

    def describe(self) -> str:
        """``Keras fit``, whether ``check`` cuts it here, and each line adapted."""
        cut_to = ("" if self.whole_here else f"; whole about {self.seconds:.0f} s here: check runs its first "
                  f"{self.prefix} batches, --whole all")
        adapted = "".join(f"; adapted where it {'misleads' if a.misleads else 'raises'}: {a.written} -> {a.adapted}"
                          for a in self.lines)
        return f"Keras fit{cut_to}{adapted}"

    def part(self, span: Span) -> str:
        """``20 of 9,375 batches (whole: about 600 s here)``."""
        return str(span) if span.whole else (f"{span.count:,} of {self.batches:,} batches (whole: about "
                                             f"{self.seconds:.0f} s here)")

    def cost(self, span: Span, mode: str) -> float:
        """Its measured seconds whole (about 330 eager loop steps a second), or its span's share."""
        share = 1.0 if span.whole else min(span.count / self.batches, 1.0)
        return self.seconds * share * 330

    def mode_cannot_depart(self, mode: str) -> str | None:
        """One batch per epoch leaves ``steps_per_execution`` nothing to fuse."""
        if mode != "fused" or self.steps_per_epoch > 1:
            return None
        return (f"trains one batch per epoch: steps_per_execution={modes.STEPS_PER_EXECUTION} runs the same single "
                "step per call as the compiled fit, so this mode cannot depart from it (fused_xla is judged)")

    def modes_left_to_whole(self) -> str | None:
        """Why the default tier leaves this program's other modes to a whole run, or None."""
        if self.seconds <= MODES_TIER_SECONDS:
            return None
        return (f"takes {self.seconds:.0f} s whole: the default tier checks the modes of the Keras programs up to "
                f"{MODES_TIER_SECONDS:.0f} s; pytest --whole, or python -m harness check --whole --mode MODE, "
                "checks it")

    def span(self, epochs: int | None = None, batches: int | None = None) -> Span:
        """What a run asked for ``epochs`` or ``batches`` makes, in batches (the unit ``fit`` can
        stop at); the whole program when the count reaches its own."""
        if epochs is not None and batches is not None:
            raise ValueError("a run is shortened in epochs or in batches, not both")
        count = batches if epochs is None else epochs * self.steps_per_epoch
        return WHOLE if count is None or count >= self.batches else Span.batches(count)

    def default_span(self, tier: Tier) -> Span:
        """The part a default run makes: the declared prefix in the tests (the test phase's time),
        and in ``check`` where the whole run is longer than ``CHECK_WHOLE_SECONDS`` here."""
        return Span.batches(self.prefix) if tier == "tests" or not self.whole_here else WHOLE

    def epoch_number(self, table: str, label: int) -> int:
        """The epoch (counted from 1, as fit prints it) a row lies in."""
        return self.epoch_of(table, label)

    def runs_after(self, span: Span, mode: str) -> bool:
        """The code after fit runs after a whole fit, in any mode."""
        return span.whole

    def require_data(self) -> None:
        """DatasetMissing, saying how to get it, where the program's Keras dataset is not here (CIFAR-10
        offline): before anything is built."""
        if self.dataset is not None:
            from harness.experiments.datasets import require

            require(self.dataset)

    def unrecorded(self, record: Record) -> list[str]:
        """What a whole run's record lacks of the weights: a SHA-256 of every variable at every
        epoch the weights are recorded at."""
        hashes = record.scalars.get(WEIGHTS_SHA256)
        wanted = [str(e) for e in self.checkpoint_epochs(self.epochs)]
        if not isinstance(hashes, dict) or not hashes:
            return [f"the run holds no hash of its weights ({WEIGHTS_SHA256} is {hashes!r}; a whole run has one per "
                    f"variable at epochs {', '.join(wanted)})"]
        missing = [e for e in wanted if not hashes.get(e)]
        return [f"the run holds no hash of its weights at epochs {', '.join(missing)} ({WEIGHTS_SHA256})"] \
            if missing else []

    def cut(self, record: Record, span: Span) -> Record:
        """The part of a record (a run's, a golden's) that the first ``span`` batches make: the batch
        rows up to there, the epochs they completed, the weights' hashes and the program's runs of
        those epochs; not the code after fit."""
        if span.whole:
            return record
        if span.unit != "batches":
            raise ValueError(f"a Keras program is cut in batches, not {span.unit}")
        epochs = span.count // self.steps_per_epoch
        scalars = {k: v for k, v in record.scalars.items() if k not in self.after_scalars}
        if isinstance(hashes := scalars.get(WEIGHTS_SHA256), dict):
            scalars[WEIGHTS_SHA256] = {k: v for k, v in hashes.items() if int(k) <= epochs}
        if isinstance(started := scalars.get(STARTED), list):
            scalars[STARTED] = started[:1 + max(0, epochs - 1) // self.per_run]
        return record.restricted(span, lambda table, label: label <= (span.count if table == "batches" else epochs),
                                 scalars)

    @property
    def batches(self) -> int:
        """The batches of a whole run: every epoch's steps."""
        return self.epochs * self.steps_per_epoch

    @property
    def whole_here(self) -> bool:
        """Whether ``python -m harness check`` (and ``regen``) runs it whole on a machine like this
        project's: within ``CHECK_WHOLE_SECONDS``; a longer one runs its declared prefix there, and
        whole with ``--whole`` (the whole-run workflow, docs/ci.md)."""
        return self.seconds <= CHECK_WHOLE_SECONDS

    @property
    def per_run(self) -> int:
        """The epochs of one run of the program (its ``fit(epochs=..)``)."""
        return int(self.fit["epochs"])

    @property
    def epochs(self) -> int:
        """The epochs of the experiment: every run's."""
        return self.runs * self.per_run

    @property
    def validation_freq(self) -> int:
        return int(self.fit.get("validation_freq", 1))

    @property
    def validates(self) -> bool:
        """Whether ``fit`` evaluates validation data: the course's programs that do name its
        ``validation_split`` or ``validation_freq`` (a program without them is declared with neither)."""
        return "validation_split" in self.fit or "validation_freq" in self.fit

    def column_names(self) -> list[str]:
        """Per epoch: what ``fit`` reports on the training data."""
        return ["epoch", *self.metrics]

    def batch_names(self) -> list[str]:
        """Within the first and last epochs, every ``batch_every`` batches (the row's label: the
        batch's number since the start of fit)."""
        return ["epoch", *self.metrics] if self.batch_every else []

    def validation_names(self) -> list[str]:
        """At each epoch ``fit`` validates: what it reports on the validation data."""
        return ["epoch", *(f"val_{m}" for m in self.metrics)] if self.validates else []

    def validation_epochs(self, epochs: int) -> list[int]:
        """The epochs (as Keras counts them, from 1) a run of ``epochs`` validates at."""
        return list(range(self.validation_freq, epochs + 1, self.validation_freq)) if self.validates else []

    def checkpoint_names(self) -> list[str]:
        """Every weight (a large one as its digest)."""
        return ["epoch", *(c for name, shape in self.variables.items()
                           for c in weight_columns(name, shape, self.in_full))]

    @property
    def checkpoint_every(self) -> int:
        return self.weights_every or (self.validation_freq if self.validates else 1)

    def checkpoint_epochs(self, epochs: int) -> list[int]:
        """The epochs a run of ``epochs`` records the weights at."""
        return list(range(self.checkpoint_every, epochs + 1, self.checkpoint_every))

    def epoch_of(self, table: str, label: int) -> int:
        """The epoch a row lies in: a batch row's label counts batches since the start of fit."""
        return -(-label // self.steps_per_epoch) if table == "batches" else label

    def ends_epoch(self, table: str, label: int) -> bool:
        """Whether a row is taken at the end of its epoch (a prefix may stop inside one)."""
        return table != "batches" or label % self.steps_per_epoch == 0

    def problems(self) -> list[str]:
        """What is inconsistent in this declaration (empty when nothing is)."""
        found = []
        if self.prefix < 1 or self.steps_per_epoch < 1:
            found.append(f"its prefix ({self.prefix} batches) or steps per epoch ({self.steps_per_epoch}) is below 1")
        if (self.after is None) != (not self.after_scalars):
            found.append("declares code after fit without the scalars it gives, or the scalars without the code")
        if self.runs < 1:
            found.append(f"runs the program {self.runs} times")
        if self.epochs % self.checkpoint_every:
            found.append(f"trains {self.epochs} epochs, recording the weights every {self.checkpoint_every}: "
                         "its last epoch's weights would not be recorded")
        return found


# Why a Keras program's XLA modes part from its compiled fit (measured on TF 2.21, CPU).
KERAS_XLA = ("XLA compiles the whole train step (the layers' products, the RNN cells' loop, the loss and the "
             "optimizer's update) into kernels of its own, which round otherwise than TensorFlow's oneDNN "
             "kernels; the runs then drift apart")


# Why the stock programs' run_eagerly parts from their compiled fit (measured on TF 2.21, CPU):
# the other ten Keras programs are bit-identical eagerly.
KERAS_EAGER_RNN = ("op by op, the stacked recurrent layers with dropout round otherwise than in the compiled "
                   "train step, where Grappler rewrites the graph (not isolated further); a few hundred ULP from "
                   "the first epoch")


def as_meant(fit: Fit) -> Fit | None:
    """The program with the fewest changed lines that restore what its ``call(self, x)`` meant on the
    course's Keras 2: ``def call(self, x, training=None)``, so that Keras 3 passes fit's
    ``training=True`` on (batch normalization on the batch's statistics, dropout dropping); None where
    the model is not a subclassed Model or its ``call`` already takes ``training``."""
    import inspect

    written = fit.model
    call_written = getattr(written, "call", None)
    if not isinstance(written, type) or call_written is None \
            or "training" in inspect.signature(call_written).parameters:
        return None

    def call(self: Any, x: Any, training: Any = None) -> Any:
        return call_written(self, x)

    meant = type(written.__name__, (written,), {"call": call, "__module__": written.__module__})
    return dataclasses.replace(fit, model=meant)


def xla_drift(first_epoch: int, max_ulp: float) -> tuple[ModeDifference, ...]:
    """Both XLA modes, measured alike (steps_per_execution changes no bit of a Keras run here)."""
    return differing(KERAS_XLA, xla=(first_epoch, max_ulp), fused_xla=(first_epoch, max_ulp))


# The scalar that says, per declared line, what the line as written did on this release.
AS_WRITTEN = "as_written"
# Per run of the program, what its code before fit did and the weights it started from.
STARTED = "started"
# The scalar that holds, per checkpoint epoch, the SHA-256 of each variable's bits: what a
# digest's columns cannot say (a prefix of the run is held to the epochs it reached).
WEIGHTS_SHA256 = "weights_sha256"
# The elements of a digest's sample: this many, evenly spaced over the flattened variable.
SAMPLE = 8


def sample_indices(size: int) -> list[int]:
    return sorted({round(i * (size - 1) / (SAMPLE - 1)) for i in range(SAMPLE)})


def weight_columns(name: str, shape: tuple[int, ...], in_full: int = IN_FULL) -> list[str]:
    """A variable's columns: every element (``dense_kernel_0`` ..), or for a large one its digest:
    sum, L2 norm, min, max and a fixed sample of elements (``dense_kernel_at0`` ..); the SHA-256
    of its bits is a scalar, so that identical stays exact."""
    size = math.prod(shape)
    if size <= in_full:
        return flat_names(name, shape)
    return [f"{name}_{s}" for s in ("sum", "l2", "min", "max")] + [f"{name}_at{i}" for i in sample_indices(size)]


def summary_counts(model: Any) -> dict[str, int]:
    """The parameter counts ``model.summary()`` prints (``Total params: 143 (576.00 B)`` ..)."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    found = re.findall(r"^\s*([A-Za-z-]+ params): ([\d,]+)", "\n".join(lines), re.M)
    return {name: int(count.replace(",", "")) for name, count in found}


def _variable_name(layer: Any, variable: Any) -> str:
    """``<layer>_<variable>``: ``dense_kernel``; Keras 2 names it ``dense/kernel:0``, Keras 3 ``kernel``."""
    short = variable.name.split("/")[-1].split(":")[0]
    return f"{layer.name}_{short}"


def _leaves(layer: Any) -> Iterator[Any]:
    """The layers that hold variables: a block the program writes as a ``Model`` of its own (the
    course's ResnetBlock, InceptionBlk, a ``Sequential`` of blocks) is walked into."""
    inner = getattr(layer, "layers", None)
    if inner:
        for sub in inner:
            yield from _leaves(sub)
    else:
        yield layer


def weights(model: Any) -> dict[str, Any]:
    """Every variable of the model (batch normalization's moving statistics with the trainable
    ones), by the column name it records under: ``<layer>_<variable>``, the layer's name unique
    in the session as Keras numbers them (``conv2d_3_kernel``)."""
    found: dict[str, Any] = {}
    for layer in _leaves(model):
        for v in layer.weights:
            name = _variable_name(layer, v)
            if name in found:
                raise ValueError(f"two variables record as {name}: name the layers apart")
            found[name] = v
    return found


class Built(Mapping[str, tuple[int, ...]]):
    """The variables of a model with dozens of them (chapter 5's CNNs), as Keras builds it for the
    program's input: listed the first time they are asked for, in a cleared session, so that the
    names are those of a run. What checks the model is not this list but the parameter counts the
    course prints (exact)."""

    def __init__(self, model: Callable[[], Any], input_shape: tuple[int, ...]) -> None:
        self.model, self.input_shape = model, input_shape
        self._found: dict[str, tuple[int, ...]] | None = None

    def _variables(self) -> dict[str, tuple[int, ...]]:
        if self._found is None:
            import random

            import numpy as np
            import tensorflow as tf

            # Building draws initial weights (from Python's random state): the caller's state is
            # given back, so that listing the variables never moves a run's draw.
            state, numpy_state = random.getstate(), np.random.get_state()
            tf.keras.backend.clear_session()
            model = self.model()
            model(np.zeros((1, *self.input_shape), np.float32))  # a subclassed Model is built by a call
            self._found = {name: tuple(int(d) for d in v.shape) for name, v in weights(model).items()}
            tf.keras.backend.clear_session()
            random.setstate(state)
            np.random.set_state(numpy_state)
        return self._found

    def __getitem__(self, name: str) -> tuple[int, ...]:
        return self._variables()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables())

    def __len__(self) -> int:
        return len(self._variables())
