"""The note's section 2.4, 損失函式 (loss functions): MSE, a custom loss, cross-entropy.

The code of each experiment is the note's code. A training experiment gives its
set-up and the lines inside its GradientTape; the loop around them, the same in
every training program, is ``harness.execution`` (which also builds it in the other
execution modes).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from harness.experiments import rules
from harness.experiments.declare import NOTE, Claim, Experiment, Outcome, Printed, Section, Tolerance
from harness.experiments.training import XLA, ModeDifference, Setup, StepLoss, Training, Weights, differing
from harness.record import Record, plain

SECTION = Section(NOTE, "第二章 (chapter 2)", "2.4", "損失函式 (loss functions)")
SEED = 23455
LR = 0.002
CHECKPOINT_EVERY = 500  # the note prints w1 when epoch % 500 == 0


# --- 均方誤差 mse -----------------------------------------------------------------

MSE_EPOCHS = 15000


def mse_data() -> Setup:
    rdm = np.random.RandomState(seed=SEED)
    x = rdm.rand(32, 2)
    y_ = [[x1 + x2 + (rdm.rand() / 10.0 - 0.05)] for (x1, x2) in x]  # noise in [-0.05, 0.05)
    x = tf.cast(x, dtype=tf.float32)
    w1 = tf.Variable(tf.random.normal([2, 1], stddev=1, seed=1))
    return Setup({"w1": w1}, (x, y_))


def mse_loss(x: tf.Tensor, y_: list[float], w1: tf.Variable) -> tf.Tensor:
    y = tf.matmul(x, w1)
    loss_mse = tf.reduce_mean(tf.square(y_ - y))
    return loss_mse


def w1_text(w0: float, w1: float) -> str:
    return str(np.array([[w0], [w1]], dtype=np.float32))


def checkpoint_lines(record: Record, label: str) -> list[str]:
    """What the note prints every CHECKPOINT_EVERY epochs; ``label`` is its wording."""
    cols = record.columns
    return [f"{label.format(epoch=epoch)}\n{w1_text(w0, w1)} \n"
            for epoch, w0, w1 in zip(cols["epoch"], cols["w1_0"], cols["w1_1"], strict=True)
            if epoch % CHECKPOINT_EVERY == 0]


def final_w1(record: Record) -> str:
    return w1_text(record.last("w1_0"), record.last("w1_1"))


def render_mse(record: Record) -> str:
    return "\n".join(checkpoint_lines(record, "after {epoch} training steps,w1 is")
                     + [f"final w1 is:  {final_w1(record)}"])


def at_checkpoint(epoch: int, column: str) -> Callable[[Record], Any]:
    return lambda record: record.at(epoch, column)


def final(column: str) -> Callable[[Record], Any]:
    return lambda record: record.last(column)


def w1_training(setup: Callable[[], Setup], loss: Callable[..., tf.Tensor], epochs: int,
                known_mode_differences: tuple[ModeDifference, ...]) -> Training:
    """The note's loop: w1 updated by ``w1.assign_sub(lr * grads)``, w1 printed every 500."""
    return Training(setup, {"w1": (2, 1)}, loss, rules.sgd("w1"), LR, epochs,
                    prints=(Weights("w1"), StepLoss()), print_every=CHECKPOINT_EVERY,
                    known_mode_differences=known_mode_differences)


# The "結果" block of the note: w1 after these epochs, then the final w1.
_MSE_PRINTED = {
    0: ("-0.8096241", "1.4855157"),
    500: ("-0.21934733", "1.6984866"),
    1000: ("0.0893971", "1.673225"),
    1500: ("0.28368822", "1.5853055"),
    14000: ("0.9993659", "0.999166"),
    14500: ("1.0002553", "0.99838644"),
}

# Measured on TF 2.21: NumPy prints this run's w1[0] after 1000 steps, 0.089397110, as 0.08939711.
_MSE_KNOWN = {(1000, 0): (
    "the note prints 0.0893971, which NumPy prints for the float32 one step (1 ULP) below this "
    "run's value, 0.08939711: the note's run differed there in the last bit; the note does not "
    "say which TensorFlow printed it, and the other 13 numbers it prints of this run reproduce "
    "bit for bit")}

