"""The programs' losses with their analytic gradients, in NumPy, in the dtype of their inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]
# (batch, params) -> (loss, gradient of the loss for each param, branches taken or None)
Model = Callable[[tuple[np.ndarray, ...], Params], tuple[np.ndarray, Params, np.ndarray | None]]


def linear_mse(batch: tuple[np.ndarray, ...], p: Params) -> tuple[np.ndarray, Params, None]:
    x, y_ = batch
    y = x @ p["w1"]
    diff = y_ - y
    n = x.dtype.type(diff.size)
    loss = np.mean(np.square(diff), dtype=x.dtype)
    # d/dy mean((y_ - y)^2) = -2 (y_ - y) / n
    return loss, {"w1": x.T @ (x.dtype.type(-2) * diff / n)}, None


def linear_custom(profit: float, cost: float, course: bool) -> Model:
    """The note's loss (branch on ``y_ > y``) or the course's (branch on ``y > y_``)."""

    def model(batch: tuple[np.ndarray, ...], p: Params) -> tuple[np.ndarray, Params, np.ndarray]:
        x, y_ = batch
        t = x.dtype.type
        y = x @ p["w1"]
        profit_branch = ~(y > y_) if course else (y_ > y)
        loss = np.sum(np.where(profit_branch, (y_ - y) * t(profit), (y - y_) * t(cost)), dtype=x.dtype)
        dy = np.where(profit_branch, t(-profit), t(cost))
        return loss, {"w1": x.T @ dy}, profit_branch.ravel()

    return model


def square(batch: tuple[np.ndarray, ...], p: Params) -> tuple[np.ndarray, Params, None]:
    w = p["w"]
    t = w.dtype.type
    return np.square(w + t(1)), {"w": t(2) * (w + t(1))}, None


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return p


def softmax_mse(batch: tuple[np.ndarray, ...], p: Params) -> tuple[np.ndarray, Params, None]:
    """The iris network: softmax(x w1 + b1) against the one-hot labels, mean squared error."""
    x, labels = batch
    t = x.dtype.type
    y = softmax(x @ p["w1"] + p["b1"])
    y_ = np.eye(3, dtype=x.dtype)[labels]
    loss = np.mean(np.square(y_ - y), dtype=x.dtype)
    dy = t(-2) * (y_ - y) / t(y.size)
    # The softmax Jacobian: dz = y * (dy - sum(dy * y)) row by row.
    dz = y * (dy - np.sum(dy * y, axis=1, keepdims=True))
    return loss, {"w1": x.T @ dz, "b1": dz.sum(axis=0)}, None


def correct(x: np.ndarray, labels: np.ndarray, p: Params) -> int:
    return int(np.sum(np.argmax(softmax(x @ p["w1"] + p["b1"]), axis=1) == labels))


def relu_mlp(regularizer: float) -> Model:
    """The regularization runs' 2-11-1 ReLU network, MSE, plus regularizer * (l2(w1) + l2(w2))."""

    def model(batch: tuple[np.ndarray, ...], p: Params) -> tuple[np.ndarray, Params, None]:
        x, y_ = batch
        t = x.dtype.type
        h = x @ p["w1"] + p["b1"]
        a = np.maximum(h, t(0))
        y = a @ p["w2"] + p["b2"]
        loss = np.mean(np.square(y_ - y), dtype=x.dtype)
        dy = t(-2) * (y_ - y) / t(y.size)
        grads = {"w2": a.T @ dy, "b2": dy.sum(axis=0)}
        dh = (dy @ p["w2"].T) * (h > 0)
        grads.update(w1=x.T @ dh, b1=dh.sum(axis=0))
        if regularizer:
            # tf.nn.l2_loss(w) = sum(w ** 2) / 2, whose gradient is w.
            r = t(regularizer)
            loss = loss + r * (np.sum(np.square(p["w1"])) / t(2) + np.sum(np.square(p["w2"])) / t(2))
            grads["w1"] = grads["w1"] + r * p["w1"]
            grads["w2"] = grads["w2"] + r * p["w2"]
        return loss, grads, None

    return model
