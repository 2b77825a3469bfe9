"""The course's figures, drawn from the goldens (``python -m harness figures``).

- ``iris_optimizers.png``: the loss and test-accuracy curves of the five iris runs, one
  chart each as the course's optimizer comparison (2.6) sets them side by side;
- ``regularization.png``: the red and blue dots of dot.csv and the 0.5 contour of each
  regularization run's network (2.5), computed with NumPy from the golden's final
  weights: the course's ``plt.contour(xx, yy, probs, levels=[.5])``;
- ``keras_curves.png``: the Keras programs' training and validation accuracy and loss, as the
  course draws them after ``fit`` (chapters 3 and 6: ``history.history``);
- ``stock_prediction.png``: each stock program's predicted opening price against the real one
  over the 240 test days (6.8-6.10: ``MaoTai Stock Price Prediction``);
- ``chapter4_curves.png``, ``cnn_curves.png``: p23's acc/loss curves (4.5), with the augmented and
  resumed runs', and chapter 5's CNNs' on Fashion-MNIST;
- ``augmented_images.png``: p11's original and augmented rows (4.2).

Nothing is run but p11 (its pixels are not in the golden; the run is held to its SHA-256): a
reader can hold these beside the course's pictures, and a new golden redraws them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.report.charts import pyplot, save
from harness.store import golden

IRIS = ("iris_sgd", "iris_sgdm", "iris_adagrad", "iris_rmsprop", "iris_adam")
REGULARIZATION = ("regularization_free", "regularization_l2")
DOT_CSV = Path(__file__).resolve().parents[1] / "data" / "dot.csv"
KERAS = ("keras_iris_sequential", "mnist_sequential", "fashion_sequential", "rnn_onehot_1pre1",
         "rnn_embedding_4pre1", "rnn_stock", "lstm_stock", "gru_stock")
STOCK = ("rnn_stock", "lstm_stock", "gru_stock")
# p23 draws history's curves (4.5); with them the augmented (p13) and the resumed (p16, ten epochs).
CHAPTER4 = ("mnist_train_ex5", "mnist_train_ex2", "mnist_train_ex3", "fashion_train_ex5", "fashion_train_ex2",
            "fashion_train_ex3")
# The CNNs whose goldens are whole runs (the others' hold their prefix until the whole-run workflow).
CNN = ("fashion_cnn_baseline", "fashion_lenet5")
STOCK_CSV = Path(__file__).resolve().parents[1] / "data" / "SH600519.csv"


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


def keras_curves(root: Path, kind: str, out: Path, names: tuple[str, ...] = KERAS,
                 file: str = "keras_curves.png", what: str = "the Keras programs'") -> Path:
    stored = {name: golden.load(root, kind, name, None).tables for name in names}
    plt = pyplot()
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 6), squeeze=False)
    for column, (name, tables) in enumerate(stored.items()):
        metric = next((m for m in tables["columns"] if "accuracy" in m), None)
        for row, shown in enumerate((metric, "loss")):
            ax = axes[row][column]
            if shown is None:
                ax.set_axis_off()  # the stock programs report no accuracy
                continue
            ax.plot(tables["columns"]["epoch"], tables["columns"][shown], label=f"Training {shown}")
            if "validation" in tables:
                ax.plot(tables["validation"]["epoch"], tables["validation"][f"val_{shown}"],
                        label=f"Validation {shown}")
            ax.set(title=name if row == 0 or metric is None else "", xlabel="Epoch")
            ax.legend(fontsize="small")
    fig.suptitle(f"{what} training and validation curves (golden/{kind})")
    fig.tight_layout()
    return save(fig, out / file)


def augmented(root: Path, kind: str, out: Path) -> Path:
    """p11's two rows: 12 training images and the same 12 as ImageDataGenerator transforms them.
    The pixels are not in the golden (its sums and SHA-256 are): drawn from a run of the program,
    held to the golden's SHA-256 first. This one figure imports TensorFlow."""
    import hashlib

    from harness.execution import runtime
    from harness.experiments.course.c4_extensions import augmented_rows

    rows = []
    for name, module, flip in (("mnist_show_augmented", "mnist", False), ("fashion_show_augmented", "fashion_mnist",
                                                                          True)):
        import tensorflow as tf

        stored = golden.load(root, kind, name, None).scalars["augmented sha256"]
        runtime.reset_random_state()
        original, changed = augmented_rows(getattr(tf.keras.datasets, module), flip)
        if hashlib.sha256(changed.tobytes()).hexdigest() != stored:
            raise ValueError(f"{name}: this run's augmented images are not its golden's (SHA-256 {stored}): "
                             "python -m harness check names what changed")
        rows += [(f"{name}: Subset of Original Training Images", original),
                 (f"{name}: Augmented Images", changed)]
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 12, figsize=(20, 2 * len(rows)))
    for row, (title, images) in zip(axes, rows, strict=True):
        for ax, image in zip(row, images, strict=True):
            ax.imshow(image, cmap="gray")
            ax.set_axis_off()
        row[0].set_title(title, loc="left", fontsize=12)
    fig.tight_layout()
    return save(fig, out / "augmented_images.png")


def real_prices() -> list[float]:
    """The opening prices of the stock programs' 240 test days: the CSV's rows 2186 to 2425."""
    with STOCK_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [float(r["open"]) for r in rows[2426 - 300 + 60:]]


def stock_prediction(root: Path, kind: str, out: Path) -> Path:
    predicted = {name: golden.load(root, kind, name, None).scalars["predicted_stock_price"] for name in STOCK}
    plt = pyplot()
    fig, axes = plt.subplots(1, len(STOCK), figsize=(5 * len(STOCK), 4))
    for ax, (name, prices) in zip(axes, predicted.items(), strict=True):
        ax.plot(real_prices(), color="red", label="MaoTai Stock Price")
        ax.plot(prices, color="blue", label="Predicted MaoTai Stock Price")
        ax.set(title=f"MaoTai Stock Price Prediction ({name})", xlabel="Time", ylabel="MaoTai Stock Price")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return save(fig, out / "stock_prediction.png")


def draw_all(root: Path, out: Path, kind: str = "cpu") -> tuple[list[Path], dict[str, str]]:
    """Every figure the goldens can draw, and the ones skipped with why: only p11's needs a dataset
    (MNIST and Fashion-MNIST), so without the data it is skipped, saying how to get it, and the
    others are drawn."""
    from harness.errors import DatasetMissing

    drawers: dict[str, Callable[[], Path]] = {
        "iris_optimizers.png": lambda: iris_optimizers(root, kind, out),
        "regularization.png": lambda: regularization(root, kind, out),
        "keras_curves.png": lambda: keras_curves(root, kind, out),
        "stock_prediction.png": lambda: stock_prediction(root, kind, out),
        "chapter4_curves.png": lambda: keras_curves(root, kind, out, CHAPTER4, "chapter4_curves.png",
                                                    "chapter 4's (p13 augmented, p16 resumed, p23)"),
        "cnn_curves.png": lambda: keras_curves(root, kind, out, CNN, "cnn_curves.png",
                                               "chapter 5's CNNs on Fashion-MNIST (whole here)"),
        "augmented_images.png": lambda: augmented(root, kind, out),
    }
    drawn, skipped = [], {}
    for name, draw in drawers.items():
        try:
            drawn.append(draw())
        except DatasetMissing as exc:
            skipped[name] = str(exc)
    return drawn, skipped
