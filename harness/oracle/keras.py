"""The Keras programs the oracle can follow: from the weights a golden records in full, NumPy
computes what the model computes next, and fit's reports must say the same.

A Keras golden holds neither the initial weights nor the optimizer's state, and ``fit``
shuffles its batches with TensorFlow's generator: the oracle cannot train these programs. It
evaluates them: at each epoch whose weights the golden records (every element: the variables
of up to ``harness.experiments.keras.IN_FULL`` elements), the model's forward pass, its loss
(the mean sparse cross-entropy, and the L2 penalty its regularizer adds) and its accuracy, on
the samples fit reports them over:

- the iris programs (p8, p11): ``val_loss`` and ``val_sparse_categorical_accuracy`` at each
  epoch they validate (every 20), over the last 30 of the shuffled samples
  (``validation_split=0.2``), from that epoch's weights;
- the four letter programs (p15, p21, p27, p32; their goldens record every weight in full): the
  loss and accuracy of the *next* epoch, from this one's weights (one batch an epoch: the whole
  training set, whatever its order, through the weights before the epoch's step), and the letter
  each program predicts after its last epoch.

TensorFlow-free: it reads the golden's tables, and the data drawn as the programs draw it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.experiments.declare import band_for
from harness.judge.compare import ulp_distance
from harness.oracle.arithmetic import matmul
from harness.oracle.programs import iris_data

Weights = dict[str, np.ndarray]

# The letters by id: the five-letter programs use the first five.
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def iris_validation() -> tuple[np.ndarray, np.ndarray]:
    """The last 30 of the 150 shuffled samples: what ``validation_split=0.2`` holds out."""
    _, (x, y) = iris_data()
    return x, y


def letters_one(onehot: bool) -> tuple[np.ndarray, np.ndarray]:
    """a->b .. e->a, as one-hot codes (5, 1, 5) or ids (5, 1); the loss over the set does not
    depend on the program's shuffle but for its summation order."""
    ids = np.arange(5)
    return (np.eye(5, dtype=np.float32)[ids][:, None, :] if onehot else ids[:, None]), (ids + 1) % 5


def alphabet_four() -> tuple[np.ndarray, np.ndarray]:
    """abcd->e .. vwxy->z, as ids (22, 4)."""
    ids = np.array([list(range(i - 4, i)) for i in range(4, 26)])
    return ids, np.arange(4, 26)


def letters_four() -> tuple[np.ndarray, np.ndarray]:
    """abcd->e .. eabc->d, one-hot (5, 4, 5)."""
    ids = np.array([[(i + k) % 5 for k in range(4)] for i in range(5)])
    return np.eye(5, dtype=np.float32)[ids], (np.arange(5) + 4) % 5


def dense_softmax(w: Weights, h: np.ndarray) -> np.ndarray:
    """The logits of Dense(..., activation='softmax'): the loss is taken from them, as Keras does."""
    return matmul(h, w["dense_kernel"]) + w["dense_bias"]


def iris_logits(w: Weights, x: np.ndarray) -> np.ndarray:
    return dense_softmax(w, x)


def rnn_logits(w: Weights, x: np.ndarray) -> np.ndarray:
    """[Embedding,] SimpleRNN (tanh, from a zero state, the last state out), Dense softmax."""
    if "embedding_embeddings" in w:
        x = w["embedding_embeddings"][x]
    h = np.zeros((x.shape[0], w["simple_rnn_bias"].shape[0]), dtype=np.float32)
    for t in range(x.shape[1]):
        h = np.tanh(matmul(x[:, t, :], w["simple_rnn_kernel"]) + matmul(h, w["simple_rnn_recurrent_kernel"])
                    + w["simple_rnn_bias"])
    return dense_softmax(w, h)


@dataclass(frozen=True)
class Followed:
    """A Keras program the oracle evaluates, and where its reports are."""

    data: Callable[[], tuple[np.ndarray, np.ndarray]]
    logits: Callable[[Weights, np.ndarray], np.ndarray]
    # The table and columns of the values the weights of epoch e give, and that epoch's offset:
    # 0, the validation after epoch e; 1, the training loss of epoch e + 1 (taken before its step).
    table: str
    loss: str
    accuracy: str
    offset: int
    # The regularizer's L2 factor on the Dense kernel (Keras's l2() default: 0.01), or 0.
    l2: float = 0.0


