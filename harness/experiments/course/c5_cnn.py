"""The course's chapter 5, 卷积神经网络 (convolutional networks): its dataset program (p24) and
six networks (``harness.experiments.course.c5_models``), each trained as its program writes it
(Adam, sparse cross-entropy, batch 32, 5 epochs, validating every epoch, a ModelCheckpoint of the
best epoch, the trainable variables written to ``weights.txt``), on Fashion-MNIST
(``class5/FASHION_CNN``, reshaped to 28x28x1) and on CIFAR-10 (``class5/CIFAR10_CNN``).

CIFAR-10 is not in the data folder the harness reads: its runs skip here with that reason and run
wherever Keras's cache has it (the whole-run workflow, docs/ci.md). What the text prints of them
is in the ledger all the same: each network's ``model.summary()`` counts, checked exactly here by
building the six for 32x32x3 input (``cifar10_summaries``), and the last epoch of each run, one
unseeded draw (not comparable). The text's Inception10 trains with ``batch_size=1024``, its code
file with 32: both are declared (``cifar10_inception10``, ``cifar10_inception10_text``).

Whole runs take from a minute (Baseline, LeNet5) to 40 minutes (VGG16, ResNet18) on 2 cores
(``Fit.seconds``, measured): ``check`` runs whole what fits its budget and the declared prefix of
the rest; ``check --whole`` and the whole-run workflow run everything whole.

Keras 3 (TF 2.16 on) runs these networks otherwise than the course's Keras 2: their ``call(self,
x)`` takes no ``training``, and Keras 3 passes fit's ``training=True`` on only through a ``call``
that takes it, so their layers see ``training=None``: batch normalization normalizes with its
moving statistics and never updates them (0 and 1 through training, as the goldens' digests show),
and dropout drops nothing (``tests/test_keras.py``; on Keras 2 both train). Inception10's
ConvBNRelu calls its layers with ``training=False`` itself (the course's comment: BN then uses the
moving statistics), so its statistics never move on either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from harness.experiments.course import per_sample, section
from harness.experiments.course.c3_keras_iris import LOSS_FALLS, UNMEASURED
from harness.experiments.course.c3_mnist import UNSEEDED, adam_compile, dataset, last_epoch
from harness.experiments.course.c4_extensions import checkpoint_path, weights_txt
from harness.experiments.course.c5_models import VGG16, AlexNet8, Baseline, Inception10, LeNet5, ResNet18
from harness.experiments.datasets import load_data
from harness.experiments.declare import Claim, Experiment, Outcome, Printed, Section
from harness.experiments.keras import Built, Fit
from harness.record import Record

DATASET = section("5.9", "CIFAR10数据集 (the dataset program, p24)")
BASELINE = section("5.10", "卷积神经网络搭建示例 (Baseline: one convolution CBAPD, two dense layers)")
LENET = section("5.11.1", "LeNet")
ALEXNET = section("5.11.2", "AlexNet")
VGG = section("5.11.3", "VGGNet")
INCEPTION = section("5.11.4", "InceptionNet")
RESNET = section("5.11.5", "ResNet")


def fashion_cnn_data() -> tuple[Any, ...]:
    fashion = tf.keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = load_data(fashion)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)  # 给数据增加一个维度，使数据和网络结构匹配
    x_test = x_test.reshape(x_test.shape[0], 28, 28, 1)
    return x_train, y_train, (x_test, y_test)


def cifar10_data() -> tuple[Any, ...]:
    cifar10 = tf.keras.datasets.cifar10
    (x_train, y_train), (x_test, y_test) = load_data(cifar10)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    return x_train, y_train, (x_test, y_test)


def inception10() -> Any:
    return Inception10(num_blocks=2, num_classes=10)  # type: ignore[no-untyped-call]


def resnet18() -> Any:
    return ResNet18([2, 2, 2, 2])  # type: ignore[no-untyped-call]


# The experiment's name after its dataset, the name the program saves its checkpoint under, the
# model, the section.
NETWORKS: tuple[tuple[str, str, Any, Section], ...] = (
    ("cnn_baseline", "Baseline", Baseline, BASELINE),
    ("lenet5", "LeNet5", LeNet5, LENET),
    ("alexnet8", "AlexNet8", AlexNet8, ALEXNET),
    ("vgg16", "VGG16", VGG16, VGG),
    ("inception10", "Inception10", inception10, INCEPTION),
    ("resnet18", "ResNet18", resnet18, RESNET),
)

# Seconds of a whole Fashion-MNIST run here (5 epochs of 1875 batches and 5 validations), from the
# time per batch measured (python -m harness check --whole NAME measures it again). A CIFAR-10 run
# is estimated at 1.3 times its Fashion-MNIST run (1563 batches of 32x32x3): not measured here.
FASHION_SECONDS = {"cnn_baseline": 45.0, "lenet5": 45.0, "alexnet8": 700.0, "vgg16": 2500.0, "inception10": 340.0,
                   "resnet18": 2300.0}
PREFIX = 20


def cnn_fit(data: Any, model: Any, saved_as: str, shape: tuple[int, ...], steps: int, seconds: float,
            batch_size: int = 32, dataset: Any = None) -> Fit:
    """The weights are recorded after the last epoch only (``weights_every=5``): ResNet18's 102
    variables as digests are 2,263 columns a row; the epochs between are in the loss and accuracy
    rows, and each batch row every 10 batches."""
    return Fit(data, model, adam_compile, dict(batch_size=batch_size, epochs=5, validation_freq=1),
               ("loss", "sparse_categorical_accuracy"), Built(model, shape), (checkpoint_path(saved_as),),
               steps_per_epoch=steps, prefix=min(PREFIX, steps), batch_every=10 if steps > 100 else None,
               weights_every=5, seconds=seconds, callbacks=lambda line: [line(checkpoint_path(saved_as))],
               after=weights_txt, after_scalars=("weights.txt",), dataset=dataset)


# The text's last epoch of each CIFAR-10 run (ch3-6.md: 1544, 1711, 1886, 2146, 2559, 2789).
CIFAR10_PRINTED = {
    "cnn_baseline": ("1.2558", "0.5484", "1.1867", "0.5762"),
    "lenet5": ("1.4795", "0.4599", "1.4530", "0.4695"),
    "alexnet8": ("0.9934", "0.6564", "1.2769", "0.5684"),
    "vgg16": ("0.8381", "0.7213", "0.9402", "0.6882"),
    "inception10": ("1.4827", "0.4569", "1.4545", "0.4645"),
    "resnet18": ("0.3899", "0.8778", "0.6399", "0.8054"),
}
# What model.summary() prints under each (ch3-6.md: 1567, 1732, 1927, 2261, 2572, 2806).
CIFAR10_COUNTS = {
    "cnn_baseline": ("198,506", "198,494", "12"),
    "lenet5": ("62,006", "62,006", "0"),
    "alexnet8": ("9,639,178", "9,638,474", "704"),
    "vgg16": ("15,262,026", "15,253,578", "8,448"),
    "inception10": ("121,418", "120,234", "1,184"),
    "resnet18": ("11,183,562", "11,173,962", "9,600"),
}
# What fit's log prints per sample in that last epoch.
CIFAR10_PER_SAMPLE = {"cnn_baseline": "207us/sample", "lenet5": "166us/sample", "alexnet8": "1ms/sample",
                      "vgg16": "4ms/sample", "inception10": "556us/sample", "resnet18": "5ms/sample"}
COUNTS = ("Total params", "Trainable params", "Non-trainable params")


BATCH_1024 = ("the text's listing trains with batch_size=1024 (cifar10_inception10_text); the code file, this "
              "run, with 32")


def summaries() -> Outcome:
    """Each network built for CIFAR-10's 32x32x3 input, on one image of zeros (a subclassed Model
    is built by calling it), and the counts its ``model.summary()`` prints."""
    from harness.experiments.keras import summary_counts

    counts = {}
    for name, _, model_fn, _ in NETWORKS:
        tf.keras.backend.clear_session()
        model = model_fn()
        model(np.zeros((1, 32, 32, 3), np.float32))
        counts[name] = summary_counts(model)
    return Outcome({}, {"summary": counts}, "")


def _count(name: str, line: str) -> Any:
    return lambda r: f"{r.scalars['summary'][name][line]:,}"


def _rises(r: Record) -> bool:
    return bool(r.last("val_sparse_categorical_accuracy", "validation")
                > r.validation["val_sparse_categorical_accuracy"][0])


def networks() -> tuple[Experiment, ...]:
    rises = Claim("the validation accuracy rises from the first epoch to the last, as the course's curves show",
                  _rises)
    found = []
    for name, saved_as, model_fn, where in NETWORKS:
        found.append(Experiment(
            name=f"fashion_{name}", section=where,
            summary=f"class5/FASHION_CNN: {saved_as} on Fashion-MNIST (28x28x1), 5 epochs",
            fit=cnn_fit(fashion_cnn_data, model_fn, saved_as, (28, 28, 1), 1875, FASHION_SECONDS[name]),
            tolerance=UNMEASURED, claims=(LOSS_FALLS, rises)))
    for name, saved_as, model_fn, where in NETWORKS:
        found.append(Experiment(
            name=f"cifar10_{name}", section=where,
            summary=f"class5/CIFAR10_CNN: {saved_as} on CIFAR-10 (32x32x3), 5 epochs (needs Keras's CIFAR-10 cache)",
            fit=cnn_fit(cifar10_data, model_fn, saved_as, (32, 32, 3), 1563, FASHION_SECONDS[name] * 1.3,
                        dataset=tf.keras.datasets.cifar10),
            tolerance=UNMEASURED,
            printed=last_epoch(where, CIFAR10_PRINTED[name], UNSEEDED if name != "inception10" else BATCH_1024)
            + per_sample(where, CIFAR10_PER_SAMPLE[name]),
            claims=(LOSS_FALLS,)))
    found.append(Experiment(
        name="cifar10_inception10_text", section=INCEPTION,
        summary="Inception10 on CIFAR-10 as the text's listing writes it: batch_size=1024 (the code file: 32)",
        fit=cnn_fit(cifar10_data, inception10, "Inception10", (32, 32, 3), 49, FASHION_SECONDS["inception10"],
                    batch_size=1024, dataset=tf.keras.datasets.cifar10),
        tolerance=UNMEASURED, printed=last_epoch(INCEPTION, CIFAR10_PRINTED["inception10"], UNSEEDED),
        claims=(LOSS_FALLS,)))
    return tuple(found)


EXPERIMENTS = (
    Experiment(name="fashion_cnn_dataset", section=DATASET, fn=dataset(tf.keras.datasets.fashion_mnist),
               summary="p24_fashion_datasets: y_train[0] and the four shapes", on_device=False),
    Experiment(name="cifar10_dataset", section=DATASET, fn=dataset(tf.keras.datasets.cifar10),
               summary="p24_cifar10_datasets: y_train[0] and the four shapes (needs Keras's CIFAR-10 cache)",
               on_device=False),
    Experiment(name="cifar10_summaries", section=DATASET, fn=summaries, on_device=False,
               summary="the six networks built for 32x32x3 without data: what model.summary() counts",
               printed=tuple(Printed(f"{name}: model.summary(): {line}", text, _count(name, line), where,
                                     precision="exact")
                             for name, _, _, where in NETWORKS
                             for line, text in zip(COUNTS, CIFAR10_COUNTS[name], strict=True))),
    *networks(),
)
