"""The course's chapter 6, 循环神经网络 (recurrent networks), with Keras ``fit``: the letter
programs (a SimpleRNN predicts the next letter, from a one-hot code or an ``Embedding``, from
one letter or four: p15, p21, p27, p32) and the Moutai stock programs (SimpleRNN, LSTM, GRU
predict the next day's opening price from the last 60: p38, p47, p56).

What the programs do after ``fit`` is part of the record: the letter programs ask with
``input()`` which letters to predict; the harness answers with every letter (or 4-letter
window) they train on and records what each prints (``a->b``). The stock programs' test
metrics (MSE, RMSE, MAE on the last 240 days) and the predicted prices are recorded too. Keras's
progress bars are silenced (``verbose=0``) and ``plt.show()`` is left out; nothing else changes.

Two lines raise on today's libraries; each runs as written first (the record says what it did)
and adapted where it raised:

- every program saves a checkpoint with ``ModelCheckpoint(filepath='./checkpoint/....ckpt',
  save_weights_only=True)``, which Keras 3 refuses (``.weights.h5`` or nothing);
- the letter programs' ``pred = int(pred)`` converts a tensor of shape (1,) to a Python int,
  which NumPy 2 refuses (``only 0-dimensional arrays can be converted to Python scalars``).

Every program seeds its shuffle and TensorFlow (``np.random.seed(7)``, ``tf.random.set_seed(7)``),
which no longer fixes the initial weights Keras draws (``harness.experiments.course.DRAW``): the
losses and metrics the text prints are one draw among many here. The text prints the letter
programs' last epochs and summaries (ch3-6.md, lines 3182-3508) and, under each of the three
stock programs, the same LSTM run (3645-3673; a GRU model has 74,621 parameters, not 98,741): a
copy under SimpleRNN and GRU, not a run. ``p37_tushare.py`` downloads
the prices from the tushare service: not runnable here (``NOT_RUNNABLE``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.preprocessing import MinMaxScaler
from tensorflow.keras.layers import GRU, LSTM, Dense, Dropout, Embedding, SimpleRNN

from harness.experiments.course import DRAW, per_sample, section, summary_counts
from harness.experiments.course.c3_keras_iris import LOSS_FALLS, UNMEASURED
from harness.experiments.datasets import course_file
from harness.experiments.declare import Claim, Experiment, NotRunnable, Printed, Section
from harness.experiments.keras import IN_FULL, KERAS_EAGER_RNN, Fit, Line, LineValue, xla_drift
from harness.experiments.training import ModeDifference, differing
from harness.record import Record, plain

ONEHOT_1 = section("6.5", "循环网络计算过程 (one-hot, one letter predicts the next)")
ONEHOT_4 = section("6.6", "循环计算过程Ⅱ (one-hot, four letters predict the next)")
EMBEDDING = section("6.7", "Embedding编码 (Embedding, one and four letters)")
STOCK_RNN = section("6.8", "RNN实现股票预测 (SimpleRNN on the Moutai prices)")
STOCK_LSTM = section("6.9", "LSTM实现股票预测 (LSTM)")
STOCK_GRU = section("6.10", "GRU实现股票预测 (GRU)")
TUSHARE = section("6.8", "RNN实现股票预测: the prices downloaded with tushare (p37_tushare.py)")


def checkpoint(name: str, monitor: str) -> Line:
    written = (f"tf.keras.callbacks.ModelCheckpoint(filepath='./checkpoint/{name}.ckpt', save_weights_only=True, "
               f"save_best_only=True, monitor='{monitor}')")
    return Line(written, written.replace(".ckpt'", ".weights.h5'"),
                "Keras 3 saves weights only to files named *.weights.h5")


INT_PRED = Line("int(pred)", "int(pred[0])",
                "NumPy 2 converts only 0-dimensional arrays to Python scalars; tf.argmax gives shape (1,)")

# ---- the letter programs ----------------------------------------------------------------

input_word = "abcde"
w_to_id = {'a': 0, 'b': 1, 'c': 2, 'd': 3, 'e': 4}  # 单词映射到数值id的词典
id_to_onehot = {0: [1., 0., 0., 0., 0.], 1: [0., 1., 0., 0., 0.], 2: [0., 0., 1., 0., 0.], 3: [0., 0., 0., 1., 0.],
                4: [0., 0., 0., 0., 1.]}  # id编码为one-hot
input_word_26 = "abcdefghijklmnopqrstuvwxyz"
w_to_id_26 = {c: i for i, c in enumerate(input_word_26)}  # the program spells out 'a': 0 .. 'z': 25


def _shuffled(x_train: list[Any], y_train: list[Any]) -> None:
    np.random.seed(7)
    np.random.shuffle(x_train)
    np.random.seed(7)
    np.random.shuffle(y_train)
    tf.random.set_seed(7)


def onehot_1pre1_data() -> tuple[Any, ...]:
    x_train: Any = [id_to_onehot[w_to_id['a']], id_to_onehot[w_to_id['b']], id_to_onehot[w_to_id['c']],
               id_to_onehot[w_to_id['d']], id_to_onehot[w_to_id['e']]]
    y_train: Any = [w_to_id['b'], w_to_id['c'], w_to_id['d'], w_to_id['e'], w_to_id['a']]
    _shuffled(x_train, y_train)
    x_train = np.reshape(x_train, (len(x_train), 1, 5))
    y_train = np.array(y_train)
    return x_train, y_train


def onehot_4pre1_data() -> tuple[Any, ...]:
    x_train: Any = [
        [id_to_onehot[w_to_id['a']], id_to_onehot[w_to_id['b']], id_to_onehot[w_to_id['c']], id_to_onehot[w_to_id['d']]],  # noqa: E501
        [id_to_onehot[w_to_id['b']], id_to_onehot[w_to_id['c']], id_to_onehot[w_to_id['d']], id_to_onehot[w_to_id['e']]],  # noqa: E501
        [id_to_onehot[w_to_id['c']], id_to_onehot[w_to_id['d']], id_to_onehot[w_to_id['e']], id_to_onehot[w_to_id['a']]],  # noqa: E501
        [id_to_onehot[w_to_id['d']], id_to_onehot[w_to_id['e']], id_to_onehot[w_to_id['a']], id_to_onehot[w_to_id['b']]],  # noqa: E501
        [id_to_onehot[w_to_id['e']], id_to_onehot[w_to_id['a']], id_to_onehot[w_to_id['b']], id_to_onehot[w_to_id['c']]],  # noqa: E501
    ]
    y_train: Any = [w_to_id['e'], w_to_id['a'], w_to_id['b'], w_to_id['c'], w_to_id['d']]
    _shuffled(x_train, y_train)
    x_train = np.reshape(x_train, (len(x_train), 4, 5))
    y_train = np.array(y_train)
    return x_train, y_train


def embedding_1pre1_data() -> tuple[Any, ...]:
    x_train: Any = [w_to_id['a'], w_to_id['b'], w_to_id['c'], w_to_id['d'], w_to_id['e']]
    y_train: Any = [w_to_id['b'], w_to_id['c'], w_to_id['d'], w_to_id['e'], w_to_id['a']]
    _shuffled(x_train, y_train)
    x_train = np.reshape(x_train, (len(x_train), 1))
    y_train = np.array(y_train)
    return x_train, y_train


def embedding_4pre1_data() -> tuple[Any, ...]:
    training_set_scaled = list(range(26))
    x_train: Any = []
    y_train: Any = []
    for i in range(4, 26):
        x_train.append(training_set_scaled[i - 4:i])
        y_train.append(training_set_scaled[i])
    _shuffled(x_train, y_train)
    x_train = np.reshape(x_train, (len(x_train), 4))
    y_train = np.array(y_train)
    return x_train, y_train


def onehot_model() -> Any:
    return tf.keras.Sequential([
        SimpleRNN(3),
        Dense(5, activation='softmax')
    ])


def embedding_model() -> Any:
    return tf.keras.Sequential([
        Embedding(5, 2),
        SimpleRNN(3),
        Dense(5, activation='softmax')
    ])


def embedding_26_model() -> Any:
    return tf.keras.Sequential([
        Embedding(26, 2),
        SimpleRNN(10),
        Dense(26, activation='softmax')
    ])


def letters_compile(line: LineValue) -> dict[str, Any]:
    return dict(optimizer=tf.keras.optimizers.Adam(0.01),
                loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False),
                metrics=['sparse_categorical_accuracy'])


# The letters (or windows) each program is asked to predict from: every one it trains on.
def _onehot(letters: str) -> Any:
    return np.reshape([id_to_onehot[w_to_id[a]] for a in letters], (1, len(letters), 5))


def _ids(letters: str) -> Any:
    return np.reshape([w_to_id_26[a] for a in letters], (1, len(letters)))


def predictions(encode: Any, offered: list[str], word: str) -> Any:
    """The program's predict loop, its ``input()`` answered with each of ``offered``: what it prints."""
    def after(model: Any, line: LineValue) -> dict[str, Any]:
        printed = []
        for alphabet1 in offered:
            alphabet = encode(alphabet1)
            result = model.predict([alphabet], verbose=0)
            pred = tf.argmax(result, axis=1)
            pred = line(INT_PRED, pred=pred)
            printed.append(alphabet1 + '->' + word[pred])
        return {"predictions": printed}

    return after


