"""The execution modes of the training loops: one registry, name -> builder.

The CLI, the pytest options, the benchmarks and the sensitivity report all read this
registry; nothing lists the modes a second time. Importing it does not start
TensorFlow (the builders import it when they build), so the reports can read it too.

- ``eager``: the program's loop as written, one Python iteration per step (the reference);
- ``function``: each step under ``tf.function``, the loop still in Python;
- ``xla``: that step compiled by XLA (``jit_compile=True``);
- ``fused``: the whole loop, epochs and batches, in one graph, recording in TensorArrays;
- ``fused_xla``: that graph compiled by XLA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import UnknownName

if TYPE_CHECKING:
    from harness.execution.loops import Loop

REFERENCE = "eager"


@dataclass(frozen=True)
class Mode:
    name: str
    summary: str
    # Turns a built Loop into the function that runs its epochs into a recorder.
    build: Callable[[Loop], Callable[[Any], None]]


def _python(compile_as: str | None) -> Callable[[Loop], Callable[[Any], None]]:
    def build(loop: Loop) -> Callable[[Any], None]:
        from harness.execution.loops import python_loop

        return python_loop(loop, compile_as)

    return build


def _fused(jit_compile: bool) -> Callable[[Loop], Callable[[Any], None]]:
    def build(loop: Loop) -> Callable[[Any], None]:
        from harness.execution.loops import fused_loop

        return fused_loop(loop, jit_compile)

    return build


MODES: dict[str, Mode] = {
    mode.name: mode
    for mode in (
        Mode("eager", "the program's loop as written, one Python iteration per step", _python(None)),
        Mode("function", "each step under tf.function, the loop in Python", _python("function")),
        Mode("xla", "each step under tf.function(jit_compile=True)", _python("xla")),
        Mode("fused", "the whole loop, epochs and batches, in one graph (tf.while_loop)",
             _fused(False)),
        Mode("fused_xla", "that graph compiled by XLA", _fused(True)),
    )
}


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
