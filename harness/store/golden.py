"""The golden store: where goldens live, how they are read strictly and written atomically.

Layout, one folder per device kind::

    golden/<kind>/<experiment>.csv              what a training program prints, per row
    golden/<kind>/<experiment>.checkpoints.csv  weights and optimizer state at checkpoints
    golden/<kind>/<experiment>.yml              scalars, as data_regression writes them
    golden/<kind>/manifest.yml                  the environment that wrote the goldens of that kind
    golden/<kind>/kernels/<class>/<file>        where a CPU kernel class computes other bits: that
                                                class's copy of the file (harness.kernels)

The files of ``<kind>/`` are the goldens of the manifest's ``kernel_class`` (the base); its
``kernel_classes`` lists every class the regeneration ran. A class's folder holds only the files
whose bytes differ from the base: a class that changes nothing has no folder. It may also hold
``<experiment>.modes.yml``: where an execution mode departs from that class's eager run otherwise
than the experiment declares (measured on the base), the class's own measurement, per mode:
``identical``, or ``first_epoch`` and ``max_ulp`` (and ``diverges_at``, the epoch of its first
NaN, where it has one). And ``<experiment>.cpus.yml``: how far that class moved on other CPU models
than the goldens' (harness.store.spread).

Files are written byte for byte as pytest-regressions writes them (a NaN is an
empty cell, as pandas writes it), so a golden regenerated here and one regenerated
with ``--force-regen`` are the same file. Reading is strict and safe (``csv`` and
``yaml.safe_load``, nothing executes): a damaged file is an error that names it,
never a silent partial comparison. A NaN or an infinity in a table is accepted only
where the golden's own scalars say the run produced one (``non_finite``): one typed
in by hand is damage.

TensorFlow-free.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from harness.errors import GoldenError, GoldenMissing, UnknownName
from harness.record import KINDS, NON_FINITE, Record, Table, non_finite_cells
from harness.span import WHOLE, Span
from harness.store.files import atomic_write, exchange

ROOT = Path(__file__).resolve().parents[2] / "golden"
MANIFEST = "manifest.yml"
MANIFEST_FIELDS = (
    "cpu_count", "date", "device", "device_kind", "inter_op_threads", "intra_op_threads", "kernel_class",
    "kernel_classes", "keras", "machine", "numpy", "onednn", "onednn_isa", "op_determinism",
    "openblas_coretype", "python", "tensorflow", "tf32", "tf_losses_module", "xla_cpu_isa",
)
# The one manifest field that is a list (of kernel class keys); every other holds one value.
LIST_FIELDS = ("kernel_classes",)
KERNELS = "kernels"
_NAME = re.compile(r"[a-z0-9_]+")
_KERNEL_CLASS = re.compile(r"[a-z0-9_]+(\+xla_[a-z0-9_]+)?")
# A table's file beside the experiment's name.
SUFFIXES = {"columns": ".csv", "validation": ".validation.csv", "checkpoints": ".checkpoints.csv",
            "batches": ".batches.csv"}
# Where a golden's span is kept in its scalars file: a golden written from a declared prefix of a
# long Keras run holds the batches it trained under this key, which no program's scalar uses
# (read into ``Golden.span``, never among the scalars a run is compared with). A whole run's
# golden has no such key.
SPAN_KEY = "cut_at_batch"


@dataclass(frozen=True)
class GoldenPaths:
    tables: dict[str, Path]
    scalars: Path

    @property
    def columns(self) -> Path:
        return self.tables["columns"]


@dataclass(frozen=True)
class Golden:
    """The goldens of one experiment on one device kind, as read."""

    scalars: dict[str, Any]
    tables: dict[str, Table] = field(default_factory=dict)
    # The span of the run that wrote it: whole, or a declared prefix's batches.
    span: Span = WHOLE

    def record(self, experiment: str, kind: str, mode: str = "eager") -> Record:
        """The golden as the record of the run that wrote it (every table it holds, its span)."""
        table = self.tables.get
        return Record(experiment, "golden", kind, "", scalars=self.scalars, columns=table("columns", {}),
                      validation=table("validation", {}), checkpoints=table("checkpoints", {}),
                      batches=table("batches", {}), mode=mode, span=self.span)


def kind_dir(root: Path, kind: str) -> Path:
    if kind not in KINDS:
        raise UnknownName("device kind", kind, KINDS)
    return root / kind


def holds_goldens(folder: Path) -> bool:
    """A golden folder (a kind's folder with its manifest inside) or a kind's folder itself."""
    if folder.name in KINDS and (folder / MANIFEST).is_file():
        return True
    return any((folder / kind / MANIFEST).is_file() for kind in KINDS)


def check_layout(root: Path) -> None:
    """A golden folder holds one real folder per device kind, nothing else: anything else is a
    mistake (a typo, a copy, the wrong --golden-dir) whose goldens nothing would ever check,
    and a link would let a regeneration write outside the folder it was given."""
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith("."):
            continue  # .regen: what an interrupted regeneration staged; .lock
        if path.is_symlink() or not path.is_dir() or path.name not in KINDS:
            what = "a link" if path.is_symlink() else "not the folder of a device kind"
            raise GoldenError(path, f"is {what} ({', '.join(KINDS)}): {root} does not look like a "
                                    "golden folder",
                              fix=f"if {root} is the golden folder, move {path.name} out of it (or "
                                  "rename it to the kind it holds); otherwise give --golden-dir an "
                                  "empty folder or a golden folder")


def kernel_dir(root: Path, kind: str, kernel_class: str) -> Path:
    """The folder of one kernel class's own copies of the files that differ from the base."""
    if not _KERNEL_CLASS.fullmatch(kernel_class):
        raise GoldenError(kind_dir(root, kind) / KERNELS / kernel_class, "is not a kernel class name")
    return kind_dir(root, kind) / KERNELS / kernel_class


def paths(root: Path, kind: str, experiment: str, kernel_class: str | None = None) -> GoldenPaths:
    """Where an experiment's goldens are: the base files, or a kernel class's copy of each file
    it has one of."""
    # Names become file names: nothing but [a-z0-9_] may leave a path inside golden/.
    if not _NAME.fullmatch(experiment):
        raise GoldenError(root / kind / experiment, "is not a valid experiment name ([a-z0-9_]+)")
    folder = kind_dir(root, kind)
    own = kernel_dir(root, kind, kernel_class) if kernel_class else None

    def where(name: str) -> Path:
        return own / name if own is not None and (own / name).exists() else folder / name

    return GoldenPaths({table: where(f"{experiment}{suffix}") for table, suffix in SUFFIXES.items()},
                       where(f"{experiment}.yml"))


@dataclass(frozen=True)
class Coverage:
    """Which goldens a run under one kernel class is held to, in words for headers and failures."""

    kernel_class: str
    base: str | None  # the manifest's kernel_class
    covered: tuple[str, ...]  # the manifest's kernel_classes

    @property
    def known(self) -> bool:
        return self.kernel_class in self.covered

    def describe(self) -> str:
        if self.kernel_class == self.base:
            return f"kernel class {self.kernel_class} (the base goldens')"
        if self.known:
            return (f"kernel class {self.kernel_class} (its own files in {KERNELS}/{self.kernel_class}/, "
                    f"the rest as the base {self.base})")
        return f"kernel class {self.kernel_class}, which the goldens do not cover: {self.warning()}"

    def warning(self) -> str:
        """What a failure under a class without goldens must say: the kernels differ."""
        return (f"this machine runs the CPU kernels of class {self.kernel_class}, and the goldens cover "
                f"{', '.join(self.covered) or 'no class'} (base {self.base}): it is compared with the base "
                "goldens, and where they differ with the envelope of the covered classes (unless "
                "--strict-kernels: then a difference may be the kernels', not a regression). Cover this class "
                "with python -m harness regen --add-kernel-class, or run under a covered one "
                "(ONEDNN_MAX_CPU_ISA, TF_ENABLE_ONEDNN_OPTS)")


# A mode's departure from the eager run under one kernel class: where it first differs, by how
# many ULPs at most, and the epoch of its first NaN (None: none); None where it is identical.
ModeSignature = tuple[int, float, int | None] | None
MODES_SUFFIX = ".modes.yml"
_FIELDS = ("first_epoch", "max_ulp", "diverges_at")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_mode_signatures(root: Path, kind: str, kernel_class: str, experiment: str) -> dict[str, ModeSignature]:
    """A kernel class's own measurements of an experiment's modes (empty where it has none)."""
    from harness.modes import MODES

    path = kernel_dir(root, kind, kernel_class) / f"{experiment}{MODES_SUFFIX}"
    if not path.exists():
        return {}
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise GoldenError(path, "is not a mapping of execution modes")
    found: dict[str, ModeSignature] = {}
    for mode, value in data.items():
        if mode not in MODES:
            raise GoldenError(path, f"names the mode {mode!r}; modes are {', '.join(MODES)}")
        if value == "identical":
            found[mode] = None
            continue
        if not (isinstance(value, dict) and {"first_epoch", "max_ulp"} <= set(value) <= set(_FIELDS)
                and _count(value["first_epoch"]) and isinstance(value["max_ulp"], (int, float))
                and not isinstance(value["max_ulp"], bool) and not math.isnan(value["max_ulp"])
                and value["max_ulp"] >= 0 and (value.get("diverges_at") is None or _count(value["diverges_at"]))):
            raise GoldenError(path, f"mode {mode}: {value!r} is neither `identical` nor a mapping of "
                                    "first_epoch (an epoch), max_ulp (a number of ULPs) and, where the mode "
                                    "turns to NaN, diverges_at (the epoch of its first NaN)")
        if math.isinf(value["max_ulp"]) and value.get("diverges_at") is None:
            # An infinite distance without the epoch of the first NaN would accept any run
            # that turns to NaN anywhere (the format before diverges_at).
            raise GoldenError(path, f"mode {mode}: max_ulp is .inf without diverges_at, which would accept "
                                    "a run that turns to NaN at any epoch")
        found[mode] = (value["first_epoch"], float(value["max_ulp"]), value.get("diverges_at"))
    return found


def dump_mode_signatures(signatures: dict[str, ModeSignature]) -> bytes:
    data = {mode: "identical" if sig is None else
            {name: v for name, v in zip(_FIELDS, sig, strict=True) if v is not None}
            for mode, sig in sorted(signatures.items())}
    return dump_scalars(data)


def covered_classes(root: Path, kind: str) -> tuple[str, ...]:
    """The kernel classes a kind's goldens cover (none where the manifest is missing or unreadable:
    the check names that)."""
    try:
        manifest = read_manifest(root, kind)
    except GoldenError:
        return ()
    return tuple((manifest or {}).get("kernel_classes") or ())


def coverage(manifest: dict[str, Any] | None, kernel_class: str) -> Coverage:
    if manifest is None:
        return Coverage(kernel_class, None, ())
    return Coverage(kernel_class, manifest.get("kernel_class"), tuple(manifest.get("kernel_classes") or ()))


# --- reading ---------------------------------------------------------------------------


def load(root: Path, kind: str, experiment: str, expected: dict[str, list[str]] | None,
         kernel_class: str | None = None) -> Golden:
    """The goldens of an experiment (a kernel class's own files where it has them): its
    scalars, and the tables whose columns ``expected`` gives (table name -> column names;
    None: the tables there are, as their headers say); GoldenMissing or GoldenError when
    they cannot be used."""
    target = paths(root, kind, experiment, kernel_class)
    if expected is None:
        expected = {table: _header(path) for table, path in target.tables.items() if path.exists()}
    if not target.scalars.exists():
        raise GoldenMissing(target.scalars)
    scalars = read_scalars(target.scalars)
    span = span_of(target.scalars, scalars)
    scalars = {k: v for k, v in scalars.items() if k != SPAN_KEY}
    expected = {t: columns for t, columns in expected.items() if t in needed_tables(target, list(expected), span)}
    for path in (target.tables[t] for t in expected):
        if not path.exists():
            raise GoldenMissing(path)
    declared = scalars.get(NON_FINITE, {})
    if not isinstance(declared, dict):
        raise GoldenError(target.scalars, f"{NON_FINITE} is not a mapping of tables")
    tables = {table: _read_beside(target, table, columns, declared.get(table),
                                  kernel_dir(root, kind, kernel_class) if kernel_class else None)
              for table, columns in expected.items()}
    for table in declared:
        if table not in tables:
            raise GoldenError(target.scalars, f"{NON_FINITE} names the table {table!r}, which this "
                                              f"experiment does not record")
    return Golden(scalars, tables, span)


def span_of(path: Path, scalars: dict[str, Any]) -> Span:
    """The span a golden's scalars file records (``SPAN_KEY``); GoldenError when it is not a count."""
    if SPAN_KEY not in scalars:
        return WHOLE
    try:
        return Span.from_json({"batches": scalars[SPAN_KEY]})
    except ValueError:
        raise GoldenError(path, f"{SPAN_KEY} is {scalars[SPAN_KEY]!r}, not the number of batches the golden's run "
                                "trained") from None


def needed_tables(target: GoldenPaths, tables: list[str], span: Span | None = None) -> list[str]:
    """The tables a golden must have: every one the experiment records, but a golden of a declared
    prefix only those the prefix reached (files there; the batch rows at least)."""
    if span is None:
        span = span_of(target.scalars, read_scalars(target.scalars)) if target.scalars.exists() else WHOLE
    if span.whole:
        return tables
    return [t for t in tables if target.tables[t].exists() or t == "batches"]


def _read_beside(target: GoldenPaths, table: str, columns: list[str], non_finite: Any, own: Path | None) -> Table:
    """A table with its scalars; where one comes from a kernel class's folder and the other from the
    base (a class keeps only the files that differ) and the two disagree, the class's copy of the
    other may be the file that is missing: it is named too."""
    path = target.tables[table]
    try:
        return read_table(path, columns, non_finite, target.scalars)
    except GoldenError as exc:
        if own is None or not exc.also or (path.parent == own) == (target.scalars.parent == own):
            raise
        absent = own / (path.name if target.scalars.parent == own else target.scalars.name)
        raise GoldenError(exc.path, f"{exc.problem}; kernel class {own.name} has its own copy of one of the two "
                                    f"but not {absent.name}: {absent} may be the file that is missing",
                          also=(*exc.also, absent)) from None


def read_table(path: Path, expected: list[str], non_finite: Any = None, scalars: Path | None = None) -> Table:
    """A golden CSV, checked against the columns the experiment records and against where its
    scalars (the file ``scalars``) say the run produced NaN or an infinity (``non_finite``)."""
    text = _read_text(path)
    if not text.endswith("\n"):
        raise GoldenError(path, "ends in the middle of a line: the file is truncated")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    if header != ["", *expected]:
        missing = [c for c in expected if c not in header[1:]]
        unexpected = [c for c in header[1:] if c not in expected]
        raise GoldenError(
            path,
            f"has columns {header[1:]}, the experiment records {expected}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {unexpected}" if unexpected else ""),
        )
    if not body:
        raise GoldenError(path, "has a header but no rows")
    table: Table = {name: [] for name in expected}
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise GoldenError(path, f"line {line} has {len(row)} fields, the header {len(header)}")
        if row[0] != str(line - 2):
            raise GoldenError(path, f"line {line} has the row index {row[0]!r}, expected {line - 2}: "
                                    "rows were added, removed or reordered")
        for name, cell in zip(expected, row[1:], strict=True):
            table[name].append(_parse_cell(path, line, name, cell))
    epochs = table["epoch"]
    if any(b <= a for a, b in pairwise(epochs)):
        raise GoldenError(path, f"epochs are not strictly increasing: {epochs}")
    found = non_finite_cells(table)
    if found != non_finite:
        # The table and its scalars disagree: either may be the damaged one, so both are named.
        raise GoldenError(path, _non_finite_problem(found, non_finite, scalars),
                          also=(scalars,) if scalars is not None else ())
    return table


