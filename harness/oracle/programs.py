"""Each training program of the note and the course, in NumPy: its data, drawn as the program
draws it, its model, its update rule, its learning rate and its length."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from harness.experiments.declare import band_for
from harness.kernels import Kernels
from harness.oracle import models
from harness.oracle.arithmetic import gradient_fma
from harness.oracle.optimizers import update
from harness.record import NON_FINITE, Record, non_finite_summary

Batch = tuple[np.ndarray, ...]
DOT_CSV = Path(__file__).resolve().parents[1] / "data" / "dot.csv"


# --- data ------------------------------------------------------------------------------


def linear_data(kind: Literal["float64 y_", "float32 y_"]) -> tuple[list[Batch], None]:
    """x = rand(32, 2) and y_ = x1 + x2 + noise, RandomState(23455), as float32.

    The note's MSE and the course's programs build y_ from the float64 x, which becomes
    float32 in ``y_ - y``; the note's custom loss builds it from the float32 x, one
    float32 operation at a time, left to right.
    """
    rdm = np.random.RandomState(seed=23455)
    x64 = rdm.rand(32, 2)
    x = x64.astype(np.float32)
    if kind == "float64 y_":
        y_ = np.array([[a + b + (rdm.rand() / 10.0 - 0.05)] for a, b in x64]).astype(np.float32)
    else:
        f = np.float32
        y_ = np.array([[f(f(f(a + b) + f(rdm.rand() / 10.0)) - f(0.05))] for a, b in x], dtype=f)
    return [(x, y_)], None


def no_data() -> tuple[list[Batch], None]:
    """The gradient-descent programs have one parameter and no data: one step an epoch."""
    return [()], None


def iris_data() -> tuple[list[Batch], Batch]:
    """sklearn's iris, shuffled with seed 116 (features and labels alike), the first 120 rows
    for training in batches of 32, the last 30 for the test."""
    from sklearn import datasets

    iris = datasets.load_iris()
    x, y = iris.data.copy(), iris.target.copy()
    np.random.RandomState(116).shuffle(x)
    np.random.RandomState(116).shuffle(y)
    x = x.astype(np.float32)
    train_x, train_y, test = x[:-30], y[:-30], (x[-30:], y[-30:])
    return [(train_x[i:i + 32], train_y[i:i + 32]) for i in range(0, len(train_x), 32)], test


def dot_data() -> tuple[list[Batch], None]:
    """dot.csv's 300 points (x1, x2) and colours, float32, in batches of 32."""
    with DOT_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    x = np.array([[float(r["x1"]), float(r["x2"])] for r in rows], dtype=np.float32)
    y = np.array([[float(r["y_c"])] for r in rows], dtype=np.float32)
    return [(x[i:i + 32], y[i:i + 32]) for i in range(0, len(x), 32)], None


# --- programs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    data: Callable[[], tuple[list[Batch], Batch | None]]
    model: models.Model
    rule: str
    lr: float | Callable[[int], float]
    epochs: int
    shapes: dict[str, tuple[int, ...]]
    # The loss a program prints: its last step's, or the mean of the epoch's batch losses.
    loss: Literal["step", "mean"] = "step"
    # How the float32 oracle agrees with TensorFlow, as measured on TF 2.21 under every kernel
    # class this CPU can run (python -m harness kernels), its products done as TensorFlow's
    # kernel class does them (harness/oracle/arithmetic.py):
    # "band": every value within the experiment's tolerance (another evaluation order);
    # "exact": bit for bit (no reduction whose order could differ);
    # "weights exact": w1 bit for bit, the loss within what summation order explains;
    # "chaotic": bit for bit at first, then apart (rounding is amplified: RMSProp).
    agreement: Literal["band", "exact", "weights exact", "chaotic"] = "band"
    # Its products are those whose order under each kernel class arithmetic.py models (a
    # batch of 32 by 2 weights, and that weight's gradient): the oracle does them as the
    # run's kernel class does. The others' products take one fixed order (unfused), the same
    # under every class, and the agreement is a band.
    kernel_products: bool = False
    # For "band": the agreement band where it is wider than the experiment's tolerance (which
    # holds runs to goldens of their own kernel class): the bands' rule (band_for) applied to the
    # largest distance across the kernel classes (python -m harness.report.cpukernels, its oracle
    # table).
    band: int = 0
    # Claims of the program that do not hold in float64 arithmetic, and why.
    float64_breaks: dict[str, str] = field(default_factory=dict)


