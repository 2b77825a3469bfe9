"""The programs' losses with their analytic gradients, in NumPy, in the dtype of their inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.oracle.arithmetic import matmul

Params = dict[str, np.ndarray]
# (batch, params, fma) -> (loss, gradient of the loss for each param, branches taken or None);
# fma: whether the weight gradients' products fuse multiply and add (arithmetic.gradient_fma).
# Forward products never do (measured under every kernel class).
Model = Callable[[tuple[np.ndarray, ...], Params, bool], tuple[np.ndarray, Params, np.ndarray | None]]


def linear_mse(batch: tuple[np.ndarray, ...], p: Params, fma: bool) -> tuple[np.ndarray, Params, None]:
    x, y_ = batch
    y = matmul(x, p["w1"])
    diff = y_ - y
    n = x.dtype.type(diff.size)
    loss = np.mean(np.square(diff), dtype=x.dtype)
    # d/dy mean((y_ - y)^2) = -2 (y_ - y) / n
    return loss, {"w1": matmul(x.T, x.dtype.type(-2) * diff / n, fma)}, None


def linear_custom(profit: float, cost: float, course: bool) -> Model:
    """The note's loss (branch on ``y_ > y``) or the course's (branch on ``y > y_``)."""

    def model(batch: tuple[np.ndarray, ...], p: Params, fma: bool) -> tuple[np.ndarray, Params, np.ndarray]:
        x, y_ = batch
        t = x.dtype.type
        y = matmul(x, p["w1"])
        profit_branch = ~(y > y_) if course else (y_ > y)
        loss = np.sum(np.where(profit_branch, (y_ - y) * t(profit), (y - y_) * t(cost)), dtype=x.dtype)
        dy = np.where(profit_branch, t(-profit), t(cost))
        return loss, {"w1": matmul(x.T, dy, fma)}, profit_branch.ravel()

    return model


def square(batch: tuple[np.ndarray, ...], p: Params, fma: bool) -> tuple[np.ndarray, Params, None]:
    w = p["w"]
    t = w.dtype.type
    return np.square(w + t(1)), {"w": t(2) * (w + t(1))}, None


def softmax(z: np.ndarray) -> np.ndarray:
    # exp in float64, rounded once: NumPy's float32 exp is another function on each SIMD target
    # it dispatches to (AVX-512 or not); the float64 one rounded to float32 agrees but for ties.
    e = np.exp((z - z.max(axis=1, keepdims=True)).astype(np.float64)).astype(z.dtype)
    p: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return p


def softmax_mse(batch: tuple[np.ndarray, ...], p: Params, fma: bool) -> tuple[np.ndarray, Params, None]:
    """The iris network: softmax(x w1 + b1) against the one-hot labels, mean squared error."""
    x, labels = batch
    t = x.dtype.type
    y = softmax(matmul(x, p["w1"]) + p["b1"])
    y_ = np.eye(3, dtype=x.dtype)[labels]
    loss = np.mean(np.square(y_ - y), dtype=x.dtype)
    dy = t(-2) * (y_ - y) / t(y.size)
    # The softmax Jacobian: dz = y * (dy - sum(dy * y)) row by row.
    dz = y * (dy - np.sum(dy * y, axis=1, keepdims=True))
    return loss, {"w1": matmul(x.T, dz, fma), "b1": dz.sum(axis=0)}, None


def correct(x: np.ndarray, labels: np.ndarray, p: Params) -> int:
    return int(np.sum(np.argmax(softmax(matmul(x, p["w1"]) + p["b1"]), axis=1) == labels))


def relu_mlp(regularizer: float) -> Model:
    """The regularization runs' 2-11-1 ReLU network, MSE, plus regularizer * (l2(w1) + l2(w2))."""

    def model(batch: tuple[np.ndarray, ...], p: Params, fma: bool) -> tuple[np.ndarray, Params, None]:
        x, y_ = batch
        t = x.dtype.type
        h = matmul(x, p["w1"]) + p["b1"]
        a = np.maximum(h, t(0))
        y = matmul(a, p["w2"]) + p["b2"]
        loss = np.mean(np.square(y_ - y), dtype=x.dtype)
        dy = t(-2) * (y_ - y) / t(y.size)
        grads = {"w2": matmul(a.T, dy, fma), "b2": dy.sum(axis=0)}
        dh = matmul(dy, p["w2"].T) * (h > 0)
        grads.update(w1=matmul(x.T, dh, fma), b1=dh.sum(axis=0))
        if regularizer:
            # tf.nn.l2_loss(w) = sum(w ** 2) / 2, whose gradient is w.
            r = t(regularizer)
            loss = loss + r * (np.sum(np.square(p["w1"])) / t(2) + np.sum(np.square(p["w2"])) / t(2))
            grads["w1"] = grads["w1"] + r * p["w1"]
            grads["w2"] = grads["w2"] + r * p["w2"]
        return loss, grads, None

    return model
