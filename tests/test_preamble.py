"""The preamble (harness/preamble.py) is what the runner runs before every program, and it is
said where a reader looks: ``list``, the head of ``check`` and its JSON."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from harness import preamble
from harness.execution import runtime
from harness.execution.devices import Device
from harness.execution.run import run
from harness.experiments import catalog
from tests.helpers import cli, without_data


def test_the_declared_seed_is_tensorflow_s_default_graph_seed():
    assert preamble.GRAPH_SEED == runtime.DEFAULT_GRAPH_SEED
    assert f"tf.random.set_seed({runtime.DEFAULT_GRAPH_SEED})" in [a.line for a in preamble.PREAMBLE]


def test_a_run_starts_from_the_preamble_s_random_state():
    runtime.reset_random_state()
    drawn = (random.random(), float(np.random.random()), float(tf.random.uniform([])))
    random.seed(0)
    np.random.seed(0)
    tf.random.set_seed(preamble.GRAPH_SEED)
    assert drawn == (random.random(), float(np.random.random()), float(tf.random.uniform([])))


def test_the_process_runs_with_the_preamble_s_switches():
    runtime.configure()
    assert tf_config.is_op_determinism_enabled()
    assert not tf.config.experimental.tensor_float_32_execution_enabled()


def test_fit_prints_no_progress_bar(capfd):
    experiment = catalog.get("keras_iris_sequential")
    if without_data(experiment):
        pytest.skip("no data")
    capfd.readouterr()
    run(experiment, Device("CPU:0"), batches=2)
    assert capfd.readouterr().out == ""


def test_list_and_check_say_the_preamble(tmp_path):
    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    checked = cli("check", "constant", "--device", "CPU:0", "--json-out", str(tmp_path / "c.json"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    document = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert [a["line"] for a in document["preamble"]] == [a.line for a in preamble.PREAMBLE]
    for added in preamble.PREAMBLE:
        assert added.line in listed.stdout and added.why[:40] in listed.stdout
        assert f"  {added.line}\n" in checked.stdout