def _decay(epoch: int) -> float:
    return float(0.2 * 0.99 ** (epoch / 1))


Shapes = dict[str, tuple[int, ...]]
W1: Shapes = {"w1": (2, 1)}
IRIS: Shapes = {"w1": (4, 3), "b1": (3,)}
NET: Shapes = {"w1": (2, 11), "b1": (11,), "w2": (11, 1), "b2": (1,)}

PROGRAMS: dict[str, Program] = {
    "mse_regression": Program(lambda: linear_data("float64 y_"), models.linear_mse, "sgd", 0.002, 15000, W1,
                              kernel_products=True),
    "custom_loss_cost99": Program(lambda: linear_data("float32 y_"),
                                  models.linear_custom(profit=1, cost=99, course=False), "sgd", 0.002,
                                  10000, W1, agreement="weights exact", kernel_products=True),
    "custom_loss_profit99": Program(lambda: linear_data("float32 y_"),
                                    models.linear_custom(profit=99, cost=1, course=False), "sgd", 0.002,
                                    10000, W1, agreement="weights exact", kernel_products=True),
    "course_custom_loss_profit99": Program(lambda: linear_data("float64 y_"),
                                           models.linear_custom(profit=99, cost=1, course=True),
                                           "sgd", 0.002, 10000, W1, agreement="weights exact",
                                           kernel_products=True),
    "course_custom_loss_cost99": Program(lambda: linear_data("float64 y_"),
                                         models.linear_custom(profit=1, cost=99, course=True),
                                         "sgd", 0.002, 10000, W1, agreement="weights exact",
                                         kernel_products=True),
    "gradient_descent": Program(no_data, models.square, "sgd", 0.2, 40, {"w": ()}, agreement="exact"),
    "lr_exponential_decay": Program(no_data, models.square, "sgd", _decay, 40, {"w": ()}, agreement="exact"),
    **{f"iris_{rule}": Program(iris_data, models.softmax_mse, rule, 0.1, 500, IRIS, "mean")
       for rule in ("sgd", "sgdm", "adagrad", "adam")},
    "iris_rmsprop": Program(iris_data, models.softmax_mse, "rmsprop", 0.1, 500, IRIS, "mean",
                            agreement="chaotic", float64_breaks={
                                "RMSProp with lr 0.1 diverges: the loss becomes NaN part way through":
                                    "in float64 the run never turns to NaN (nor does the NumPy "
                                    "float32 one): the divergence is one outcome of float32 roundings",
                                "after it diverges the test accuracy falls below a half (the course's "
                                "plot: about 0.37)": "without the divergence the accuracy ends at 1.0"}),
    # The ReLU network's boundary points amplify rounding: one fixed evaluation order is 576 ULP
    # (b1_8) from TensorFlow's AVX-512 run and 2167 from its AVX2 run (851, 1106 under SSE4.1,
    # AVX), and TensorFlow's own runs are 1427 apart between SSE4.1 and AVX-512: 2 x 2167 ~ 4096.
    # 2,167 ULP under AVX2's kernels (b1_8), beyond the experiment's own band.
    "regularization_free": Program(dot_data, models.relu_mlp(0.0), "sgd", 0.01, 400, NET, band=band_for(2167)),
    "regularization_l2": Program(dot_data, models.relu_mlp(0.03), "sgd", 0.01, 400, NET),
}
MOMENTS = {"sgd": (), "sgdm": ("m",), "adagrad": ("v",), "rmsprop": ("v",), "adam": ("m", "v")}