# How far the oracle's loss may be from TensorFlow's: another evaluation order of the same
# float32 operations, the bands' rule on the largest distance measured over the six programs'
# goldens (3 ULP, TF 2.21: tests/test_oracle.py prints each).
BAND = band_for(3)


FOLLOWED: dict[str, Followed] = {
    **{name: Followed(iris_validation, iris_logits, "validation", "val_loss", "val_sparse_categorical_accuracy", 0,
                      l2=0.01)
       for name in ("keras_iris_sequential", "keras_iris_class")},
    "rnn_onehot_1pre1": Followed(lambda: letters_one(True), rnn_logits, "columns", "loss",
                                 "sparse_categorical_accuracy", 1),
    "rnn_embedding_1pre1": Followed(lambda: letters_one(False), rnn_logits, "columns", "loss",
                                    "sparse_categorical_accuracy", 1),
    "rnn_onehot_4pre1": Followed(letters_four, rnn_logits, "columns", "loss", "sparse_categorical_accuracy", 1),
    "rnn_embedding_4pre1": Followed(alphabet_four, rnn_logits, "columns", "loss", "sparse_categorical_accuracy", 1),
}


def weights_at(checkpoints: dict[str, list[float]], row: int, shapes: dict[str, tuple[int, ...]]) -> Weights:
    """The weights of one row of a checkpoints table (``dense_kernel_0`` .. in C order)."""
    return {name: np.array([checkpoints[f"{name}_{i}"][row] for i in range(int(np.prod(shape)))],
                           dtype=np.float32).reshape(shape)
            for name, shape in shapes.items()}


@dataclass(frozen=True)
class Evaluation:
    """What the oracle computes from one epoch's weights."""

    epoch: int
    loss: float
    accuracy: float
    predicted: np.ndarray


def evaluate(name: str, weights: Weights, epoch: int) -> Evaluation:
    """The loss (mean sparse cross-entropy from the logits, plus the L2 penalty) and accuracy
    of the model with ``weights`` on the program's samples, in float32."""
    followed = FOLLOWED[name]
    x, y = followed.data()
    logits = followed.logits(weights, x).astype(np.float32)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = np.float32(-log_p[np.arange(len(y)), y].mean(dtype=np.float32))
    if followed.l2:
        loss = np.float32(loss + np.float32(followed.l2) * np.square(weights["dense_kernel"]).sum(dtype=np.float32))
    predicted = logits.argmax(axis=1)
    return Evaluation(epoch, float(loss), float(np.float32((predicted == y).mean())), predicted)


def follow(name: str, tables: dict[str, dict[str, list[float]]],
           shapes: dict[str, tuple[int, ...]]) -> list[Evaluation]:
    """An evaluation at every epoch the golden's checkpoints record."""
    checkpoints = tables["checkpoints"]
    return [evaluate(name, weights_at(checkpoints, row, shapes), int(epoch))
            for row, epoch in enumerate(checkpoints["epoch"])]


def disagreements(name: str, tables: dict[str, dict[str, list[float]]], shapes: dict[str, tuple[int, ...]],
                  predictions: list[str] | None) -> tuple[int, float, list[str]]:
    """How many epochs' reports were compared, the largest distance of the oracle's loss from
    the one fit reported (float32 ULPs), and where it does not agree: a loss beyond ``BAND``,
    another accuracy, another prediction."""
    followed = FOLLOWED[name]
    table = tables[followed.table]
    found, largest, compared = [], 0.0, 0
    evaluations = follow(name, tables, shapes)
    for ev in evaluations:
        at = ev.epoch + followed.offset
        if at not in table["epoch"]:
            continue  # the last epoch's weights: no later epoch reports them
        row = table["epoch"].index(at)
        compared += 1
        ulps = float(ulp_distance([ev.loss], [table[followed.loss][row]])[0])
        largest = max(largest, ulps)
        if ulps > BAND:
            found.append(f"{followed.loss} at epoch {at}: the oracle's {ev.loss!r} is {ulps:.0f} ULP from "
                         f"{table[followed.loss][row]!r} (band {BAND})")
        if ev.accuracy != table[followed.accuracy][row]:
            found.append(f"{followed.accuracy} at epoch {at}: the oracle's {ev.accuracy} against "
                         f"{table[followed.accuracy][row]}")
    if predictions is not None:
        ours = [ALPHABET[i] for i in evaluations[-1].predicted]
        theirs = [p.split("->")[1] for p in predictions]
        if ours != theirs:
            found.append(f"after the last epoch the oracle predicts {ours}, the program printed {predictions}")
    return compared, largest, found
