"""The benchmark report from pytest-benchmark's saved runs: missing, empty or damaged runs
are refused by name, with how to make them again; never a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.report import benchreport
from tests.helpers import ROOT

SAVED = sorted((ROOT / "reports" / "benchmarks").glob("*/[0-9][0-9][0-9][0-9]_*.json"))


@pytest.fixture
def storage(tmp_path):
    folder = tmp_path / "benchmarks" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    shutil.copy(SAVED[-1], folder / "0001_run.json")
    return tmp_path / "benchmarks"


def _main(storage, tmp_path, capsys):
    code = benchreport.main(["--storage", str(storage), "--out", str(tmp_path / "b.md")])
    return code, capsys.readouterr().err


def test_the_saved_run_renders_with_every_target_met(storage, tmp_path, capsys):
    code, err = _main(storage, tmp_path, capsys)
    assert code == 0, err  # the committed run meets every per-loop target (reports/benchmarks.md)
    assert "# Benchmarks of the training loops" in (tmp_path / "b.md").read_text(encoding="utf-8")


def test_a_loop_whose_fast_modes_slowed_misses_its_target_and_exits_1(storage, tmp_path, capsys):
    def slowed(document):
        for bench in document["benchmarks"]:
            info = bench["extra_info"]
            if info["experiment"] == "mse_regression" and info["mode"] not in ("eager", "numpy"):
                info["us_per_step"] = 10 * document_eager(document)

    def document_eager(document):
        return next(b["extra_info"]["us_per_step"] for b in document["benchmarks"]
                    if b["extra_info"]["experiment"] == "mse_regression" and b["extra_info"]["mode"] == "eager")

    _edit(storage, slowed)
    code, err = _main(storage, tmp_path, capsys)
    assert code == 1 and "target missed: mse_regression: steady state" in err, err


def _edit(storage, change):
    path = next(storage.glob("*/0001_run.json"))
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


DAMAGE = {
    "not JSON": (lambda p: p.write_text("{", encoding="utf-8"), "is not valid JSON"),
    "empty": (lambda p: p.write_text("", encoding="utf-8"), "is empty"),
    "not UTF-8": (lambda p: p.write_bytes(b"\xff\xfe\x00"), "is not UTF-8 text"),
}
EDITS = {
    "no benchmarks": (lambda d: d.pop("benchmarks"), "lacks benchmarks"),
    "machine info of the wrong type": (lambda d: d.__setitem__("machine_info", []), "machine_info is list"),
    "a time of zero": (lambda d: d["benchmarks"][0]["extra_info"].__setitem__("us_per_step", 0),
                       "not a positive finite number"),
    "a mode that is not text": (lambda d: d["benchmarks"][0]["extra_info"].__setitem__("mode", 3),
                                "extra_info.mode is int, not str"),
    "rounds missing": (lambda d: d["benchmarks"][0]["stats"].pop("rounds"), "lacks benchmarks[0].stats.rounds"),
}


@pytest.mark.parametrize("damage", [*DAMAGE, *EDITS])
def test_a_damaged_run_is_refused_by_name(storage, tmp_path, capsys, damage):
    path = next(storage.glob("*/0001_run.json"))
    if damage in DAMAGE:
        DAMAGE[damage][0](path)
        says = DAMAGE[damage][1]
    else:
        _edit(storage, EDITS[damage][0])
        says = EDITS[damage][1]
    code, err = _main(storage, tmp_path, capsys)
    assert code == 2 and str(path) in err and says in err and "tox -e bench" in err
    assert not (tmp_path / "b.md").exists()


def test_no_saved_run_or_no_folder_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder, says in ((tmp_path / "empty", "no saved benchmark run"), (tmp_path / "missing", "does not exist")):
        with pytest.raises(SystemExit) as info:
            benchreport.main(["--storage", str(folder), "--out", str(tmp_path / "b.md")])
        assert info.value.code == 2 and says in capsys.readouterr().err


def _timings(scale: dict[str, float], numpy: float = 1.0) -> list[benchreport.Timing]:
    """One loop in five modes and its NumPy loop, each mode's fastest round scaled."""
    found = [benchreport.Timing("iris_sgd", "CPU:0", mode, 500, 10.0 * f, 1.0, 0.0, 5, 10.0 * f)
             for mode, f in scale.items()]
    return found + [benchreport.Timing("iris_sgd", "NumPy", benchreport.NUMPY, 500, numpy, 0.1, 0.0, 5, numpy)]


MODES = ("eager", "function", "xla", "fused", "fused_xla")


