"""How much of a program a run makes, as it was asked: the whole program, its first N epochs (a
GradientTape loop shortened by ``--epochs``), or its first N batches (a Keras program's declared
prefix). A span is chosen once, where a run is asked for, and travels with the run's record into
its golden; the judge holds a run to what was asked, never to what its record happens to hold (a
whole run that stops early is a failure that says so, not a prefix).

TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Unit = Literal["whole", "epochs", "batches"]
# Who asks for a run by default: the default test phase (every Keras program cut to its declared
# prefix), or ``check`` and the commands that run as it does (only a program too long to run whole).
Tier = Literal["tests", "check"]


@dataclass(frozen=True)
class Span:
    unit: Unit = "whole"
    count: int = 0

    def __post_init__(self) -> None:
        if self.unit not in ("whole", "epochs", "batches"):
            raise ValueError(f"a span is whole, epochs or batches, not {self.unit!r}")
        if (self.unit == "whole") != (self.count == 0) or self.count < 0:
            raise ValueError(f"a span of {self.unit} needs a count above 0 (whole: none), got {self.count}")

    @classmethod
    def epochs(cls, count: int) -> Span:
        return cls("epochs", count)

    @classmethod
    def batches(cls, count: int) -> Span:
        return cls("batches", count)

    @property
    def whole(self) -> bool:
        return self.unit == "whole"

    @property
    def epochs_asked(self) -> int | None:
        """The ``epochs`` a runner is given for this span (None: not shortened in epochs)."""
        return self.count if self.unit == "epochs" else None

    @property
    def batches_asked(self) -> int | None:
        return self.count if self.unit == "batches" else None

    def __str__(self) -> str:
        return "the whole program" if self.whole else f"its first {self.count:,} {self.unit}"

    def to_json(self) -> dict[str, Any]:
        return {} if self.whole else {self.unit: self.count}

    @classmethod
    def from_json(cls, data: Any) -> Span:
        """The inverse of ``to_json``; ValueError names what is wrong."""
        if data in (None, {}):
            return WHOLE
        if not isinstance(data, dict) or len(data) != 1:
            raise ValueError(f"a span is empty (whole) or one of epochs: N, batches: N; got {data!r}")
        (unit, count), = data.items()
        if unit not in ("epochs", "batches") or not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"a span is empty (whole) or one of epochs: N, batches: N; got {data!r}")
        return cls(unit, count)


WHOLE = Span()
