"""Every experiment, on every selected device, reproduces its golden (in the default tier, a
program whose training is another's bit for bit is held by that one's: ``repeated_training``)."""

from __future__ import annotations

import dataclasses

import pytest

from harness.experiments import catalog
from harness.experiments.course.c3_mnist import same_training
from harness.judge.verdict import load
from harness.pytest_plugin import golden_root, repeated_training


def test_reproduces_golden(experiment, device, record_of, golden_check, request):
    repeated_training(request.config, experiment)
    golden_check(record_of(experiment, device))


REPEATS = [e for e in catalog.all_experiments() if e.trains_as]


@pytest.mark.parametrize("repeat", REPEATS, ids=[e.name for e in REPEATS])
def test_a_repeated_training_s_golden_is_its_target_s_at_every_shared_row_and_hash(repeat, request):
    """What the default tier holds of a program it does not train (``repeated_training``): its
    committed golden is the golden of the program whose training it repeats, at every row and every
    variable's SHA-256 the two share (read under this machine's kernel class, without training)."""
    root = golden_root(request.config)
    target = catalog.get(repeat.trains_as)
    mine = load(root, repeat, "cpu").record(repeat.name, "cpu")
    theirs = load(root, target, "cpu").record(target.name, "cpu")
    assert same_training(target.name).holds(mine, theirs), f"{repeat.name}'s golden is not {target.name}'s"
    # The same judgement sees one weight's hash changed.
    epoch, hashes = next(iter(theirs.scalars["weights_sha256"].items()))
    moved = {**theirs.scalars["weights_sha256"], epoch: {name: "0" * 64 for name in hashes}}
    assert not same_training(target.name).holds(mine, dataclasses.replace(
        theirs, scalars={**theirs.scalars, "weights_sha256": moved}))
