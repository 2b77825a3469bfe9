"""The guarantees (docs/guarantees.md) name the tests that back them, and those tests exist: a
guarantee whose test is renamed away, or that names none, fails here. Every link of the README
and of docs/ leads to a file (and a heading) that exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _guarantees() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    bullets = re.split(r"\n- \*\*", text)[1:]
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


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_of_the_readme_and_the_docs_leads_somewhere():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 10, "docs/ has no pages"
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue  # no network here: addresses outside the repository are not followed
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"
            if anchor and file.suffix == ".md":
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
                assert anchor in {_slug(h) for h in headings}, (
                    f"{page.relative_to(ROOT)}: no heading #{anchor} in {path or page.name}")


def test_the_readme_is_read_in_five_minutes():
    """About 200 lines: what the project is, the two commands, how to read check, the
    experiments, the layout and the links; the rest is in docs/."""
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200
