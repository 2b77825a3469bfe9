"""Reports built from several runs (TensorFlow matrix, sensitivity): their tables, and the
documents they read refused by name when damaged."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from harness.errors import HarnessError
from harness.report import variants
from harness.store import golden
from tests.helpers import cli


@pytest.fixture(scope="module")
def document(tmp_path_factory):
    out = tmp_path_factory.mktemp("check") / "tf221.json"
    done = cli("check", "cross_entropy", "tensor_creation", "--device", "CPU:0", "--json-out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_check_json_out_feeds_the_variant_tables(document):
    loaded = json.loads(document.read_text(encoding="utf-8"))
    assert loaded["manifest"]["cpu"]["tensorflow"] == loaded["environment"]["cpu"]["tensorflow"]
    assert [r["status"] for r in loaded["results"]] == ["identical", "identical"]
    lines = variants.table([variants.load(document, "TF here"),
                            variants.Column("TF 2.15", missing="did not run (exit 1)")])
    assert lines[2] == "| `cross_entropy` | identical | did not run (exit 1) |"
    assert lines[-1] == "| *printed numbers that reproduce* | 8 of 8 | - |"


def test_a_changed_golden_shows_in_the_table_with_where(tmp_path):
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    path = root / "cpu" / "cross_entropy.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("loss_ce2: 0.", "loss_ce2: 1."),
                    encoding="utf-8")
    out = tmp_path / "result.json"
    done = cli("check", "cross_entropy", "--device", "CPU:0", "--golden-dir", str(root), "--json-out", str(out))
    assert done.returncode == 1
    (result,) = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert result["status"] == "fail"
    (row, _) = variants.table([variants.load(out, "x")])[2:]
    assert "**FAIL**: scalar 'loss_ce2'" in row


def test_the_matrix_orders_releases_and_their_candidates():
    stems = ["tf222", "tf215", "tf222rc0", "stray", "tf221", "tf222rc1"]
    assert sorted(stems, key=variants.release_order) == ["tf215", "tf221", "tf222rc0", "tf222rc1", "tf222", "stray"]


def test_the_matrix_report_takes_its_columns_from_the_results_there(tmp_path, document):
    folder = tmp_path / "results"
    folder.mkdir()
    for stem in ("tf222rc0", "tf221"):
        shutil.copy(document, folder / f"{stem}.json")
    assert variants.main(["matrix", "--results", str(folder), "--out", str(tmp_path / "m.md"),
                          "--chart", str(tmp_path / "m.png")]) == 0
    text = (tmp_path / "m.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| experiment |"))
    assert header.index("(tf221)") < header.index("(tf222rc0)")


DAMAGE = {
    "empty": ("", "is empty"),
    "not JSON": ("{results: [", "is not valid JSON"),
    "results missing": ('{"environment": {}, "manifest": {}}', "lacks results"),
    "a result of the wrong shape": ('{"environment": {}, "manifest": {}, "results": [1]}',
                                    "results[0] is not an object"),
    "a field of the wrong type": ('{"environment": {}, "manifest": {}, "results": [{"experiment": 1}]}',
                                  "results[0].experiment is int, not str"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_result_is_refused_by_name(tmp_path, damage, capsys):
    text, says = DAMAGE[damage]
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "tf221.json").write_text(text, encoding="utf-8")
    with pytest.raises(HarnessError, match=re.escape(says)):
        variants.load(folder / "tf221.json")
    assert variants.main(["matrix", "--results", str(folder), "--out", str(tmp_path / "m.md"),
                          "--chart", str(tmp_path / "m.png")]) == 2
    assert str(folder / "tf221.json") in capsys.readouterr().err
    assert not (tmp_path / "m.md").exists()
