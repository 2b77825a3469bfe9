"""The README's guarantees name the tests that back them, and those tests exist: a guarantee
whose test is renamed away, or that names none, fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _guarantees() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]
    bullets = re.split(r"\n- \*\*", section)[1:]
    return {b.split("**", 1)[0]: re.findall(r"tests/test_\w+\.py(?:::\w+)?", b) for b in bullets}


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")}


def test_every_guarantee_names_tests_that_exist():
    guarantees = _guarantees()
    assert len(guarantees) >= 10, "the README's Guarantees section was not found as a list"
    for title, named in guarantees.items():
        assert named, f"the guarantee {title!r} names no test (tests/test_*.py)"
        for reference in named:
            file, _, function = reference.partition("::")
            path = ROOT / file
            assert path.is_file(), f"{title!r} names {file}, which does not exist"
            found = _tests_in(path)
            assert found, f"{title!r} names {file}, which holds no test"
            assert not function or function in found, f"{title!r} names {reference}, which does not exist"
