"""The course's 1.3 张量生成 (creating tensors): constant, convert_to_tensor, zeros/ones/fill,
and the random tensors (p17 to p22).

p21 and p22 draw without a seed: what the course prints is one draw among many. They
run here from the harness's fixed random state like everything else; their printed
values are listed as not comparable, and the claims the course makes about them are
checked instead.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Outcome
from harness.experiments.printing import prints, tensor
from harness.record import flat

SECTION = section("1.3", "张量生成 (creating tensors)")


def constant() -> Outcome:
    a = tf.constant([1, 5], dtype=tf.int64)
    return Outcome({}, {"a": tensor(a)}, a.device)


INT32_PRINTED = ("p17_constant.py writes dtype=tf.int64, so it prints int64; the course text "
                 "prints int32, what tf.constant([1, 5]) gives without a dtype (its comment: "
                 "本机默认 tf.int32). No run of this code can print it")

CONSTANT = Experiment(
    name="constant",
    section=SECTION,
    summary="tf.constant([1, 5], dtype=tf.int64): value, dtype, shape (p17)",
    fn=constant,
    # print(a), then print(a.dtype) and print(a.shape), which repeat the dtype and shape.
    printed=prints(SECTION, "a", "tf.Tensor([1 5], shape=(2,), dtype=int32)", "a",
                   impossible={".dtype": INT32_PRINTED}),
    claims=(Claim("a holds [1, 5] with shape (2,)",
                  lambda r: r.scalars["a"]["value"] == [1, 5] and r.scalars["a"]["shape"] == [2],
                  SECTION),),
)


def convert_to_tensor() -> Outcome:
    a = np.arange(0, 5)
    b = tf.convert_to_tensor(a, dtype=tf.int64)
    return Outcome({}, {"a": tensor(a), "b": tensor(b)}, b.device)


CONVERT_TO_TENSOR = Experiment(
    name="convert_to_tensor",
    section=SECTION,
    summary="np.arange(0, 5) through tf.convert_to_tensor(a, dtype=tf.int64) (p18)",
    fn=convert_to_tensor,
    printed=(
        *prints(SECTION, "a", "[0 1 2 3 4]", "a"),
        *prints(SECTION, "b", "tf.Tensor([0 1 2 3 4], shape=(5,), dtype=int64)", "b"),
    ),
)


def zeros_ones_fill() -> Outcome:
    a = tf.zeros([2, 3])
    b = tf.ones(4)
    c = tf.fill([2, 2], 9)
    return Outcome({}, {"a": tensor(a), "b": tensor(b), "c": tensor(c)}, c.device)


ZEROS_ONES_FILL = Experiment(
    name="zeros_ones_fill",
    section=SECTION,
    summary="tf.zeros([2, 3]), tf.ones(4), tf.fill([2, 2], 9) (p19)",
    fn=zeros_ones_fill,
    printed=(
        *prints(SECTION, "a", "tf.Tensor(\n[[0. 0. 0.]\n [0. 0. 0.]], shape=(2, 3), dtype=float32)", "a"),
        *prints(SECTION, "b", "tf.Tensor([1. 1. 1. 1.], shape=(4,), dtype=float32)", "b"),
        *prints(SECTION, "c", "tf.Tensor(\n[[9 9]\n [9 9]], shape=(2, 2), dtype=int32)", "c"),
    ),
)

UNSEEDED = "drawn without a seed: the course printed one draw among many"


def random_normal() -> Outcome:
    d = tf.random.normal([2, 2], mean=0.5, stddev=1)
    e = tf.random.truncated_normal([2, 2], mean=0.5, stddev=1)
    return Outcome({}, {"d": tensor(d), "e": tensor(e)}, e.device)


RANDOM_NORMAL = Experiment(
    name="random_normal",
    section=SECTION,
    summary="tf.random.normal and tf.random.truncated_normal, [2, 2], mean 0.5, stddev 1 (p21)",
    fn=random_normal,
    printed=(
        *prints(SECTION, "d", "tf.Tensor(\n[[0.21293578 1.3744814 ]\n [0.57955813 0.21024475]], "
                              "shape=(2, 2), dtype=float32)", "d", not_comparable=UNSEEDED),
        *prints(SECTION, "e", "tf.Tensor(\n[[ 1.0601948 -0.290159 ]\n [ 1.4136508  1.1021997]], "
                              "shape=(2, 2), dtype=float32)", "e", not_comparable=UNSEEDED),
    ),
    claims=(
        Claim("d and e are float32 tensors of shape (2, 2)",
              lambda r: all(r.scalars[n]["dtype"] == "float32" and r.scalars[n]["shape"] == [2, 2]
                            for n in ("d", "e")), SECTION),
        Claim("the truncated normal e lies within mean +- 2 stddev, (-1.5, 2.5)",
              lambda r: all(-1.5 < v < 2.5 for v in flat(r.scalars["e"]["value"])), SECTION),
    ),
)


def random_uniform() -> Outcome:
    f = tf.random.uniform([2, 2], minval=0, maxval=1)
    return Outcome({}, {"f": tensor(f)}, f.device)


RANDOM_UNIFORM = Experiment(
    name="random_uniform",
    section=SECTION,
    summary="tf.random.uniform([2, 2], minval=0, maxval=1) (p22)",
    fn=random_uniform,
    printed=prints(SECTION, "f", "tf.Tensor(\n[[0.8941778  0.1506716 ]\n [0.61614406 0.6378647 ]], "
                                 "shape=(2, 2), dtype=float32)", "f", not_comparable=UNSEEDED),
    claims=(Claim("f is uniform in [0, 1): every value is in [0, 1)",
                  lambda r: all(0 <= v < 1 for v in flat(r.scalars["f"]["value"])), SECTION),),
)

EXPERIMENTS = (CONSTANT, CONVERT_TO_TENSOR, ZEROS_ONES_FILL, RANDOM_NORMAL, RANDOM_UNIFORM)