def letters_fit(data: Any, model: Any, name: str, variables: dict[str, tuple[int, ...]], after: Any,
                measured: tuple[ModeDifference, ...]) -> Fit:
    # Every weight in full (the 26-letter program's SimpleRNN(10) has a recurrent kernel of 100):
    # the NumPy oracle follows each letter program from its golden's weights.
    largest = max(math.prod(shape) for shape in variables.values())
    return Fit(data, model, letters_compile, dict(batch_size=32, epochs=100), ("loss", "sparse_categorical_accuracy"),
               variables, (checkpoint(name, "loss"), INT_PRED), prefix=10, weights_every=10, seconds=8.0,
               callbacks=saving(checkpoint(name, "loss")), after=after, after_scalars=("predictions",),
               known_mode_differences=measured, in_full=max(largest, IN_FULL))


def saving(written: Line) -> Any:
    """The program's callbacks: its ModelCheckpoint, as written or adapted."""
    return lambda line: [line(written)]


def _rnn(units: int, inputs: int, name: str = "simple_rnn") -> dict[str, tuple[int, ...]]:
    return {f"{name}_kernel": (inputs, units), f"{name}_recurrent_kernel": (units, units), f"{name}_bias": (units,)}


def _dense(inputs: int, units: int, name: str = "dense") -> dict[str, tuple[int, ...]]:
    return {f"{name}_kernel": (inputs, units), f"{name}_bias": (units,)}


