"""The ledger: every number the notes print, against what this project computes.

A printed number reproduces when the measured value, rounded to the digits
printed, is the printed text. Nothing is loosened beyond that: a number the
notes print that does not reproduce is declared as a known difference with its
reason, and its measured value and difference are reported each run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

import numpy as np

from harness.record import Record
from harness.registry import Claim, Experiment, Printed

Verdict = Literal["reproduces", "known difference", "DIFFERS", "now reproduces"]


def rounds_to(measured: float, text: str) -> bool:
    """Whether ``measured`` rounded to as many decimals as ``text`` shows is ``text``."""
    decimals = len(text.partition(".")[2])
    step = Decimal(1).scaleb(-decimals)
    return Decimal(measured).quantize(step, rounding=ROUND_HALF_EVEN) == Decimal(text)


def short(value: float) -> str:
    """A float32 as NumPy prints it; any other float in full."""
    as32 = np.float32(value)
    return str(as32) if float(as32) == value else repr(value)


@dataclass(frozen=True)
class PrintedCheck:
    experiment: str
    device: str
    printed: Printed
    measured: float

    @property
    def reproduces(self) -> bool:
        return rounds_to(self.measured, self.printed.text)

    @property
    def difference(self) -> float:
        return self.measured - float(self.printed.text)

    @property
    def verdict(self) -> Verdict:
        if self.printed.known_difference:
            return "now reproduces" if self.reproduces else "known difference"
        return "reproduces" if self.reproduces else "DIFFERS"

    @property
    def ok(self) -> bool:
        return self.verdict in ("reproduces", "known difference")

    def describe(self) -> str:
        head = (f"{self.experiment} on {self.device}, {self.printed.where}: the notes print "
                f"{self.printed.text}, measured {short(self.measured)}")
        if self.reproduces:
            tail = "" if not self.printed.known_difference else (
                "; it was declared a known difference and now reproduces: remove the declaration")
            return head + tail
        return f"{head} (difference {self.difference:+.3g})" + (
            f"; known: {self.printed.known_difference}" if self.printed.known_difference else "")


@dataclass(frozen=True)
class ClaimCheck:
    experiment: str
    device: str
    claim: Claim
    holds: bool


def check_printed(experiment: Experiment, printed: Printed, record: Record) -> PrintedCheck:
    return PrintedCheck(experiment.name, record.device, printed, float(printed.locate(record)))


def check_claim(experiment: Experiment, claim: Claim, record: Record) -> ClaimCheck:
    return ClaimCheck(experiment.name, record.device, claim, bool(claim.holds(record)))


def printed_checks(experiment: Experiment, record: Record) -> list[PrintedCheck]:
    return [check_printed(experiment, p, record) for p in experiment.printed]


def claim_checks(experiment: Experiment, record: Record) -> list[ClaimCheck]:
    return [check_claim(experiment, c, record) for c in experiment.claims]
