"""The course's 2.1 预备知识 (preliminaries): tf.where, np.random.RandomState, np.vstack and
np.mgrid with np.c_ (p4 to p7).

The text follows p7 with a fragment, ``np.mgrid[1:5:1, 2:4:0.5]``, and prints three
rows for it: what ``1:4:1`` gives. The fragment runs here as written; its printed rows
are strict known impossibilities.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from harness.experiments.course import section
from harness.experiments.declare import Claim, Experiment, Outcome, Printed
from harness.experiments.printing import prints, tensor

SECTION = section("2.1", "预备知识 (preliminaries)")


def where() -> Outcome:
    a = tf.constant([1, 2, 3, 1, 1])
    b = tf.constant([0, 1, 3, 4, 5])
    c = tf.where(tf.greater(a, b), a, b)  # 若a>b，返回a对应位置的元素，否则返回b对应位置的元素
    return Outcome({}, {"c": tensor(c)}, c.device)


def random_state() -> Outcome:
    rdm = np.random.RandomState(seed=1)
    a = rdm.rand()
    b = rdm.rand(2, 3)
    return Outcome({}, {"a": float(a), "b": tensor(b)}, "")


def vstack() -> Outcome:
    a = np.array([1, 2, 3])
    b = np.array([4, 5, 6])
    c = np.vstack((a, b))
    return Outcome({}, {"c": tensor(c)}, "")


def mgrid() -> Outcome:
    # 生成等间隔数值点
    x, y = np.mgrid[1:3:1, 2:4:0.5]
    # 将x, y拉直，并合并配对为二维张量，生成二维坐标点
    grid = np.c_[x.ravel(), y.ravel()]
    scalars = {"x": tensor(x), "y": tensor(y), "x.ravel()": tensor(x.ravel()),
               "y.ravel()": tensor(y.ravel()), "grid": tensor(grid)}
    # The text's fragment after the program.
    x, y = np.mgrid[1:5:1, 2:4:0.5]
    scalars.update({"x of mgrid[1:5:1, 2:4:0.5]": tensor(x), "y of mgrid[1:5:1, 2:4:0.5]": tensor(y)})
    return Outcome({}, scalars, "")


FOUR_ROWS = ("np.mgrid[1:5:1, ...] has four rows (1, 2, 3, 4: the end 5 is left out); the "
             "text prints the three of 1:4:1. No run of this code can print a third row and stop")


def _rows(name: str) -> Printed:
    # NumPy prints no shape: how many rows the text shows is the printed fact that cannot match.
    return Printed(f"{name}, rows printed", "3", lambda r: str(r.scalars[name]["shape"][0]), SECTION,
                   "exact", impossible=FOUR_ROWS)


EXPERIMENTS = (
    Experiment(name="where", section=SECTION, summary="tf.where(tf.greater(a, b), a, b) (p4)", fn=where,
               printed=prints(SECTION, "c", "tf.Tensor([1 2 3 4 5], shape=(5,), dtype=int32)", "c")),
    Experiment(name="random_state", section=SECTION,
               summary="np.random.RandomState(seed=1): rand() then rand(2, 3) (p5)", fn=random_state,
               on_device=False,
               printed=(*prints(SECTION, "a", "0.417022004702574", "a", style="repr"),
                        *prints(SECTION, "b", "[[7.20324493e-01 1.14374817e-04 3.02332573e-01]\n"
                                              " [1.46755891e-01 9.23385948e-02 1.86260211e-01]]", "b"))),
    Experiment(name="vstack", section=SECTION, summary="np.vstack of [1, 2, 3] and [4, 5, 6] (p6)",
               fn=vstack, on_device=False,
               printed=prints(SECTION, "c", "[[1 2 3]\n [4 5 6]]", "c")),
    Experiment(
        name="mgrid", section=SECTION,
        summary="np.mgrid[1:3:1, 2:4:0.5], ravel and np.c_ (p7), then the text's mgrid[1:5:1, 2:4:0.5]",
        fn=mgrid, on_device=False,
        printed=(
            *prints(SECTION, "x", "[[1. 1. 1. 1.]\n [2. 2. 2. 2.]]", "x"),
            *prints(SECTION, "y", "[[2.  2.5 3.  3.5]\n [2.  2.5 3.  3.5]]", "y"),
            *prints(SECTION, "x.ravel()", "[1. 1. 1. 1. 2. 2. 2. 2.]", "x.ravel()"),
            *prints(SECTION, "y.ravel()", "[2.  2.5 3.  3.5 2.  2.5 3.  3.5]", "y.ravel()"),
            *prints(SECTION, "grid", "[[1.  2. ]\n [1.  2.5]\n [1.  3. ]\n [1.  3.5]\n [2.  2. ]\n"
                                     " [2.  2.5]\n [2.  3. ]\n [2.  3.5]]", "grid"),
            *prints(SECTION, "x of mgrid[1:5:1, 2:4:0.5]", "[[1. 1. 1. 1.]\n [2. 2. 2. 2.]\n [3. 3. 3. 3.]]",
                    "x of mgrid[1:5:1, 2:4:0.5]"),
            *prints(SECTION, "y of mgrid[1:5:1, 2:4:0.5]",
                    "[[2.  2.5 3.  3.5]\n [2.  2.5 3.  3.5]\n [2.  2.5 3.  3.5]]", "y of mgrid[1:5:1, 2:4:0.5]"),
            _rows("x of mgrid[1:5:1, 2:4:0.5]"),
            _rows("y of mgrid[1:5:1, 2:4:0.5]"),
        ),
        claims=(Claim("np.c_ pairs the raveled x and y into grid points",
                      lambda r: r.scalars["grid"]["value"] == [list(p) for p in zip(
                          r.scalars["x.ravel()"]["value"], r.scalars["y.ravel()"]["value"], strict=True)], SECTION),),
    ),
)
