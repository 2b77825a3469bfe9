"""The course's 2.6 神经网络参数优化器 (optimizers): the iris program of 1.6 with SGDM,
Adagrad, RMSProp and Adam written by hand (p34_sgdm.py to p40_adam.py; p32_sgd.py is
``iris_sgd``).

The course shows each run's loss and accuracy curves and the time it took (耗时), a
wall-clock number no run can give again: listed as not comparable. The RMSProp run
diverges: its loss becomes NaN part way and the test accuracy falls (the course's
plot shows it); NaN is its result.
"""

from __future__ import annotations

import math

from harness.experiments import rules
from harness.experiments.course import section
from harness.experiments.course.c1_6_iris import iris_experiment, learns, loss_falls
from harness.experiments.declare import Claim, Printed, Tolerance
from harness.experiments.training import GRAPPLER, XLA, differing
from harness.record import Record

SECTION = section("2.6", "神经网络参数优化器 (optimizers)")

WALL_CLOCK = "the wall-clock time of one run on the course's machine"
# What the programs print it as: the benchmarks put it beside this machine's times.
TOTAL_TIME = "耗时 (total_time, seconds)"


def elapsed(text: str) -> tuple[Printed, ...]:
    return (Printed(TOTAL_TIME, text, lambda r: None, SECTION,
                    "float64", "repr", not_comparable=WALL_CLOCK),)


def _first_nan_epoch(record: Record) -> int | None:
    found = record.scalars.get("non_finite", {}).get("columns")
    return found["first_epoch"] if found else None


RMSPROP_CHAOS = (
    "no rounding-only band exists: lr * g / sqrt(v) amplifies every rounding, so another float32 "
    "evaluation order (the NumPy oracle) agrees for two epochs (1 and 2 ULP), is 269 ULP away at "
    "epoch 4, differs by 1.4% at epoch 5 and never diverges; where the run turns to NaN hangs on "
    "every rounding")

DIVERGES = Claim("RMSProp with lr 0.1 diverges: the loss becomes NaN part way through",
                 lambda r: (epoch := _first_nan_epoch(r)) is not None and epoch > 0, SECTION)
ACCURACY_FALLS = Claim("after it diverges the test accuracy falls below a half (the course's plot: "
                       "about 0.37)", lambda r: r.last("test_acc") < 0.5, SECTION)

EXPERIMENTS = (
    iris_experiment("iris_sgdm", SECTION, "the iris program with SGD with momentum, beta 0.9 (p34)",
                    rules.sgdm("w1", "b1"),
                    Tolerance.rounding({"oracle": 86, "xla": 110, "grappler": 0},
                                       {"oracle": 4736, "xla": 5951, "grappler": 0},
                                       "the momentum is near zero as training settles: a rounding is "
                                       "thousands of its ULPs"), (loss_falls(SECTION), learns(SECTION)),
                    differing(XLA, xla=(0, 4603), fused_xla=(0, 5951)),
                    printed=elapsed("17.32265305519104")),
    iris_experiment("iris_adagrad", SECTION, "the iris program with Adagrad (p36)",
                    rules.adagrad("w1", "b1"),
                    Tolerance.rounding({"oracle": 37, "xla": 105, "grappler": 16},
                                       {"oracle": 4, "xla": 5, "grappler": 7}),
                    (loss_falls(SECTION), learns(SECTION)),
                    differing(GRAPPLER, function=(0, 16), fused=(0, 16))
                    + differing(XLA, xla=(0, 105), fused_xla=(0, 105)),
                    printed=elapsed("13.080469131469727")),
    iris_experiment("iris_rmsprop", SECTION, "the iris program with RMSProp, beta 0.9 (p38): it diverges",
                    rules.rmsprop("w1", "b1"), Tolerance(0, RMSPROP_CHAOS), (DIVERGES, ACCURACY_FALLS),
                    differing(GRAPPLER + "; the run turns to NaN at another epoch", function=(0, math.inf, 370),
                              fused=(0, math.inf, 370))
                    + differing(XLA + "; the run turns to NaN at the same epoch", xla=(0, 8344234, 371))
                    + differing(XLA + "; the run turns to NaN at another epoch", fused_xla=(0, math.inf, 365)),
                    printed=elapsed("16.42955780029297")),
    iris_experiment("iris_adam", SECTION, "the iris program with Adam, beta1 0.9, beta2 0.999 (p40)",
                    rules.adam("w1", "b1"),
                    Tolerance.rounding({"oracle": 22, "xla": 25, "grappler": 18},
                                       {"oracle": 162, "xla": 242, "grappler": 330}),
                    (loss_falls(SECTION), learns(SECTION)),
                    differing(GRAPPLER, function=(0, 330), fused=(0, 330))
                    + differing(XLA, xla=(0, 119), fused_xla=(0, 242)),
                    printed=elapsed("22.04225492477417")),
)

ALSO_PRINTED = {"iris_sgd": (elapsed("12.678699254989624"), ())}
