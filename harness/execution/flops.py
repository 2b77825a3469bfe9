"""The floating-point work of one training step of a Keras program, counted from its model: the
multiply-adds of every layer's forward pass on one sample, read from the shapes the layer sees
when the model runs once.

Why count per layer and not with TensorFlow's profiler: the profiler counts the body of a
``while`` loop once, and the recurrent layers of chapter 6 run one (60 time steps counted as
one). The profiler is the count's check where it can see everything (``tests/test_flops.py``:
Dense and Conv2D, and the recurrent layers unrolled).

A training step is counted as 3 forward passes of the batch, 2 FLOPs a multiply-add: the
backward pass computes the gradient for the inputs and for the weights, each as much work as
the forward pass (the usual estimate; the first layer needs no input gradient, so it is an upper
bound by that layer's share). Layers that do no multiply-add (pooling, batch normalization,
activations, dropout, embedding lookups) are not counted, and are named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.experiments.keras import Fit

FLOPS_PER_MAC = 2
PASSES_PER_STEP = 3
# Multiply-adds per time step and unit, as multiples of (inputs + units): one matrix for
# SimpleRNN, one per gate for GRU (3) and LSTM (4).
RECURRENT_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


@dataclass(frozen=True)
class Work:
    """One sample's forward multiply-adds, by layer class, and the layer classes not counted."""

    macs: dict[str, int]
    not_counted: tuple[str, ...]

    @property
    def forward_macs(self) -> int:
        return sum(self.macs.values())

    def step_flops(self, batch: int) -> int:
        """A training step's FLOPs on a batch of ``batch`` samples."""
        return FLOPS_PER_MAC * PASSES_PER_STEP * self.forward_macs * batch


def layer_macs(layer: Any, inputs: Sequence[int], outputs: Sequence[int]) -> int | None:
    """One sample's multiply-adds in ``layer`` from the shapes it saw (batch first); None for a
    layer that does none."""
    kind = type(layer).__name__
    if kind == "Dense":
        return math.prod(inputs[1:-1]) * inputs[-1] * int(layer.units)
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        return math.prod(outputs[1:3]) * outputs[3] * int(kh) * int(kw) * inputs[3] // int(layer.groups)
    if kind in RECURRENT_GATES:
        steps, features = inputs[1], inputs[2]
        units = int(layer.cell.units if hasattr(layer, "cell") else layer.units)
        return steps * RECURRENT_GATES[kind] * (features + units) * units
    return None


def _leaves(layer: Any) -> list[Any]:
    """The layers that compute (a recurrent layer as one, not its cell), in the order they are held."""
    found = []
    for child in layer._flatten_layers(include_self=False, recursive=False):  # Keras 2 and 3 both have it
        inner = list(child._flatten_layers(include_self=False, recursive=False))
        found += [child] if not inner or type(child).__name__ in RECURRENT_GATES else _leaves(child)
    return found


def _shape(tensor: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape)


def forward(model: Any, sample: Any) -> Work:
    """Runs ``model`` on ``sample`` (a batch of one) and counts each computing layer's work: once
    to build it (a subclassed model traces its call as it builds), then once watched."""
    model(sample, training=False)
    seen: list[tuple[Any, tuple[int, ...], tuple[int, ...]]] = []
    for layer in _leaves(model):
        def watched(*args: Any, _layer: Any = layer, _call: Any = layer.call, **kwargs: Any) -> Any:
            out = _call(*args, **kwargs)
            seen.append((_layer, _shape(args[0]), _shape(out[0] if isinstance(out, (list, tuple)) else out)))
            return out

        layer.call = watched
    model(sample, training=False)
    macs: dict[str, int] = {}
    skipped = set()
    for layer, inputs, outputs in seen:
        found = layer_macs(layer, inputs, outputs)
        kind = type(layer).__name__
        if found is None:
            skipped.add(kind)
        else:
            macs[kind] = macs.get(kind, 0) + found
    return Work(dict(sorted(macs.items())), tuple(sorted(skipped)))


def of_fit(fit: Fit) -> Work:
    """The work of the program's model on one of its training samples (a model built for it)."""
    x_train, y_train, *_ = fit.data()
    first = (x_train[0][0] if y_train is None else x_train)[:1]  # a generator's first batch
    return forward(fit.model(), np.asarray(first))
