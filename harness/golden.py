"""The golden store: where goldens live, how they are read strictly and written atomically.

Layout, one folder per device kind::

    golden/<kind>/<experiment>.csv   trajectory columns, as num_regression writes them
    golden/<kind>/<experiment>.yml   scalars, as data_regression writes them
    golden/<kind>/manifest.yml       the environment that wrote the goldens of that kind

Files are written byte for byte as pytest-regressions writes them, so a golden
regenerated here and one regenerated with ``--force-regen`` are the same file.
Reading is strict and safe (``csv`` and ``yaml.safe_load``, nothing executes):
a damaged file is an error that names it, never a silent partial comparison.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.devices import KINDS
from harness.errors import GoldenError, UnknownName
from harness.files import atomic_write, exchange
from harness.record import Record

ROOT = Path(__file__).resolve().parent.parent / "golden"
MANIFEST = "manifest.yml"
MANIFEST_FIELDS = (
    "cpu_count", "date", "device", "device_kind", "inter_op_threads", "intra_op_threads", "keras", "machine",
    "numpy", "onednn", "op_determinism", "python", "tensorflow", "tf32",
)
_NAME = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class GoldenPaths:
    columns: Path
    scalars: Path


def kind_dir(root: Path, kind: str) -> Path:
    if kind not in KINDS:
        raise UnknownName("device kind", kind, KINDS)
    return root / kind


def check_layout(root: Path) -> None:
    """Every folder under the golden root is a device kind: anything else is a mistake
    (a typo, a copy) whose goldens nothing would ever check."""
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith("."):
            continue  # .regen: what an interrupted regeneration staged
        if not path.is_dir() or path.name not in KINDS:
            raise GoldenError(path, f"is not the folder of a device kind ({', '.join(KINDS)})",
                              fix="rename it to the kind it holds, or remove it")


def paths(root: Path, kind: str, experiment: str) -> GoldenPaths:
    # Names become file names: nothing but [a-z0-9_] may leave a path inside golden/.
    if not _NAME.fullmatch(experiment):
        raise GoldenError(root / kind / experiment, "is not a valid experiment name ([a-z0-9_]+)")
    base = kind_dir(root, kind) / experiment
    return GoldenPaths(base.with_suffix(".csv"), base.with_suffix(".yml"))


# --- reading ---------------------------------------------------------------------------


def read_columns(path: Path, expected: list[str]) -> dict[str, list[Any]]:
    """The trajectory in a golden CSV, checked against the columns the experiment records."""
    text = _read_text(path)
    if not text.endswith("\n"):
        raise GoldenError(path, "ends in the middle of a line: the file is truncated")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    if header[1:] != expected:
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
    columns: dict[str, list[Any]] = {name: [] for name in expected}
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise GoldenError(path, f"line {line} has {len(row)} fields, the header {len(header)}")
        for name, cell in zip(expected, row[1:]):
            columns[name].append(_parse_cell(path, line, name, cell))
    epochs = columns.get("epoch", [])
    if any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise GoldenError(path, f"epochs are not strictly increasing: {epochs}")
    return columns


def _parse_cell(path: Path, line: int, column: str, cell: str) -> Any:
    try:
        value: Any = int(cell) if column == "epoch" else float(cell)
    except ValueError:
        kind = "an integer" if column == "epoch" else "a number"
        raise GoldenError(path, f"line {line}, column {column}: {cell!r} is not {kind}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise GoldenError(path, f"line {line}, column {column}: {cell} is not a finite number")
    return value


def read_scalars(path: Path) -> dict[str, Any]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise GoldenError(path, "is not a mapping of scalar names to values")
    return data


def read_manifest(root: Path, kind: str) -> dict[str, Any] | None:
    """The manifest of a kind's goldens, or None when there is none."""
    path = kind_dir(root, kind) / MANIFEST
    if not path.exists():
        return None
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise GoldenError(path, "is not a mapping of environment fields")
    missing = [f for f in MANIFEST_FIELDS if f not in data]
    if missing:
        raise GoldenError(path, f"lacks the fields {missing}")
    return data


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GoldenError(path, "is not UTF-8 text") from None
    if not text.strip():
        raise GoldenError(path, "is empty")
    return text


def _read_yaml(path: Path) -> Any:
    text = _read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GoldenError(path, f"is not valid YAML ({str(exc).splitlines()[0]})") from None


# --- writing ---------------------------------------------------------------------------


def dump_columns(columns: dict[str, list[Any]]) -> bytes:
    """A trajectory as num_regression writes it (pandas, floats as %.17g)."""
    import pandas as pd
    from pytest_regressions.dataframe_regression import DataFrameRegressionFixture

    precision = DataFrameRegressionFixture.DISPLAY_PRECISION
    return pd.DataFrame(columns).to_csv(float_format=f"%.{precision}g").encode("utf-8")


def dump_scalars(scalars: dict[str, Any]) -> bytes:
    """Scalars as data_regression writes them (its YAML dumper and settings)."""
    from pytest_regressions.data_regression import RegressionYamlDumper

    return yaml.dump_all([scalars], Dumper=RegressionYamlDumper, default_flow_style=False,
                         allow_unicode=True, indent=2, encoding="utf-8")


def write(root: Path, record: Record) -> list[Path]:
    """Writes a record's goldens; each file is replaced whole or not at all."""
    target = paths(root, record.device_kind, record.experiment)
    written = []
    if record.columns:
        atomic_write(target.columns, dump_columns(record.columns))
        written.append(target.columns)
    atomic_write(target.scalars, dump_scalars(record.scalars))
    written.append(target.scalars)
    return written


def write_manifest(root: Path, kind: str, fingerprint: dict[str, Any]) -> Path:
    path = kind_dir(root, kind) / MANIFEST
    atomic_write(path, yaml.safe_dump(fingerprint, sort_keys=True, allow_unicode=True).encode("utf-8"))
    return path


STAGING = ".regen"


def regenerate(root: Path, kind: str, records: list[Record], fingerprint: dict[str, Any]) -> list[Path]:
    """Rewrites the goldens of one kind and their manifest all at once, or not at all.

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
    written.append(write_manifest(staging, kind, fingerprint))
    if live.exists():
        exchange(live, staging / kind)
    else:
        os.rename(staging / kind, live)
    shutil.rmtree(staging)
    return [live / path.name for path in written]
