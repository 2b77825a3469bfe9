"""The course the note follows: 人工智能实践：Tensorflow笔记 (Peking University), chapters 1
(初识TensorFlow), 2 (深入TensorFlow) and 3 (使用八股搭建神经网络, Keras), one module per section,
each program as the course writes it, with what the course's text prints after it (运行结果)."""

from harness.experiments.declare import COURSE, Section

CHAPTERS = {
    "1": "第一讲 初识TensorFlow (chapter 1)",
    "2": "第二讲 深入TensorFlow (chapter 2)",
    # The text's chapter 3 numbers no sections: 3.1 .. are its headings in order (3.4: p16).
    "3": "第三讲 使用八股搭建神经网络 (chapter 3)",
}


def section(number: str, title: str) -> Section:
    return Section(COURSE, CHAPTERS[number.split(".")[0]], number, title)