MSE_REGRESSION = Experiment(
    name="mse_regression",
    section=SECTION,
    summary="y_ = x1 + x2 + noise fitted by w1 with MSE, 15000 epochs, lr 0.002",
    training=w1_training(mse_data, mse_loss, MSE_EPOCHS, differing(
        XLA + ": the loss differs by 2 ULP from epoch 0 and w1 from epoch 500, at most 13 ULP "
        "(the loss 20 ULP), inside the 128-ULP tolerance", xla=(0, 20), fused_xla=(0, 20))),
    tolerance=Tolerance.rounding({"oracle": 1, "xla": 20, "grappler": 0}),
    printed=tuple(
        Printed(f"after {epoch} training steps, w1[{i}]", text, at_checkpoint(epoch, f"w1_{i}"),
                SECTION, known_difference=_MSE_KNOWN.get((epoch, i), ""))
        for epoch, texts in _MSE_PRINTED.items()
        for i, text in enumerate(texts)
    ) + (
        Printed("final w1[0]", "1.0009792", final("w1_0"), SECTION),
        Printed("final w1[1]", "0.9977485", final("w1_1"), SECTION),
    ),
    claims=(Claim("w1 approaches [1, 1], the coefficients of y_ = x1 + x2",
                  lambda r: all(abs(r.last(c) - 1) < 0.01 for c in ("w1_0", "w1_1")), SECTION),),
    render=render_mse,
)


# --- 自定義損失函式: profit and cost ---------------------------------------------------

CUSTOM_EPOCHS = 10000


def custom_data() -> Setup:
    rdm = np.random.RandomState(seed=SEED)
    x = rdm.rand(32, 2)
    x = tf.cast(x, tf.float32)
    # As in the note, y_ is built from the float32 x: a list of float32 scalar tensors.
    y_ = [[x1 + x2 + rdm.rand() / 10.0 - 0.05] for x1, x2 in x]
    w1 = tf.Variable(tf.random.normal([2, 1], stddev=1, seed=1))
    return Setup({"w1": w1}, (x, y_))


def custom_loss(profit: float, cost: float, x: tf.Tensor, y_: list[float], w1: tf.Variable) -> tf.Tensor:
    y = tf.matmul(x, w1)
    loss_zdy = tf.reduce_sum(tf.where(tf.greater(y_, y), (y_ - y) * profit, (y - y_) * cost))
    return loss_zdy


def render_custom(record: Record) -> str:
    return "\n".join(checkpoint_lines(record, "after {epoch} epoch w1 is:")
                     + ["--------------", f"final w1 is  {final_w1(record)}"])


# Why the final w1 of the note's comment is not expected to reproduce bit for bit.
CUSTOM_NOT_REPRODUCING = (
    "the loop never settles: w1 saws up by about 0.03 a step and drops back by up to 0.26 "
    "(seen on TF 2.21), so its value after 10000 steps hangs on every rounding of the run "
    "that printed it, and the note does not say which TensorFlow that was"
)

CUSTOM_TOLERANCE = Tolerance(
    0,
    "no rounding-only band exists: one ULP that flips a tf.where branch changes every "
    "step after it by about a step size, so a run either matches bit for bit or has "
    "drifted; any tolerance wide enough to admit a flipped branch admits anything",
)


def custom_experiment(name: str, profit: float, cost: float, note: tuple[str, str],
                      claim: Claim, xla: tuple[ModeDifference, ...]) -> Experiment:
    return Experiment(
        name=name,
        section=SECTION,
        summary=f"custom loss, profit {profit:g}, cost {cost:g}, 10000 epochs, lr 0.002",
        training=w1_training(custom_data, functools.partial(custom_loss, profit, cost),
                             CUSTOM_EPOCHS, xla),
        tolerance=CUSTOM_TOLERANCE,
        printed=tuple(
            Printed(f"final w1[{i}] (comment in the note)", text, final(f"w1_{i}"), SECTION,
                    known_difference=CUSTOM_NOT_REPRODUCING)
            for i, text in enumerate(note)
        ),
        claims=(claim,),
        render=render_custom,
    )


# The code in the note sets profit = 1, cost = 99; its comment also gives the run
# with the two swapped.
CUSTOM_LOSS_COST99 = custom_experiment(
    "custom_loss_cost99", profit=1, cost=99, note=("0.95219666", "0.909771"),
    claim=Claim("cost 99 > profit 1: both weights end below 1 (the model predicts low)",
                lambda r: r.last("w1_0") < 1 and r.last("w1_1") < 1, SECTION),
    xla=differing(
        XLA + ": the loss differs by 2 ULP at epoch 0 (up to 2427 later), w1[0] by 20 ULP at "
        "epoch 500 and up to 289 ULP later (final w1[0] 0.92052609 against 0.92054331): a "
        "drift, beyond the 0-ULP tolerance", xla=(0, 2427), fused_xla=(0, 2427)),
)
CUSTOM_LOSS_PROFIT99 = custom_experiment(
    "custom_loss_profit99", profit=99, cost=1, note=("1.1231122", "1.0713713"),
    claim=Claim("profit 99 > cost 1: both weights end above 1 (the model predicts high)",
                lambda r: r.last("w1_0") > 1 and r.last("w1_1") > 1, SECTION),
    xla=differing(
        XLA + ": only the recorded loss differs (1 ULP at epoch 0, at most 4 ULP); w1 is "
        "bit-identical at every checkpoint", xla=(0, 4), fused_xla=(0, 4)),
)


