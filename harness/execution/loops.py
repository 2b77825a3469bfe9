"""The training loop of the note and the course, in each execution mode.

A ``Loop`` is built once on the device in scope (set-up, initial weights, tracing)
and can be run again from the same initial weights and state, which is what the
benchmarks time. Every mode records through the same ``Recorder``, from the same
raw values: the weights and state after the epoch, the last step's loss, the
epoch's summed batch losses and the test counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import tensorflow as tf

from harness import modes
from harness.errors import HarnessError
from harness.execution.executor import Asked, Executed
from harness.execution.recorder import Recorder, Row
from harness.experiments.declare import Outcome
from harness.experiments.training import TestAccuracy, Training
from harness.judge.compare import same
from harness.record import NON_FINITE, flat, non_finite_summary, plain


class Loop:
    """One training experiment built in one mode, on the device in scope when built: ``build``
    is the mode's (``build``), which turns the built loop into what runs it."""

    def __init__(self, training: Training, build: Callable[[Loop], Callable[[Any], None]],
                 epochs: int | None = None) -> None:
        self.training = training
        self.epochs = training.epochs if epochs is None else epochs
        self.setup = training.setup()
        made = {name: tuple(v.shape) for name, v in self.setup.variables.items()}
        if made != training.variables or list(made) != list(training.variables):
            raise HarnessError(f"the set-up made the variables {made}, the declaration names "
                               f"{training.variables}")
        self.variables = [self.setup.variables[n] for n in training.variables]
        self.initial = [tf.identity(v) for v in self.variables]
        self.batch_count = sum(1 for _ in self.setup.batches())
        self.accuracy = next((c for c in training.prints if isinstance(c, TestAccuracy)), None)
        self.step = make_step(self)
        self._run = build(self)

    def __call__(self) -> Outcome:
        """Runs every epoch from the initial weights; returns with the values read back. What the
        program computes after its loop (``Training.after``) is not part of it: ``run`` adds it."""
        for variable, initial in zip(self.variables, self.initial, strict=True):
            variable.assign(initial)
        recorder = Recorder(self.training, self.epochs, self.batch_count)
        self._run(recorder)
        scalars = self.initial_scalars()
        tables = {"columns": recorder.columns, "checkpoints": recorder.checkpoints}
        if found := non_finite_summary({k: v for k, v in tables.items() if v}):
            scalars[NON_FINITE] = found
        return Outcome(recorder.columns, scalars, self.variables[0].device, recorder.checkpoints)

    def initial_scalars(self) -> dict[str, Any]:
        """``<variable>_initial``: the weights the set-up drew, as the record keeps them."""
        return {f"{name}_initial": _initial(value)
                for name, value in zip(self.training.variables, self.initial, strict=True)}

    def initial_state(self, course_style: bool) -> dict[str, Any]:
        """The update rule's state before the first step: the course's ``m_w = 0`` (eager), or
        zeros of the variables' shapes, which a graph needs to keep its loop variables' types."""
        rule = self.training.update
        state: dict[str, Any] = {}
        for name in rule.variables:
            for moment in rule.moment_names(name):
                state[moment] = 0 if course_style else tf.zeros_like(self.setup.variables[name])
        if rule.counts_steps:
            state["global_step"] = 0 if course_style else tf.constant(0)
        return state


def _initial(value: tf.Tensor) -> Any:
    got = plain(value)
    return flat(got) if isinstance(got, list) else got


def make_step(loop: Loop) -> Callable[[tuple[Any, ...], dict[str, Any], Any], tuple[Any, dict[str, Any]]]:
    """One step as the programs write it: the tape around their lines, the gradients of the
    loss with respect to their variables, the update rule on each variable."""
    training, setup = loop.training, loop.setup
    rule = training.update
    variables = loop.variables
    index = {name: i for i, name in enumerate(training.variables)}

    def step(batch: tuple[Any, ...], state: dict[str, Any], lr: Any) -> tuple[Any, dict[str, Any]]:
        with tf.GradientTape() as tape:
            loss = training.tape(*batch, **setup.variables)
        grads = tape.gradient(loss, variables)
        new = dict(state)
        extra = {"global_step": state["global_step"]} if rule.counts_steps else {}
        for name in rule.variables:
            moments = rule.moment_names(name)
            updated = rule.step(variables[index[name]], grads[index[name]], lr,
                                 *(state[m] for m in moments), **extra)
            new.update(zip(moments, updated, strict=True))
        return loss, new

    return step


