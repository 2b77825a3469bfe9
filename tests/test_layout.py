"""The layers: what the report and matrix environments need imports without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

TENSORFLOW_FREE = ("harness.record", "harness.store.golden", "harness.judge.compare",
                   "harness.judge.ledger", "harness.judge.verdict", "harness.report.console",
                   "harness.report.drift", "harness.report.plot", "harness.report.figures",
                   "harness.report.benchreport", "harness.report.variants", "harness.oracle.programs",
                   "harness.modes", "harness.kernels", "harness.options")

BLOCKED = """
import importlib, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"{name} is blocked: this module must not need it")
sys.meta_path.insert(0, Blocked())
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def test_the_tensorflow_free_part_imports_without_tensorflow():
    done = subprocess.run([sys.executable, "-c", BLOCKED, *TENSORFLOW_FREE], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_block_is_real():
    done = subprocess.run([sys.executable, "-c", BLOCKED, "harness.execution.run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "tensorflow is blocked" in done.stderr
