"""Generated bad input, with hypothesis: for every input a user or a file can give, the harness
does its job or exits 2 with a message that names the input; never a traceback, never a golden
changed, never a file written outside the folder it was given.

Command lines are drawn from the command line's own definition (``harness.cli._parser``):
every subcommand, every option, valid and invalid values for each. Golden stores are drawn
from the committed one with a damage: a byte changed, a file cut, rows duplicated or swapped,
a column renamed or dropped, a number out of range or in another notation, another encoding,
a manifest field of the wrong type, a file added or removed.

Bounds, so that the default ``tox`` stays fast: a valid command runs cheap experiments only
(the one-shot programs and the two 40-step gradient descents); ``matrix`` is drawn with a bad
option only (a valid one starts fresh processes, seconds each). ``tox -e fuzz`` draws many
more of everything (``--hypothesis-profile fuzz``).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import cli
from harness.errors import GoldenError, HarnessError
from harness.execution import modes
from harness.experiments import catalog
from harness.judge.verdict import load
from harness.store import golden
from tests.helpers import ROOT, Done
from tests.helpers import cli as run_cli

# The number of examples comes from the profile (conftest.py): 10 in the default run, many
# more under `tox -e fuzz`.

CHEAP = sorted([e.name for e in catalog.all_experiments() if not e.trains]
               + ["gradient_descent", "lr_exponential_decay"])
WATCHED = ("golden", "reports")


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _project() -> dict[str, dict[str, str]]:
    return {name: _digest(ROOT / name) for name in WATCHED}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> dict[str, Path]:
    """Paths a generated command may be given: good ones, and each way one can be bad."""
    base = tmp_path_factory.mktemp("sandbox")
    shutil.copytree(golden.ROOT / "cpu", base / "golden" / "cpu")
    (base / "a file").write_text("not a folder\n", encoding="utf-8")
    locked = base / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    (base / "link-out").symlink_to("/proc")
    (base / "golden-with-link").mkdir()
    (base / "golden-with-link" / "cpu").symlink_to(base / "golden" / "cpu")
    return {"golden": base / "golden", "file": base / "a file", "read-only": locked,
            "missing": base / "nowhere" / "deeper", "link-out": base / "link-out",
            "golden-with-link": base / "golden-with-link", "proc": Path("/proc"), "root": base}


# --- command lines from the parser's own definition --------------------------------------

NUMBERS = st.sampled_from(["1", "2", "3", "0", "-5", "1.5", "1e3", "x", "", " 2", "99999999999",
                           "1000001", "257", "nan", "inf", "٣"])
WORDS = st.sampled_from(["cpu", "gpu", "all", "CPU:0", "CPU:9", "GPU:0", "tpu", "", " ", "cpu,", ",",
                         "eager", "fused", "graph", "summary", "full", "none", "--", "-x", "é"])


def _values(action: argparse.Action, sandbox: dict[str, Path], run_dir: Path) -> st.SearchStrategy[str]:
    """Valid and invalid values of one option, from what the option declares."""
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        return st.one_of(st.sampled_from(sorted(map(str, action.choices))), WORDS)
    kind = getattr(action.type, "__name__", "")
    if action.dest == "mode":
        return st.one_of(st.sampled_from(list(modes.MODES)), WORDS)
    if action.dest in ("golden_dir", "out", "drift_report", "json_out", "plots"):
        places = [str(p) for p in sandbox.values()] + ["", str(run_dir), str(run_dir / "out.json"),
                                                       str(run_dir / "sub" / "x.md")]
        return st.sampled_from(places)
    if action.dest == "device":
        return WORDS
    if action.dest == "kernel_classes":
        # Another class runs in processes of its own, a minute each: `this`, and what is refused.
        return st.one_of(st.just("this"), WORDS, st.sampled_from(["avx3", "sse41,sse41", "all,this"]))
    if kind.startswith("--") or action.type is not None:
        return NUMBERS
    return WORDS


@st.composite
def command_lines(draw: Callable[..., Any], sandbox: dict[str, Path], run_dir: Path) -> list[str]:
    parser = cli._parser()
    argv: list[str] = []
    globals_ = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    for action in draw(st.lists(st.sampled_from(globals_), max_size=2, unique_by=lambda a: a.dest)):
        argv += [draw(st.sampled_from(action.option_strings)), draw(_values(action, sandbox, run_dir))]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    name = draw(st.sampled_from([*sorted(sub.choices), "nonsense"]))
    argv.append(name)
    if name == "nonsense":
        return argv
    command = sub.choices[name]
    valid_only = True
    if any(a.dest == "names" for a in command._actions):
        names = draw(st.lists(st.one_of(st.sampled_from(CHEAP), st.sampled_from(["mse_regresion", "", "../x"])),
                              min_size=1, max_size=3))
        argv += names
        valid_only = all(n in CHEAP for n in names)
    own = [a for a in command._actions if a.option_strings and a.dest != "help"]
    for action in draw(st.lists(st.sampled_from(own), max_size=4, unique_by=lambda a: a.dest)) if own else []:
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
        else:
            value = draw(_values(action, sandbox, run_dir))
            argv += [flag, value]
    # A command that writes always says where, inside the sandbox: the project's own goldens
    # and reports are never the target of a generated line, and a regeneration writes a folder
    # of its own (the sandbox's golden copy is what the others read).
    writes_goldens = name == "regen"
    for dest, flag in (("golden_dir", "--golden-dir"), ("drift_report", "--drift-report"), ("out", "--out"),
                       ("plots", "--plots")):
        if any(a.dest == dest for a in command._actions) and flag not in argv:
            place = sandbox["golden"] if dest == "golden_dir" and not writes_goldens else run_dir / dest
            argv += [flag, str(place)]
    if writes_goldens:
        argv = [str(run_dir / "golden") if tok == str(sandbox["golden"]) else tok for tok in argv]
    if name == "regen" and "--lock-timeout" not in argv:
        argv += ["--lock-timeout", "0"]
    if name == "regen" and "--kernel-classes" not in argv:
        argv += ["--kernel-classes", "this"]
    if name == "matrix" and valid_only and "--json-out" in argv:
        argv.insert(argv.index("matrix") + 1, "--jobs=0")  # only its refusals: see the module's note
    return argv


def _says_what(done: Done, argv: list[str]) -> bool:
    """An exit 2 names an option or value it was given, or a file."""
    text = done.stderr
    return "error" in text and (any(tok and tok in text for tok in argv if len(tok) > 1) or "/" in text)


@given(data=st.data())
def test_any_command_line_does_its_job_or_exits_2_naming_the_input(sandbox, tmp_path_factory, data):
    run_dir = tmp_path_factory.mktemp("run")
    argv = data.draw(command_lines(sandbox, run_dir), label="argv")
    before, reference = _project(), _digest(sandbox["golden"])
    done = run_cli(*argv)  # an exception other than SystemExit (a traceback) fails the test here
    assert done.returncode in (0, 1, 2), (argv, done)
    if done.returncode == 2:
        assert _says_what(done, argv), (argv, done.stderr)
    after = _project()
    changed = sorted(f"{top}/{name}" for top in WATCHED for name in set(before[top]) | set(after[top])
                     if before[top].get(name) != after[top].get(name))
    assert not changed, f"{argv} changed the project's goldens or reports: {changed}"
    assert _digest(sandbox["golden"]) == reference, f"{argv} changed a golden folder it was only to read"


# --- damaged golden stores ---------------------------------------------------------------

# Every file of the CPU goldens, the kernel classes' own included (kernels/<class>/<file>).
FILES = sorted(str(p.relative_to(golden.ROOT / "cpu")) for p in (golden.ROOT / "cpu").rglob("*") if p.is_file())


def _rows(text: str) -> list[str]:
    return text.splitlines(keepends=True)


DAMAGES: dict[str, Callable[[bytes, Any], bytes]] = {
    "a byte changed": lambda b, d: b[:d.draw(st.integers(0, max(len(b) - 1, 0)))] + bytes([d.draw(
        st.integers(0, 255))]) + b[d.draw(st.integers(0, max(len(b) - 1, 0))) + 1:] if b else b"x",
    "cut at an offset": lambda b, d: b[:d.draw(st.integers(0, len(b)))],
    "a row duplicated": lambda b, d: b + (_rows(b.decode("utf-8", "replace"))[-1].encode() if b else b""),
    "two rows swapped": lambda b, d: "".join(
        (lambda r: r[:1] + r[2:3] + r[1:2] + r[3:])(_rows(b.decode("utf-8", "replace")))).encode(),
    "a column renamed": lambda b, d: b.replace(b"loss", b"lost", 1).replace(b"w1_0", b"w1_00", 1),
    "a column dropped": lambda b, d: "".join(",".join(r.rstrip("\n").split(",")[:-1]) + "\n"
                                             for r in _rows(b.decode("utf-8", "replace"))).encode(),
    "a number out of range": lambda b, d: b.replace(b"0.", b"1e999", 1),
    "a number in another notation": lambda b, d: b.replace(b"0.", d.draw(st.sampled_from(
        [b"0x0.", b"+0.", b"0_0.", b" 0.", b"0,", b"00.", b".0"])), 1),
    "another encoding": lambda b, d: b.decode("utf-8", "replace").encode(d.draw(st.sampled_from(
        ["utf-16", "latin-1", "utf-32"])), "replace"),
    "a manifest field of the wrong type": lambda b, d: b + d.draw(st.sampled_from(
        [b"tensorflow: [2, 21]\n", b"cpu_count: {a: 1}\n", b"1: 2\n", b"op_determinism: !!binary aGk=\n",
         b"date: 2026-11-27\n", b"? [a]\n: 1\n"])),
    "emptied": lambda b, d: b"",
}


@st.composite
def damaged_stores(draw: Callable[..., Any]) -> tuple[str, str, Any]:
    damage = draw(st.sampled_from([*sorted(DAMAGES), "a file removed", "a file added", "a folder added"]))
    target = draw(st.sampled_from(FILES))
    return damage, target, draw(st.data())


def _damage(root: Path, damage: str, target: str, data: Any) -> None:
    path = root / "cpu" / target
    if damage == "a file removed":
        path.unlink()
    elif damage == "a file added":
        (root / "cpu" / data.draw(st.sampled_from(["stray.csv", "x.yml", ".hidden", "mse_regression.csv.bak"]))
         ).write_text("a,b\n1,2\n", encoding="utf-8")
    elif damage == "a folder added":
        (root / data.draw(st.sampled_from(["tpu", "cpu2", "CPU"]))).mkdir(exist_ok=True)
    else:
        path.write_bytes(DAMAGES[damage](path.read_bytes(), data))


def _loads_or_names_the_file(root: Path) -> None:
    """Every experiment's goldens, the manifest and the layout: read, or refused by name."""
    classes = sorted(p.name for p in (root / "cpu" / golden.KERNELS).glob("*"))
    for reader in ([lambda: golden.check_layout(root), lambda: golden.read_manifest(root, "cpu")]
                   + [lambda e=e: load(root, e, "cpu") for e in catalog.all_experiments()]
                   # Each kernel class's own files, as a run under that class reads them.
                   + [lambda e=e, k=k: golden.load(root, "cpu", e.name, e.table_columns(), k)
                      for k in classes for e in catalog.all_experiments()]
                   + [lambda e=e, k=k: golden.read_mode_signatures(root, "cpu", k, e.name)
                      for k in classes for e in catalog.training_experiments()]):
        try:
            reader()
        except GoldenError as exc:
            assert str(exc.path).startswith(str(root)) and "fix:" in str(exc), str(exc)
        except HarnessError as exc:  # the layout check naming a folder
            assert str(root) in str(exc), str(exc)


