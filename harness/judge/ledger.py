"""The ledger: every number the note and the course print, against what this project computes.

A printed number reproduces when the measured value, rounded to the digits printed,
is the printed text (integers, dtypes and shapes: when it is the text). When it does
not, the verdict says by how much in ULPs of the value's precision (float32 for
TensorFlow's float32 results): "differs in the last printed digit, 2 ULP" reads
otherwise than "differs by 4%". Nothing is loosened beyond the printed digits: a
number that does not reproduce is declared next to its experiment, with its reason,
as a known difference, an output its code cannot give (impossible), or a value no
run can give again (not comparable: unseeded draws, wall-clock times).

TensorFlow-free.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal

import numpy as np

from harness.experiments.declare import Claim, Experiment, Printed
from harness.judge.compare import ulp_distance
from harness.record import Record

Verdict = Literal["reproduces", "known difference", "DIFFERS", "now reproduces", "impossible",
                  "NOW MATCHES", "not comparable", "reproduces under these kernels",
                  "differs under these kernels"]
# Verdicts that are what the declarations say: the others fail. The declarations are made on the
# goldens' base kernel class; under another class a number may reproduce where the base's does
# not, or the reverse: expected when that class's own golden says the same (``KernelGolden``).
OK = ("reproduces", "known difference", "impossible", "not comparable", "reproduces under these kernels",
      "differs under these kernels")
_KERNEL_EXCUSABLE = ("DIFFERS", "now reproduces", "NOW MATCHES")


def rounds_to(measured: float, text: str) -> bool:
    """Whether ``measured`` rounded to the decimals ``text`` shows is ``text`` (``%f``, by hand)."""
    mantissa, exponent, _ = text.lower().partition("e")
    if exponent:  # Keras's progress bar: %.4e below 1e-3
        return f"{measured:.{len(mantissa.partition('.')[2])}e}" == text.lower()
    try:
        shown = Decimal(text)
    except InvalidOperation:
        return False
    decimals = len(text.partition(".")[2])
    step = Decimal(1).scaleb(-decimals)
    return Decimal(measured).quantize(step, rounding=ROUND_HALF_EVEN) == shown


def numpy_text(measured: float, precision: str, scientific: bool) -> str:
    """``measured`` as NumPy prints an element of a float array (TensorFlow prints through it):
    the shortest digits that identify the value in its precision, at most 8 decimals."""
    value = np.float32(measured) if precision == "float32" else np.float64(measured)
    if scientific:
        return np.format_float_scientific(value, precision=8, unique=True, trim=".", exp_digits=2)
    return np.format_float_positional(value, precision=8, unique=True, fractional=True, trim=".")


def printed_as(measured: Any, printed: Printed) -> str | None:
    """How the program would print ``measured``, in the style it printed ``printed.text``."""
    if printed.precision == "exact":
        return str(measured)
    if not isinstance(measured, (int, float)) or isinstance(measured, bool):
        return None
    if math.isnan(measured) or math.isinf(measured):
        return str(float(measured)) if printed.style == "repr" else str(np.float32(measured))
    if printed.style == "repr":
        return repr(float(measured))
    if printed.style == "fixed":
        return printed.text if rounds_to(float(measured), printed.text) else None
    if printed.style == "scalar":
        return str(np.float32(measured) if printed.precision == "float32" else np.float64(measured))
    return numpy_text(measured, printed.precision, "e" in printed.text.lower())


def short(value: Any) -> str:
    """A float32 as NumPy prints it; any other float in full; anything else as str."""
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isnan(value):
        as32 = np.float32(value)
        return str(as32) if float(as32) == value else repr(value)
    return str(value)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


@dataclass(frozen=True)
class KernelGolden:
    """The golden of a kernel class other than the base, as a record: what that class's
    kernels computed when the goldens were written."""

    kernel_class: str
    record: Record


@dataclass(frozen=True)
class PrintedCheck:
    experiment: str
    device: str
    printed: Printed
    measured: Any
    # Under a covered kernel class other than the base: whether the number reproduces in that
    # class's golden (None: the base class, or a class the goldens do not cover).
    kernels: tuple[str, bool] | None = None

    @property
    def reproduces(self) -> bool:
        shown = printed_as(self.measured, self.printed)
        return shown is not None and _normal(shown) == _normal(self.printed.text)

    @property
    def ulps(self) -> float | None:
        """The distance of the measured value from the printed one in ULPs of its precision."""
        if self.printed.precision == "exact" or not isinstance(self.measured, (int, float)):
            return None
        try:
            shown = float(self.printed.text)
        except ValueError:
            return None
        dtype = np.float32 if self.printed.precision == "float32" else np.float64
        return float(ulp_distance(self.measured, shown, dtype))

    @property
    def difference(self) -> float | None:
        if self.ulps is None:
            return None
        return float(self.measured) - float(self.printed.text)

    @property
    def verdict(self) -> Verdict:
        declared = self._declared_verdict()
        if declared in _KERNEL_EXCUSABLE and self.kernels is not None and self.kernels[1] == self.reproduces:
            return "reproduces under these kernels" if self.reproduces else "differs under these kernels"
        return declared

    def _declared_verdict(self) -> Verdict:
        p = self.printed
        if p.not_comparable:
            return "not comparable"
        if p.impossible:
            return "NOW MATCHES" if self.reproduces else "impossible"
        if p.known_difference:
            return "now reproduces" if self.reproduces else "known difference"
        return "reproduces" if self.reproduces else "DIFFERS"

    @property
    def ok(self) -> bool:
        return self.verdict in OK

    def distance(self) -> str:
        """How far the measured value is from the printed one, for people."""
        difference = self.difference
        if self.reproduces or self.ulps is None or difference is None:
            return ""
        relative = abs(difference / float(self.printed.text)) if float(self.printed.text) else math.inf
        digit = "in the last printed digit, " if self._last_digit() else ""
        return f"{digit}{self.ulps:.0f} ULP ({self.printed.precision}), {relative:.2g} relative"

    def _last_digit(self) -> bool:
        mantissa = self.printed.text.lower().partition("e")[0]
        decimals = len(mantissa.partition(".")[2])
        unit = 10.0 ** -decimals * (10.0 ** int(self.printed.text.lower().partition("e")[2] or 0))
        # Every digit but the last agrees: the two are less than ten units of the last digit apart.
        return self.difference is not None and abs(self.difference) < 10 * unit

    def describe(self) -> str:
        p = self.printed
        head = (f"{self.experiment} on {self.device}, {p.where}: {p.source.cite} prints "
                f"{p.text}, measured {short(self.measured)}")
        verdict = self.verdict
        if verdict == "reproduces":
            return head
        if verdict == "reproduces under these kernels":
            assert self.kernels is not None
            return (f"{head}; reproduces under kernel class {self.kernels[0]} (as its golden does), not "
                    f"under the goldens' base class: {p.known_difference or p.impossible}")
        if verdict == "differs under these kernels":
            assert self.kernels is not None
            return (f"{head}, differs {self.distance()} under kernel class {self.kernels[0]} (as its golden "
                    "does); it reproduces under the goldens' base class")
        if verdict == "now reproduces":
            return f"{head}; it was declared a known difference and now reproduces: remove the declaration"
        if verdict == "NOW MATCHES":
            return f"{head}; it was declared impossible ({p.impossible}) and now matches: see why"
        distance = self.distance()
        head = f"{head}, differs{' ' + distance if distance else ''}"
        reason = p.known_difference or p.impossible or p.not_comparable
        return f"{head}; {verdict}: {reason}" if reason else head


@dataclass(frozen=True)
class ClaimCheck:
    experiment: str
    device: str
    claim: Claim
    holds: bool
    # Under a covered kernel class other than the base: (the class, whether the claim holds in
    # that class's golden). A claim may fail there only as its golden does.
    kernels: tuple[str, bool] | None = None

    @property
    def ok(self) -> bool:
        return self.holds or (self.kernels is not None and not self.kernels[1])

    def describe(self) -> str:
        source = f"{self.claim.source.cite} " if self.claim.source is not None else ""
        where = f"{self.experiment} on {self.device}: {source}claims {self.claim.text!r}"
        if self.holds:
            return where
        if self.ok:
            assert self.kernels is not None
            return (f"{where}: it does not hold under kernel class {self.kernels[0]}, as that class's golden "
                    "does not; it holds under the goldens' base class")
        return f"{where}: DOES NOT HOLD"


# Under a covered class other than the base: that class's golden; on a CPU whose kernels no class is
# (the envelope's verdicts): every covered class's, a number's verdict being one some class has.
Kernels = KernelGolden | Sequence[KernelGolden] | None


def _as_some_class(kernels: Kernels, answer: Callable[[Record], bool], here: bool) -> tuple[str, bool] | None:
    """(the class, its answer): the first class whose golden answers as this run does, else the first."""
    found = [] if kernels is None else [kernels] if isinstance(kernels, KernelGolden) else list(kernels)
    answers = [(k.kernel_class, answer(k.record)) for k in found]
    return next((a for a in answers if a[1] == here), answers[0] if answers else None)


def check_printed(experiment: Experiment, printed: Printed, record: Record, kernels: Kernels = None) -> PrintedCheck:
    """A printed number against a run; under a kernel class other than the base, also against
    that class's golden (on an uncovered class: against every covered class's)."""
    run = PrintedCheck(experiment.name, record.device, printed, printed.locate(record))
    expected = _as_some_class(
        kernels, lambda r: PrintedCheck(experiment.name, "golden", printed, printed.locate(r)).reproduces,
        run.reproduces)
    return dataclasses.replace(run, kernels=expected)


def check_claim(experiment: Experiment, claim: Claim, record: Record,
                others: Mapping[str, Record] | None = None, kernels: Kernels = None) -> ClaimCheck:
    """A claim against a run; under a kernel class other than the base, also against that class's
    golden, or every covered class's (a claim that compares runs is asked of the runs alone)."""
    needed = [(others or {})[name] for name in claim.needs]
    holds = bool(claim.holds(record, *needed))
    expected = None if claim.needs else _as_some_class(kernels, lambda r: bool(claim.holds(r)), holds)
    return ClaimCheck(experiment.name, record.device, claim, holds, expected)


def printed_checks(experiment: Experiment, record: Record, kernels: Kernels = None) -> list[PrintedCheck]:
    return [check_printed(experiment, p, record, kernels) for p in experiment.printed]


def claim_checks(experiment: Experiment, record: Record, others: Mapping[str, Record] | None = None,
                 kernels: Kernels = None) -> list[ClaimCheck]:
    """The claims whose records are all at hand (a claim needing a run not made is left out)."""
    return [check_claim(experiment, c, record, others, kernels) for c in experiment.claims
            if all(n in (others or {}) for n in c.needs)]
