"""The notes' training loop, built in each execution mode.

Every training experiment of the notes is the same loop around a different loss:
a GradientTape over the loss, ``tape.gradient``, ``w1.assign_sub(lr * grads)``.
An experiment gives its data and its loss (the lines inside the tape) as the notes
write them; this module turns them into a loop in one of the modes:

- ``eager``: the notes' loop as written, one Python iteration per step (the reference);
- ``function``: the same step under ``tf.function``, the loop still in Python;
- ``xla``: that step compiled by XLA (``jit_compile=True``);
- ``fused``: the whole loop in one graph, recording the checkpoints in TensorArrays;
- ``fused_xla``: that graph compiled by XLA.

A ``Loop`` is built once (data, initial weights, tracing) and can be run again
from the same initial weights, which is what the benchmarks time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tensorflow as tf

from harness.errors import UnknownName
from harness.record import Outcome, Trajectory, checkpoint_epochs

MODES = ("eager", "function", "xla", "fused", "fused_xla")
REFERENCE_MODE = "eager"


@dataclass(frozen=True)
class Training:
    """What a training experiment of the notes is made of."""

    # The notes' set-up: returns (x, y_, w1), w1 a tf.Variable drawn with the notes' seed.
    data: Callable[[], tuple[Any, Any, tf.Variable]]
    # The lines inside the notes' GradientTape: loss of (x, y_, w1).
    loss: Callable[[Any, Any, tf.Variable], tf.Tensor]
    epochs: int
    lr: float
    # The notes print w1 when epoch % every == 0.
    every: int
    # Modes known not to reproduce the eager trajectory bit for bit: mode -> what was measured.
    known_mode_differences: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for mode in self.known_mode_differences:
            check_mode(mode)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UnknownName("mode", mode, MODES)
    return mode


def select_modes(spec: str) -> list[str]:
    """``all`` or a comma-separated list of modes, in the order of MODES."""
    if spec == "all":
        return list(MODES)
    wanted = {check_mode(m.strip()) for m in spec.split(",") if m.strip()}
    return [m for m in MODES if m in wanted]


class Loop:
    """One training experiment built in one mode, on the device in scope when built."""

    def __init__(self, training: Training, mode: str, epochs: int | None = None) -> None:
        check_mode(mode)
        self.epochs = training.epochs if epochs is None else epochs
        self.every = training.every
        self.x, self.y_, self.w1 = training.data()
        self.initial = tf.constant(self.w1.numpy())
        x, y_, w1, lr, loss_fn = self.x, self.y_, self.w1, training.lr, training.loss

        def step() -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = loss_fn(x, y_, w1)
            grads = tape.gradient(loss, w1)
            w1.assign_sub(lr * grads)
            return loss

        if mode in ("eager", "function", "xla"):
            self._step = {"eager": step,
                          "function": tf.function(step),
                          "xla": tf.function(step, jit_compile=True)}[mode]
            self._run = self._python_loop
        else:
            self._fused = self._fused_loop(step, jit_compile=mode == "fused_xla")
            self._run = self._graph_loop

    def __call__(self) -> Outcome:
        """Runs every epoch from the initial weights; returns with the values read back."""
        self.w1.assign(self.initial)
        return self._run()

    def _python_loop(self) -> Outcome:
        trajectory = Trajectory(self.w1, self.epochs, self.every)
        for epoch in range(self.epochs):
            loss = self._step()
            trajectory.step(epoch, self.w1, loss)
        return trajectory.outcome()

    def _fused_loop(self, step: Callable[[], tf.Tensor], jit_compile: bool) -> Callable:
        marks = checkpoint_epochs(self.epochs, self.every)
        w1 = self.w1

        # The steps between two checkpoints run as an inner loop with no branch in it; the
        # outer loop records w1 and the last loss after each stretch.
        stretches = [b - a for a, b in zip([-1, *marks], marks)]

        # Written with tf.while_loop rather than AutoGraph: tracing is part of the time to
        # the first result.
        @tf.function(jit_compile=jit_compile, autograph=False)
        def loop() -> tuple[tf.Tensor, tf.Tensor]:
            lengths = tf.constant(stretches)

            def stretch(k, weights, losses):
                _, loss = tf.while_loop(lambda done, loss: done < lengths[k],
                                        lambda done, loss: (done + 1, step()),
                                        (tf.constant(0), tf.constant(0.0)))
                return k + 1, weights.write(k, tf.reshape(w1, [-1])), losses.write(k, loss)

            _, weights, losses = tf.while_loop(
                lambda k, *_: k < len(marks), stretch,
                (tf.constant(0), tf.TensorArray(tf.float32, size=len(marks), element_shape=[2]),
                 tf.TensorArray(tf.float32, size=len(marks), element_shape=[])))
            return weights.stack(), losses.stack()

        return loop

    def _graph_loop(self) -> Outcome:
        initial = Trajectory(self.w1, self.epochs, self.every)
        weights, losses = self._fused()
        return initial.outcome_from(weights.numpy(), losses.numpy())