WINDOWS_5 = ["abcd", "bcde", "cdea", "deab", "eabc"]
WINDOWS_26 = [input_word_26[i - 4:i] for i in range(4, 26)]


def _last(column: str) -> Any:
    return lambda r: r.last(column)


def _at(epoch: int, column: str) -> Any:
    return lambda r: r.at(epoch, column)


def last_epochs(where: Section, losses: tuple[str, ...]) -> tuple[Printed, ...]:
    """The text's last epochs (it prints the last few, '......' before them): the loss, one draw's,
    and the accuracy, which saturates whatever the draw."""
    first = 101 - len(losses)
    return tuple(Printed(f"epoch {first + i}, {column}", text, _at(first + i, column), where, style="fixed",
                         not_comparable=DRAW if column == "loss" else "")
                 for i, loss in enumerate(losses)
                 for column, text in (("loss", loss), ("sparse_categorical_accuracy", "1.0000")))


def _predicts_the_next(r: Record, word: str) -> bool:
    pairs = [line.split("->") for line in r.scalars["predictions"]]
    return all(word[(word.index(given[-1]) + 1) % len(word)] == got for given, got in pairs)


def predicts(where: Section, word: str) -> Claim:
    return Claim("every letter (or window) offered is followed by the next letter of the alphabet, as the "
                 "text's screenshots show", lambda r: _predicts_the_next(r, word), where)


ALL_RIGHT = Claim("it classifies its training set: the last epoch's accuracy is 1.0, as the text's",
                  lambda r: r.last("sparse_categorical_accuracy") == 1.0)