def test_a_loop_is_flagged_by_its_modes_together_not_by_one():
    """One mode 1.2x slower (the noise of one mode here) raises no flag; every mode 1.3x slower
    does; a machine twice as slow for everything, NumPy included, does not."""
    before = _timings(dict.fromkeys(MODES, 1.0))
    one_mode = _timings({**dict.fromkeys(MODES, 1.0), "function": 1.2})
    assert benchreport.flagged(one_mode, before) == {}
    slowed = _timings(dict.fromkeys(MODES, 1.3))
    assert benchreport.flagged(slowed, before) == {("iris_sgd", "CPU:0"): pytest.approx(1.3)}
    loaded = _timings(dict.fromkeys(MODES, 2.0), numpy=2.0)
    assert benchreport.flagged(loaded, before) == {}
    assert "loop 1.30x SLOWER" in benchreport.rows(slowed, before)[0][-1]


def _keras(scale: dict[str, float], peak: float = 100.0, name: str = "mnist_sequential",
           flops: float = 6e6) -> list[benchreport.Timing]:
    """A Keras program's modes (us per step = 1000 x scale) and the CPU's peak in one run."""
    found = [benchreport.Timing(name, "CPU:0", mode, 1, 1000.0 * f, 1.0, 0.5, 50, 1000.0 * f,
                                kind=benchreport.KERAS, step_flops=flops, samples_per_step=32.0)
             for mode, f in scale.items()]
    return found + [benchreport.Timing("peak", "CPU:0", "matmul", 1, peak, 0.2, 0.0, 10, peak,
                                       kind=benchreport.PEAK, step_flops=2 * 2048**3)]


def _two_programs(big: float = 1.0, tiny: float = 1.0, machine: float = 1.0, numpy: float = 1.0
                  ) -> list[benchreport.Timing]:
    """A CNN-sized program bound by its arithmetic, a tiny one bound by overhead, the peak, and the
    overhead reference's NumPy loop, each scaled (``machine``: the peak)."""
    found = _keras(dict.fromkeys(MODES, 5.0 * big), peak=100.0 * machine, flops=6e11)
    found += [t for t in _keras(dict.fromkeys(MODES, 0.5 * tiny), name="keras_iris_sequential", flops=1e3)
              if t.kind == benchreport.KERAS]
    return found + [benchreport.Timing(benchreport.OVERHEAD_REFERENCE, "NumPy", benchreport.NUMPY, 500,
                                       50.0 * numpy, 0.1, 0.0, 5, 50.0 * numpy)]


def test_a_keras_program_is_paced_by_what_bounds_it_and_flagged_by_its_modes():
    """No NumPy loop of its own stands beside a Keras program: its pace is against the device's peak
    where its arithmetic bounds it, against a plain-Python loop where overhead does; a program slowed
    alone is flagged, a machine slower for it and its reference alike is not."""
    before = _two_programs()
    assert benchreport.flagged(_two_programs(big=1.3), before) == {("mnist_sequential", "CPU:0"): pytest.approx(1.3)}
    assert benchreport.flagged(_two_programs(big=2.0, machine=2.0), before) == {}
    assert benchreport.flagged(_two_programs(tiny=1.3), before) == {
        ("keras_iris_sequential", "CPU:0"): pytest.approx(1.3)}
    assert benchreport.flagged(_two_programs(tiny=2.0, numpy=2.0), before) == {}
    # Without its reference in the run a program has no pace: never flagged, whatever it did.
    alone = [t for t in _two_programs(tiny=3.0) if t.mode != benchreport.NUMPY]
    assert ("keras_iris_sequential", "CPU:0") not in benchreport.flagged(alone, before)
    # The peak itself is a reference, never a loop.
    assert ("peak", "CPU:0") not in benchreport.flagged(_two_programs(machine=0.1), before)


def test_the_share_of_the_peak_and_what_bounds_a_program():
    peak_gflops = 2 * 2048**3 / 100e-6 / 1e9
    big = _keras({"function": 1.0, "fused": 0.5}, flops=6e9)
    tiny = [benchreport.Timing("keras_iris_sequential", "CPU:0", m, 1, 400.0, 1.0, 0.5, 50, 400.0,
                               kind=benchreport.KERAS, step_flops=1e3, samples_per_step=30.0)
            for m in ("function", "fused")]
    found = {x.timing.experiment: x for x in benchreport.limits(big + tiny)}
    assert found["mnist_sequential"].timing.mode == "fused"
    assert found["mnist_sequential"].share == pytest.approx(6e9 / 500e-6 / 1e9 / peak_gflops)
    # Its floor (the tiny program in the same mode) is 400 of its 500 us: overhead bound.
    assert found["mnist_sequential"].overhead == pytest.approx(0.8) and found["mnist_sequential"].bound == "overhead"
    assert found["keras_iris_sequential"].overhead == 1.0
    big_arith = _keras({"function": 1.0, "fused": 2.0}, flops=6e9)
    assert {x.timing.experiment: x.bound for x in benchreport.limits(big_arith + tiny)}["mnist_sequential"] \
        == "arithmetic"


