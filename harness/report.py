"""Human-readable summaries: the check table, the ledger, the environment drift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.check import Result
from harness.ledger import short

# Fields of a manifest that say when, not what: a difference there is no drift.
_NOT_DRIFT = {"date"}


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def result_cell(result: Result) -> str:
    if result.error is not None:
        return f"ERROR: {result.error.path}: {result.error.problem}"
    comparison = result.comparison
    assert comparison is not None
    if comparison.status == "identical":
        return "identical"
    if comparison.status == "within":
        tol = max(c.tolerance for c in comparison.columns)
        return f"within tolerance (max {comparison.max_ulp:.0f} ULP <= {tol})"
    c = comparison.first_failure
    if c is not None:
        return (f"FAIL: {c.column} from epoch {c.first_beyond} "
                f"({c.first_beyond_ulp:.0f} ULP > {c.tolerance})")
    return f"FAIL: {comparison.problems[0]}"


def result_json(result: Result) -> dict[str, Any]:
    """One result as data, for reports built from several runs (matrix, sensitivity)."""
    comparison = result.comparison
    bad = comparison.first_failure if comparison else None
    first = {"column": bad.column, "epoch": bad.first_beyond, "ulp": bad.first_beyond_ulp} if bad else None
    return {
        "experiment": result.record.experiment,
        "device": result.record.device,
        "mode": result.record.mode,
        "status": comparison.status if comparison else "error",
        "cell": result_cell(result),
        "max_ulp": comparison.max_ulp if comparison else None,
        "first_beyond": first,
        "problems": comparison.problems if comparison else [str(result.error)],
        "printed_reproduced": sum(p.reproduces for p in result.printed),
        "printed": len(result.printed),
        "claims_hold": all(c.holds for c in result.claims),
    }


def check_summary(results: Sequence[Result]) -> str:
    rows = [(r.record.experiment, r.record.device, r.record.mode, result_cell(r)) for r in results]
    counts = {s: 0 for s in ("identical", "within", "fail")}
    for r in results:
        counts[r.comparison.status if r.comparison else "fail"] += 1
    lines = [
        table(("experiment", "device", "mode", "against its (eager) golden"), rows),
        f"{len(results)} runs: {counts['identical']} identical, {counts['within']} within "
        f"tolerance, {counts['fail']} failed",
    ]
    details = [str(r.error) for r in results if r.error]
    return "\n".join(lines + ([""] + details if details else []))


def ledger_summary(results: Sequence[Result]) -> str:
    printed = [p for r in results for p in r.printed]
    rows = [(p.experiment, p.device, p.printed.where, p.printed.text, short(p.measured),
             p.verdict + ("" if p.reproduces else f" ({p.difference:+.3g})"))
            for p in printed]
    claims = [c for r in results for c in r.claims]
    claim_rows = [(c.experiment, c.device, c.claim.text, "holds" if c.holds else "DOES NOT HOLD")
                  for c in claims]
    known = sorted({p.printed.known_difference for p in printed if p.printed.known_difference})
    reproduced = sum(p.reproduces for p in printed)
    return "\n".join([
        table(("experiment", "device", "printed in the notes", "printed", "measured", "verdict"), rows),
        f"{len(printed)} printed numbers: {reproduced} reproduce, {len(printed) - reproduced} do not",
        *[f"known difference: {k}" for k in known],
        "",
        table(("experiment", "device", "claim of the notes", "verdict"), claim_rows),
    ])


def environment_drift(manifest: dict[str, Any] | None, live: dict[str, Any]) -> list[str]:
    """Lines naming each field where the live environment differs from the goldens'."""
    if manifest is None:
        return ["no manifest: the environment that wrote these goldens is unknown"]
    return [
        f"{key}: goldens {manifest.get(key)!r}, here {live.get(key)!r}"
        for key in sorted(set(manifest) | set(live))
        if key not in _NOT_DRIFT and manifest.get(key) != live.get(key)
    ]