# ---- the stock programs -----------------------------------------------------------------


def scaled() -> tuple[Any, Any, Any]:
    maotai = pd.read_csv(course_file('./SH600519.csv'))  # 读取股票文件

    training_set = maotai.iloc[0:2426 - 300, 2:3].values  # 前(2426-300=2126)天的开盘价作为训练集
    test_set = maotai.iloc[2426 - 300:, 2:3].values  # 后300天的开盘价作为测试集

    # 归一化
    sc = MinMaxScaler(feature_range=(0, 1))  # 定义归一化：归一化到(0，1)之间
    training_set_scaled = sc.fit_transform(training_set)
    test_set = sc.transform(test_set)  # 利用训练集的属性对测试集进行归一化
    return sc, training_set_scaled, test_set


def _test_windows(test_set: Any) -> tuple[Any, Any]:
    x_test: Any = []
    y_test: Any = []
    for i in range(60, len(test_set)):
        x_test.append(test_set[i - 60:i, 0])
        y_test.append(test_set[i, 0])
    x_test, y_test = np.array(x_test), np.array(y_test)
    x_test = np.reshape(x_test, (x_test.shape[0], 60, 1))
    return x_test, y_test


def stock_data() -> tuple[Any, ...]:
    _, training_set_scaled, test_set = scaled()
    x_train: Any = []
    y_train: Any = []
    for i in range(60, len(training_set_scaled)):
        x_train.append(training_set_scaled[i - 60:i, 0])
        y_train.append(training_set_scaled[i, 0])
    _shuffled(x_train, y_train)
    x_train, y_train = np.array(x_train), np.array(y_train)
    x_train = np.reshape(x_train, (x_train.shape[0], 60, 1))
    return x_train, y_train, _test_windows(test_set)


def stock_model(layer: Any) -> Any:
    return lambda: tf.keras.Sequential([
        layer(80, return_sequences=True),
        Dropout(0.2),
        layer(100),
        Dropout(0.2),
        Dense(1)
    ])


def stock_compile(line: LineValue) -> dict[str, Any]:
    return dict(optimizer=tf.keras.optimizers.Adam(0.001),
                loss='mean_squared_error')  # 损失函数用均方误差


def stock_after(model: Any, line: LineValue) -> dict[str, Any]:
    """The program's predict and evaluate parts (its figures are drawn from the record)."""
    sc, _, test_set = scaled()
    x_test, _ = _test_windows(test_set)
    predicted_stock_price = model.predict(x_test, verbose=0)
    predicted_stock_price = sc.inverse_transform(predicted_stock_price)
    real_stock_price = sc.inverse_transform(test_set[60:])
    mse = mean_squared_error(predicted_stock_price, real_stock_price)
    rmse = math.sqrt(mean_squared_error(predicted_stock_price, real_stock_price))
    mae = mean_absolute_error(predicted_stock_price, real_stock_price)
    return {"均方误差": plain(mse), "均方根误差": plain(rmse), "平均绝对误差": plain(mae),
            "predicted_stock_price": plain(predicted_stock_price[:, 0])}


STOCK_SCALARS = ("均方误差", "均方根误差", "平均绝对误差", "predicted_stock_price")


