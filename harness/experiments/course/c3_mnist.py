"""The course's chapter 3 on MNIST and Fashion-MNIST: the dataset (p13_mnist_datasets.py), a
Flatten-Dense(128, relu)-Dense(10, softmax) network trained with Adam for 5 epochs of 1875
batches, as a ``Sequential`` (p14, p16_fashion_sequential) and as a subclassed ``Model`` (p15,
p16_fashion_class), validating on the test set every epoch.

Where the programs write ``mnist.load_data()`` they call ``load_data(mnist)``
(``harness.experiments.datasets``): Keras's own loader where its cache has the data, else the
published files from ``HARNESS_DATA``, each array held to its published SHA-256.

The programs set no seed: the numbers the text prints (ch3-6.md, lines 266-279, 309-331,
375-397) are one draw among many and are not comparable; a run here starts from the harness's
fixed random state, and what the text reaches (the accuracy) is a claim. The parameter count
is exact. The text prints nothing of the Fashion programs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
from tensorflow.keras import Model
from tensorflow.keras.layers import Dense, Flatten

from harness.experiments.course import per_sample, section, summary_counts
from harness.experiments.course.c3_keras_iris import LOSS_FALLS, UNMEASURED
from harness.experiments.datasets import load_data
from harness.experiments.declare import Claim, Experiment, Outcome, Printed, Section
from harness.experiments.keras import WEIGHTS_SHA256, Fit, xla_drift
from harness.experiments.training import ModeDifference
from harness.record import Record, plain

MNIST = section("3.3", "MNIST数据集 (MNIST)")
FASHION = section("3.4", "Fashion数据集 (Fashion-MNIST)")
UNSEEDED = "the program sets no seed: the text's number is one draw among many"


def dataset(module: Any) -> Callable[[], Outcome]:
    """A dataset program (p13 here, chapter 5's p24): it prints x_train[0] (28 or 32 rows of
    pixels; the text shows none of it), y_train[0] and the four shapes; a record keeps the first
    image's sum for the first."""
    def program() -> Outcome:
        (x_train, y_train), (x_test, y_test) = load_data(module)
        return Outcome({}, {"x_train[0] sum": int(x_train[0].sum()), "y_train[0]": plain(y_train[0]),
                            "x_train.shape": str(x_train.shape), "y_train.shape": str(y_train.shape),
                            "x_test.shape": str(x_test.shape), "y_test.shape": str(y_test.shape)}, "")

    return program


mnist_dataset = dataset(tf.keras.datasets.mnist)


def _scalar(name: str) -> Any:
    return lambda r: r.scalars[name]


def mnist_data() -> tuple[Any, ...]:
    mnist = tf.keras.datasets.mnist
    (x_train, y_train), (x_test, y_test) = load_data(mnist)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    return x_train, y_train, (x_test, y_test)


def fashion_data() -> tuple[Any, ...]:
    fashion = tf.keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = load_data(fashion)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    return x_train, y_train, (x_test, y_test)


def sequential() -> Any:
    return tf.keras.models.Sequential([
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax')
    ])


class MnistModel(Model):  # type: ignore[misc]
    def __init__(self) -> None:
        super(MnistModel, self).__init__()  # noqa: UP008 - as the course writes it
        self.flatten = Flatten()
        self.d1 = Dense(128, activation='relu')
        self.d2 = Dense(10, activation='softmax')

    def call(self, x: Any) -> Any:
        x = self.flatten(x)
        x = self.d1(x)
        y = self.d2(x)
        return y


def adam_compile(line: Any) -> dict[str, Any]:
    return dict(optimizer='adam',
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                metrics=['sparse_categorical_accuracy'])


def mnist_fit(data: Any, model: Any, dense: str, dense_1: str, measured: tuple[ModeDifference, ...]) -> Fit:
    return Fit(data, model, adam_compile, dict(batch_size=32, epochs=5, validation_freq=1),
               ("loss", "sparse_categorical_accuracy"),
               {f"{dense}_kernel": (784, 128), f"{dense}_bias": (128,),
                f"{dense_1}_kernel": (128, 10), f"{dense_1}_bias": (10,)},
               steps_per_epoch=1875, prefix=200, batch_every=100, seconds=17.0, known_mode_differences=measured)


def _last(column: str, table: str = "columns") -> Any:
    return lambda r: r.last(column, table)


def last_epoch(where: Section, texts: tuple[str, str, str, str], why: str = UNSEEDED) -> tuple[Printed, ...]:
    """The last epoch's line of the text's log: loss, accuracy, val loss, val accuracy."""
    located = (_last("loss"), _last("sparse_categorical_accuracy"), _last("val_loss", "validation"),
               _last("val_sparse_categorical_accuracy", "validation"))
    names = ("loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy")
    return tuple(Printed(f"last epoch, {n}", t, at, where, style="fixed", not_comparable=why)
                 for n, t, at in zip(names, texts, located, strict=True))


