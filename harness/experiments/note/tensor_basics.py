"""The note's short snippets after section 2.4: 建立張量 (creating tensors) and 常用函式(一)
(common functions). Their printed output is cut short in the note, so they are kept as
goldens, with the claims their code states."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from harness.experiments.declare import NOTE, Claim, Experiment, Outcome, Section
from harness.record import Record, plain

CREATING = Section(NOTE, "snippets after 2.4", "", "建立張量 (creating tensors)")
FUNCTIONS = Section(NOTE, "snippets after 2.4", "", "常用函式(一) (common functions)")


def tensor_creation() -> Outcome:
    a = tf.constant([1, 5], dtype=tf.int32)
    scalars = {
        "value": plain(a),
        "dtype": a.dtype.name,
        "shape": list(a.shape),
        # What print(a), print(a.dtype) and print(a.shape) show.
        "print_a": str(a),
        "print_dtype": str(a.dtype),
        "print_shape": str(a.shape),
    }
    return Outcome({}, scalars, a.device)


def render_prints(names: tuple[str, ...]) -> Callable[[Record], str]:
    def render(record: Record) -> str:
        return "\n".join(str(record.scalars[n]) for n in names)

    return render


TENSOR_CREATION = Experiment(
    name="tensor_creation",
    section=CREATING,
    summary="tf.constant([1, 5], dtype=tf.int32): value, dtype, shape",
    fn=tensor_creation,
    claims=(
        Claim("the value is [1, 5]", lambda r: r.scalars["value"] == [1, 5], CREATING),
        Claim("the dtype is int32", lambda r: r.scalars["dtype"] == "int32", CREATING),
        Claim("the shape is (2,)", lambda r: r.scalars["print_shape"] == "(2,)", CREATING),
    ),
    render=render_prints(("print_a", "print_dtype", "print_shape")),
)


REDUCTIONS = ("reduce_min", "reduce_max", "reduce_mean", "reduce_sum")


def common_functions() -> Outcome:
    a = tf.constant([[0, 1, 2], [3, 4, 5], [6, 7, 8]], dtype=tf.int64)
    b = tf.cast(a, tf.float32)
    scalars = {"cast": plain(b), "cast_dtype": b.dtype.name}
    for name in REDUCTIONS:
        reduce = getattr(tf, name)
        scalars[name] = plain(reduce(b))
        for axis in (0, 1):
            scalars[f"{name}_axis{axis}"] = plain(reduce(b, axis=axis))
    return Outcome({}, scalars, b.device)


def _reduces_like_numpy(record: Record) -> bool:
    # axis=0 reduces down each column, axis=1 along each row, as NumPy's min/max/mean/sum do.
    s = record.scalars
    b = np.array(s["cast"], dtype=np.float32)
    for name in REDUCTIONS:
        reduce = getattr(np, name.removeprefix("reduce_"))
        for suffix, axis in (("", None), ("_axis0", 0), ("_axis1", 1)):
            if not np.array_equal(np.array(s[name + suffix], dtype=np.float32), reduce(b, axis=axis)):
                return False
    return True


COMMON_FUNCTIONS = Experiment(
    name="common_functions",
    section=FUNCTIONS,
    summary="tf.cast int64 -> float32, reduce_min/max/mean/sum whole and along each axis",
    fn=common_functions,
    claims=(
        Claim("tf.cast makes float32", lambda r: r.scalars["cast_dtype"] == "float32", FUNCTIONS),
        Claim("axis=0 reduces each column, axis=1 each row (as NumPy does)", _reduces_like_numpy,
              FUNCTIONS),
    ),
    render=render_prints(("cast", *(f"{n}{s}" for n in REDUCTIONS
                                      for s in ("", "_axis0", "_axis1")))),
)

EXPERIMENTS = (TENSOR_CREATION, COMMON_FUNCTIONS)