def test_a_cifar10_log_is_set_beside_the_fashion_run_scaled_by_its_work():
    run = [benchreport.Timing("fashion_lenet5", "CPU:0", "function", 1, 3200.0, 1.0, 0.5, 50, 3000.0,
                              kind=benchreport.KERAS, step_flops=1e6, samples_per_step=32.0,
                              course_us_per_sample=166.0, course_program="cifar10_lenet5",
                              course_flops_ratio=2.0)]
    lines = benchreport.keras_course_table(run)
    row = next(line for line in lines if line.startswith("| `fashion_lenet5`"))
    # 3200 us / 32 samples x 2 (the twin's work) = 200 us a sample; the course's 166 is 0.8 of it.
    assert row == "| `fashion_lenet5` | `cifar10_lenet5` (x2.00 work) | 166 | 200.0 | 0.8 |"


def test_a_timed_keras_run_is_saved_step_by_step_and_reported_against_the_peak(tmp_path):
    """pytest-benchmark, enabled, saves a Keras program's steps as the clock inside its fit timed
    them (a round per steady call), and the report sets them against the peak of the same run."""
    import os
    import subprocess
    import sys

    storage = tmp_path / "benchmarks"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_benchmarks.py", "-q", "-p", "no:cacheprovider", "-n", "0",
         "--benchmark-enable", "--benchmark-only", f"--benchmark-storage=file://{storage}", "--benchmark-autosave",
         "-k", "(keras_fit and rnn_onehot_1pre1 and function) or peak"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        # Not an xdist worker's: pytest-benchmark disables itself under xdist.
        env={k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    (saved,) = benchreport.saved_runs(storage)
    document = json.loads(saved.read_text(encoding="utf-8"))
    keras_bench = next(b for b in document["benchmarks"] if b["extra_info"].get("kind") == benchreport.KERAS)
    info, stats = keras_bench["extra_info"], keras_bench["stats"]
    assert stats["rounds"] >= 5 and info["us_per_step"] == pytest.approx(stats["median"] * 1e6)
    assert info["step_flops"] > 0 and info["samples_per_step"] == 5  # its five letters, one batch
    _, found = benchreport.load(saved)
    assert {t.kind for t in found} == {benchreport.KERAS, benchreport.PEAK}
    out = tmp_path / "b.md"
    assert benchreport.main(["--storage", str(storage), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "## Against the limit" in text and "| `rnn_onehot_1pre1` | CPU:0 | function |" in text


def test_a_program_far_below_the_peak_is_bound_by_overhead_whatever_its_floor():
    """The letter programs: a recurrent loop's overhead the floor (the fastest step, a Dense layer's)
    does not have makes the floor a small share of their step, and they reach 1e-5 of the peak."""
    floor = [benchreport.Timing("keras_iris_sequential", "CPU:0", "function", 1, 1000.0, 1.0, 0.5, 50, 1000.0,
                                kind=benchreport.KERAS, step_flops=2e3, samples_per_step=30.0)]
    letters = _keras({"function": 8.0}, name="rnn_onehot_1pre1", flops=1e3)
    (found,) = [x for x in benchreport.limits(floor + letters) if x.timing.experiment == "rnn_onehot_1pre1"]
    assert found.overhead == pytest.approx(1 / 8) and found.share < benchreport.OVERHEAD_SHARE_OF_PEAK
    assert found.bound == "overhead"


def test_a_run_on_another_cpu_is_not_compared_with(tmp_path, capsys):
    """The committed runs of 2026-12-06 (an AVX-512 EPYC) and 2026-12-07 (an AVX2 one): TensorFlow's
    loops ran 2.5 to 5.5 times slower on the second, NumPy's 2.3 times; that is the CPU's kernels,
    not the code, and no loop is flagged. The same run twice is compared."""
    folder = tmp_path / "benchmarks" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    older, newer = SAVED[-2], SAVED[-1]
    assert benchreport.machine(json.loads(older.read_text())) != benchreport.machine(json.loads(newer.read_text()))
    shutil.copy(older, folder / "0001_run.json")
    shutil.copy(newer, folder / "0002_run.json")
    code, err = _main(tmp_path / "benchmarks", tmp_path, capsys)
    text = (tmp_path / "b.md").read_text(encoding="utf-8")
    assert code == 0, err
    assert "No earlier run on this machine (kernel class avx2" in text and "SLOWER" not in text
    shutil.copy(newer, folder / "0003_run.json")
    _main(tmp_path / "benchmarks", tmp_path, capsys)
    assert "Previous run on this machine" in (tmp_path / "b.md").read_text(encoding="utf-8")
