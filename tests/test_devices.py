"""Device selection and pinning, exercised with real logical CPU devices.

No GPU is visible here: what these tests cannot reach is the GPU branch of
``runtime.device_description`` and TF32 actually being off on a GPU.
"""

from __future__ import annotations

import json

import pytest

from harness.errors import UnknownName
from harness.execution import devices
from harness.execution.devices import Device, missing_kinds, select
from tests.helpers import cli, cpus, harness, nested

TWO_CPUS = [Device("CPU:0"), Device("CPU:1")]


@pytest.mark.parametrize(("spec", "names"), [
    ("all", ["CPU:0", "CPU:1"]),
    ("cpu", ["CPU:0", "CPU:1"]),
    ("CPU:1", ["CPU:1"]),
    ("cpu:1,CPU:0", ["CPU:1", "CPU:0"]),
    ("CPU:0,cpu", ["CPU:0", "CPU:1"]),
    ("gpu", []),
])
def test_select(spec, names):
    assert [d.name for d in select(spec, TWO_CPUS)] == names


def test_unknown_device_lists_the_valid_ones():
    with pytest.raises(UnknownName) as info:
        select("CPU:2", TWO_CPUS)
    assert "'CPU:2'" in str(info.value)
    for valid in ("all", "cpu", "gpu", "CPU:0", "CPU:1"):
        assert valid in str(info.value)


def test_missing_kinds():
    assert missing_kinds("all", TWO_CPUS) == ["gpu"]
    assert missing_kinds("gpu", TWO_CPUS) == ["gpu"]
    assert missing_kinds("cpu", TWO_CPUS) == []
    assert missing_kinds("all", [*TWO_CPUS, Device("GPU:0")]) == []


def test_kind_and_tensorflow_name():
    assert Device("GPU:1").kind == "gpu"
    assert Device("CPU:0").tf_name == "/device:CPU:0"


def test_each_logical_cpu_runs_pinned_and_bit_identical():
    done = harness("--logical-cpus", "2", "run", "mse_regression", "iris_adam", "--jobs", "1",
                   "--device", "CPU:0", "--device", "CPU:1", "--epochs", "21", "--json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert [(r["experiment"], r["device"]) for r in records] == [
        ("mse_regression", "CPU:0"), ("iris_adam", "CPU:0"),
        ("mse_regression", "CPU:1"), ("iris_adam", "CPU:1")]
    for r in records:
        assert r["placement"].endswith(r["device"]), r["placement"]
    by_device = {d: [(r["columns"], r["checkpoints"], r["scalars"]) for r in records if r["device"] == d]
                 for d in ("CPU:0", "CPU:1")}
    assert by_device["CPU:0"] == by_device["CPU:1"]


def test_an_unknown_device_exits_2_with_the_valid_names():
    seen = cpus()
    beyond = f"CPU:{len(seen)}"
    done = cli("run", "cross_entropy", "--device", beyond)
    assert done.returncode == 2
    assert f"unknown device '{beyond}'" in done.stderr
    assert f"valid devices: {', '.join(seen)}, all, cpu, gpu" in done.stderr


def test_gpu_cases_are_skipped_once_per_module_with_a_reason_where_no_gpu_is_visible(pytester):
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        pytest.skip("a GPU is visible: its cases run instead of being skipped")
    pytester.makepyfile(test_first="""
import pytest
@pytest.mark.parametrize("n", range(30))
def test_a(device, n):
    assert device.kind == "cpu"
def test_b(device):
    assert device.kind == "cpu"
""", test_second="def test_c(device):\n    assert device.kind == 'cpu'\n")
    result = nested(pytester, "-rs", "--devices", "all")
    # 31 CPU cases and 1 skip in the first module, 1 and 1 in the second: not one skip a case.
    result.assert_outcomes(passed=32, skipped=2, deselected=30)
    for module in ("test_first", "test_second"):
        result.stdout.fnmatch_lines([f"*{devices.why_missing('gpu')}*every GPU case of {module} is left out*"])


def test_a_missing_gpu_is_skipped_for_its_true_reason(monkeypatch):
    """A CPU-only build of TensorFlow sees no GPU whatever the machine has: the skip says so and
    how to install the GPU build; a CUDA build that sees none says that instead."""
    import tensorflow as tf

    monkeypatch.setattr(tf.test, "is_built_with_cuda", lambda: False)
    assert "a build without GPU support (tensorflow-cpu)" in devices.why_missing("gpu")
    assert "tox -e gpu" in devices.why_missing("gpu")
    monkeypatch.setattr(tf.test, "is_built_with_cuda", lambda: True)
    assert devices.why_missing("gpu").startswith("no GPU visible to TensorFlow")