def _damaged_copy(tmp_path_factory: Any, case: tuple[str, str, Any]) -> tuple[Path, dict[str, str]]:
    """A copy of the committed store with the drawn damage, and its digest after the damage."""
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    _damage(root, *case)
    return root, _digest(root)


@given(case=damaged_stores())
def test_a_damaged_golden_store_is_read_or_refused_by_name(tmp_path_factory, case):
    root, after_damage = _damaged_copy(tmp_path_factory, case)
    _loads_or_names_the_file(root)
    assert _digest(root) == after_damage  # reading never writes


@given(case=damaged_stores())
def test_check_on_a_damaged_store_judges_or_exits_2_naming_the_file(tmp_path_factory, case):
    root, after_damage = _damaged_copy(tmp_path_factory, case)
    stem = Path(case[1]).name.split(".")[0]
    names = [stem] if stem in CHEAP else ["cross_entropy"]
    before = _project()
    done = run_cli("check", *names, "--golden-dir", str(root), "--json-out", str(root.parent / "out.json"),
                   "--plots", str(root.parent / "plots"))
    assert done.returncode in (0, 1, 2), done
    if done.returncode == 2:
        assert str(root) in done.stderr + done.stdout, done.stderr
    assert _digest(root) == after_damage
    assert _project() == before, "a check of a damaged copy wrote into the project's goldens or reports"
