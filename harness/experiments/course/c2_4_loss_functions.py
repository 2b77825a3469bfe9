"""The course's 2.4 损失函数 (loss functions): the programs the note copied, as the course
writes them (p19_mse.py, p20_custom.py, p22_ce.py, p23_softmaxce.py).

Where the course's code is the note's (MSE, cross-entropy, softmax with cross-entropy),
the course's printed numbers are checked against the note's experiments. The custom
loss differs: the course builds ``y_`` from the float64 ``x`` before the cast, and
writes the condition the other way round (``tf.greater(y, y_)``, cost first). Both
versions are experiments; the course runs its program with cost 1 and profit 99 (the
file) and with the two swapped (the text's second result).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Printed
from harness.experiments.note.loss_functions import (
    CUSTOM_EPOCHS,
    CUSTOM_TOLERANCE,
    at_checkpoint,
    final,
    mse_data,
    render_mse,
    w1_training,
)
from harness.experiments.training import XLA, ModeDifference, differing
from harness.record import Record

SECTION = section("2.4", "损失函数 (loss functions)")


def course_custom_loss(cost: float, profit: float, x: tf.Tensor, y_: list[float], w1: tf.Variable) -> tf.Tensor:
    y = tf.matmul(x, w1)
    loss = tf.reduce_sum(tf.where(tf.greater(y, y_), (y - y_) * cost, (y_ - y) * profit))
    return loss


def w1_prints(printed: dict[Any, tuple[str, str]], known: dict[tuple[Any, int], str] | None = None,
              ) -> tuple[Printed, ...]:
    """The course's ``After N training steps,w1 is`` blocks (and ``Final w1 is``), per element."""
    known = known or {}
    out = []
    for epoch, texts in printed.items():
        for i, text in enumerate(texts):
            locate = final(f"w1_{i}") if epoch == "final" else at_checkpoint(epoch, f"w1_{i}")
            where = "final w1" if epoch == "final" else f"after {epoch} training steps, w1"
            out.append(Printed(f"{where}[{i}]", text, locate, SECTION,
                               known_difference=known.get((epoch, i), "")))
    return tuple(out)


LAST_DIGITS = ("the course printed this with TensorFlow 2.1 (2020); the loop never settles (the "
               "note's custom loss does the same), so its last digits hang on every rounding of "
               "the run that printed them")


def render_course_custom(record: Record) -> str:
    return render_mse(record).replace("after ", "After ").replace("final w1 is:", "Final w1 is:")


def course_custom(name: str, cost: float, profit: float, printed: dict[Any, tuple[str, str]],
                  known: dict[tuple[Any, int], str], claim: Claim,
                  differences: tuple[ModeDifference, ...]) -> Experiment:
    return Experiment(
        name=name,
        section=SECTION,
        summary=f"the course's custom loss (y_ before the cast, tf.greater(y, y_)), cost {cost:g}, "
                f"profit {profit:g}, 10000 epochs (p20)",
        # p20 draws its data and w1 with the very lines of p19 (the note's MSE program).
        training=w1_training(mse_data, functools.partial(course_custom_loss, cost, profit),
                             CUSTOM_EPOCHS, differences),
        tolerance=CUSTOM_TOLERANCE,
        printed=w1_prints(printed, known),
        claims=(claim,),
        render=render_course_custom,
    )


COURSE_CUSTOM_LOSS_PROFIT99 = course_custom(
    "course_custom_loss_profit99", cost=1, profit=99,
    printed={9000: ("1.1707956", "1.0338644"), 9500: ("1.1611756", "1.0651482"),
             "final": ("1.1626335", "1.1191947")},
    known={(9000, 0): LAST_DIGITS, (9500, 0): LAST_DIGITS, ("final", 0): LAST_DIGITS},
    claim=Claim("cost 1, profit 99: the coefficients end above 1 (the model predicts more)",
                lambda r: r.last("w1_0") > 1 and r.last("w1_1") > 1, SECTION),
    differences=differing(XLA + ": only the recorded loss, from epoch 500, at most 4 ULP",
                          xla=(500, 4), fused_xla=(500, 4)),
)
COURSE_CUSTOM_LOSS_COST99 = course_custom(
    "course_custom_loss_cost99", cost=99, profit=1,
    printed={9000: ("0.8042901", "0.7632218"), 9500: ("0.8998995", "0.82509875"),
             "final": ("0.9205433", "0.9186459")},
    known={(9000, 1): LAST_DIGITS, (9500, 1): LAST_DIGITS, ("final", 1): LAST_DIGITS},
    claim=Claim("cost 99, profit 1: the coefficients end below 1 (the model predicts less)",
                lambda r: r.last("w1_0") < 1 and r.last("w1_1") < 1, SECTION),
    differences=differing(XLA + ": from epoch 0, a drift (the loop never settles)",
                          xla=(0, 2428), fused_xla=(0, 2427)),
)

EXPERIMENTS = (COURSE_CUSTOM_LOSS_PROFIT99, COURSE_CUSTOM_LOSS_COST99)


def _scalar_element(name: str, i: int) -> Callable[[Record], Any]:
    return lambda record: record.scalars[name][i]


def _shape_of(name: str) -> Callable[[Record], str]:
    return lambda record: str((len(record.scalars[name]),))


def _softmax_ce_prints() -> tuple[Printed, ...]:
    shown = ("1.68795487e-04", "1.03475622e-03", "6.58839038e-02", "2.58349207e+00", "5.49852354e-02")
    out = []
    for name, label in (("loss_ce1", "分步计算的结果"), ("loss_ce2", "结合计算的结果")):
        out += [Printed(f"{label}[{i}]", text, _scalar_element(name, i), SECTION, "float64")
                for i, text in enumerate(shown)]
        out.append(Printed(f"{label}.shape", "(5,)", _shape_of(name),
                           SECTION, "exact"))
        out.append(Printed(f"{label}.dtype", "float64", lambda r: r.scalars["loss_dtype"], SECTION, "exact"))
    return tuple(out)


def _scalar(name: str) -> Callable[[Record], Any]:
    return lambda record: record.scalars[name]


# The course prints these of the runs the note's experiments make.
ALSO_PRINTED = {
    "mse_regression": (w1_prints({14000: ("0.9993659", "0.999166"), 14500: ("1.0002553", "0.99838644"),
                                  "final": ("1.0009792", "0.9977485")}), ()),
    "cross_entropy": ((
        Printed("loss_ce1", "0.5108256", _scalar("loss_ce1"), SECTION, style="scalar"),
        Printed("loss_ce1.dtype", "float32", _scalar("loss_ce_dtype"), SECTION, "exact"),
        Printed("loss_ce2", "0.22314353", _scalar("loss_ce2"), SECTION, style="scalar"),
        Printed("loss_ce2.dtype", "float32", _scalar("loss_ce_dtype"), SECTION, "exact"),
    ), ()),
    "softmax_cross_entropy": (_softmax_ce_prints(), ()),
}