# --- 交叉熵 ce ------------------------------------------------------------------------


def cross_entropy() -> Outcome:
    loss_ce1 = tf.losses.categorical_crossentropy([1, 0], [0.6, 0.4])
    loss_ce2 = tf.losses.categorical_crossentropy([1, 0], [0.8, 0.2])
    # By hand, as the note does: H(y_, y) = -sum(y_ * ln y).
    h1 = -(1 * np.log(0.6) + 0 * np.log(0.4))
    h2 = -(1 * np.log(0.8) + 0 * np.log(0.2))
    scalars = {
        "loss_ce1": plain(loss_ce1),
        "loss_ce2": plain(loss_ce2),
        "loss_ce_dtype": loss_ce1.dtype.name,
        "h1_by_hand": plain(h1),
        "h2_by_hand": plain(h2),
    }
    return Outcome({}, scalars, loss_ce1.device)


def render_cross_entropy(record: Record) -> str:
    s = record.scalars
    return "\n".join(
        f"{name} tf.Tensor({np.float32(s[name])!s}, shape=(), dtype={s['loss_ce_dtype']})"
        for name in ("loss_ce1", "loss_ce2")
    )


def scalar(name: str) -> Callable[[Record], Any]:
    return lambda record: record.scalars[name]


CROSS_ENTROPY = Experiment(
    name="cross_entropy",
    section=SECTION,
    summary="tf.losses.categorical_crossentropy of [1,0] against [0.6,0.4] and [0.8,0.2]",
    fn=cross_entropy,
    printed=(
        Printed("loss_ce1 (TensorFlow)", "0.5108256", scalar("loss_ce1"), SECTION, style="scalar"),
        Printed("loss_ce2 (TensorFlow)", "0.22314353", scalar("loss_ce2"), SECTION, style="scalar"),
        Printed("h1 (by hand)", "0.511", scalar("h1_by_hand"), SECTION, "float64", "fixed"),
        Printed("h2 (by hand)", "0.223", scalar("h2_by_hand"), SECTION, "float64", "fixed"),
    ),
    claims=(Claim("h1 > h2: y2 = (0.8, 0.2) is closer to the answer (1, 0)",
                  lambda r: r.scalars["loss_ce1"] > r.scalars["loss_ce2"], SECTION),),
    render=render_cross_entropy,
)


# --- softmax 與交叉熵結合 -------------------------------------------------------------------
# The note names tf.nn.softmax_cross_entropy_with_logits but gives no data; this is the
# data of the course the note follows (float64, as NumPy makes it).


def softmax_cross_entropy() -> Outcome:
    y_ = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    y = np.array([[12, 3, 2], [3, 10, 1], [1, 2, 5], [4, 6.5, 1.2], [3, 6, 1]])
    y_pro = tf.nn.softmax(y)
    loss_ce1 = tf.losses.categorical_crossentropy(y_, y_pro)
    loss_ce2 = tf.nn.softmax_cross_entropy_with_logits(y_, y)
    scalars = {
        "loss_ce1": plain(loss_ce1),
        "loss_ce2": plain(loss_ce2),
        "loss_dtype": loss_ce2.dtype.name,
    }
    return Outcome({}, scalars, loss_ce2.device)


def render_softmax_cross_entropy(record: Record) -> str:
    s = record.scalars
    return "\n".join(
        f"{label}: {np.array(s[name])}"
        for label, name in (("分步計算的結果", "loss_ce1"), ("結合計算的結果", "loss_ce2"))
    )


def _prints_the_same(record: Record) -> bool:
    # The course shows the two results printed side by side, identical as printed.
    a, b = (np.array2string(np.array(record.scalars[n])) for n in ("loss_ce1", "loss_ce2"))
    return a == b


SOFTMAX_CROSS_ENTROPY = Experiment(
    name="softmax_cross_entropy",
    section=SECTION,
    summary="softmax then categorical_crossentropy against softmax_cross_entropy_with_logits",
    fn=softmax_cross_entropy,
    claims=(Claim("softmax then cross-entropy prints the same as "
                  "tf.nn.softmax_cross_entropy_with_logits", _prints_the_same, SECTION),),
    render=render_softmax_cross_entropy,
)

EXPERIMENTS = (MSE_REGRESSION, CUSTOM_LOSS_COST99, CUSTOM_LOSS_PROFIT99, CROSS_ENTROPY,
               SOFTMAX_CROSS_ENTROPY)