def _gates(units: int, inputs: int, name: str, gates: int, bias: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return {f"{name}_kernel": (inputs, gates * units), f"{name}_recurrent_kernel": (units, gates * units),
            f"{name}_bias": bias}


def stock_fit(layer: Any, name: str, gates: int, saved_as: str, seconds: float, xla_ulp: float,
              eager_ulp: float) -> Fit:
    """The stock programs differ only in their recurrent layer; each departs from epoch 1 under XLA
    and eagerly, by the largest distances measured (``xla_ulp``, ``eager_ulp``)."""
    def bias(units: int) -> tuple[int, ...]:
        # Keras's GRU keeps two biases (reset_after=True, its default since TF 2.0).
        return (2, gates * units) if layer is GRU else (gates * units,)

    variables = {**_gates(80, 1, name, gates, bias(80)), **_gates(100, 80, f"{name}_1", gates, bias(100)),
                 **_dense(100, 1)}
    return Fit(stock_data, stock_model(layer), stock_compile,
               dict(batch_size=64, epochs=50, validation_freq=1), ("loss",), variables,
               (checkpoint(saved_as, "val_loss"),), steps_per_epoch=33, prefix=33, batch_every=4, weights_every=10,
               seconds=seconds,
               callbacks=saving(checkpoint(saved_as, "val_loss")),
               after=stock_after, after_scalars=STOCK_SCALARS,
               known_mode_differences=xla_drift(1, xla_ulp) + differing(KERAS_EAGER_RNN, eager=(1, eager_ulp)))


def _scalar(name: str) -> Any:
    return lambda r: r.scalars[name]


def _running(sample: int) -> Any:
    """The running loss the log prints at ``sample``/2066 of epoch 50 (33 batches of 64 an epoch)."""
    return lambda r: r.at(49 * 33 + sample // 64, "loss", "batches")


LSTM_PRINTED = (*((f"epoch 50, {sample}/2066, running loss", text, _running(sample), "float32", "fixed")
                  for sample, text in ((1280, "6.4416e-04"), (1536, "6.3672e-04"), (1792, "6.1080e-04"),
                                       (2048, "6.2616e-04"))),
                ("last epoch, loss", "6.2289e-04", _last("loss"), "float32", "fixed"),
                ("last epoch, val_loss", "0.0205", lambda r: r.last("val_loss", "validation"), "float32", "fixed"),
                ("均方误差", "10297.967592", _scalar("均方误差"), "float64", "fixed"),
                ("均方根误差", "101.478902", _scalar("均方根误差"), "float64", "fixed"),
                ("平均绝对误差", "96.158848", _scalar("平均绝对误差"), "float64", "fixed"))
COPY = ("the text prints the LSTM run (p47) under this program too: a copy, not a run of it (its model.summary() "
        "lists LSTM layers)")


def stock_printed(where: Section, copy: bool) -> tuple[Printed, ...]:
    found = tuple(Printed(name, text, locate, where, precision=precision, style=style,  # type: ignore[arg-type]
                          not_comparable=COPY if copy else DRAW)
                  for name, text, locate, precision, style in LSTM_PRINTED)
    if copy:
        return found + (Printed("model.summary(): Total params", "98,741", lambda r: f"{r.scalars['params']:,}", where,
                                precision="exact", not_comparable=COPY),)
    return found + summary_counts(where, "98,741")


def _follows(r: Record) -> bool:
    """The predicted curve follows the real one: its mean absolute error is under 10% of the
    real prices' mean over the 240 test days (the course's LSTM: 96 against about 1,100)."""
    sc, _, test_set = scaled()
    real_stock_price = sc.inverse_transform(test_set[60:])
    return bool(r.scalars["平均绝对误差"] < 0.1 * float(np.mean(real_stock_price)))


FOLLOWS = Claim("the predicted price follows the real one: the mean absolute error is under 10% of the mean "
                "real price", _follows)


NOT_RUNNABLE = (
    NotRunnable("stock_tushare", TUSHARE, "p37_tushare.py: downloads the Moutai prices with tushare and writes "
                "SH600519.csv", "needs the network (the tushare service); the harness ships the CSV the course "
                "published with its code instead"),
)

EXPERIMENTS = (
    Experiment(
        name="rnn_onehot_1pre1", section=ONEHOT_1,
        summary="SimpleRNN(3) on one-hot letters, one predicts the next, Adam 0.01, 100 epochs (p15)",
        fit=letters_fit(onehot_1pre1_data, onehot_model, "rnn_onehot_1pre1", {**_rnn(3, 5), **_dense(3, 5)},
                        predictions(_onehot, list(input_word), input_word), xla_drift(10, 1136)),
        tolerance=UNMEASURED, claims=(LOSS_FALLS, ALL_RIGHT, predicts(ONEHOT_1, input_word)), group="letters"),
    Experiment(
        name="rnn_onehot_4pre1", section=ONEHOT_4,
        summary="SimpleRNN(3) on one-hot letters, four predict the next (p21)",
        fit=letters_fit(onehot_4pre1_data, onehot_model, "rnn_onehot_4pre1", {**_rnn(3, 5), **_dense(3, 5)},
                        predictions(_onehot, WINDOWS_5, input_word), xla_drift(7, 368)),
        tolerance=UNMEASURED,
        printed=(*last_epochs(ONEHOT_4, ("0.2658", "0.2614", "0.2572")), *summary_counts(ONEHOT_4, "47"),
                 *per_sample(ONEHOT_4, "53ms/sample", "60ms/sample", "60ms/sample")),
        claims=(LOSS_FALLS, ALL_RIGHT, predicts(ONEHOT_4, input_word)), group="letters"),
    Experiment(
        name="rnn_embedding_1pre1", section=EMBEDDING,
        summary="Embedding(5, 2) and SimpleRNN(3), one letter predicts the next (p27)",
        fit=letters_fit(embedding_1pre1_data, embedding_model, "rnn_embedding_1pre1",
                        {"embedding_embeddings": (5, 2), **_rnn(3, 2), **_dense(3, 5)},
                        predictions(_ids, list(input_word), input_word), xla_drift(2, 500096)),
        tolerance=UNMEASURED,
        printed=(*last_epochs(EMBEDDING, ("0.6472", "0.6388", "0.6305")), *summary_counts(EMBEDDING, "48"),
                 *per_sample(EMBEDDING, "73ms/sample", "72ms/sample", "61ms/sample")),
        claims=(LOSS_FALLS, ALL_RIGHT, predicts(EMBEDDING, input_word)), group="letters"),
    Experiment(
        name="rnn_embedding_4pre1", section=EMBEDDING,
        summary="Embedding(26, 2) and SimpleRNN(10) on the alphabet, four letters predict the next (p32)",
        fit=letters_fit(embedding_4pre1_data, embedding_26_model, "rnn_embedding_4pre1",
                        {"embedding_embeddings": (26, 2), **_rnn(10, 2), **_dense(10, 26)},
                        predictions(_ids, WINDOWS_26, input_word_26), xla_drift(3, 27200)),
        tolerance=UNMEASURED,
        printed=(*last_epochs(EMBEDDING, ("0.2332", "0.2273", "0.2215", "0.2158", "0.2103", "0.2050", "0.1998",
                                          "0.1948")), *summary_counts(EMBEDDING, "468"),
                 *per_sample(EMBEDDING, "13ms/sample", "14ms/sample", "13ms/sample", "13ms/sample", "15ms/sample",
                             "13ms/sample", "11ms/sample", "11ms/sample")),
        claims=(LOSS_FALLS, ALL_RIGHT, predicts(EMBEDDING, input_word_26)), group="letters"),
    Experiment(
        name="rnn_stock", section=STOCK_RNN,
        summary="SimpleRNN(80)-SimpleRNN(100) with dropout on 60 days of opening prices, Adam, 50 epochs (p38)",
        fit=stock_fit(SimpleRNN, "simple_rnn", 1, "rnn_stock", 26.0, 1988772730, 432), tolerance=UNMEASURED,
        printed=stock_printed(STOCK_RNN, copy=True)
        + per_sample(STOCK_RNN, "271us/sample"), claims=(LOSS_FALLS, FOLLOWS), group="rnn_stock"),
    Experiment(
        name="lstm_stock", section=STOCK_LSTM,
        summary="the same with LSTM(80)-LSTM(100) (p47)",
        fit=stock_fit(LSTM, "lstm", 4, "LSTM_stock", 57.0, 2180387399, 630), tolerance=UNMEASURED,
        printed=stock_printed(STOCK_LSTM, copy=False)
        + per_sample(STOCK_LSTM, "336us/sample"), claims=(LOSS_FALLS, FOLLOWS), group="lstm_stock"),
    Experiment(
        name="gru_stock", section=STOCK_GRU,
        summary="the same with GRU(80)-GRU(100) (p56)",
        fit=stock_fit(GRU, "gru", 3, "stock", 63.0, 2001018576, 293), tolerance=UNMEASURED,
        printed=stock_printed(STOCK_GRU, copy=True)
        + per_sample(STOCK_GRU, "336us/sample"), claims=(LOSS_FALLS, FOLLOWS), group="gru_stock"),
)
