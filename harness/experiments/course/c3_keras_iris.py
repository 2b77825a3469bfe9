"""The course's chapter 3, 六步法 (the six steps) on iris: the one-layer network of 1.6 built
with Keras, as a ``Sequential`` (p8_iris_sequential.py) and as a subclassed ``Model``
(p11_iris_class.py), trained with ``fit`` (500 epochs of 4 batches, validating on the last
20% every 20 epochs).

Both programs write ``tf.keras.optimizers.SGD(lr=0.1)``: Keras 3 (TF 2.16 on) refuses ``lr``
(``ValueError: Argument(s) not recognized: {'lr': 0.1}``). The record says what the line did
on the release that ran it; the run goes on with ``learning_rate=0.1``.

The text prints p8's last epoch and its summary (ch3-6.md, lines 117-141), and prints the
same output again under p11, whose code file uses ``sigmoid`` where the text's copy of it
uses ``softmax``: a copy, not a run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from sklearn import datasets
from tensorflow.keras import Model
from tensorflow.keras.layers import Dense

from harness.experiments.course import DRAW, per_sample, section, summary_counts
from harness.experiments.declare import Claim, Experiment, Printed, Tolerance
from harness.experiments.keras import Fit, Line, xla_drift
from harness.experiments.training import ModeDifference
from harness.record import Record

SEQUENTIAL = section("3.1", "搭建网络sequential (a Sequential model)")
CLASS = section("3.2", "搭建网络class (a subclassed Model)")

SGD_LR = Line("tf.keras.optimizers.SGD(lr=0.1)", "tf.keras.optimizers.SGD(learning_rate=0.1)",
              "Keras 3 knows the learning rate only as learning_rate")


def iris_data() -> tuple[Any, Any]:
    x_train = datasets.load_iris().data
    y_train = datasets.load_iris().target

    np.random.seed(116)
    np.random.shuffle(x_train)
    np.random.seed(116)
    np.random.shuffle(y_train)
    tf.random.set_seed(116)
    return x_train, y_train


def sequential() -> Any:
    return tf.keras.models.Sequential([
        tf.keras.layers.Dense(3, activation='softmax', kernel_regularizer=tf.keras.regularizers.l2())
    ])


class IrisModel(Model):  # type: ignore[misc]
    def __init__(self) -> None:
        super(IrisModel, self).__init__()  # noqa: UP008 - as the course writes it
        self.d1 = Dense(3, activation='sigmoid', kernel_regularizer=tf.keras.regularizers.l2())

    def call(self, x: Any) -> Any:
        y = self.d1(x)
        return y


def iris_compile(line: Any) -> dict[str, Any]:
    return dict(optimizer=line(SGD_LR),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                metrics=['sparse_categorical_accuracy'])


def iris_fit(model: Any, measured: tuple[ModeDifference, ...]) -> Fit:
    return Fit(iris_data, model, iris_compile,
               dict(batch_size=32, epochs=500, validation_split=0.2, validation_freq=20),
               ("loss", "sparse_categorical_accuracy"), {"dense_kernel": (4, 3), "dense_bias": (3,)},
               (SGD_LR,), steps_per_epoch=4, prefix=80, seconds=20.0,  # 20 epochs
               known_mode_differences=measured)


def _last(column: str, table: str = "columns") -> Any:
    return lambda r: r.last(column, table)


LOSS_FALLS = Claim("the loss falls: the last epoch's is below the first's",
                   lambda r: r.last("loss") < r.columns["loss"][0])


def classifies(where: Any) -> Claim:
    return Claim("the model classifies the held-out 20%: the last validation accuracy is 1.0, as the text's",
                 lambda r: r.last("val_sparse_categorical_accuracy", "validation") == 1.0, where)


P8_LAST = (("loss", "0.3333", _last("loss")),
           ("sparse_categorical_accuracy", "0.9667", _last("sparse_categorical_accuracy")),
           ("val_loss", "0.4002", _last("val_loss", "validation")),
           ("val_sparse_categorical_accuracy", "1.0000", _last("val_sparse_categorical_accuracy", "validation")))
# The validation accuracy saturates whatever the draw (the held-out 30 flowers all right): it is
# judged; the training loss and accuracy and the validation loss are one draw's.
DRAWN = ("loss", "sparse_categorical_accuracy", "val_loss")


# No rounding-only change of a Keras run is measured yet (the bands' rule needs its oracle,
# XLA and Grappler figures): held bit for bit.
UNMEASURED = Tolerance(0, "no rounding-only change of this Keras run is measured yet: held bit for bit")


def _same_run(r: Record, sequential: Record) -> bool:
    return (r.columns, r.validation, r.checkpoints) == (sequential.columns, sequential.validation,
                                                         sequential.checkpoints)  # no NaN here


# Keras computes a cross-entropy from the logits an activation kept (softmax's and sigmoid's
# alike), so the code file's sigmoid trains as the text's softmax.
SAME_AS_SEQUENTIAL = Claim("the code file's sigmoid trains bit for bit as p8's softmax: every epoch's loss and "
                           "accuracy, every validation value and weight (Keras takes the cross-entropy from the "
                           "logits the activation kept)", _same_run, CLASS, needs=("keras_iris_sequential",))


EXPERIMENTS = (
    Experiment(
        name="keras_iris_sequential", section=SEQUENTIAL,
        summary="iris with a Keras Sequential Dense(3, softmax, L2), SGD lr 0.1, fit 500 epochs of 4 batches (p8)",
        fit=iris_fit(sequential, xla_drift(3, 1494)), tolerance=UNMEASURED,
        printed=tuple(Printed(f"last epoch, {name}", text, locate, SEQUENTIAL, style="fixed",
                              not_comparable=DRAW if name in DRAWN else "")
                      for name, text, locate in P8_LAST)
        + summary_counts(SEQUENTIAL, "15") + per_sample(SEQUENTIAL, "83us/sample", "125us/sample", "142us/sample"),
        claims=(LOSS_FALLS, classifies(SEQUENTIAL)), group="keras_iris"),
    Experiment(
        name="keras_iris_class", section=CLASS,
        summary="the same as a subclassed Model, its Dense with sigmoid as the code file writes it (p11)",
        fit=iris_fit(IrisModel, xla_drift(3, 1494)), tolerance=UNMEASURED,
        printed=tuple(Printed(f"last epoch, {name}", text, locate, CLASS, style="fixed",
                              not_comparable="the text prints p8's output again under p11 (a copy, not a run "
                                             "of p11, whose code file uses sigmoid)")
                      for name, text, locate in P8_LAST) + per_sample(CLASS, "108us/sample", "158us/sample"),
        claims=(LOSS_FALLS, SAME_AS_SEQUENTIAL), group="keras_iris", trains_as="keras_iris_sequential"),
)
