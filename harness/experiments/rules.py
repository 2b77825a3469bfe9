"""The update rules of the note and the course, as the course writes them (class2,
p32_sgd.py to p40_adam.py), and its learning-rate schedule (p10).

Each rule is written for one variable ``w`` with gradient ``g``; the course writes
the same lines twice, once for ``w1`` (``m_w``) and once for ``b1`` (``m_b``). The
state starts as the course starts it (``m_w, m_b = 0, 0``); the loop hands the new
state back in at the next step.

One rewrite: Adam's ``tf.pow(beta1, int(global_step))`` becomes
``tf.pow(beta1, tf.cast(global_step, tf.float32))`` so that the same lines trace into
a graph, where ``global_step`` is a tensor. ``tf.pow`` converts the Python int to
float32 anyway; ``tests/test_training.py`` checks both spellings give the same bits
for every step of the runs.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from harness.experiments.training import UpdateRule


def _sgd(w: tf.Variable, g: Any, lr: Any) -> tuple[()]:
    # 实现梯度更新 w1 = w1 - lr * w1_grad    b = b - lr * b_grad
    w.assign_sub(lr * g)
    return ()


def _sgdm(w: tf.Variable, g: Any, lr: Any, m_w: Any, beta: float = 0.9) -> tuple[Any]:
    # sgd-momentun
    m_w = beta * m_w + (1 - beta) * g
    w.assign_sub(lr * m_w)
    return (m_w,)


def _adagrad(w: tf.Variable, g: Any, lr: Any, v_w: Any) -> tuple[Any]:
    # adagrad
    v_w += tf.square(g)
    w.assign_sub(lr * g / tf.sqrt(v_w))
    return (v_w,)


def _rmsprop(w: tf.Variable, g: Any, lr: Any, v_w: Any, beta: float = 0.9) -> tuple[Any]:
    # rmsprop
    v_w = beta * v_w + (1 - beta) * tf.square(g)
    w.assign_sub(lr * g / tf.sqrt(v_w))
    return (v_w,)


def _adam(w: tf.Variable, g: Any, lr: Any, m_w: Any, v_w: Any, *, global_step: Any,
          beta1: float = 0.9, beta2: float = 0.999) -> tuple[Any, Any]:
    # adam
    m_w = beta1 * m_w + (1 - beta1) * g
    v_w = beta2 * v_w + (1 - beta2) * tf.square(g)

    m_w_correction = m_w / (1 - tf.pow(beta1, tf.cast(global_step, tf.float32)))
    v_w_correction = v_w / (1 - tf.pow(beta2, tf.cast(global_step, tf.float32)))

    w.assign_sub(lr * m_w_correction / tf.sqrt(v_w_correction))
    return m_w, v_w


def sgd(*variables: str) -> UpdateRule:
    """``w1.assign_sub(lr * grads[0])``: the note's and the course's plain gradient descent."""
    return UpdateRule("sgd", variables, _sgd)


def sgdm(*variables: str) -> UpdateRule:
    return UpdateRule("sgdm", variables, _sgdm, moments=("m",))


def adagrad(*variables: str) -> UpdateRule:
    return UpdateRule("adagrad", variables, _adagrad, moments=("v",))


def rmsprop(*variables: str) -> UpdateRule:
    return UpdateRule("rmsprop", variables, _rmsprop, moments=("v",))


def adam(*variables: str) -> UpdateRule:
    return UpdateRule("adam", variables, _adam, moments=("m", "v"), counts_steps=True)


def exponential_decay(base: float, decay: float, step: int) -> Any:
    """``lr = LR_BASE * LR_DECAY ** (epoch / LR_STEP)``, per epoch, in Python floats (p10)."""

    def lr(epoch: int) -> float:
        return float(base * decay ** (epoch / step))

    lr.__qualname__ = f"exponential_decay({base}, {decay}, {step})"
    return lr
