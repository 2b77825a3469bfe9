"""The guarantees (docs/guarantees.md) name the tests that back them, and those tests exist: a
guarantee whose test is renamed away, or that names none, fails here. Every link of the README
and of docs/ leads to a file (and a heading) that exists."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

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


def test_every_file_the_readme_and_the_docs_name_is_committed():
    """A path written as code (`reports/figures/augmented_images.png`, `golden/cpu/manifest.yml`) is
    a file of the repository: one the reader is sent to and cannot find is a broken promise. Paths
    with a placeholder (`<class>`, `*`) and the ones a command writes into a scratch folder are not
    files, and are left out by their form."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = 0
    for page in pages:
        for path in re.findall(r"`((?:reports|docs|golden|harness|tests|\.ci|\.github)/[^`\s<>*{}$]+\.\w+)`",
                               page.read_text(encoding="utf-8")):
            named += 1
            assert (ROOT / path).exists(), f"{page.relative_to(ROOT)} names {path}, which is not committed"
    assert named > 20, "no paths found: the pattern no longer matches how the pages name files"


def test_the_readme_is_read_in_five_minutes():
    """About 200 lines: what the project is, the two commands, how to read check, the
    experiments, the layout and the links; the rest is in docs/."""
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.fixture
def own_catalogue():
    """The catalogue built again with the user's modules, and again without them afterwards."""
    from harness.experiments import catalog

    catalog._catalog.cache_clear()
    yield
    catalog._catalog.cache_clear()


def test_the_guide_to_adding_a_program_works_as_written(tmp_path, monkeypatch, own_catalogue):
    """docs/adding-a-program.md, followed as written: its module into a file, then each of its
    commands; what a command's comment says it prints, it prints."""
    from tests.helpers import cli, cpus

    guide = (ROOT / "docs" / "adding-a-program.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", guide, re.S)
    module = re.match(r"# (\w+)\.py\n", code)
    assert module, "the guide's module names its file on its first line"
    (tmp_path / f"{module.group(1)}.py").write_text(code, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    commands = [line for block in re.findall(r"```sh\n(.*?)```", guide, re.S) for line in block.splitlines()]
    assert len(commands) >= 5
    for line in commands:
        command, _, says = (part.strip() for part in line.partition("  # "))
        words = shlex.split(command)
        if words[0] == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                monkeypatch.setenv(name, value)
            continue
        assert words[:3] == ["python", "-m", "harness"], line
        done = cli(*words[3:])
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if words[3] == "run":
            assert says in done.stdout, f"{line}: the guide says it prints {says!r}\n{done.stdout}"
        if words[3] == "list":
            assert "gradient_descent_lr0999" in done.stdout
        if words[3] == "check":
            n = len(cpus())  # it runs on every CPU device this process sees (--logical-cpus N: N)
            assert f"{n} runs: {n} identical" in done.stdout and f"{n} claims: {n} hold" in done.stdout, done.stdout
    assert (tmp_path / "my_golden" / "cpu" / "gradient_descent_lr0999.csv").is_file()
