"""The layers: what the report and matrix environments need imports without TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

TENSORFLOW_FREE = ("harness.record", "harness.store.golden", "harness.judge.compare",
                   "harness.judge.ledger", "harness.judge.verdict", "harness.report.console",
                   "harness.report.drift", "harness.report.plot", "harness.report.figures",
                   "harness.report.benchreport", "harness.report.variants", "harness.oracle.programs",
                   "harness.modes", "harness.kernels", "harness.options", "harness.preamble",
                   "harness.experiments.published")

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


# Where a program's kind may be asked for: the kinds' own modules (their declarations, and the
# execution of a GradientTape loop and of a Keras fit). Everything else asks the ``Program``.
KIND_MODULES = ("harness/experiments/", "harness/execution/loops.py", "harness/execution/recorder.py",
                "harness/execution/fit.py")
KIND_FIELDS = ("fn", "training", "fit")


def kind_queries(source: str) -> list[int]:
    """The lines that ask which kind a program is: ``x.fit is None``, ``if x.training``, ``x.trains``."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        asked = []
        if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value is None
                                                 for c in node.comparators):
            asked = [node.left]
        elif isinstance(node, (ast.If, ast.IfExp, ast.While, ast.Assert)):
            asked = [node.test]
        elif isinstance(node, ast.BoolOp):
            asked = node.values
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            asked = [node.operand]
        elif isinstance(node, ast.Attribute) and node.attr == "trains":
            found.append(node.lineno)
        found += [a.lineno for a in asked if isinstance(a, ast.Attribute) and a.attr in KIND_FIELDS
                  and not (isinstance(a.value, ast.Name) and a.value.id in ("self", "model", "keras"))]
    return sorted(set(found))


def test_nothing_outside_the_kind_modules_asks_which_kind_a_program_is():
    asking = {str(path.relative_to(ROOT)): lines for path in sorted((ROOT / "harness").rglob("*.py"))
              if not str(path.relative_to(ROOT)).startswith(KIND_MODULES)
              and (lines := kind_queries(path.read_text(encoding="utf-8")))}
    assert asking == {}, f"ask the Program (harness/experiments/declare.py) instead: {asking}"


def test_the_kind_query_finder_finds_each_form():
    source = ("if e.fit is not None: pass\n"
              "x = 1 if experiment.training else 2\n"
              "y = e.trains\n"
              "z = not e.fn\n"
              "w = e.program.timed and e.fit\n"
              "model.fit(x)\n")
    assert kind_queries(source) == [1, 2, 3, 4, 5]


def test_every_kind_names_an_executor_that_runs_it():
    from harness.execution import executor
    from harness.experiments import catalog

    kinds = {type(e.program): e.program for e in catalog.all_experiments()}
    assert len(kinds) == 3, kinds
    for program in kinds.values():
        assert callable(executor.of(program)), program.executor
