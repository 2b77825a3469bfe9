"""Declarations: an experiment that cannot work fails when the catalogue is built, with its
name; the course's Adam rewrite (tf.pow of a tensor step) gives the course's bits."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest
import tensorflow as tf

from harness.errors import DeclarationError
from harness.experiments import catalog, rules
from harness.experiments.course.c1_6_iris import IRIS_SGD
from harness.experiments.declare import Claim
from harness.experiments.training import ModeDifference, Weights


def _section(*experiments, also=None):
    module = types.ModuleType("harness.experiments.course.fake")
    module.EXPERIMENTS = experiments
    if also is not None:
        module.ALSO_PRINTED = also
    return module


def _iris(**changes):
    return dataclasses.replace(IRIS_SGD, training=dataclasses.replace(IRIS_SGD.training, **changes))


BROKEN = {
    "a column no variable produces": (_iris(prints=(Weights("w9"),)), "prints the weights of 'w9'"),
    "an update rule naming an unknown variable": (_iris(update=rules.sgd("w1", "b1", "b7")),
                                                  "names ['b7'], which are not among its variables"),
    "a variable no rule updates": (_iris(update=rules.sgd("w1")), "does not update ['b1']"),
    "a mode declared twice": (_iris(known_mode_differences=(ModeDifference("xla", 0, 1, ""),
                                                            ModeDifference("xla", 0, 2, ""))),
                              "declares a difference for mode(s) ['xla'] twice"),
    "an unknown mode": (_iris(known_mode_differences=(ModeDifference("graph", 0, 1, ""),)),
                        "declares a difference for mode 'graph'"),
    "the reference mode": (_iris(known_mode_differences=(ModeDifference("eager", 0, 1, ""),)),
                           "declares a difference for mode 'eager'"),
    "colliding state names": (_iris(variables={"w1": (4, 3), "w2": (3,)}, update=rules.adam("w1", "w2")),
                              "state names collide"),
    "a claim needing an undeclared run": (dataclasses.replace(IRIS_SGD, claims=(
        Claim("x", lambda r, o: True, needs=("nothing_here",)),)), "needs 'nothing_here'"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_an_inconsistent_declaration_fails_with_its_name(case):
    experiment, says = BROKEN[case]
    with pytest.raises(DeclarationError) as info:
        catalog.build([_section(experiment)])
    assert "experiment 'iris_sgd'" in str(info.value) and says in str(info.value)


def test_a_name_declared_twice_or_printed_for_an_unknown_experiment_fails():
    with pytest.raises(DeclarationError, match="'iris_sgd' is declared twice"):
        catalog.build([_section(IRIS_SGD), _section(IRIS_SGD)])
    with pytest.raises(DeclarationError, match=r"'nobody' .* no section declares it"):
        catalog.build([_section(IRIS_SGD, also={"nobody": ((), ())})])


def test_a_claim_needing_a_run_of_another_group_fails():
    other = dataclasses.replace(IRIS_SGD, name="iris_other")
    needy = dataclasses.replace(IRIS_SGD, claims=(Claim("x", lambda r, o: True, needs=("iris_other",)),))
    with pytest.raises(DeclarationError, match="in run group 'iris_other', not 'iris_sgd'"):
        catalog.build([_section(needy, other)])


def test_the_catalogue_holds_the_note_and_the_course():
    names = [e.name for e in catalog.all_experiments()]
    note = ["mse_regression", "custom_loss_cost99", "custom_loss_profit99", "cross_entropy",
            "softmax_cross_entropy", "tensor_creation", "common_functions"]
    assert names[:7] == note
    for name in ("gradient_descent", "iris_sgd", "iris_sgdm", "iris_adagrad", "iris_rmsprop", "iris_adam",
                 "lr_exponential_decay", "regularization_free", "regularization_l2",
                 "course_custom_loss_profit99", "course_custom_loss_cost99"):
        assert catalog.get(name).training is not None, name
    # Chapter 3: the Keras programs train with fit, p13 only loads its data.
    for name in ("keras_iris_sequential", "keras_iris_class", "mnist_sequential", "mnist_class",
                 "fashion_sequential", "fashion_class"):
        assert catalog.get(name).fit is not None and catalog.get(name).training is None, name
    assert catalog.get("mnist_dataset").fn is not None
    assert {e.section.source for e in catalog.all_experiments()} == {"note", "course"}


def test_the_adam_rewrite_gives_the_courses_bits():
    # p40 writes tf.pow(beta1, int(global_step)); a graph needs tf.cast(global_step, tf.float32).
    for beta in (0.9, 0.999):
        for step in range(1, 2001):
            course = tf.pow(beta, int(step)).numpy()
            ours = tf.pow(beta, tf.cast(tf.constant(step), tf.float32)).numpy()
            assert np.array_equal(course, ours), (beta, step)
