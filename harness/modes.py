"""The execution modes of the training programs: one registry of names, and what each mode means
for each kind of program.

The CLI, the pytest options, the benchmarks, the golden store and the reports read this registry;
nothing lists the modes a second time. It imports nothing but the errors: how a GradientTape loop
(chapters 1 and 2) is built in each mode lives with the loops (``harness.execution.loops.build``);
a Keras program (chapters 3 to 6) runs ``fit`` with Keras's own switches for it, given to
``compile`` (``Mode.keras``):

- ``eager``: the loop as written, one Python iteration per step (the loops' reference);
  Keras: ``run_eagerly=True``;
- ``function``: each step under ``tf.function``, the loop still in Python; Keras: the
  default compiled ``fit``, the program as written (the Keras programs' reference);
- ``xla``: that step compiled by XLA; Keras: ``jit_compile=True``;
- ``fused``: the whole loop, epochs and batches, in one graph, recording in TensorArrays;
  Keras: ``steps_per_execution=4``, four steps in one call of the compiled function;
- ``fused_xla``: that graph compiled by XLA; Keras: both switches.

Each program is judged in every other mode against the golden of the mode it runs in as
written (``reference``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import UnknownName

# The mode a GradientTape loop runs in as written, and a Keras program's (its compiled fit).
REFERENCE = "eager"
KERAS_REFERENCE = "function"
# Keras's steps_per_execution in the fused modes: above 1, and a divisor of every declared
# batch_every (a run records the running values only where an execution ends).
STEPS_PER_EXECUTION = 4


@dataclass(frozen=True)
class Mode:
    name: str
    summary: str
    # A Keras program's switches for this mode, given to its compile; and what they do.
    keras: Mapping[str, Any]
    keras_summary: str


MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode("eager", "the program's loop, one Python iteration per step",
             {"run_eagerly": True}, "compile(run_eagerly=True): the train step op by op"),
        Mode("function", "each step under tf.function, the loop in Python",
             {}, "the default compiled fit: each step under tf.function"),
        Mode("xla", "each step under tf.function(jit_compile=True)",
             {"jit_compile": True}, "compile(jit_compile=True)"),
        Mode("fused", "the whole loop, epochs and batches, in one graph (tf.while_loop)",
             {"steps_per_execution": STEPS_PER_EXECUTION},
             f"compile(steps_per_execution={STEPS_PER_EXECUTION}): that many steps per call"),
        Mode("fused_xla", "that graph compiled by XLA",
             {"jit_compile": True, "steps_per_execution": STEPS_PER_EXECUTION},
             f"compile(jit_compile=True, steps_per_execution={STEPS_PER_EXECUTION})"),
    )
}


# The modes whose departures have one cause, by the rounding-only source a band names it
# (harness.experiments.declare.ROUNDING): XLA's kernels, Grappler's rewrites.
CAUSES = {"xla": ("xla", "fused_xla"), "grappler": ("function", "fused")}


def alike(mode: str) -> tuple[str, ...]:
    """The modes that round as ``mode`` does (itself alone where it has no such cause)."""
    return next((pair for pair in CAUSES.values() if mode in pair), (mode,))


class _Kind(Protocol):
    @property
    def reference_mode(self) -> str: ...


class Programmed(Protocol):
    """What the registry asks of an experiment: its program's kind, and whether it trains."""

    @property
    def program(self) -> _Kind: ...

    @property
    def runs_in_modes(self) -> bool: ...


def reference(experiment: Programmed) -> str:
    """The mode the program runs in as written: its golden's."""
    return experiment.program.reference_mode


def of(experiment: Programmed) -> list[str]:
    """The modes the experiment runs in: every mode for a training program, its reference for
    a one-shot computation."""
    return names() if experiment.runs_in_modes else [reference(experiment)]


def others(experiment: Programmed, among: list[str] | None = None) -> list[str]:
    """The modes judged against the experiment's reference golden (of ``among``, default all)."""
    return [m for m in of(experiment) if m != reference(experiment) and (among is None or m in among)]


def names() -> list[str]:
    return list(MODES)


def get(name: str) -> Mode:
    try:
        return MODES[name]
    except KeyError:
        raise UnknownName("mode", name, MODES) from None


def select(spec: str) -> list[str]:
    """``all`` or a comma-separated list of modes, in the order of the registry."""
    if spec.strip() == "all":
        return names()
    wanted = {get(m.strip()).name for m in spec.split(",") if m.strip()}
    if not wanted:
        raise UnknownName("mode", spec, ["all", *MODES])
    return [m for m in MODES if m in wanted]