def python_loop(loop: Loop, compile_as: str | None) -> Callable[[Recorder], None]:
    """The program's loop in Python: eager as written, or with each step compiled."""
    training, setup = loop.training, loop.setup
    rows = set(training.row_epochs(loop.epochs))
    counts = training.update.counts_steps
    # A compiled step takes tensors: Python values (the note's y_ is a list of 32 lists) would
    # be hashed into the function's signature at every call. Converted once to float32, they
    # are the values the ops convert them to (``y_ - y`` with a float32 y).
    compiled_batches = None if compile_as is None else [
        tuple(v if tf.is_tensor(v) else tf.convert_to_tensor(v, dtype=tf.float32) for v in batch)
        for batch in setup.batches()]
    # One concrete function for each batch (their shapes differ): calling it skips the
    # signature lookup of each call, which costs more than the step itself here.
    steps: list[Callable[..., Any]] = []
    if compiled_batches is not None:
        compiled = tf.function(loop.step, jit_compile=compile_as == "xla")
        state_spec = loop.initial_state(course_style=False)
        steps = [compiled.get_concrete_function(batch, state_spec, tf.constant(0.0))
                 for batch in compiled_batches]

    def run(recorder: Recorder) -> None:
        state = loop.initial_state(course_style=compile_as is None)
        loss: Any = None
        for epoch in range(loop.epochs):
            lr = training.lr_at(epoch)
            if compile_as is not None:
                lr = tf.constant(lr, tf.float32)  # a Python float would retrace the step each epoch
            loss_all = 0
            batches = setup.batches() if compiled_batches is None else compiled_batches
            for i, batch in enumerate(batches):
                if counts:
                    state["global_step"] += 1
                loss, state = (loop.step if compiled_batches is None else steps[i])(tuple(batch), state, lr)
                loss_all += loss.numpy()
            if epoch in rows:
                recorder.add(Row(epoch, {n: plain(v) for n, v in setup.variables.items()},
                                 {k: plain(v) for k, v in state.items()}, plain(loss), loss_all,
                                 _python_test(loop)))

    return run


def _python_test(loop: Loop) -> tuple[int, int] | None:
    # 测试部分, as the course writes it.
    if loop.accuracy is None:
        return None
    total_correct, total_number = 0, 0
    for x_test, y_test in loop.setup.test:
        correct = loop.accuracy.count_correct(x_test, y_test, **loop.setup.variables)
        total_correct += int(correct)
        total_number += x_test.shape[0]
    return total_correct, total_number


