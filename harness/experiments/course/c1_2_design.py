"""The course's 1.2 神经网络设计过程 (designing a neural network): the forward pass of one
iris sample (p38_forward.py) and gradient descent on loss = (w + 1)^2 (p13_backpropagation.py)."""

from __future__ import annotations

import tensorflow as tf

from harness.experiments import rules
from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Outcome, Printed, Tolerance
from harness.experiments.printing import epoch_prints, prints, tensor
from harness.experiments.training import Setup, StepLoss, Training, Weights
from harness.record import Record

SECTION = section("1.2", "神经网络设计过程 (designing a neural network)")


def forward_pass() -> Outcome:
    x1 = tf.constant([[5.8, 4.0, 1.2, 0.2]])  # 5.8,4.0,1.2,0.2（0）
    w1 = tf.constant([[-0.8, -0.34, -1.4],
                      [0.6, 1.3, 0.25],
                      [0.5, 1.45, 0.9],
                      [0.65, 0.7, -1.2]])
    b1 = tf.constant([2.52, -3.1, 5.62])
    y = tf.matmul(x1, w1) + b1
    y_dim = tf.squeeze(y)  # 去掉y中纬度1（观察y_dim与 y 效果对比）
    y_pro = tf.nn.softmax(y_dim)  # 使y_dim符合概率分布，输出为概率值了
    scalars = {"x1.shape": list(x1.shape), "w1.shape": list(w1.shape), "b1.shape": list(b1.shape),
               "y.shape": list(y.shape), "y": tensor(y), "y_dim": tensor(y_dim), "y_pro": tensor(y_pro)}
    return Outcome({}, scalars, y_pro.device)


def _shape(name: str) -> Printed:
    text = {"x1.shape": "(1, 4)", "w1.shape": "(4, 3)", "b1.shape": "(3,)", "y.shape": "(1, 3)"}[name]
    return Printed(f"print({name})", text, lambda r: str(tuple(r.scalars[name])), SECTION, "exact")


LAST_DIGIT = ("the course printed it with TensorFlow 2.1 (2020); softmax's float32 rounding has "
              "moved since by a unit in the last place")

FORWARD_PASS = Experiment(
    name="forward_pass",
    section=SECTION,
    summary="one iris sample through y = x1 w1 + b1, squeezed, then softmax (p38)",
    fn=forward_pass,
    printed=(
        *(_shape(n) for n in ("x1.shape", "w1.shape", "b1.shape", "y.shape")),
        *prints(SECTION, "y", "tf.Tensor([[ 1.0099998  2.008     -0.6600003]], shape=(1, 3), "
                              "dtype=float32)", "y"),
        *prints(SECTION, "y_dim", "tf.Tensor([ 1.0099998  2.008     -0.6600003], shape=(3,), "
                                  "dtype=float32)", "y_dim"),
        *prints(SECTION, "y_pro", "tf.Tensor([0.2563381  0.69540703 0.04825489], shape=(3,), "
                                  "dtype=float32)", "y_pro", known={"[0]": LAST_DIGIT, "[2]": LAST_DIGIT}),
    ),
    claims=(Claim("y_pro is a probability distribution: it sums to 1 within float32 rounding",
                  lambda r: abs(sum(r.scalars["y_pro"]["value"]) - 1) < 1e-6, SECTION),
            Claim("the sample is of class 1: y_pro is largest there",
                  lambda r: max(range(3), key=lambda i: r.scalars["y_pro"]["value"][i]) == 1, SECTION)),
)


# --- gradient descent on loss = (w + 1)^2 ----------------------------------------------


def w_setup() -> Setup:
    w = tf.Variable(tf.constant(5, dtype=tf.float32))
    return Setup({"w": w}, ())


def square_loss(w: tf.Variable) -> tf.Tensor:
    loss = tf.square(w + 1)
    return loss


NO_REDUCTION = ("one parameter and no reduction: each step is the same few float32 operations on w, "
                "so no order of evaluation can move a bit (the NumPy float32 loop gives TensorFlow's "
                "run bit for bit); any change is a change of behaviour")


def render_gradient_descent(record: Record, with_lr: bool = False) -> str:
    c = record.columns
    lines = []
    for i, epoch in enumerate(c["epoch"]):
        line = "After %s epoch,w is %f,loss is %f" % (epoch, c["w"][i], c["loss"][i])  # noqa: UP031 (the course's own line)
        lines.append(line + (",lr is %f" % c["lr"][i] if with_lr else ""))  # noqa: UP031
    return "\n".join(lines)


# The course's 运行结果: w and loss after each of the 40 epochs.
PRINTED_W_LOSS = """\
2.600000 36.000000|1.160000 12.959999|0.296000 4.665599|-0.222400 1.679616|-0.533440 0.604662|
-0.720064 0.217678|-0.832038 0.078364|-0.899223 0.028211|-0.939534 0.010156|-0.963720 0.003656|
-0.978232 0.001316|-0.986939 0.000474|-0.992164 0.000171|-0.995298 0.000061|-0.997179 0.000022|
-0.998307 0.000008|-0.998984 0.000003|-0.999391 0.000001|-0.999634 0.000000|-0.999781 0.000000|
-0.999868 0.000000|-0.999921 0.000000|-0.999953 0.000000|-0.999972 0.000000|-0.999983 0.000000|
-0.999990 0.000000|-0.999994 0.000000|-0.999996 0.000000|-0.999998 0.000000|-0.999999 0.000000|
-0.999999 0.000000|-1.000000 0.000000|-1.000000 0.000000|-1.000000 0.000000|-1.000000 0.000000|
-1.000000 0.000000|-1.000000 0.000000|-1.000000 0.000000|-1.000000 0.000000|-1.000000 0.000000"""


GRADIENT_DESCENT = Experiment(
    name="gradient_descent",
    section=SECTION,
    summary="w = 5, loss = (w + 1)^2, 40 steps of lr 0.2 (p13)",
    training=Training(w_setup, {"w": ()}, square_loss, rules.sgd("w"), 0.2, 40,
                      prints=(Weights("w"), StepLoss())),
    tolerance=Tolerance(0, NO_REDUCTION),
    printed=epoch_prints(SECTION, PRINTED_W_LOSS, ("w", "loss")),
    claims=(Claim("w approaches -1, the minimum of (w + 1)^2",
                  lambda r: abs(r.last("w") + 1) < 1e-5, SECTION),),
    render=render_gradient_descent,
)

EXPERIMENTS = (FORWARD_PASS, GRADIENT_DESCENT)
