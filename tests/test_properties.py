"""Generated input, with hypothesis, checked against oracles that do not ask the harness.

Command lines are drawn from the command line's own definition (``harness.cli._parser``):
every subcommand and option, each value from a pool of good ones or of bad ones, the line
remembering which parts are bad. A line with a bad part exits 2 and its message names one of
them (and never blames an option that was fine); a line without one does its job, checked
against the committed goldens: ``run --json`` gives their bits, ``check`` judges every run ok,
``regen`` writes what they hold. Golden stores are drawn from the committed one with a damage
(a byte changed, a file cut, rows duplicated or swapped, a column renamed or dropped, a number
out of range or in another notation, another encoding, a manifest field of the wrong type, a
file or folder added or removed): reading it either succeeds or names the damaged file, and a
check of the experiment the damaged file belongs to (its first epoch) exits 2 naming that very
file, or judges it as the damaged golden stands against an undamaged run (exit 0 or 1).
Never a traceback, never a golden changed, never a file written outside the folder given.

Bounds, so that the default ``tox`` stays fast: a valid command runs cheap experiments only
(the one-shot programs and the two 40-step gradient descents); ``matrix`` is drawn with a bad
option only (a valid one starts fresh processes, seconds each). ``tox -e fuzz`` draws many
more of everything (``--hypothesis-profile fuzz``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from harness import cli, modes
from harness.errors import GoldenError, GoldenMissing, HarnessError
from harness.experiments import catalog
from harness.judge.compare import same
from harness.judge.verdict import load
from harness.record import Record
from harness.store import golden, spread
from tests.helpers import ROOT, Done, without_data
from tests.helpers import cli as run_cli

# The number of examples comes from the profile (conftest.py): 10 in the default run, many
# more under `tox -e fuzz`.

# The one-shot programs and the two loops of 40 steps: the Keras programs train for seconds to a
# minute, and are not drawn.
CHEAP = sorted([e.name for e in catalog.all_experiments() if not e.runs_in_modes]
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
    (base / "empty").mkdir()
    (base / "link-out").symlink_to("/proc")
    return {"golden": base / "golden", "file": base / "a file", "read-only": locked,
            "missing": base / "nowhere" / "deeper", "link-out": base / "link-out",
            "proc": Path("/proc"), "root": base,
            "empty": base / "empty"}


# --- command lines from the parser's own definition --------------------------------------
#
# Each value is drawn from a pool of good ones or of bad ones, and the line remembers which
# options and values are bad: the oracle. A line without a bad part must do its job (exit 0, and
# its result is checked: `run --json` gives the goldens' bits, `check` judges every run ok on the
# intact goldens, `regen` writes what the committed goldens hold); a line with one must exit 2
# and name one of them, and not an option that was fine.

COUNTS = (["1", "2", " 2"], ["0", "-5", "1.5", "1e3", "x", "", "99999999999", "nan", "inf"])
BAD_PARALLEL, BAD_EPOCHS = "257", "1000001"
SECONDS = (["0", "1.5"], ["x", "", "-5", "nan", "inf", "99999999999"])
DEVICES = (["cpu", "all", "CPU:0"], ["CPU:9", "tpu", "", " "])
MODES = (list(modes.MODES), ["graph", "", "summary", "EAGER"])
LEDGERS = (["summary", "full"], ["", "all", "none"])
KERNEL_CLASSES = (["this"], ["avx3", "sse41,sse41", "all,this", ""])  # all: a minute a class
BAD_NAMES = ["mse_regresion", "", "../x"]


@dataclass
class Line:
    argv: list[str] = field(default_factory=list)
    command: str = ""
    # What makes the line unusable: (option, value) for an option, (None, value) for a name or
    # a subcommand.
    bad: list[tuple[str | None, str]] = field(default_factory=list)


def _no_gpu() -> bool:
    from harness.execution import devices

    return not [d for d in devices.visible() if d.kind == "gpu"]


def _at(place: dict[str, str], *keys: str) -> list[str]:
    return [place[k] for k in keys if k in place]


def _pools(action: argparse.Action, command: str, sandbox: dict[str, Path],
           run_dir: Path) -> tuple[list[str], list[str]]:
    """The good and the bad values of one option of one subcommand."""
    dest = action.dest
    place = {k: str(v) for k, v in sandbox.items()}
    # As root, a folder without write permission is still written: then it is no bad place to write.
    unwritable = [place["proc"]] + ([place["read-only"]] if not os.access(sandbox["read-only"], os.W_OK) else [])
    if dest in ("logical_cpus", "intra_op_threads", "inter_op_threads", "jobs", "epochs"):
        return COUNTS[0], COUNTS[1] + [BAD_EPOCHS if dest == "epochs" else BAD_PARALLEL]
    if dest == "lock_timeout":
        return SECONDS
    if dest == "device":
        gpu = ["gpu", "GPU:0"]
        return (DEVICES[0], DEVICES[1] + gpu) if _no_gpu() else (DEVICES[0] + gpu, DEVICES[1])
    if dest == "mode":
        return MODES
    if dest == "ledger":
        return LEDGERS
    if dest == "kernel_classes":
        return KERNEL_CLASSES
    if dest == "golden_dir" and command == "kernels":  # any folder: it says what it finds there
        return _at(place, "golden", "read-only", "root", "proc"), _at(place, "file", "missing") + [""]
    if dest == "golden_dir" and command == "regen":  # a folder of its own; the sandbox's is read by the others
        return [str(run_dir / "golden")], [place["file"], *unwritable, ""]
    if dest == "golden_dir":  # to read goldens from: only the sandbox's copy has them
        return [place["golden"]], _at(place, "file", "missing", "read-only", "proc", "link-out", "root", "empty") + [""]
    if dest in ("plots", "out"):
        return ([str(run_dir / dest), str(run_dir / "a" / "b")],
                [place["file"], *unwritable, place["golden"], str(sandbox["golden"] / "cpu" / "x"), ""])
    if dest in ("json_out", "drift_report"):
        return ([str(run_dir / "out.json"), str(run_dir / "sub" / "x.md")],
                [*_at(place, "golden", "root"), *unwritable, str(sandbox["golden"] / "cpu" / "x.json"), ""])
    raise AssertionError(f"an option the generator does not know: {dest} of {command}; give it pools")


def _option(draw: Callable[..., Any], line: Line, action: argparse.Action, command: str,
            sandbox: dict[str, Path], run_dir: Path) -> None:
    flag = draw(st.sampled_from(action.option_strings))
    if action.nargs == 0:
        line.argv.append(flag)
        return
    good, bad = _pools(action, command, sandbox, run_dir)
    if action.choices is not None:
        good = sorted(map(str, action.choices))
    value = draw(st.sampled_from(good + bad))
    line.argv += [flag, value]
    if value not in good:
        line.bad.append((flag, value))


@st.composite
def command_lines(draw: Callable[..., Any], sandbox: dict[str, Path], run_dir: Path) -> Line:
    parser = cli._parser()
    line = Line()
    globals_ = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    for action in draw(st.lists(st.sampled_from(globals_), max_size=2, unique_by=lambda a: a.dest)):
        _option(draw, line, action, "", sandbox, run_dir)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    name = draw(st.sampled_from([*sorted(sub.choices), "nonsense"]))
    line.argv.append(name)
    line.command = name
    if name == "nonsense":
        line.bad.append((None, name))
        return line
    if name in ("run", "check", "regen", "matrix"):
        # The lines run in this process, where TensorFlow has started: the options that only a
        # process's start can honour are refused, by name (a fresh process honours them:
        # tests/test_devices.py, tests/test_cli.py).
        line.bad += [(flag, value) for flag, value in pairwise(line.argv)
                     if flag in ("--logical-cpus", "--intra-op-threads", "--inter-op-threads")
                     and (flag, value) not in line.bad]
    command = sub.choices[name]
    names: list[str] = []
    if any(a.dest == "names" for a in command._actions):
        names = draw(st.lists(st.sampled_from(CHEAP + BAD_NAMES), min_size=1, max_size=3))
        line.argv += names
        line.bad += [(None, n) for n in names if n not in CHEAP]
        line.bad += [(None, n) for i, n in enumerate(names) if n in names[:i]]  # named twice
    own = [a for a in command._actions if a.option_strings and a.dest != "help"]
    for action in draw(st.lists(st.sampled_from(own), max_size=4, unique_by=lambda a: a.dest)) if own else []:
        _option(draw, line, action, name, sandbox, run_dir)
    # Another mode runs training programs only: a one-shot program named with it is refused.
    mode = line.argv[line.argv.index("--mode") + 1] if "--mode" in line.argv else None
    if mode in modes.MODES and any(n in CHEAP and mode not in modes.of(catalog.get(n)) for n in names):
        line.bad.append(("--mode", mode))
    # A command that writes always says where, inside the sandbox: the project's own goldens
    # and reports are never the target of a generated line.
    defaults = {"golden_dir": str(sandbox["golden"]) if name != "regen" else str(run_dir / "golden"),
                "drift_report": str(run_dir / "drift.md"), "out": str(run_dir / "out"),
                "plots": str(run_dir / "plots"), "json_out": str(run_dir / "check.json")}
    for action in own:
        if action.dest in defaults and not set(action.option_strings) & set(line.argv):
            line.argv += [action.option_strings[0], defaults[action.dest]]
    if name == "regen":
        for flag, value in (("--lock-timeout", "0"), ("--kernel-classes", "this")):
            if flag not in line.argv:
                line.argv += [flag, value]
    if name == "matrix" and not line.bad:
        # Only its refusals: a valid matrix starts fresh processes, seconds each.
        line.argv.insert(line.argv.index("matrix") + 1, "--jobs=0")
        line.bad.append(("--jobs", "0"))
    return line


def _names_a_bad_part(text: str, line: Line) -> bool:
    """The message names an option or a value the generator broke, and no option it did not."""
    broken = {flag for flag, _ in line.bad if flag}
    fine = {tok for tok in line.argv if tok.startswith("--") and tok.split("=")[0] not in broken}
    if any(f"argument {flag}" in text for flag in fine):
        return False
    return any((flag and flag in text) or (repr(value) in text) or (len(value.strip()) > 2 and value in text)
               for flag, value in line.bad)


def _value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def _did_its_job(line: Line, done: Done) -> None:
    """What a valid line gives, against the committed goldens (held to this process's class)."""
    from harness.judge import verdict

    argv, command = line.argv, line.command
    names = [tok for tok in argv[argv.index(command) + 1:] if tok in CHEAP]
    if command == "run" and "--json" in argv:
        for data in json.loads(done.stdout):
            record = Record.from_json(data)
            e = catalog.get(record.experiment)
            if record.mode != modes.reference(e):
                assert verdict.judge_mode(golden.ROOT, e, record).ok, (argv, record.experiment)
            else:
                found = verdict.against(verdict.load(golden.ROOT, e, "cpu"), e, record, exact=True)
                assert found.status == "identical", (argv, found.explain())
    elif command == "check":
        document = json.loads(Path(_value(argv, "--json-out") or "").read_text(encoding="utf-8"))
        judged = {r["experiment"] for r in document["results"]}
        assert judged == set(names), (argv, judged)
        assert all(r["status"] != "error" and r["mode_verdict"] in (None, "identical", "declared")
                   and (r["status"] == "skipped") == without_data(catalog.get(r["experiment"]))
                   for r in document["results"]), (argv, document["results"])
    elif command == "regen":
        written = Path(_value(argv, "--golden-dir") or "")
        for name in names:
            e = catalog.get(name)
            ours, theirs = golden.load(written, "cpu", name, e.table_columns()), verdict.load(golden.ROOT, e, "cpu")
            assert same(ours.scalars, theirs.scalars) and same(ours.tables, theirs.tables), (argv, name)
    elif command == "figures":
        assert any(Path(_value(argv, "--out") or "").rglob("*.png")), argv
    else:
        assert done.stdout.strip(), argv


@given(data=st.data())
def test_any_command_line_does_its_job_or_exits_2_naming_what_is_wrong(sandbox, tmp_path_factory, data):
    run_dir = tmp_path_factory.mktemp("run")
    line = data.draw(command_lines(sandbox, run_dir), label="line")
    before, reference = _project(), _digest(sandbox["golden"])
    done = run_cli(*line.argv)  # an exception other than SystemExit (a traceback) fails the test here
    event(f"{line.command}: exit {done.returncode}")  # the fuzz run's statistics
    names = [tok for tok in line.argv[line.argv.index(line.command) + 1:] if tok in CHEAP]
    missing = {n for n in names if without_data(catalog.get(n))}
    if line.bad:
        assert done.returncode == 2, (line, done)
        assert _names_a_bad_part(done.stderr, line), (line, done.stderr)
    elif missing and (line.command == "run" or (line.command == "regen" and missing == set(names))):
        # A program whose data is not on this machine (CIFAR-10 offline): a run of it stops, saying how to
        # get the data; a regeneration with nothing else to write too (check skips it, saying so).
        assert done.returncode == 2 and ("Keras's cache" in done.stderr or "HARNESS_DATA" in done.stderr), (line, done)
    else:
        assert done.returncode == 0, (line, done)
        _did_its_job(line, done)
    after = _project()
    changed = sorted(f"{top}/{name}" for top in WATCHED for name in set(before[top]) | set(after[top])
                     if before[top].get(name) != after[top].get(name))
    assert not changed, f"{line.argv} changed the project's goldens or reports: {changed}"
    assert _digest(sandbox["golden"]) == reference, f"{line.argv} changed a golden folder it was only to read"


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
def damaged_stores(draw: Callable[..., Any], files: list[str] = FILES) -> tuple[str, str, Any]:
    damage = draw(st.sampled_from([*sorted(DAMAGES), "a file removed", "a file added", "a folder added"]))
    target = draw(st.sampled_from(files))
    return damage, target, draw(st.data())


def _damage(root: Path, damage: str, target: str, data: Any) -> Path:
    """Damages the store; the path of what it damaged, added or removed."""
    path = root / "cpu" / target
    if damage == "a file removed":
        path.unlink()
    elif damage == "a file added":
        path = root / "cpu" / data.draw(st.sampled_from(["stray.csv", "x.yml", ".hidden", "mse_regression.csv.bak"]))
        path.write_text("a,b\n1,2\n", encoding="utf-8")
    elif damage == "a folder added":
        path = root / data.draw(st.sampled_from(["tpu", "cpu2", "CPU"]))
        path.mkdir(exist_ok=True)
    else:
        path.write_bytes(DAMAGES[damage](path.read_bytes(), data))
    return path


def _loads_or_names_the_file(root: Path, damaged: Path) -> None:
    """Every experiment's goldens, the manifest and the layout: read, or refused naming the file
    that was damaged (or, for a pair that disagrees, naming it among the two)."""
    classes = sorted(p.name for p in (root / "cpu" / golden.KERNELS).glob("*"))
    for reader in ([lambda: golden.check_layout(root), lambda: golden.read_manifest(root, "cpu")]
                   + [lambda e=e: load(root, e, "cpu") for e in catalog.all_experiments()]
                   # Each kernel class's own files, as a run under that class reads them.
                   + [lambda e=e, k=k: golden.load(root, "cpu", e.name, e.table_columns(), k)
                      for k in classes for e in catalog.all_experiments()]
                   + [lambda e=e, k=k: golden.read_mode_signatures(root, "cpu", k, e.name)
                      for k in classes for e in catalog.training_experiments()]
                   # What a class moved on other CPU models, as the envelope reads it.
                   + [lambda e=e, k=k: spread.read(root, "cpu", k, e.name, e.table_columns())
                      for k in classes for e in catalog.all_experiments()]):
        try:
            reader()
        except GoldenMissing as exc:
            committed = golden.ROOT / Path(str(exc.path)).relative_to(root)
            assert str(exc.path) == str(damaged) or not committed.exists(), (str(damaged), str(exc))
        except GoldenError as exc:
            named = {str(p) for p in (exc.path, *exc.also)}
            assert str(damaged) in named and "fix:" in str(exc), (str(damaged), str(exc))
        except HarnessError as exc:  # the layout check naming a folder
            assert str(damaged) in str(exc), (str(damaged), str(exc))


def _damaged_copy(tmp_path_factory: Any, case: tuple[str, str, Any]) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the committed store with the drawn damage, what was damaged, and the copy's
    digest after the damage."""
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    damaged = _damage(root, *case)
    return root, damaged, _digest(root)


@given(case=damaged_stores())
def test_a_damaged_golden_store_is_read_or_refused_by_name(tmp_path_factory, case):
    root, damaged, after_damage = _damaged_copy(tmp_path_factory, case)
    _loads_or_names_the_file(root, damaged)
    assert _digest(root) == after_damage  # reading never writes


# The shortest prefix of a training loop a check can run: its first epoch.
PREFIX = 1


@functools.cache
def _prefix_record(name: str) -> Record:
    """The experiment's run, cut to the prefix the check runs, from an undamaged run."""
    done = run_cli("run", name, "--device", "CPU:0", "--jobs", "1", "--json",
                   *(["--epochs", str(PREFIX)] if catalog.get(name).training is not None else []))
    assert done.returncode == 0, done
    (data,) = json.loads(done.stdout)
    return Record.from_json(data)


def _owner(target: str) -> str:
    """The experiment a golden file belongs to (the manifest: every experiment's; a cheap one)."""
    stem = Path(target).name.split(".")[0]
    return stem if stem in {e.name for e in catalog.all_experiments()} else "constant"


# The check of a damaged store runs the damaged file's experiment for one epoch: the files of
# the Keras programs (an epoch of MNIST takes seconds, and fit's start-up about one) are read,
# not run, here; tests/test_goldens.py runs each against its golden.
CHECKED = [f for f in FILES if catalog.get(_owner(f)).fit is None]


def _as_held(root: Path, name: str) -> golden.Golden:
    """What a check in this process reads of one experiment: the layout, the manifest, its goldens
    (as this process's kernel class has them) and its modes' declarations."""
    from harness.judge import verdict

    golden.check_layout(root)
    golden.read_manifest(root, "cpu")
    return verdict.load(root, catalog.get(name), "cpu")


# Each example runs an experiment twice (an undamaged run and the check): a third of the
# profile's examples (3 in the default run, 1,133 under `tox -e fuzz`).
@settings(max_examples=max(3, settings.default.max_examples // 3))
@given(case=damaged_stores(CHECKED))
def test_check_on_a_damaged_store_runs_its_experiment_and_names_the_file(tmp_path_factory, case):
    """The check of the experiment the damaged file belongs to (its first epoch) exits 2 naming
    that very file when the file cannot be read, and otherwise gives what the damaged golden
    says against an undamaged run: exit 0 where the damage leaves the compared values as they
    were, exit 1 where it moves them."""
    from harness.judge import verdict

    name = _owner(case[1])
    e = catalog.get(name)
    # Without its data (HARNESS_DATA unset, Keras's cache empty) the check skips the experiment and
    # reads none of its goldens: the property is about a check that runs it.
    assume(not without_data(e))
    root, damaged, after_damage = _damaged_copy(tmp_path_factory, case)
    try:
        stored: golden.Golden | None = _as_held(root, name)
        refused: HarnessError | None = None
    except HarnessError as exc:
        stored, refused = None, exc
    before = _project()
    done = run_cli("check", name, "--device", "CPU:0", "--jobs", "1", "--golden-dir", str(root),
                   "--json-out", str(root.parent / "out.json"), "--plots", str(root.parent / "plots"),
                   *(["--epochs", str(PREFIX)] if e.training is not None else []))
    said = done.stderr + done.stdout
    event(f"exit {done.returncode}")
    if refused is not None:
        assert done.returncode == 2, (case[:2], refused, done)
        # A golden file (with the other file of a disagreement); the layout's refusal names a folder.
        named = [getattr(refused, "path", None), *getattr(refused, "also", ())]
        assert (named == [None] or damaged in map(Path, filter(None, named))) and str(damaged) in said, (
            case[:2], said)
    else:
        assert stored is not None
        moved = verdict.against(stored, e, _prefix_record(name)).status == "fail"
        assert done.returncode == (1 if moved else 0), (case[:2], done)
    assert _digest(root) == after_damage
    assert _project() == before, "a check of a damaged copy wrote into the project's goldens or reports"