def fused_loop(loop: Loop, jit_compile: bool) -> Callable[[Recorder], None]:
    """The whole loop in one graph: epochs in a ``tf.while_loop``, the batches of an epoch
    unrolled (their shapes differ, which XLA needs to know), a row recorded after each
    stretch of epochs between two recorded epochs."""
    training, setup = loop.training, loop.setup
    rows = training.row_epochs(loop.epochs)
    stretches = [b - a for a, b in pairwise([-1, *rows])]
    batches = [tuple(b) for b in setup.batches()]
    tests = [tuple(b) for b in setup.test] if loop.accuracy is not None else []
    total_number = sum(int(x.shape[0]) for x, _ in tests)
    schedule = [training.lr_at(e) for e in range(loop.epochs)] if callable(training.lr) else None
    counts = training.update.counts_steps
    step = loop.step

    # Written with tf.while_loop rather than AutoGraph: tracing is part of the time to the
    # first result.
    @tf.function(jit_compile=jit_compile, autograph=False)  # type: ignore[untyped-decorator]
    def graph() -> dict[str, tf.Tensor]:
        lengths = tf.constant(stretches)
        lrs = tf.constant(schedule, tf.float32) if schedule is not None else None

        def epoch(done: Any, index: Any, state: dict[str, Any], loss: Any, loss_all: Any) -> tuple[Any, ...]:
            lr = tf.gather(lrs, index) if lrs is not None else training.lr
            loss_all = tf.constant(0.0)
            for batch in batches:
                if counts:
                    state = {**state, "global_step": state["global_step"] + 1}
                loss, state = step(batch, state, lr)
                loss_all = loss_all + loss
            return done + 1, index + 1, state, loss, loss_all

        def stretch(k: Any, index: Any, state: dict[str, Any], arrays: dict[str, Any]) -> tuple[Any, ...]:
            _, index, state, loss, loss_all = tf.while_loop(
                lambda done, *_: done < lengths[k], epoch,
                (tf.constant(0), index, state, tf.constant(0.0), tf.constant(0.0)))
            values = {"loss": loss, "loss_all": loss_all,
                      **{f"var/{n}": v.read_value() for n, v in setup.variables.items()},
                      **{f"state/{n}": s for n, s in state.items()}}
            if tests and loop.accuracy is not None:
                values["correct"] = tf.add_n([loop.accuracy.count_correct(x, y, **setup.variables)
                                              for x, y in tests])
            arrays = {key: arrays[key].write(k, values[key]) for key in arrays}
            return k + 1, index, state, arrays

        state0 = loop.initial_state(course_style=False)
        specs = {"loss": tf.constant(0.0), "loss_all": tf.constant(0.0),
                 **{f"var/{n}": v.read_value() for n, v in setup.variables.items()},
                 **{f"state/{n}": s for n, s in state0.items()}}
        if tests:
            specs["correct"] = tf.constant(0)
        arrays = {key: tf.TensorArray(value.dtype, size=len(rows), element_shape=value.shape)
                  for key, value in specs.items()}
        _, _, _, arrays = tf.while_loop(lambda k, *_: k < len(rows), stretch,
                                        (tf.constant(0), tf.constant(0), state0, arrays))
        return {key: array.stack() for key, array in arrays.items()}

    def run(recorder: Recorder) -> None:
        got = {key: value.numpy() for key, value in graph().items()}
        for k, epoch_label in enumerate(rows):
            recorder.add(Row(
                epoch_label,
                {n: plain(got[f"var/{n}"][k]) for n in setup.variables},
                {n.removeprefix("state/"): plain(got[n][k]) for n in got if n.startswith("state/")},
                plain(got["loss"][k]), np.float32(got["loss_all"][k]),
                (int(got["correct"][k]), total_number) if tests else None))

    return run


# How a GradientTape loop is built in each execution mode (harness.modes names them).
_BUILDERS: dict[str, Callable[[Loop], Callable[[Recorder], None]]] = {
    "eager": lambda loop: python_loop(loop, None),
    "function": lambda loop: python_loop(loop, "function"),
    "xla": lambda loop: python_loop(loop, "xla"),
    "fused": lambda loop: fused_loop(loop, False),
    "fused_xla": lambda loop: fused_loop(loop, True),
}


def build(mode: str) -> Callable[[Loop], Callable[[Recorder], None]]:
    """What turns a built Loop into the function that runs its epochs in ``mode``."""
    return _BUILDERS[modes.get(mode).name]


class RandomStateError(HarnessError):
    """A run that drew other initial weights than its golden: the random state was not reset."""


def execute(training: Training, asked: Asked) -> Executed:
    """A GradientTape loop built in the asked mode and run; timed once more in its steady state if
    asked (a compiled mode's first call traces and compiles); then the program's code after it."""
    with asked.pinned():
        loop = Loop(training, build(asked.mode), asked.epochs)
        if asked.expected_initial is not None:
            _check_initial(asked.name, loop.initial_scalars(), asked.expected_initial)
        start = time.perf_counter()
        outcome = loop()
        seconds = time.perf_counter() - start
        again = None
        if asked.timed:
            again = outcome
            if asked.mode != modes.REFERENCE:
                start = time.perf_counter()
                again = loop()
                seconds = time.perf_counter() - start
        if training.after is not None and training.runs_after(asked.span, asked.mode):
            # What the program computes from its trained weights, as it writes it (eager). A
            # run of the loop only (another mode, or shortened) does not get there.
            found = training.after(loop.setup)
            if tuple(found) != training.after_scalars:
                raise HarnessError(f"{asked.name}: its after-loop code gave {list(found)}, its "
                                   f"declaration names {list(training.after_scalars)}")
            outcome.scalars.update(found)
    return Executed(outcome, again, seconds, loop.epochs * loop.batch_count)


def _check_initial(name: str, drawn: dict[str, Any], expected: dict[str, Any]) -> None:
    """Before a single step: the weights this run drew are the golden's, or it stops here."""
    for key, value in drawn.items():
        if key in expected and not same(value, expected[key]):
            raise RandomStateError(
                f"{name}: the random state was not reset: drew {key} = {value}, the golden has "
                f"{expected[key]}. Nothing was trained. The draw depends on what ran before in this "
                "process (see harness.execution.runtime.reset_random_state)")
