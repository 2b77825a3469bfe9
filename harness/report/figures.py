"""The course's figures, drawn from the goldens (``python -m harness figures``).

- ``iris_optimizers.png``: the loss and test-accuracy curves of the five iris runs, one
  chart each as the course's optimizer comparison (2.6) sets them side by side;
- ``regularization.png``: the red and blue dots of dot.csv and the 0.5 contour of each
  regularization run's network (2.5), computed with NumPy from the golden's final
  weights: the course's ``plt.contour(xx, yy, probs, levels=[.5])``.

Nothing is run: a reader can hold these beside the course's pictures, and a new
golden redraws them. TensorFlow-free.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from harness.report.charts import pyplot, save
from harness.store import golden

IRIS = ("iris_sgd", "iris_sgdm", "iris_adagrad", "iris_rmsprop", "iris_adam")
REGULARIZATION = ("regularization_free", "regularization_l2")
DOT_CSV = Path(__file__).resolve().parents[1] / "data" / "dot.csv"


def iris_optimizers(root: Path, kind: str, out: Path) -> Path:
    # Every golden is read before a figure opens: a damaged one leaves no figure behind.
    runs = {name: golden.load(root, kind, name, None).tables["columns"] for name in IRIS}
    plt = pyplot()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, columns in runs.items():
        label = name.removeprefix("iris_")
        loss_ax.plot(columns["epoch"], columns["loss"], label=label)
        acc_ax.plot(columns["epoch"], columns["test_acc"], label=label)
    loss_ax.set(title="Loss Function Curve", xlabel="Epoch", ylabel="Loss")
    acc_ax.set(title="Acc Curve", xlabel="Epoch", ylabel="Acc")
    for ax in (loss_ax, acc_ax):
        ax.legend()
    fig.suptitle(f"iris, five optimizers (golden/{kind}; RMSProp's loss is NaN once it diverges)")
    fig.tight_layout()
    return save(fig, out / "iris_optimizers.png")


def network(weights: dict[str, float], points: np.ndarray) -> np.ndarray:
    """The regularization runs' 2-11-1 ReLU network, in NumPy float32, from flattened weights."""

    def matrix(name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        return np.array([weights[f"{name}_{i}"] for i in range(size)], dtype=np.float32).reshape(shape)

    w1, b1, w2, b2 = matrix("w1", (2, 11)), matrix("b1", (11,)), matrix("w2", (11, 1)), matrix("b2", (1,))
    h1 = np.maximum(points.astype(np.float32) @ w1 + b1, 0)
    out: np.ndarray = (h1 @ w2 + b2).ravel()
    return out


def dots() -> tuple[np.ndarray, np.ndarray]:
    with DOT_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return (np.array([[float(r["x1"]), float(r["x2"])] for r in rows]),
            np.array([int(r["y_c"]) for r in rows]))


def regularization(root: Path, kind: str, out: Path) -> Path:
    plt = pyplot()
    x, colour = dots()
    xx, yy = np.mgrid[-3:3:.1, -3:3:.1]
    grid = np.c_[xx.ravel(), yy.ravel()]
    finals = {name: golden.load(root, kind, name, None).tables["checkpoints"] for name in REGULARIZATION}
    fig, axes = plt.subplots(1, len(REGULARIZATION), figsize=(11, 5))
    for ax, (name, final) in zip(axes, finals.items(), strict=True):
        weights = {column: values[-1] for column, values in final.items() if column != "epoch"}
        probs = network(weights, grid).reshape(xx.shape)
        ax.scatter(x[:, 0], x[:, 1], color=np.where(colour == 1, "red", "blue"), s=10)
        ax.contour(xx, yy, probs, levels=[.5])
        ax.set(title=name.replace("_", " "), xlabel="x1", ylabel="x2")
    fig.suptitle(f"decision boundaries (the 0.5 contour), from the final weights in golden/{kind}")
    fig.tight_layout()
    return save(fig, out / "regularization.png")


def draw_all(root: Path, out: Path, kind: str = "cpu") -> list[Path]:
    return [iris_optimizers(root, kind, out), regularization(root, kind, out)]
