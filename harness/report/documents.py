"""The saved documents the reports are built from (pytest-benchmark's runs, the checks' JSON),
read strictly: one that is missing, empty or damaged is an error that names the file, the
place in it and how to make it again, never a traceback.

TensorFlow-free, and standard library only: the matrix environment has nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


class DocumentError(HarnessError):
    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}\n  fix: {fix}")


def read(path: Path, fix: str) -> Any:
    """The JSON document at ``path``; DocumentError when it cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DocumentError(path, "is not UTF-8 text", fix) from None
    except OSError as exc:
        raise DocumentError(path, f"cannot be read ({exc.strerror})", fix) from None
    if not text.strip():
        raise DocumentError(path, "is empty", fix)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        problem = (f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                   if isinstance(exc, json.JSONDecodeError) else "is nested too deeply to be a report")
        raise DocumentError(path, problem, fix) from None


class Shape:
    """Checks the parts of a document a report reads, naming the place that is wrong."""

    def __init__(self, path: Path, fix: str) -> None:
        self.path, self.fix = path, fix

    def get(self, value: Any, key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        place = f"{where}.{key}" if where else key
        if not isinstance(value, dict):
            raise DocumentError(self.path, f"{where or 'the document'} is not an object", self.fix)
        if key not in value:
            raise DocumentError(self.path, f"lacks {place}", self.fix)
        found = value[key]
        if not isinstance(found, kind) or (kind in (int, float, (int, float)) and isinstance(found, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise DocumentError(self.path, f"{place} is {type(found).__name__}, not {names}", self.fix)
        return found

    def items(self, value: Any, key: str, where: str = "") -> list[dict[str, Any]]:
        found = self.get(value, key, list, where)
        for i, item in enumerate(found):
            if not isinstance(item, dict):
                raise DocumentError(self.path, f"{key}[{i}] is not an object", self.fix)
        return list(found)
