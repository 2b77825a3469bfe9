"""The random state, the determinism switches and the environment fingerprint.

The op-seed hazard: in eager mode ``tf.random.normal(..., seed=1)`` returns new
values each time it is called in one process. Re-seeding the global generator
with TensorFlow's default graph seed (the one used when only an op seed is
given) before every run gives back the first-call values the notes print,
whatever ran before in the process.
"""

from __future__ import annotations

import datetime
import os
import platform
import random
from typing import Any

import numpy as np
import tensorflow as tf

# Neither the default graph seed nor the determinism flag has a public getter.
from tensorflow.python.framework import config as tf_config
from tensorflow.python.framework import random_seed

from harness import kernels, preamble
from harness.errors import HarnessError

DEFAULT_GRAPH_SEED: int = random_seed.DEFAULT_GRAPH_SEED

_configured = False


def configure() -> None:
    """Switch on what makes TensorFlow deterministic; idempotent."""
    global _configured
    if _configured:
        return
    kernels.align_xla()
    tf.config.experimental.enable_op_determinism()
    # TF32 (Ampere and newer) rounds matmul inputs to 10 mantissa bits: off, so a GPU run
    # is a float32 run like the notes'.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    _configured = True


def set_threads(intra: int | None, inter: int | None) -> None:
    """TensorFlow's thread pools (None leaves its default); only before TensorFlow starts."""
    try:
        if intra is not None:
            tf.config.threading.set_intra_op_parallelism_threads(intra)
        if inter is not None:
            tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError as exc:
        raise HarnessError(f"--intra-op-threads/--inter-op-threads: TensorFlow has already started its "
                           f"thread pools in this process ({exc}); give them when the process starts "
                           "(python -m harness --intra-op-threads N ...)") from None


def reset_random_state() -> None:
    """Every run starts from the random state of a fresh process (the preamble's seeds)."""
    tf.random.set_seed(preamble.GRAPH_SEED)
    np.random.seed(0)
    random.seed(0)


def onednn_setting() -> str:
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return f"TF_ENABLE_ONEDNN_OPTS={value}" if value is not None else "unset (TensorFlow default)"


def device_description(kind: str) -> str:
    """The CPU model, or the names of the visible GPUs."""
    if kind == "cpu":
        return kernels.cpu_model()
    names = [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    return ", ".join(names) or "no GPU visible"


def fingerprint(kind: str) -> dict[str, Any]:
    """What a golden depends on beyond the code: written beside the goldens of a kind."""
    import keras

    return {
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "device_kind": kind,
        "device": device_description(kind),
        # 0 means TensorFlow's default: as many threads as cpu_count.
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        # The CPU kernels (instruction sets, oneDNN on or off, OpenBLAS), as the libraries report them.
        **kernels.current().fields(),
        "keras": keras.__version__,
        "machine": platform.machine(),
        "numpy": np.__version__,
        "onednn": onednn_setting(),
        "op_determinism": tf_config.is_op_determinism_enabled(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
        # Provenance, not a result: what the note's tf.losses resolves to (Keras 2 or 3, where).
        "tf_losses_module": tf.losses.categorical_crossentropy.__module__,
    }
