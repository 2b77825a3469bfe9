"""The course's 2.5 过拟合与欠拟合 (over- and underfitting): a 2-11-1 ReLU network on the red
and blue dots of dot.csv, without and with L2 regularization (p29_regularizationfree.py,
p29_regularizationcontain.py).

The course draws the weights with ``tf.random.normal`` and no seed, so the losses it
prints are one run among many: listed as not comparable. The harness's fixed random
state gives both runs the same initial weights, which makes the course's point a
comparison of one run with the other: the L2 run ends with smaller weights.

The decision boundary is the 0.5 contour of the network's output on a 60 x 60 grid.
The record keeps, of the 3600 predictions the course makes one point at a time, how
many are at least 0.5 in each row of the grid, and their minimum, maximum and mean;
the figure (``python -m harness figures``) draws the boundary from the golden's final
weights.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from harness.experiments import rules
from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Printed, Tolerance
from harness.experiments.training import XLA, ModeDifference, Setup, StepLoss, Training, differing
from harness.record import Record

SECTION = section("2.5", "过拟合与欠拟合 (regularization)")
# The course's data: 300 rows of x1, x2 and the colour y_c (1 red, 0 blue).
DOT_CSV = Path(__file__).resolve().parents[2] / "data" / "dot.csv"
EPOCHS = 400
VARIABLES = {"w1": (2, 11), "b1": (11,), "w2": (11, 1), "b2": (1,)}


def _variables() -> dict[str, tf.Variable]:
    # 生成神经网络的参数，输入层为2个神经元，隐藏层为11个神经元，1层隐藏层，输出层为1个神经元
    w1 = tf.Variable(tf.random.normal([2, 11]), dtype=tf.float32)  # 隐藏层2个输入，11个输出
    b1 = tf.Variable(tf.constant(0.01, shape=[11]))  # b的个数与w个数相同
    w2 = tf.Variable(tf.random.normal([11, 1]), dtype=tf.float32)  # 输出层接收11个，输出1个
    b2 = tf.Variable(tf.constant(0.01, shape=[1]))
    return {"w1": w1, "b1": b1, "w2": w2, "b2": b2}


def free_setup() -> Setup:
    # 读入数据/标签 生成x_train y_train
    df = pd.read_csv(DOT_CSV)
    x_data = np.array(df[['x1', 'x2']])
    y_data = np.array(df['y_c'])
    # The course's own lines: mypy's NumPy stubs do not take one array for vstack's sequence.
    x_train = np.vstack(x_data).reshape(-1, 2)  # type: ignore[call-overload]
    y_train = np.vstack(y_data).reshape(-1, 1)  # type: ignore[call-overload]  # 将y_data转换为二维数组
    x_train = tf.cast(x_train, tf.float32)
    y_train = tf.cast(y_train, tf.float32)
    train_db = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)
    return Setup(_variables(), train_db)


def l2_setup() -> Setup:
    df = pd.read_csv(DOT_CSV)
    x_data = np.array(df[['x1', 'x2']])
    y_data = np.array(df['y_c'])
    x_train = x_data
    y_train = y_data.reshape(-1, 1)
    x_train = tf.cast(x_train, tf.float32)
    y_train = tf.cast(y_train, tf.float32)
    train_db = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)
    return Setup(_variables(), train_db)


def free_loss(x_train: tf.Tensor, y_train: tf.Tensor, w1: tf.Variable, b1: tf.Variable,
              w2: tf.Variable, b2: tf.Variable) -> tf.Tensor:
    h1 = tf.matmul(x_train, w1) + b1  # 记录神经网络乘加运算
    h1 = tf.nn.relu(h1)  # relu激活函数
    y = tf.matmul(h1, w2) + b2

    # 采用均方误差损失函数mse = mean(sum(y-out)^2)
    loss = tf.reduce_mean(tf.square(y_train - y))
    return loss


def l2_loss(x_train: tf.Tensor, y_train: tf.Tensor, w1: tf.Variable, b1: tf.Variable,
            w2: tf.Variable, b2: tf.Variable) -> tf.Tensor:
    h1 = tf.matmul(x_train, w1) + b1  # 记录神经网络乘加运算
    h1 = tf.nn.relu(h1)
    y = tf.matmul(h1, w2) + b2

    # 采用均方误差损失函数mse = mean(sum(y-out)^2)
    loss_mse = tf.reduce_mean(tf.square(y_train - y))
    # 添加l2正则化
    loss_regularization = []
    # tf.nn.l2_loss(w)=sum(w ** 2) / 2
    loss_regularization.append(tf.nn.l2_loss(w1))
    loss_regularization.append(tf.nn.l2_loss(w2))
    # 求和
    loss_regularization = tf.reduce_sum(loss_regularization)
    loss = loss_mse + 0.03 * loss_regularization  # REGULARIZER = 0.03
    return loss


GRID_SCALARS = ("grid shape", "grid red per row", "grid min", "grid max", "grid mean")


def grid_predictions(setup: Setup) -> dict[str, Any]:
    """The course's 预测部分, one grid point at a time, summarised."""
    w1, b1, w2, b2 = (setup.variables[n] for n in VARIABLES)
    # xx在-3到3之间以步长为0.01，yy在-3到3之间以步长0.01,生成间隔数值点
    xx, yy = np.mgrid[-3:3:.1, -3:3:.1]
    # 将xx , yy拉直，并合并配对为二维张量，生成二维坐标点
    grid = np.c_[xx.ravel(), yy.ravel()]
    grid = tf.cast(grid, tf.float32)
    # 将网格坐标点喂入神经网络，进行预测，probs为输出
    probs: Any = []  # the course reuses the name for the list and the array
    for x_test in grid:
        # 使用训练好的参数进行预测
        h1 = tf.matmul([x_test], w1) + b1
        h1 = tf.nn.relu(h1)
        y = tf.matmul(h1, w2) + b2  # y为预测结果
        probs.append(y)
    # probs的shape调整成xx的样子
    probs = np.array(probs).reshape(xx.shape)
    return {
        "grid shape": list(probs.shape),
        # The red side of the boundary (probs >= 0.5) in each row of xx: the boundary in numbers.
        "grid red per row": [int(n) for n in (probs >= 0.5).sum(axis=1)],
        "grid min": float(probs.min()),
        "grid max": float(probs.max()),
        "grid mean": float(probs.mean(dtype=np.float64)),
    }


