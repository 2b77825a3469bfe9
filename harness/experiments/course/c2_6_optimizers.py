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
from harness.experiments.course.c1_6_iris import iris_experiment, learns, loss_falls, rounding_band
from harness.experiments.declare import Claim, Printed, Tolerance
from harness.experiments.training import GRAPPLER, XLA, differing
from harness.record import Record

SECTION = section("2.6", "神经网络参数优化器 (optimizers)")

WALL_CLOCK = "the wall-clock time of one run on the course's machine"


def elapsed(text: str) -> tuple[Printed, ...]:
    return (Printed("耗时 (total_time, seconds)", text, lambda r: None, SECTION,
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
                    rounding_band(256, "the NumPy oracle moves the weights by up to 19 ULP, XLA by 110; "
                                       "the momentum, near zero as training settles, by 448 and 5,951 "
                                       "of its ULPs", state_ulps=16384), (loss_falls(SECTION), learns(SECTION)),
                    differing(XLA, xla=(0, 4603), fused_xla=(0, 5951)),
                    printed=elapsed("17.32265305519104")),
    iris_experiment("iris_adagrad", SECTION, "the iris program with Adagrad (p36)",
                    rules.adagrad("w1", "b1"),
                    rounding_band(256, "the NumPy oracle moves the weights by up to 36 ULP, XLA by 105, "
                                       "Grappler's rewrite by 16; the squared-gradient sums by 9 at most"),
                    (loss_falls(SECTION), learns(SECTION)),
                    differing(GRAPPLER, function=(0, 16), fused=(0, 16))
                    + differing(XLA, xla=(0, 105), fused_xla=(0, 105)),
                    printed=elapsed("13.080469131469727")),
    iris_experiment("iris_rmsprop", SECTION, "the iris program with RMSProp, beta 0.9 (p38): it diverges",
                    rules.rmsprop("w1", "b1"), Tolerance(0, RMSPROP_CHAOS), (DIVERGES, ACCURACY_FALLS),
                    differing(GRAPPLER + "; the run diverges at another epoch", function=(0, math.inf),
                              fused=(0, math.inf))
                    + differing(XLA + "; the run diverges", xla=(0, 8344234), fused_xla=(0, math.inf)),
                    printed=elapsed("16.42955780029297")),
    iris_experiment("iris_adam", SECTION, "the iris program with Adam, beta1 0.9, beta2 0.999 (p40)",
                    rules.adam("w1", "b1"),
                    rounding_band(64, "the weights and the loss move by up to 25 ULP (NumPy oracle 21, "
                                      "XLA 25, Grappler's rewrite 18); the moments by 330",
                                  state_ulps=1024), (loss_falls(SECTION), learns(SECTION)),
                    differing(GRAPPLER, function=(0, 330), fused=(0, 330))
                    + differing(XLA, xla=(0, 119), fused_xla=(0, 242)),
                    printed=elapsed("22.04225492477417")),
)

ALSO_PRINTED = {"iris_sgd": (elapsed("12.678699254989624"), ())}
