"""The work of a training step counted per layer (``harness.execution.flops``), held to
TensorFlow's profiler wherever the profiler sees every multiply-add: the forward pass of every
Keras program without a recurrent layer, and the recurrent layers unrolled."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from harness.execution import flops
from tests.helpers import without_data

RECURRENT = tuple(flops.RECURRENT_GATES)


def profiled_flops(model: keras.Model, shape: tuple[int, ...]) -> int:
    """The profiler's count of the matrix products and convolutions of one forward pass."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec(shape, tf.float32)).graph
    builder = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
    builder.with_empty_output()
    options = builder.build()
    options["account_type_regexes"] = ["MatMul", "Conv2D", "BatchMatMul.*"]
    return int(model_analyzer.profile(graph, options=options).total_float_ops)


def test_a_programs_count_is_the_profilers(keras_program):
    experiment = keras_program
    if without_data(experiment):
        pytest.skip(f"{experiment.name}'s data is not here")
    work = flops.of_fit(experiment.fit)
    if set(work.macs) & set(RECURRENT):
        pytest.skip("its recurrent layers run a while loop, which the profiler counts once "
                    "(test_recurrent_layers_unrolled holds their count)")
    x_train, y_train, *_ = experiment.fit.data()
    sample = np.asarray((x_train[0][0] if y_train is None else x_train)[:1], np.float32)
    model = experiment.fit.model()
    model(sample, training=False)
    assert flops.FLOPS_PER_MAC * work.forward_macs == profiled_flops(model, sample.shape)
    assert work.forward_macs > 0


@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_layers_unrolled(kind):
    steps, features, units = 6, 3, 5
    layer = getattr(keras.layers, kind)
    model = keras.Sequential([keras.Input((steps, features)), layer(units, return_sequences=True, unroll=True),
                              layer(units + 2, unroll=True), keras.layers.Dense(4)])
    work = flops.forward(model, np.zeros((1, steps, features), np.float32))
    assert flops.FLOPS_PER_MAC * work.forward_macs == profiled_flops(model, (1, steps, features))
    assert set(work.macs) == {kind, "Dense"}


def test_layers_without_multiply_adds_are_named_not_counted():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization(),
                              keras.layers.MaxPool2D(), keras.layers.Flatten(), keras.layers.Dense(3)])
    work = flops.forward(model, np.zeros((1, 8, 8, 1), np.float32))
    assert work.not_counted == ("BatchNormalization", "Flatten", "MaxPooling2D")
    assert work.macs == {"Conv2D": 6 * 6 * 2 * 9, "Dense": 18 * 3}
    assert work.step_flops(32) == 2 * 3 * 32 * (6 * 6 * 2 * 9 + 18 * 3)
