"""What ``training`` the layers of the course's subclassed networks see in ``fit``, on this
release: Keras 2 passed ``fit``'s ``training=True`` through a ``call(self, x)`` that takes no
``training``; Keras 3 passes ``None``, so batch normalization keeps its moving statistics and
dropout drops nothing (chapter 5).

    python -m harness.report.keras_training          # with any release's interpreter (.tox/tf215/bin/python ..)
"""

from __future__ import annotations

from typing import Any

import numpy as np


def seen_in_fit() -> list[Any]:
    """The ``training`` a layer inside a ``Model`` whose ``call`` takes none receives during ``fit``."""
    import tensorflow as tf

    seen: list[Any] = []

    class Probe(tf.keras.layers.Layer):  # type: ignore[misc]
        def call(self, x: Any, training: Any = None) -> Any:
            seen.append(training)
            return x

    class Written(tf.keras.Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.p, self.d = Probe(), tf.keras.layers.Dense(1)

        def call(self, x: Any) -> Any:  # as the course writes it: no training argument
            return self.d(self.p(x))

    model = Written()
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=4, epochs=1, verbose=0)
    return seen


def moving_statistics_move(build: Any) -> bool:
    """Whether one epoch of ``fit`` on 64 random 28x28 images moves the network's batch
    normalization statistics away from their initial 0 and 1."""
    import tensorflow as tf

    from harness.experiments.keras import weights

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1)).astype(np.float32), rng.integers(0, 10, 64)
    tf.keras.backend.clear_session()
    tf.random.set_seed(0)
    model = build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    stats = {n: v.numpy() for n, v in weights(model).items() if "moving" in n}
    if not stats:
        raise ValueError("the network has no batch normalization")
    return any(not np.all(v == (1 if "variance" in n else 0)) for n, v in stats.items())


def main() -> int:
    import keras
    import tensorflow as tf

    from harness.experiments.course import c5_cnn, c5_models

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    print(f"training seen by a layer of a call(self, x) model in fit: {sorted(set(map(str, seen_in_fit())))}")
    for name, build in (("Baseline", c5_models.Baseline), ("Inception10", c5_cnn.inception10)):
        print(f"{name}: batch normalization's moving statistics move in fit: {moving_statistics_move(build)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