def reaches(where: Section, text: float) -> Claim:
    """The text's accuracy, to within a point: the runs it prints are one unseeded draw."""
    return Claim(f"the last validation accuracy is within a point of the text's {text}",
                 lambda r: r.last("val_sparse_categorical_accuracy", "validation") >= text - 0.01, where)


def _rows(table: dict[str, list[Any]]) -> dict[Any, list[Any]]:
    return {label: [table[c][i] for c in table] for i, label in enumerate(table.get("epoch", []))}


def same_training(other: str) -> Claim:
    """The claim that goes with ``Experiment.trains_as``."""
    def holds(r: Record, o: Record) -> bool:
        """Every epoch of ``o`` is one of ``r``'s, with the same values and the same SHA-256 of every
        variable (in the order the models hold them: a subclass names its layers otherwise); batch
        rows where both have them."""
        mine, theirs = ({t: _rows(getattr(x, t)) for t in ("columns", "validation", "checkpoints", "batches")}
                        for x in (r, o))
        my_hashes, their_hashes = (x.scalars.get(WEIGHTS_SHA256) or {} for x in (r, o))
        shared = [epoch for epoch in their_hashes if epoch in my_hashes]
        return (set(theirs["columns"]) <= set(mine["columns"]) and bool(shared)
                and all(mine[t][label] == row for t in theirs for label, row in theirs[t].items() if label in mine[t])
                and all(list(my_hashes[e].values()) == list(their_hashes[e].values()) for e in shared))

    return Claim(f"its training is {other}'s, bit for bit (every epoch's values and the SHA-256 of every weight it "
                 "shares with that run): the callbacks and code around fit change nothing", holds, needs=(other,))


EXPERIMENTS = (
    Experiment(
        name="mnist_dataset", section=MNIST, fn=mnist_dataset,
        summary="tf.keras.datasets.mnist: y_train[0] and the four shapes (p13)",
        printed=(Printed("y_train[0]", "5", _scalar("y_train[0]"), MNIST, precision="exact"),
                 *(Printed(f"{n}.shape", text, _scalar(f"{n}.shape"), MNIST, precision="exact")
                   for n, text in (("x_train", "(60000, 28, 28)"), ("y_train", "(60000,)"),
                                   ("x_test", "(10000, 28, 28)"), ("y_test", "(10000,)")))),
        on_device=False),
    Experiment(
        name="mnist_sequential", section=MNIST,
        summary="MNIST, Sequential Flatten-Dense(128, relu)-Dense(10, softmax), Adam, 5 epochs (p14)",
        fit=mnist_fit(mnist_data, sequential, "dense", "dense_1", xla_drift(1, 1984700466)),
        tolerance=UNMEASURED, group="mnist",
        printed=(*last_epoch(MNIST, ("0.0478", "0.9854", "0.0730", "0.9776")), *summary_counts(MNIST, "101,770"),
                 *per_sample(MNIST, "94us/sample")),
        claims=(LOSS_FALLS, reaches(MNIST, 0.9776))),
    Experiment(
        name="mnist_class", section=MNIST,
        summary="the same network as a subclassed Model (p15)",
        fit=mnist_fit(mnist_data, MnistModel, "dense", "dense_1", xla_drift(1, 1984700466)),
        tolerance=UNMEASURED, group="mnist", trains_as="mnist_sequential",
        printed=(*last_epoch(MNIST, ("0.0439", "0.9866", "0.0752", "0.9766")), *per_sample(MNIST, "88us/sample")),
        claims=(LOSS_FALLS, reaches(MNIST, 0.9766), same_training("mnist_sequential"))),
    Experiment(
        name="fashion_sequential", section=FASHION,
        summary="Fashion-MNIST, the same Sequential network (p16_fashion_sequential)",
        fit=mnist_fit(fashion_data, sequential, "dense", "dense_1", xla_drift(1, 2038521034)),
        tolerance=UNMEASURED, group="mnist",
        claims=(LOSS_FALLS,)),
    Experiment(
        name="fashion_class", section=FASHION,
        summary="Fashion-MNIST, the subclassed Model (p16_fashion_class)",
        fit=mnist_fit(fashion_data, MnistModel, "dense", "dense_1", xla_drift(1, 2038521034)),
        tolerance=UNMEASURED, group="mnist", trains_as="fashion_sequential",
        claims=(LOSS_FALLS, same_training("fashion_sequential"))),
)