def _header(path: Path) -> list[str]:
    first = _read_text(path).partition("\n")[0]
    return next(csv.reader([first]))[1:]


def _non_finite_problem(found: dict[str, Any] | None, declared: Any, scalars: Path | None) -> str:
    where = "no NaN or infinity" if declared is None else f"NaN or infinities as {declared}"
    its = f"its scalars ({NON_FINITE} in {scalars})" if scalars is not None else f"its scalars ({NON_FINITE})"
    if found is None:
        return f"holds no NaN or infinity, but {its} record {where}: one of the two files is damaged"
    return (f"holds NaN or infinities ({found['cells']} cells from epoch {found['first_epoch']}, "
            f"columns {found['columns']}) that are not a finite number, and {its} record {where}: a value "
            "typed in by hand or changed in one of the two files, or a golden that was partly regenerated")


_NON_FINITE = {"": math.nan, "nan": math.nan, "NaN": math.nan, "inf": math.inf, "-inf": -math.inf}


def _parse_cell(path: Path, line: int, column: str, cell: str) -> Any:
    if column != "epoch" and cell in _NON_FINITE:
        return _NON_FINITE[cell]
    try:
        value: Any = int(cell) if column == "epoch" else float(cell)
    except ValueError:
        kind = "an integer" if column == "epoch" else "a number"
        raise GoldenError(path, f"line {line}, column {column}: {cell!r} is not {kind}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise GoldenError(path, f"line {line}, column {column}: {cell!r} is not a finite number "
                                f"as pandas writes one")
    return value


