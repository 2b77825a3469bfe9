"""The course's update rules (2.6), in NumPy: new weights and state from the gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

State = dict[str, Any]


def update(rule: str, w: np.ndarray, g: np.ndarray, lr: Any, state: State, step: int) -> np.ndarray:
    """The new value of ``w``; ``state`` (this variable's moments) is updated in place."""
    new: np.ndarray = _rule(rule, w, g, lr, state, step)
    return new


def _rule(rule: str, w: np.ndarray, g: np.ndarray, lr: Any, state: State, step: int) -> Any:
    t = w.dtype.type
    lr = t(lr)
    if rule == "sgd":
        return w - lr * g
    # The course writes (1 - beta) in Python floats: the float32 of 1 - 0.9, not 1 - float32(0.9).
    if rule == "sgdm":
        beta = 0.9
        state["m"] = t(beta) * state.get("m", t(0)) + t(1 - beta) * g
        return w - lr * state["m"]
    if rule == "adagrad":
        state["v"] = state.get("v", t(0)) + np.square(g)
        return w - lr * g / np.sqrt(state["v"])
    if rule == "rmsprop":
        beta = 0.9
        state["v"] = t(beta) * state.get("v", t(0)) + t(1 - beta) * np.square(g)
        return w - lr * g / np.sqrt(state["v"])
    if rule == "adam":
        beta1, beta2 = 0.9, 0.999
        state["m"] = t(beta1) * state.get("m", t(0)) + t(1 - beta1) * g
        state["v"] = t(beta2) * state.get("v", t(0)) + t(1 - beta2) * np.square(g)
        m_hat = state["m"] / (t(1) - np.power(t(beta1), t(step)))
        v_hat = state["v"] / (t(1) - np.power(t(beta2), t(step)))
        return w - lr * m_hat / np.sqrt(v_hat)
    raise ValueError(f"no update rule {rule!r}")
