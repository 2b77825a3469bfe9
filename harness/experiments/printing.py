"""What a program prints, as a record keeps it and as the ledger checks it.

A one-shot program keeps each tensor it prints as ``{value, dtype, shape}``
(``tensor``). ``prints`` reads the text the course shows for that print -- a
``tf.Tensor(...)`` line, a ``<tf.Variable ...>``, a NumPy array or a plain number --
and makes one ``Printed`` per number in it, plus its shape and dtype when the text
shows them: every number printed is checked on its own, to its printed digits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from harness.experiments.declare import Precision, Printed, Section, Style
from harness.record import Record, plain

_TENSOR = re.compile(r"tf\.Tensor\((?P<array>.*), shape=(?P<shape>\(.*?\)), dtype=(?P<dtype>\w+)\)\s*$",
                     re.DOTALL)
_REPR = re.compile(r"<tf\.(?:Tensor|Variable)(?: '[^']*')?:? shape=(?P<shape>\(.*?\)),? "
                   r"dtype=(?P<dtype>\w+), numpy=(?P<array>.*)>\s*$", re.DOTALL)
_TOKEN = re.compile(r"\[|\]|[^\s\[\],]+")


def tensor(value: Any) -> dict[str, Any]:
    """A printed tensor (or NumPy array) as a record keeps it."""
    return {"dtype": value.dtype.name, "shape": list(value.shape), "value": plain(value)}


def parse(text: str) -> tuple[Any, str | None, str | None]:
    """(nested list of number texts, shape text or None, dtype or None) of a printed value."""
    match = _TENSOR.match(text.strip()) or _REPR.match(text.strip())
    array, shape, dtype = (match["array"], match["shape"], match["dtype"]) if match else (text, None, None)
    tokens = _TOKEN.findall(array)
    stack: list[list[Any]] = [[]]
    for token in tokens:
        if token == "[":
            stack.append([])
        elif token == "]":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ValueError(f"cannot read the printed value {text!r}")
    return stack[0][0], shape, dtype


def _elements(value: Any, path: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], str]]:
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _elements(v, (*path, i))]
    return [(path, value)]


def _locate(name: str, path: tuple[int, ...]) -> Callable[[Record], Any]:
    def locate(record: Record) -> Any:
        value = record.scalars[name]
        if isinstance(value, dict):  # a ``tensor``: its value
            value = value["value"]
        return functools.reduce(lambda v, i: v[i], path, value)

    return locate


def _index(path: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in path)


def prints(source: Section, where: str, text: str, name: str, *,
           precision: Precision | None = None, style: Style = "numpy", known: Mapping[str, str] | None = None,
           impossible: Mapping[str, str] | None = None, not_comparable: str = "") -> tuple[Printed, ...]:
    """One ``Printed`` per number in ``text`` (and its shape and dtype when shown), located in
    the record's scalar ``name`` (a ``tensor`` mapping, or a plain value).

    ``known`` and ``impossible`` map an element's index (``"[0]"``, ``".dtype"``) to the
    reason it is declared not to match; ``not_comparable`` applies to every element.
    """
    known, impossible = dict(known or {}), dict(impossible or {})
    array, shape, dtype = parse(text)
    out: list[Printed] = []

    def add(suffix: str, shown: str, locate: Callable[[Record], Any], kind: Precision) -> None:
        how: Style = "scalar" if shape == "()" and style == "numpy" else style
        out.append(Printed(f"{where}{suffix}", shown, locate, source, kind, how,
                           known_difference=known.pop(suffix, ""),
                           impossible=impossible.pop(suffix, ""), not_comparable=not_comparable))

    for path, shown in _elements(array):
        kind = precision or _guess(shown, dtype)
        add(_index(path), shown, _locate(name, path), kind)
    if shape is not None:
        add(".shape", shape, lambda r: str(tuple(r.scalars[name]["shape"])), "exact")
    if dtype is not None:
        add(".dtype", dtype, lambda r: r.scalars[name]["dtype"], "exact")
    unused = sorted(known) + sorted(impossible)
    if unused:
        raise ValueError(f"{where}: no printed element {unused} in {text!r}")
    return tuple(out)


def _guess(shown: str, dtype: str | None) -> Precision:
    if dtype is not None and dtype.startswith("float"):
        return "float64" if dtype == "float64" else "float32"
    if re.fullmatch(r"-?\d+", shown):
        return "exact"
    return "float64" if dtype is None else "float32"


def epoch_prints(source: Section, table: str, columns: tuple[str, ...]) -> tuple[Printed, ...]:
    """One Printed per number of the lines ``After N epoch,w is %f,loss is %f``: ``table`` holds
    the numbers of each line, lines separated by ``|``, epochs counted from 0."""
    rows = [row.split() for row in table.replace("\n", "").split("|")]
    return tuple(
        Printed(f"after {epoch} epoch, {column}", text, _at(epoch, column), source, style="fixed")
        for epoch, row in enumerate(rows) for column, text in zip(columns, row, strict=True)
    )


def _at(epoch: int, column: str) -> Callable[[Record], Any]:
    return lambda record: record.at(epoch, column)