def read_scalars(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise GoldenError(path, "is not a mapping of scalar names to values")
    return data


def read_manifest(root: Path, kind: str, lenient: bool = False) -> dict[str, Any] | None:
    """The manifest of a kind's goldens, or None when there is none; ``lenient``: whatever
    mapping it holds (what a regeneration reports as the environment it replaces, written by
    an older harness with other fields)."""
    path = kind_dir(root, kind) / MANIFEST
    if not path.exists():
        return None
    data = read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise GoldenError(path, "is not a mapping of environment fields (names to values)")
    if lenient:
        return data
    missing = [f for f in MANIFEST_FIELDS if f not in data]
    if missing:
        raise GoldenError(path, f"lacks the fields {missing}",
                          fix="it was written by an older harness: regenerate on purpose with `tox -e regen` "
                              "(python -m harness regen) and review the drift report")
    nested = sorted(k for k, v in data.items() if isinstance(v, (dict, list)) and k not in LIST_FIELDS)
    if nested:
        raise GoldenError(path, f"fields {nested} hold a list or mapping, not one value")
    for name in LIST_FIELDS:
        value = data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) and _KERNEL_CLASS.fullmatch(v) for v in value):
            raise GoldenError(path, f"field {name} is not a list of kernel class names")
    return data


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GoldenError(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise GoldenError(path, f"cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise GoldenError(path, "is empty")
    return text


# yaml.safe_load's rules with libyaml's parser where PyYAML was built with it (its wheels are): the
# same documents, read several times faster (the tests read every golden of every kernel class).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise GoldenError(path, f"is not valid YAML ({str(exc).splitlines()[0]})") from None
    odd = _not_plain(data)
    if odd is not None:
        where, kind = odd
        raise GoldenError(path, f"holds a {kind} at {where} (a YAML tag such as !!binary, a date or a set): "
                                "goldens hold text, numbers, lists and mappings with text keys only")
    return data


def _not_plain(value: Any, where: str = "the top") -> tuple[str, str] | None:
    """Where YAML gave something JSON cannot hold (bytes, a date, a set, a key that is not text)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return None
    if isinstance(value, list):
        return next((odd for i, v in enumerate(value) if (odd := _not_plain(v, f"{where}[{i}]"))), None)
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{where} (a key)", type(k).__name__
            odd = _not_plain(v, k if where == "the top" else f"{where}.{k}")
            if odd:
                return odd
        return None
    return where, type(value).__name__


# --- writing ---------------------------------------------------------------------------


def dump_table(table: Table) -> bytes:
    """A table as num_regression writes it (pandas, floats as %.17g, NaN as an empty cell)."""
    import pandas as pd
    from pytest_regressions.dataframe_regression import DataFrameRegressionFixture

    precision = DataFrameRegressionFixture.DISPLAY_PRECISION
    return pd.DataFrame(table).to_csv(float_format=f"%.{precision}g").encode("utf-8")


def dump_scalars(scalars: dict[str, Any]) -> bytes:
    """Scalars as data_regression writes them (its YAML dumper and settings)."""
    from pytest_regressions.data_regression import RegressionYamlDumper

    return yaml.dump_all([scalars], Dumper=RegressionYamlDumper, default_flow_style=False,
                         allow_unicode=True, indent=2, encoding="utf-8")


def write(root: Path, record: Record) -> list[Path]:
    """Writes a record's goldens; each file is replaced whole or not at all."""
    paths(root, record.device_kind, record.experiment)  # the name is one a file may have
    written = []
    for name, data in _files(record).items():
        path = kind_dir(root, record.device_kind) / name
        atomic_write(path, data)
        written.append(path)
    return written


def write_manifest(root: Path, kind: str, fingerprint: dict[str, Any]) -> Path:
    path = kind_dir(root, kind) / MANIFEST
    atomic_write(path, yaml.safe_dump(fingerprint, sort_keys=True, allow_unicode=True).encode("utf-8"))
    return path


STAGING = ".regen"


@dataclass(frozen=True)
class ClassRuns:
    """What one other kernel class computed: its eager records, and per experiment the modes
    whose signature differs from the experiment's declaration."""

    records: list[Record]
    modes: dict[str, dict[str, ModeSignature]] = field(default_factory=dict)


def regenerate(root: Path, kind: str, records: list[Record], fingerprint: dict[str, Any],
               classes: dict[str, ClassRuns] | None = None) -> list[Path]:
    """Rewrites the goldens of one kind and their manifest all at once, or not at all: the
    records of this environment's kernel class as the base, and for each other class in
    ``classes`` (its key -> the same experiments' records under it) the files whose bytes differ.

    A copy of ``golden/<kind>/`` is rewritten beside it, then the two folders are
    exchanged in one rename: a regeneration killed at any point leaves either the old
    goldens or the new ones, every file whole. What a killed one leaves in the staging
    folder is thrown away by the next.
    """
    live = kind_dir(root, kind)
    staging = root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    if live.exists():
        shutil.copytree(live, staging / kind)
    written = [path for record in records for path in write(staging, record)]
    written += _write_classes(staging, kind, records, classes or {}, list(fingerprint.get("kernel_classes") or ()))
    written.append(write_manifest(staging, kind, fingerprint))
    if live.exists():
        exchange(live, staging / kind)
    else:
        os.rename(staging / kind, live)
    shutil.rmtree(staging)
    return [live / path.relative_to(staging / kind) for path in written]


def _write_classes(root: Path, kind: str, base: list[Record], classes: dict[str, ClassRuns],
                   covered: list[str]) -> list[Path]:
    """Each class's copies of the files that differ from the base's; the regenerated
    experiments' old copies go, as does the folder of a class no longer ``covered`` (its files
    would no longer be complete) and one left empty."""
    names = {r.experiment for r in base}
    kernels = kind_dir(root, kind) / KERNELS
    for folder in sorted(kernels.iterdir()) if kernels.is_dir() else []:
        if folder.name not in covered:
            shutil.rmtree(folder)
    for old in sorted(kernels.glob("*/*")) if kernels.is_dir() else []:
        if old.name.split(".", 1)[0] in names:
            old.unlink()
    written = []
    for key, runs in sorted(classes.items()):
        by_name = {r.experiment: r for r in runs.records}
        missing = sorted(names - set(by_name))
        if missing:
            raise GoldenError(kernel_dir(root, kind, key), f"the runs under this class lack {missing}")
        for record in base:
            ours, theirs = _files(by_name[record.experiment]), _files(record)
            if runs.modes.get(record.experiment):
                ours[f"{record.experiment}{MODES_SUFFIX}"] = dump_mode_signatures(runs.modes[record.experiment])
            for name, data in ours.items():
                if theirs.get(name) != data:
                    path = kernel_dir(root, kind, key) / name
                    atomic_write(path, data)
                    written.append(path)
    for folder in sorted(kernels.iterdir()) if kernels.is_dir() else []:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if kernels.is_dir() and not any(kernels.iterdir()):
        kernels.rmdir()
    return written


def add_class(root: Path, kind: str, key: str, runs: ClassRuns) -> list[Path]:
    """Covers one more kernel class beside the others, all at once or not at all: its files where
    their bytes differ from the base's (and its ``.modes.yml`` where a mode departs otherwise than
    declared), its key added to the manifest's ``kernel_classes``; the base's files and every other
    class's stay as they are. ``runs`` must hold a record of every experiment the base has goldens
    of (a class is covered for all of them, or not at all)."""
    live = kind_dir(root, kind)
    manifest = read_manifest(root, kind)
    if manifest is None:
        raise GoldenError(live / MANIFEST, "is missing: there are no goldens to add a class beside",
                          fix="python -m harness regen")
    covered = list(manifest.get("kernel_classes") or ())
    if key in covered:
        raise GoldenError(kernel_dir(root, kind, key), f"kernel class {key} is already covered (manifest: "
                                                      f"{', '.join(covered)})",
                          fix="python -m harness regen (all classes) rewrites it with the rest")
    by_name = {r.experiment: r for r in runs.records}
    expected = sorted({p.name.split(".", 1)[0] for p in live.glob("*.yml") if p.name != MANIFEST})
    missing = [name for name in expected if name not in by_name]
    if missing:
        raise GoldenError(kernel_dir(root, kind, key), f"the runs under this class lack {', '.join(missing)}: a class "
                                                      "is covered for every experiment or not at all",
                          fix="run them where their data is (README, 'The data'), then add the class again")
    staging = root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(live, staging / kind)
    written = []
    for name in expected:
        ours = _files(by_name[name])
        if runs.modes.get(name):
            ours[f"{name}{MODES_SUFFIX}"] = dump_mode_signatures(runs.modes[name])
        for file, data in ours.items():
            base = live / file
            if not base.is_file() or base.read_bytes() != data:
                path = kernel_dir(staging, kind, key) / file
                atomic_write(path, data)
                written.append(path)
    written.append(write_manifest(staging, kind, {**manifest, "kernel_classes": sorted([*covered, key])}))
    exchange(live, staging / kind)
    shutil.rmtree(staging)
    return [live / path.relative_to(staging / kind) for path in written]


def _files(record: Record) -> dict[str, bytes]:
    """A record's golden files by name, as ``write`` writes them: a whole run's, or a declared
    prefix's with the batches it trained (a run shortened in epochs is never a golden)."""
    if record.span.unit == "epochs":
        raise GoldenError(Path(f"{record.experiment}.yml"), f"would be written from {record.span} of the program: "
                                                            "a golden is a whole run's, or a declared prefix's",
                          fix="regenerate without --epochs (python -m harness regen)")
    files = {f"{record.experiment}{SUFFIXES[name]}": dump_table(table) for name, table in record.tables().items()}
    spanned = record.scalars if record.span.whole else {**record.scalars, SPAN_KEY: record.span.count}
    files[f"{record.experiment}.yml"] = dump_scalars(dict(sorted(spanned.items())))
    return files