def render(record: Record) -> str:
    c = record.columns
    lines = [f"epoch: {epoch} loss: {loss}"
             for epoch, loss in zip(c["epoch"], c["loss"], strict=True) if epoch % 20 == 0]
    return "\n".join([*lines, "*******predict*******",
                      f"red grid points per row: {record.scalars['grid red per row']}"])


def final_weight_norm(record: Record) -> float:
    """The sum of squares of the final w1 and w2, what L2 regularization penalises."""
    row = record.checkpoints
    return float(sum(values[-1] ** 2 for name, values in row.items() if name.startswith(("w1_", "w2_"))))


UNSEEDED = "the course draws its weights without a seed: one run among many"

# What the course prints every 20 epochs, for each run.
PRINTED_LOSSES = {
    "regularization_free": (
        "1.6901788711547852", "0.06456395983695984", "0.0639718547463417", "0.054891664534807205",
        "0.037164993584156036", "0.0290686022490263", "0.026631897315382957", "0.025654718279838562",
        "0.025450214743614197", "0.02445397339761257", "0.02315516769886017", "0.02262507937848568",
        "0.02210732363164425", "0.02202308177947998", "0.022013641893863678", "0.02216213382780552",
        "0.02226211130619049", "0.022413412109017372", "0.022659024223685265", "0.02281317301094532"),
    "regularization_l2": (
        "1.530280351638794", "0.7782743573188782", "0.6781619191169739", "0.5953636765480042",
        "0.5263288617134094", "0.4674427807331085", "0.41659849882125854", "0.37269479036331177",
        "0.3337797522544861", "0.3002385199069977", "0.27038004994392395", "0.24350212514400482",
        "0.22041508555412292", "0.20032131671905518", "0.1829461306333542", "0.16758175194263458",
        "0.15422624349594116", "0.14259028434753418", "0.13238896429538727", "0.12349270284175873"),
}


def _loss_at(epoch: int) -> Callable[[Record], Any]:
    return lambda r: r.at(epoch, "loss")


def _printed(name: str) -> tuple[Printed, ...]:
    return tuple(Printed(f"epoch {20 * i}, loss", text, _loss_at(20 * i), SECTION,
                         style="repr", not_comparable=UNSEEDED)
                 for i, text in enumerate(PRINTED_LOSSES[name]))


LOSS_FALLS = Claim("the loss falls: the last printed loss is below the first",
                   lambda r: r.columns["loss"][-1] < r.columns["loss"][0], SECTION)


def regularization(name: str, summary: str, setup: Any, loss: Any, claims: tuple[Claim, ...],
                   differences: tuple[ModeDifference, ...], tolerance: Tolerance) -> Experiment:
    return Experiment(
        name=name, section=SECTION, summary=summary,
        training=Training(setup, VARIABLES, loss, rules.sgd(*VARIABLES), 0.01, EPOCHS,
                          prints=(StepLoss(),), print_every=20, checkpoints="end",
                          after=grid_predictions, after_scalars=GRID_SCALARS,
                          known_mode_differences=differences),
        tolerance=tolerance,
        printed=_printed(name), claims=(LOSS_FALLS, *claims), render=render, group="regularization")


REGULARIZATION_FREE = regularization(
    "regularization_free", "2-11-1 ReLU network on dot.csv, MSE, 400 epochs of 10 batches, lr 0.01 "
    "(p29 free)", free_setup, free_loss, (), differing(XLA, xla=(0, 265), fused_xla=(0, 265)),
    Tolerance.rounding({"oracle": 576, "xla": 265, "grappler": 0}, note="XLA's is a bias"))
REGULARIZATION_L2 = regularization(
    "regularization_l2", "the same with 0.03 * (l2_loss(w1) + l2_loss(w2)) added (p29 contain)",
    l2_setup, l2_loss,
    (Claim("L2 regularization keeps the weights smaller: the final sum of squares of w1 and w2 is "
           "below the free run's", lambda r, free: final_weight_norm(r) < final_weight_norm(free),
           SECTION, needs=("regularization_free",)),),
    differing(XLA, xla=(20, 53), fused_xla=(20, 53)),
    Tolerance.rounding({"oracle": 91, "xla": 53, "grappler": 0}))

EXPERIMENTS = (REGULARIZATION_FREE, REGULARIZATION_L2)
