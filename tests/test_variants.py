"""Reports built from several checks (TensorFlow matrix, sensitivity) and the drift page."""

from __future__ import annotations

import json
import shutil

from harness.report import variants
from harness.store import golden
from tests.helpers import cli


def test_check_json_out_feeds_the_variant_tables(tmp_path):
    out = tmp_path / "tf221.json"
    done = cli("check", "cross_entropy", "tensor_creation", "--device", "cpu",
                   "--json-out", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["manifest"]["cpu"]["tensorflow"] == document["environment"]["cpu"]["tensorflow"]
    assert [r["status"] for r in document["results"]] == ["identical", "identical"]
    lines = variants.table([("TF here", document), ("TF 2.15", "did not run (exit 1)")])
    assert lines[2] == "| `cross_entropy` | identical | did not run (exit 1) |"
    assert lines[-1] == "| *printed numbers that reproduce* | 8 of 8 | - |"


def test_a_changed_golden_shows_in_the_table_with_where(tmp_path):
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    path = tmp_path / "cpu" / "cross_entropy.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("loss_ce2: 0.", "loss_ce2: 1."),
                    encoding="utf-8")
    out = tmp_path / "result.json"
    done = cli("check", "cross_entropy", "--device", "cpu", "--golden-dir", str(tmp_path),
                   "--json-out", str(out))
    assert done.returncode == 1
    (result,) = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert result["status"] == "fail"
    (row, _) = variants.table([("x", json.loads(out.read_text(encoding="utf-8")))])[2:]
    assert "**FAIL**: scalar 'loss_ce2'" in row
