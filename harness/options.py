"""The command line's values, checked where they are parsed: a bad value exits 2 with one
line that names the option, the value and what is accepted.

TensorFlow-free.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.errors import UsageError

# Large enough for any real use, small enough that no count makes TensorFlow allocate for hours.
MAX_COUNT = 1_000_000
# Devices, threads and processes: beyond this a count is a typo, not a machine.
MAX_PARALLEL = 256


def count(option: str, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    """A whole number from 1 to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (expected 1 to {maximum})") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{value} is out of range (expected 1 to {maximum})")
        return value

    parse.__name__ = option
    return parse


def seconds(option: str, maximum: float = 86400.0) -> Callable[[str], float]:
    """A duration from 0 to ``maximum`` seconds."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not 0 <= value <= maximum:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is out of range (expected 0 to {maximum:g} seconds)")
        return value

    parse.__name__ = option
    return parse


def nonempty(option: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("is empty (expected a name)")
        return text.strip()

    parse.__name__ = option
    return parse


def mode(text: str) -> str:
    from harness import modes

    if text not in modes.MODES:
        raise argparse.ArgumentTypeError(f"unknown mode {text!r}; valid modes: {', '.join(modes.MODES)}")
    return text


def kernel_classes(text: str) -> list[str]:
    """``all`` (every kernel class this CPU can run), ``this`` (this environment's), or
    comma-separated class keys, each one this CPU can run."""
    from harness import kernels

    runnable = kernels.emulable()
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if tokens in (["all"], ["this"]):
        return tokens
    unknown = [t for t in tokens if t not in runnable]
    if not tokens or unknown:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or repr(text)} is not a kernel class this CPU "
                                         f"can run: all, this, or some of {', '.join(runnable)}")
    repeated = sorted({t for t in tokens if tokens.count(t) > 1})
    if repeated:  # argparse reports only its own errors from a type: not a UsageError here
        raise argparse.ArgumentTypeError(f"{', '.join(repeated)} is named twice")
    return tokens


kernel_classes.__name__ = "--kernel-classes"


def folder(option: str) -> Callable[[str], Path]:
    """An existing folder to read from."""

    def parse(text: str) -> Path:
        path = _path(text)
        if not path.exists():
            raise argparse.ArgumentTypeError(f"{text!r} does not exist (expected a folder)")
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
        if not os.access(path, os.R_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text!r} cannot be read")
        return path

    parse.__name__ = option
    return parse


def writable_folder(option: str) -> Callable[[str], Path]:
    """A folder to write into: it exists and is writable, or can be made inside one that is."""

    def parse(text: str) -> Path:
        path = _path(text)
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
        _can_make(path, text)
        return path

    parse.__name__ = option
    return parse


def output_file(option: str) -> Callable[[str], Path]:
    """A file to write: not a folder; its folder exists and is writable, or can be made inside one
    that is (a fresh clone has no reports/tf-matrix/ until the first release writes there)."""

    def parse(text: str) -> Path:
        path = _path(text)
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a folder (expected a file to write)")
        _can_make(path.parent, text)
        if path.exists() and not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"{text!r} is not writable")
        return path

    parse.__name__ = option
    return parse


def _can_make(folder: Path, text: str) -> None:
    """``folder`` exists and is writable, or its nearest existing ancestor is a writable folder.

    Tried with a nameless file that vanishes when closed: ``os.access`` says yes to root for
    folders no one can write (``/proc``, a read-only mount)."""
    existing = folder if folder.exists() else _nearest_existing(folder)
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        raise argparse.ArgumentTypeError(f"{text!r} is not writable ({existing} cannot be written)") from None


def inside(path: Path, folder: Path) -> bool:
    """``path`` is ``folder`` or lies under it, links and ``..`` followed."""
    where, base = path.resolve(), folder.resolve()
    return where == base or base in where.parents


def no_repeats(what: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{what} {name!r} is named twice")
        seen.add(name)


def _path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (expected a path)")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("contains a NUL character")
    return Path(text)


def _nearest_existing(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")
