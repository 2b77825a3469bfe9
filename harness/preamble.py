"""The lines the harness adds before every program, as declarations like the adapted ones: what
each line is and why it is there. ``harness.execution.runtime`` runs them (``configure`` once per
process, ``reset_random_state`` before every run; tests/test_preamble.py holds it to this list),
``python -m harness list`` and the head of ``check`` print them, and the README says them.

TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass

# TensorFlow's default graph seed (``tensorflow.python.framework.random_seed.DEFAULT_GRAPH_SEED``).
GRAPH_SEED = 87654321


@dataclass(frozen=True)
class Added:
    """A line the program does not write, run before it."""

    line: str
    why: str


PREAMBLE: tuple[Added, ...] = (
    Added("tf.config.experimental.enable_op_determinism()",
          "the same kernels in the same order on every run, or the goldens would not repeat (on a GPU host it also "
          "keeps Keras 3.7 and later from compiling the course's compile(...) with XLA: docs/modes.md)"),
    Added("tf.config.experimental.enable_tensor_float_32_execution(False)",
          "a GPU of the Ampere kind or newer would otherwise round matmul inputs to 10 bits: a float32 run like the "
          "course's"),
    Added(f"tf.random.set_seed({GRAPH_SEED})",
          "before every run: an op seed alone (truncated_normal(..., seed=1)) then gives the first-call values the "
          "course prints, whatever ran before in the process"),
    Added("np.random.seed(0)", "before every run: NumPy's draws start where a fresh process's do"),
    Added("random.seed(0)",
          "before every run: Keras 3 draws a model's initial weights from Python's random, which the course's "
          "tf.random.set_seed(116) no longer reaches"),
    Added("verbose=0 on fit and predict", "the progress bars are not results; what fit reports is recorded"),
)


def rows() -> list[tuple[str, str]]:
    """The preamble as a table's rows (line, why)."""
    return [(a.line, a.why) for a in PREAMBLE]
