"""The course the note follows: 人工智能实践：Tensorflow笔记 (Peking University), chapters 1
(初识TensorFlow) and 2 (深入TensorFlow), one module per section, each program as the course
writes it, with what the course's text prints after it (运行结果)."""

from harness.experiments.declare import COURSE, Section

CHAPTER_1 = "第一讲 初识TensorFlow (chapter 1)"
CHAPTER_2 = "第二讲 深入TensorFlow (chapter 2)"


def section(number: str, title: str) -> Section:
    return Section(COURSE, CHAPTER_1 if number.startswith("1.") else CHAPTER_2, number, title)