@dataclass
class OracleRun:
    """Every epoch's values, named as the records name them (``w1_0``, ``m_w_3``, ``loss``,
    ``test_acc``), and for a custom loss the branch each sample took at every step."""

    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    branches: list[np.ndarray] = field(default_factory=list)

    def column(self, name: str, epochs: Sequence[int]) -> list[Any]:
        return [self.rows[e][name] for e in epochs]

    def as_record(self, experiment: str, dtype: str) -> Record:
        """Every epoch as a record's rows, so that the program's claims can be asked of it."""
        epochs = sorted(self.rows)
        table = {"epoch": epochs, **{name: self.column(name, epochs) for name in self.rows[epochs[0]]}}
        scalars = {NON_FINITE: found} if (found := non_finite_summary({"columns": table})) else {}
        return Record(experiment, f"NumPy {dtype}", "cpu", "-", columns=table, checkpoints=table,
                      scalars=scalars)


def _named(name: str, value: np.ndarray) -> dict[str, Any]:
    flat = np.asarray(value).ravel()
    if np.ndim(value) == 0:
        return {name: flat[0].item()}
    return {f"{name}_{i}": v.item() for i, v in enumerate(flat)}


def train(experiment: str, initial: dict[str, Sequence[float] | float], dtype: type = np.float32,
          epochs: int | None = None, kernels: Kernels | None = None) -> OracleRun:
    """The program's loop from the given initial weights, in ``dtype`` throughout; its products
    as TensorFlow does them under ``kernels`` where the program's are modelled (None: unfused)."""
    program = PROGRAMS[experiment]
    fma = program.kernel_products and kernels is not None and gradient_fma(kernels)
    t = np.dtype(dtype).type
    batches, test = program.data()
    batches = [tuple(b.astype(dtype) if b.dtype.kind == "f" else b for b in batch) for batch in batches]
    params: dict[str, np.ndarray] = {name: np.asarray(initial[f"{name}_initial"], dtype=dtype).reshape(shape)
              for name, shape in program.shapes.items()}
    state: dict[str, dict[str, Any]] = {name: {} for name in params}
    run = OracleRun()
    step = 0
    for epoch in range(program.epochs if epochs is None else epochs):
        lr = program.lr(epoch) if callable(program.lr) else program.lr
        loss_all = t(0)
        for batch in batches:
            step += 1
            loss, grads, branches = program.model(batch, params, fma)
            loss_all = loss_all + t(loss)
            if branches is not None:
                run.branches.append(branches)
            for name in params:
                params[name] = update(program.rule, params[name], grads[name], lr, state[name], step)
        row: dict[str, Any] = {"loss": (loss if program.loss == "step" else loss_all / t(len(batches))).item(),
                               "lr": lr}
        for name, value in params.items():
            row.update(_named(name, value))
            for moment in MOMENTS[program.rule]:
                row.update(_named(f"{moment}_{name.rstrip('0123456789')}", state[name][moment]))
        if MOMENTS[program.rule] and program.rule == "adam":
            row["global_step"] = step
        if test is not None:
            row["test_acc"] = models.correct(test[0].astype(dtype), test[1], params) / len(test[1])
        run.rows[epoch] = row
    return run


@dataclass(frozen=True)
class BranchFlips:
    """Steps at which some sample took the other ``tf.where`` branch in the two runs."""

    steps: int
    first: int | None


def branch_flips(a: OracleRun, b: OracleRun) -> BranchFlips:
    flips = [i for i, (x, y) in enumerate(zip(a.branches, b.branches, strict=True))
             if not np.array_equal(x, y)]
    return BranchFlips(len(flips), flips[0] if flips else None)


def summation_bound(terms: int) -> float:
    """Relative distance two orders of summing ``terms`` non-negative float32 values may
    reach: each lies within gamma_(n-1) = (n-1)u / (1-(n-1)u) of the exact sum (Higham,
    Accuracy and Stability of Numerical Algorithms, 4.2), so two lie within twice that."""
    u = 2.0 ** -24
    k = terms - 1
    return 2 * k * u / (1 - k * u)
