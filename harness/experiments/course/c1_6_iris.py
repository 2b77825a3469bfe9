"""The course's 1.5 鸢尾花数据集读入 (reading the iris data, p43) and 1.6 神经网络实现鸢尾花分类
(iris classification, p45_iris.py).

The iris program is the course's SGD run of 2.6 too (p32_sgd.py is p45_iris.py with a
timer): ``iris_sgd`` is both. Its optimizer variants (2.6) share everything here but the
update rule. The course prints no number for these runs, only their curves; what they
print per epoch (``Epoch N, loss: L``, ``Test_acc: A``) is the record's columns, and the
weights with the optimizer's state every 100 epochs are its checkpoints.

NumPy 2 (NEP 50) keeps ``loss_all += loss.numpy()`` in float32 where NumPy 1 of the
course's time summed in float64: the printed loss is the float32 sum here.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sklearn import datasets

from harness.experiments import rules
from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Outcome, Printed, Section, Tolerance
from harness.experiments.training import (
    XLA,
    MeanBatchLoss,
    ModeDifference,
    Setup,
    TestAccuracy,
    Training,
    UpdateRule,
    differing,
)
from harness.record import Record, plain

DATA_SECTION = section("1.5", "鸢尾花数据集读入 (reading the iris data)")
SECTION = section("1.6", "神经网络实现鸢尾花分类 (iris classification)")
EPOCHS = 500
CHECKPOINT_EVERY = 100


def iris_dataset() -> Outcome:
    x_data = datasets.load_iris().data  # .data返回iris数据集所有输入特征
    y_data = datasets.load_iris().target  # .target返回iris数据集所有标签
    # The course prints the 150 rows; a record keeps what identifies them.
    scalars = {
        "x_data shape": list(x_data.shape),
        "x_data column sums": plain(x_data.sum(axis=0)),
        "x_data column min": plain(x_data.min(axis=0)),
        "x_data column max": plain(x_data.max(axis=0)),
        "y_data counts": plain(np.bincount(y_data)),
        "y_data first, last": plain([y_data[0], y_data[-1]]),
    }
    return Outcome({}, scalars, "")


IRIS_DATASET = Experiment(
    name="iris_dataset",
    section=DATA_SECTION,
    summary="sklearn's bundled iris data: 150 samples, 4 features, 3 classes of 50 (p43)",
    fn=iris_dataset,
    on_device=False,
    claims=(Claim("150 samples of 4 features, 50 of each of the 3 classes",
                  lambda r: r.scalars["x_data shape"] == [150, 4]
                  and r.scalars["y_data counts"] == [50, 50, 50], DATA_SECTION),),
)


def iris_setup() -> Setup:
    # 导入数据，分别为输入特征和标签
    x_data = datasets.load_iris().data
    y_data = datasets.load_iris().target

    # 随机打乱数据（因为原始数据是顺序的，顺序不打乱会影响准确率）
    np.random.seed(116)  # 使用相同的seed，保证输入特征和标签一一对应
    np.random.shuffle(x_data)
    np.random.seed(116)
    np.random.shuffle(y_data)
    tf.random.set_seed(116)

    # 将打乱后的数据集分割为训练集和测试集，训练集为前120行，测试集为后30行
    x_train = x_data[:-30]
    y_train = y_data[:-30]
    x_test = x_data[-30:]
    y_test = y_data[-30:]

    # 转换x的数据类型，否则后面矩阵相乘时会因数据类型不一致报错
    x_train = tf.cast(x_train, tf.float32)
    x_test = tf.cast(x_test, tf.float32)

    # from_tensor_slices函数使输入特征和标签值一一对应。（把数据集分批次，每个批次batch组数据）
    train_db = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)
    test_db = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32)

    # 生成神经网络的参数，4个输入特征故，输入层为4个输入节点；因为3分类，故输出层为3个神经元
    w1 = tf.Variable(tf.random.truncated_normal([4, 3], stddev=0.1, seed=1))
    b1 = tf.Variable(tf.random.truncated_normal([3], stddev=0.1, seed=1))
    return Setup({"w1": w1, "b1": b1}, train_db, test_db)


def iris_loss(x_train: tf.Tensor, y_train: tf.Tensor, w1: tf.Variable, b1: tf.Variable) -> tf.Tensor:
    y = tf.matmul(x_train, w1) + b1  # 神经网络乘加运算
    y = tf.nn.softmax(y)  # 使输出y符合概率分布（此操作后与独热码同量级，可相减求loss）
    y_ = tf.one_hot(y_train, depth=3)  # 将标签值转换为独热码格式，方便计算loss和accuracy
    loss = tf.reduce_mean(tf.square(y_ - y))  # 采用均方误差损失函数mse = mean(sum(y-out)^2)
    return loss


def count_correct(x_test: tf.Tensor, y_test: tf.Tensor, w1: tf.Variable, b1: tf.Variable) -> tf.Tensor:
    # 使用更新后的参数进行预测
    y = tf.matmul(x_test, w1) + b1
    y = tf.nn.softmax(y)
    pred = tf.argmax(y, axis=1)  # 返回y中最大值的索引，即预测的分类
    # 将pred转换为y_test的数据类型
    pred = tf.cast(pred, dtype=y_test.dtype)
    # 若分类正确，则correct=1，否则为0，将bool型的结果转换为int型
    correct = tf.cast(tf.equal(pred, y_test), dtype=tf.int32)
    # 将每个batch的correct数加起来
    correct = tf.reduce_sum(correct)
    return correct


def iris_training(update: UpdateRule, known_mode_differences: tuple[ModeDifference, ...] = ()) -> Training:
    return Training(iris_setup, {"w1": (4, 3), "b1": (3,)}, iris_loss, update, 0.1, EPOCHS,
                    prints=(MeanBatchLoss(), TestAccuracy(count_correct)),
                    checkpoints=CHECKPOINT_EVERY, known_mode_differences=known_mode_differences)


def render_iris(record: Record) -> str:
    c = record.columns
    return "\n".join(f"Epoch {epoch}, loss: {loss}\nTest_acc: {acc}\n--------------------------"
                     for epoch, loss, acc in zip(c["epoch"], c["loss"], c["test_acc"], strict=True))


def loss_falls(section_: Section) -> Claim:
    return Claim("the loss falls: the last epoch's is below the first's",
                 lambda r: r.last("loss") < r.columns["loss"][0], section_)


def learns(section_: Section) -> Claim:
    return Claim("the classifier learns: the last epoch's test accuracy is above the first's",
                 lambda r: r.last("test_acc") > r.columns["test_acc"][0], section_)


def iris_experiment(name: str, section_: Section, summary: str, update: UpdateRule,
                    tolerance: Tolerance, claims: tuple[Claim, ...],
                    known_mode_differences: tuple[ModeDifference, ...] = (),
                    printed: tuple[Printed, ...] = ()) -> Experiment:
    return Experiment(name=name, section=section_, summary=summary,
                      training=iris_training(update, known_mode_differences), tolerance=tolerance,
                      claims=claims, printed=printed, render=render_iris)


IRIS_SGD = iris_experiment(
    "iris_sgd", SECTION, "iris, one softmax layer, MSE, 500 epochs of 4 batches, SGD lr 0.1 (p45, p32)",
    rules.sgd("w1", "b1"),
    Tolerance.rounding({"oracle": 48, "xla": 116, "grappler": 0}),
    claims=(loss_falls(SECTION), learns(SECTION)),
    known_mode_differences=differing(XLA, xla=(0, 116), fused_xla=(0, 116)))

EXPERIMENTS = (IRIS_DATASET, IRIS_SGD)
