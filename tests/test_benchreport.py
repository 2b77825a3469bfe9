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
