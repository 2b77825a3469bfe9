"""The course's 1.4 TF2常用函数 (common functions): casts and reductions, arithmetic, powers,
matmul, datasets, GradientTape, enumerate, one_hot, softmax, assign_sub, argmax (p23 to p41).

Where the text's copy of a program prints more than the program file (p23's text also
prints ``tensor a`` and ``numpy a``; p30's text labels the power ``a的次方``), the text's
copy is the one written here: it is the one whose output the course shows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Outcome, Printed
from harness.experiments.printing import prints, tensor
from harness.record import Record, plain

SECTION = section("1.4", "TF2常用函数 (common functions)")


def one_shot(name: str, summary: str, fn: Callable[[], Outcome], *printed: tuple[Printed, ...],
             claims: tuple[Claim, ...] = (), on_device: bool = True) -> Experiment:
    return Experiment(name=name, section=SECTION, summary=summary, fn=fn,
                      printed=tuple(p for group in printed for p in group), claims=claims,
                      on_device=on_device)


def cast_reduce_min_max() -> Outcome:
    x1 = tf.constant([1., 2., 3.], dtype=tf.float64)
    x2 = tf.cast(x1, tf.int32)
    minimum, maximum = tf.reduce_min(x2), tf.reduce_max(x2)
    a = tf.constant(5, dtype=tf.int64)
    scalars = {"x1": tensor(x1), "x2": tensor(x2), "minimum of x2": tensor(minimum),
               "maxmum of x2": tensor(maximum), "tensor a": tensor(a), "numpy a": plain(a.numpy())}
    return Outcome({}, scalars, x2.device)


def reduce_mean_sum() -> Outcome:
    x = tf.constant([[1, 2, 3], [2, 2, 3]])
    mean, total = tf.reduce_mean(x), tf.reduce_sum(x, axis=1)  # 所有数的均值; 每一行的和
    return Outcome({}, {"x": tensor(x), "mean of x": tensor(mean), "sum of x": tensor(total)}, x.device)


def arithmetic() -> Outcome:
    a = tf.ones([1, 3])
    b = tf.fill([1, 3], 3.)
    scalars = {"a": tensor(a), "b": tensor(b), "a+b": tensor(tf.add(a, b)),
               "a-b": tensor(tf.subtract(a, b)), "a*b": tensor(tf.multiply(a, b)),
               "b/a": tensor(tf.divide(b, a))}
    return Outcome({}, scalars, a.device)


def square_pow_sqrt() -> Outcome:
    a = tf.fill([1, 2], 3.)
    scalars = {"a": tensor(a), "a的次方": tensor(tf.pow(a, 3)), "a的平方": tensor(tf.square(a)),
               "a的开方": tensor(tf.sqrt(a))}
    return Outcome({}, scalars, a.device)


def matmul() -> Outcome:
    a = tf.ones([3, 2])
    b = tf.fill([2, 3], 3.)
    return Outcome({}, {"a": tensor(a), "b": tensor(b), "a*b": tensor(tf.matmul(a, b))}, a.device)


def from_tensor_slices() -> Outcome:
    features = tf.constant([12, 23, 10, 17])
    labels = tf.constant([0, 1, 1, 0])
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    scalars = {}
    for i, element in enumerate(dataset):  # print(element): a (feature, label) pair
        scalars[f"element {i} feature"], scalars[f"element {i} label"] = map(tensor, element)
    return Outcome({}, scalars, features.device)


def gradient_tape() -> Outcome:
    with tf.GradientTape() as tape:
        x = tf.Variable(tf.constant(3.0))
        y = tf.pow(x, 2)
    grad = tape.gradient(y, x)
    return Outcome({}, {"grad": tensor(grad)}, grad.device)


def enumerate_() -> Outcome:
    seq = ['one', 'two', 'three']
    printed = [[i, element] for i, element in enumerate(seq)]
    return Outcome({}, {"printed": printed}, "")


def one_hot() -> Outcome:
    classes = 3
    labels = tf.constant([1, 0, 2])  # 输入的元素值最小为0，最大为2
    output = tf.one_hot(labels, depth=classes)
    return Outcome({}, {"result of labels1": tensor(output)}, output.device)


def softmax() -> Outcome:
    y = tf.constant([1.01, 2.01, -0.66])
    y_pro = tf.nn.softmax(y)
    return Outcome({}, {"y_pro": tensor(y_pro), "sum of y_pro": tensor(tf.reduce_sum(y_pro))},
                   y_pro.device)


def assign_sub() -> Outcome:
    x = tf.Variable(4)
    x.assign_sub(1)
    return Outcome({}, {"x": tensor(x)}, x.device)


def argmax() -> Outcome:
    test = np.array([[1, 2, 3], [2, 3, 4], [5, 4, 3], [8, 7, 2]])
    columns, rows = tf.argmax(test, axis=0), tf.argmax(test, axis=1)  # 每一列 / 每一行的最大值的索引
    return Outcome({}, {"test": tensor(test), "每一列的最大值的索引": tensor(columns),
                        "每一行的最大值的索引": tensor(rows)}, columns.device)


def _enumerated(line: int, part: int) -> Callable[[Record], str]:
    return lambda record: str(record.scalars["printed"][line][part])


def _sums_to_one(record: Record) -> bool:
    return bool(abs(sum(record.scalars["y_pro"]["value"]) - 1) < 1e-6)


EXPERIMENTS = (
    one_shot("cast_reduce_min_max", "tf.cast float64 -> int32, reduce_min, reduce_max, tensor.numpy() "
             "(p23)", cast_reduce_min_max,
             prints(SECTION, "x1", "tf.Tensor([1. 2. 3.], shape=(3,), dtype=float64)", "x1"),
             prints(SECTION, "x2", "tf.Tensor([1 2 3], shape=(3,), dtype=int32)", "x2"),
             prints(SECTION, "minimum of x2", "tf.Tensor(1, shape=(), dtype=int32)", "minimum of x2"),
             prints(SECTION, "maxmum of x2", "tf.Tensor(3, shape=(), dtype=int32)", "maxmum of x2"),
             prints(SECTION, "tensor a", "tf.Tensor(5, shape=(), dtype=int64)", "tensor a"),
             prints(SECTION, "numpy a", "5", "numpy a")),
    one_shot("reduce_mean_sum", "tf.reduce_mean of an int32 matrix, tf.reduce_sum along axis 1 (p25)",
             reduce_mean_sum,
             prints(SECTION, "x", "tf.Tensor(\n[[1 2 3]\n [2 2 3]], shape=(2, 3), dtype=int32)", "x"),
             prints(SECTION, "mean of x", "tf.Tensor(2, shape=(), dtype=int32)", "mean of x"),
             prints(SECTION, "sum of x", "tf.Tensor([6 7], shape=(2,), dtype=int32)", "sum of x"),
             claims=(Claim("the mean of an int32 tensor is an int32 (2, not 2.1666667)",
                           lambda r: r.scalars["mean of x"]["value"] == 2, SECTION),)),
    one_shot("arithmetic", "tf.add, tf.subtract, tf.multiply, tf.divide of ones and threes (p29)",
             arithmetic,
             *(prints(SECTION, name, f"tf.Tensor([[{v}. {v}. {v}.]], shape=(1, 3), dtype=float32)", name)
               for name, v in (("a", 1), ("b", 3), ("a+b", 4), ("a-b", -2), ("a*b", 3), ("b/a", 3)))),
    one_shot("square_pow_sqrt", "tf.pow(a, 3), tf.square, tf.sqrt of threes (p30)", square_pow_sqrt,
             prints(SECTION, "a", "tf.Tensor([[3. 3.]], shape=(1, 2), dtype=float32)", "a"),
             prints(SECTION, "a的次方", "tf.Tensor([[27. 27.]], shape=(1, 2), dtype=float32)", "a的次方"),
             prints(SECTION, "a的平方", "tf.Tensor([[9. 9.]], shape=(1, 2), dtype=float32)", "a的平方"),
             prints(SECTION, "a的开方", "tf.Tensor([[1.7320508 1.7320508]], shape=(1, 2), dtype=float32)",
                    "a的开方")),
    one_shot("matmul", "tf.matmul of a 3x2 matrix of ones and a 2x3 of threes (p31)", matmul,
             prints(SECTION, "a", "tf.Tensor(\n[[1. 1.]\n [1. 1.]\n [1. 1.]], shape=(3, 2), dtype=float32)",
                    "a"),
             prints(SECTION, "b", "tf.Tensor(\n[[3. 3. 3.]\n [3. 3. 3.]], shape=(2, 3), dtype=float32)", "b"),
             prints(SECTION, "a*b", "tf.Tensor(\n[[6. 6. 6.]\n [6. 6. 6.]\n [6. 6. 6.]], shape=(3, 3), "
                                    "dtype=float32)", "a*b")),
    one_shot("from_tensor_slices", "tf.data.Dataset.from_tensor_slices((features, labels)), iterated "
             "(p33)", from_tensor_slices,
             *(prints(SECTION, f"element {i} {part}", f"<tf.Tensor: shape=(), dtype=int32, numpy={v}>",
                      f"element {i} {part}")
               for i, pair in enumerate(((12, 0), (23, 1), (10, 1), (17, 0)))
               for part, v in zip(("feature", "label"), pair, strict=True))),
    one_shot("gradient_tape", "the derivative of x^2 at x = 3 with tf.GradientTape (p34)", gradient_tape,
             prints(SECTION, "grad", "tf.Tensor(6.0, shape=(), dtype=float32)", "grad")),
    one_shot("enumerate", "Python's enumerate over ['one', 'two', 'three'] (p35)", enumerate_,
             tuple(Printed(f"line {i}, {part}", text, _enumerated(i, j), SECTION, "exact")
                   for i, line in enumerate(("0 one", "1 two", "2 three"))
                   for j, (part, text) in enumerate(zip(("index", "element"), line.split(), strict=True))),
             on_device=False),
    one_shot("one_hot", "tf.one_hot([1, 0, 2], depth=3) (p37)", one_hot,
             prints(SECTION, "result of labels1", "tf.Tensor(\n[[0. 1. 0.]\n [1. 0. 0.]\n [0. 0. 1.]], "
                                                  "shape=(3, 3), dtype=float32)", "result of labels1")),
    one_shot("softmax", "tf.nn.softmax([1.01, 2.01, -0.66]) and its sum (p39)", softmax,
             prints(SECTION, "y_pro", "tf.Tensor([0.25598174 0.69583046 0.0481878 ], shape=(3,), "
                                      "dtype=float32)", "y_pro"),
             prints(SECTION, "sum of y_pro", "tf.Tensor(1.0, shape=(), dtype=float32)", "sum of y_pro"),
             claims=(Claim("softmax gives a probability distribution: it sums to 1", _sums_to_one,
                           SECTION),)),
    one_shot("assign_sub", "tf.Variable(4).assign_sub(1) (p40)", assign_sub,
             prints(SECTION, "x", "<tf.Variable 'Variable:0' shape=() dtype=int32, numpy=3>", "x")),
    one_shot("argmax", "tf.argmax of a 4x3 NumPy array along each axis (p41)", argmax,
             prints(SECTION, "test", "[[1 2 3]\n [2 3 4]\n [5 4 3]\n [8 7 2]]", "test"),
             prints(SECTION, "每一列的最大值的索引", "tf.Tensor([3 3 1], shape=(3,), dtype=int64)",
                    "每一列的最大值的索引"),
             prints(SECTION, "每一行的最大值的索引", "tf.Tensor([2 2 0 0], shape=(4,), dtype=int64)",
                    "每一行的最大值的索引")),
)
