"""The oracle's matrix products, computed without BLAS in one fixed order, so that its
results are the same on every CPU and under every OpenBLAS core type.

NumPy's ``@`` hands float32 products to OpenBLAS, whose kernel (and so its order of
summation, and whether it fuses multiply and add) depends on the CPU. Here a product is a
sequential sum over the shared axis, each term added with one rounding (a fused
multiply-add, FMA) or two (multiply, then add): NumPy's element-wise float32 operations
round as IEEE 754 says on every machine.

Which of the two TensorFlow does is a property of its kernels and of the shapes, measured on
TF 2.21 (CPU) for the linear programs' two products: the forward product of a batch of 32 by
the weights, ``x @ w`` (2 inputs, 1 output), rounds twice under every kernel class; its weight
gradient ``x^T @ dy`` sums the 32 samples in order with an FMA when oneDNN's options are on
and its ISA has FMA (AVX2 and newer), and without under SSE4.1 and AVX or with the options
off. ``gradient_fma`` says which a run is held to. Other shapes (the iris and regularization
networks) change between fused, unfused and blocked orders from one class to the next; the
oracle does not model them (``Program.kernel_products``).

TensorFlow-free.
"""

from __future__ import annotations

import functools
import math
import struct

import numpy as np

from harness.kernels import BY_NAME, ISAS, Kernels


def gradient_fma(kernels: Kernels) -> bool:
    """Whether TensorFlow's weight gradients fuse multiply and add under these kernels."""
    if not kernels.onednn_opts or kernels.onednn_isa not in BY_NAME:
        return False
    return ISAS.index(BY_NAME[kernels.onednn_isa]) >= ISAS.index(BY_NAME["avx2"])


def fma32(a: float, b: float, c: float) -> float:
    """float32 ``a * b + c`` (each a float32 value, held in a Python float) rounded once, exactly
    as a hardware FMA rounds it.

    In float64 the product is exact (24 + 24 bits); the sum is rounded *to odd* (truncated,
    lowest bit set when inexact), and a float64 rounded to odd rounds correctly to float32
    (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms
    using rounding to odd", IEEE TC 2008: 53 >= 2 * 24 + 2). Python floats, not NumPy: the
    products here have a handful of outputs, where NumPy's per-call cost is most of the time."""
    p = a * b
    s = p + c
    # TwoSum: s + e == p + c exactly.
    bb = s - p
    e = (p - (s - bb)) + (c - bb)
    if e != 0:
        if (e > 0) != (s > 0):  # rounded away from zero: truncate
            s = math.nextafter(s, 0.0)
        s = _D.unpack(_Q.pack(_Q.unpack(_D.pack(s))[0] | 1))[0]
    return float(_F.unpack(_F.pack(s))[0])  # the C cast to float: round to nearest, ties to even


_D, _Q, _F = struct.Struct("<d"), struct.Struct("<q"), struct.Struct("<f")


def matmul(a: np.ndarray, b: np.ndarray, fma: bool = False) -> np.ndarray:
    """``a @ b`` for 2-D ``a`` and ``b``, summed over the shared axis in order; float32 with
    ``fma`` rounds each term once. float64 (the oracle's exact-arithmetic run) never fuses."""
    if fma and a.dtype == np.float32:
        rows, columns = a.astype(np.float64).tolist(), b.astype(np.float64).T.tolist()
        out = [[functools.reduce(lambda acc, xy: fma32(xy[0], xy[1], acc), zip(row, column, strict=True), 0.0)
                for column in columns] for row in rows]
        return np.array(out, dtype=np.float32)
    acc: np.ndarray = a[:, 0:1] * b[0:1, :]
    for k in range(1, a.shape[1]):
        acc = acc + a[:, k:k + 1] * b[k:k + 1, :]
    return acc
