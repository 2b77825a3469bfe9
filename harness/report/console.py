"""What ``python -m harness check`` prints: the golden table, the ledger, the environment drift.

TensorFlow-free.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.errors import GoldenError
from harness.judge.ledger import PrintedCheck, short
from harness.judge.verdict import Result, describe_mode

# Fields of a manifest that say when, not what, or what the regeneration covered rather than
# where it ran (the kernel classes: said by the coverage line): a difference there is no drift.
_NOT_DRIFT = {"date", "kernel_classes"}


def width(text: str) -> int:
    """Columns a text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def result_cell(result: Result) -> str:
    if result.error is not None:
        if isinstance(result.error, GoldenError):
            return f"ERROR: {result.error.path}: {result.error.problem}"
        if result.skipped:
            return f"skipped: {result.error}"
        return f"STOPPED: {str(result.error).splitlines()[0]}"
    if result.nondeterministic:
        return f"NONDETERMINISTIC: {result.nondeterministic}"
    comparison = result.comparison
    assert comparison is not None
    if result.mode_verdict is not None:
        return describe_mode(result)
    if comparison.status == "identical":
        return "identical"
    if comparison.status == "within" and comparison.portable:
        return (f"within the envelope of the covered kernel classes (max {comparison.max_ulp:.0f} ULP; this CPU "
                "computes no class's bits: a portable verdict)")
    if comparison.status == "within":
        tol = max(c.tolerance for c in comparison.columns)
        return f"within tolerance (max {comparison.max_ulp:.0f} ULP <= {tol})"
    c = comparison.first_failure
    if c is not None:
        return (f"FAIL: {c.label} from epoch {c.first_beyond} "
                f"({c.first_beyond_ulp:.0f} ULP > {c.tolerance})")
    return f"FAIL: {[*comparison.problems, *comparison.scalar_changes][0]}"


def result_json(result: Result) -> dict[str, Any]:
    """One result as data, for reports built from several runs (matrix, sensitivity)."""
    comparison = result.comparison
    bad = comparison.first_failure if comparison else None
    first = {"column": bad.label, "epoch": bad.first_beyond, "ulp": bad.first_beyond_ulp} if bad else None
    return {
        "experiment": result.record.experiment,
        "device": result.record.device,
        "mode": result.record.mode,
        "as_written": result.as_written,
        "status": comparison.status if comparison else "skipped" if result.skipped else "error",
        "ok": result.ok,
        "mode_verdict": result.mode_verdict,
        "cell": result_cell(result),
        "max_ulp": comparison.max_ulp if comparison else None,
        "first_beyond": first,
        "problems": [*comparison.problems, *comparison.scalar_changes] if comparison else [str(result.error)],
        "printed_reproduced": sum(p.reproduces for p in result.printed),
        "printed": len(result.printed),
        "claims_hold": all(c.ok for c in result.claims),
        "nondeterministic": result.nondeterministic,
        "us_per_step": None if result.seconds_per_step is None else result.seconds_per_step * 1e6,
        "seconds": None if result.seconds is None else round(result.seconds, 1),
    }


def check_summary(results: Sequence[Result]) -> str:
    rows = [(r.record.experiment, r.record.device, r.record.mode, result_cell(r)) for r in results]
    counts = Counter(_outcome(r) for r in results)
    lines = [
        table(("experiment", "device", "mode", "against its golden"), rows),
        f"{len(results)} runs: " + ", ".join(f"{n} {what}" for what, n in counts.items()),
    ]
    details = [str(r.error) for r in results if r.error]
    return "\n".join(lines + (["", *details] if details else []))


def _outcome(result: Result) -> str:
    if result.skipped:
        return "skipped"
    if result.comparison is None:
        return "failed"
    if result.nondeterministic:
        return "nondeterministic"
    if result.mode_verdict is not None:
        return result.mode_verdict if result.ok else "failed"
    if result.comparison.portable and result.comparison.status == "within":
        return "within the envelope"
    return {"identical": "identical", "within": "within tolerance"}.get(result.comparison.status, "failed")


def _verdict_cell(p: PrintedCheck) -> str:
    distance = p.distance()
    return p.verdict + (f" ({distance})" if distance else "")


def ledger_summary(results: Sequence[Result], full: bool = False) -> str:
    """Per experiment, how many printed numbers reproduce; then every number that does not
    (every number, with ``full``); then the claims."""
    printed = [p for r in results for p in r.printed]
    per: dict[tuple[str, str], Counter[str]] = {}
    for p in printed:
        per.setdefault((p.experiment, p.device), Counter())[p.verdict] += 1
    verdicts = ["reproduces", "reproduces under these kernels", "known difference", "differs under these kernels",
                "impossible", "not comparable", "DIFFERS", "now reproduces", "NOW MATCHES"]
    shown = [v for v in verdicts if any(c[v] for c in per.values())]
    count_rows = [(e, d, sum(c.values()), *(c[v] or "-" for v in shown)) for (e, d), c in per.items()]
    # The summary lists what a reader acts on; values no run can give again are counted above.
    listed = [p for p in printed if full or p.verdict not in ("reproduces", "not comparable")]
    rows = [(p.experiment, p.device, p.printed.source.cite, p.printed.where, p.printed.text,
             short(p.measured), _verdict_cell(p)) for p in listed]
    claims = [c for r in results for c in r.claims]
    failing = [c for c in claims if not c.ok]
    kernels = [c for c in claims if c.ok and not c.holds]
    reasons = sorted({p.printed.known_difference or p.printed.impossible or p.printed.not_comparable
                      for p in listed if p.verdict != "reproduces"} - {""})
    total: Counter[str] = Counter(p.verdict for p in printed)
    out = [
        table(("experiment", "device", "printed", *shown), count_rows),
        f"{len(printed)} printed numbers: " + ", ".join(f"{total[v]} {v}" for v in shown),
        "",
        table(("experiment", "device", "source", "printed", "as printed", "measured", "verdict"), rows)
        if rows else "every printed number reproduces",
        *[f"why: {reason}" for reason in reasons],
        "",
        f"{len(claims)} claims: {len(claims) - len(failing) - len(kernels)} hold"
        + (f", {len(kernels)} do not under these kernels, as their golden" if kernels else "")
        + (", DOES NOT HOLD:" if failing else ""),
        *[f"  {c.experiment} on {c.device}: {c.claim.text}" for c in failing],
        *[f"  {c.describe()}" for c in kernels],
    ]
    return "\n".join(out)


def environment_drift(manifest: dict[str, Any] | None, live: dict[str, Any]) -> list[str]:
    """Lines naming each field where the live environment differs from the goldens'."""
    if manifest is None:
        return ["no manifest: the environment that wrote these goldens is unknown"]
    return [
        f"{key}: goldens {manifest.get(key)!r}, here {live.get(key)!r}"
        for key in sorted(set(manifest) | set(live))
        if key not in _NOT_DRIFT and manifest.get(key) != live.get(key)
    ]
