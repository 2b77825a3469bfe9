"""The tables of the pages under ``reports/``: one way to write them.

Kept apart from ``harness.report`` so that the reports built outside the pinned
environment (``tox -m matrix``) need nothing beyond the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    return ["| " + " | ".join(str(c) for c in row) + " |"
            for row in [headers, ["---"] * len(headers), *rows]]
