"""The course the note follows: 人工智能实践：Tensorflow笔记 (Peking University), chapters 1
(初识TensorFlow), 2 (深入TensorFlow), 3 (使用八股搭建神经网络, Keras), 4 (神经网络八股拓展), 5 (卷积神经网络)
and 6 (循环神经网络), one module
per section, each program as the course writes it, with what the course's text prints after it
(运行结果)."""

import re
from collections.abc import Callable

from harness.experiments.declare import COURSE, Printed, Section
from harness.record import Record

CHAPTERS = {
    "1": "第一讲 初识TensorFlow (chapter 1)",
    "2": "第二讲 深入TensorFlow (chapter 2)",
    # The text's chapter 3 numbers no sections: 3.1 .. are its headings in order (3.4: p16).
    "3": "第三讲 使用八股搭建神经网络 (chapter 3)",
    # Chapters 4 and 5 likewise: their "##" headings in order (5.11.1 .. 5.11.5: the "###" classic
    # networks under 经典卷积网络).
    "4": "第四讲 神经网络八股拓展 (chapter 4)",
    "5": "第五讲 卷积神经网络 (chapter 5)",
    # Chapter 6's sections, likewise: its "##" headings in order (6.5: p15, 6.8: p38).
    "6": "第六讲 循环神经网络 (chapter 6)",
}


def section(number: str, title: str) -> Section:
    return Section(COURSE, CHAPTERS[number.split(".")[0]], number, title)


# Today's Keras seeds its initializers from Python's random module, which the course's
# tf.random.set_seed does not reach: as written, the seeded Keras programs are not deterministic
# (python -m harness.report.determinism), so what the text prints of them is one draw among many.
DRAW = ("as written the program is not deterministic on today's Keras (TF 2.15's Keras 2 and Keras 3 alike): "
        "its tf.random.set_seed does not reach the seeds Keras draws the initial weights with (Python's random "
        "module; reports/determinism-tf215.md, reports/determinism-tf221.md), so the text's number is one draw "
        "among many, as an unseeded program's")

# Keras 3 (TF 2.16 on) counts the optimizer's variables into the total model.summary() prints.
OPTIMIZER_COUNTED = ("Keras 3's model.summary() adds the optimizer's variables to Total params (its new line "
                     "'Optimizer params'); Keras 2, which the text ran, counted the model's only. Trainable "
                     "params is the text's")


def summary_counts(where: Section, total: str, trainable: str | None = None) -> tuple[Printed, ...]:
    """What ``model.summary()`` prints after fit, as the text prints it: its Total params (which
    Keras 3 counts otherwise) and Trainable params (the text's total where it prints no other)."""
    def count(line: str) -> Callable[[Record], str]:
        return lambda r: f"{r.scalars['summary'][line]:,}"

    return (Printed("model.summary(): Total params", total, count("Total params"), where, precision="exact",
                    known_difference=OPTIMIZER_COUNTED),
            Printed("model.summary(): Trainable params", trainable or total, count("Trainable params"), where,
                    precision="exact"))


# What fit's progress bar printed after each epoch on the course's machine (TF 2.1's Keras): the
# epoch's time per training sample. The benchmarks put it beside this machine's steady step.
PER_SAMPLE = "fit's log: time per sample (us/sample)"
LOGGED_TIME = "the time fit's log took per sample on the course's machine (TF 2.1)"
_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6}


def per_sample(where: Section, *texts: str) -> tuple[Printed, ...]:
    """The per-sample times fit's log prints (``83us/sample``, ``1ms/sample``), one per epoch shown."""
    return tuple(Printed(f"{PER_SAMPLE}, {i} of {len(texts)} shown", text, lambda r: None, where, precision="exact",
                         not_comparable=LOGGED_TIME) for i, text in enumerate(texts, 1))


def us_per_sample(text: str) -> float:
    """``83us/sample`` -> 83.0; ``1ms/sample`` -> 1000.0 (TF 2.1 rounds the unit it prints)."""
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)/sample", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]
