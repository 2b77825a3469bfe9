"""The kernel sweep's report (harness/report/cpukernels.py) from a small document: what a cell
says for identical, within tolerance and beyond it, a mode that is not as declared, the
printed numbers that move, and the chart. The sweep itself runs for half an hour (tox -e
kernels); a report that cannot render its JSON must not wait for it to fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.report import cpukernels


def _row(name: str, status: str, first: int | None, ulp: float, reproduces: bool,
         mode: tuple[Any, Any] | None = None, scalars: list[str] | None = None) -> dict[str, Any]:
    same = mode is not None and mode[0] == mode[1]
    modes = {} if mode is None else {"xla": {"measured": mode[0], "declared": mode[1], "as_declared": same,
                                             "base_declaration": same}}
    return {"experiment": name, "status": status, "first_epoch": first, "max_ulp": ulp, "own_golden": "identical",
            "scalars_changed": scalars or [], "printed": 1, "printed_reproduced": int(reproduces),
            "printed_numbers": [{"where": "the note, 2.4: final w1[0]", "text": "0.5", "reproduces": reproduces}],
            "claims_failing": [], "modes": modes}


def _document() -> dict[str, Any]:
    base = {"kernel_class": "avx512_core", "environment": {}, "seconds": 10.0,
            "results": [_row("mse_regression", "identical", None, 0.0, False, ((0, 20.0), (0, 20.0))),
                        _row("forward_pass", "identical", None, 0.0, True)]}
    old = {"kernel_class": "sse41", "environment": {"ONEDNN_MAX_CPU_ISA": "SSE41"}, "seconds": 12.0,
           "results": [_row("mse_regression", "within", None, 24.0, True, ((0, 2.0), (0, 20.0))),
                       _row("forward_pass", "fail", None, 0.0, False, scalars=["y", "y_pro"])]}
    blas = {"core": "Haswell", "reported": "Haswell", "differ": [], "experiments": 2, "oracle": {"p": "x"},
            "seconds": 3.0}
    return {"machine": "a CPU (2 cores)", "here": "avx512_core", "base": "avx512_core", "seconds": 60.0,
            "classes": [base, old], "openblas": [blas]}


def test_the_report_says_how_each_class_moves_each_experiment(tmp_path: Path):
    document = _document()
    name = cpukernels.chart(document, tmp_path / "cpu-kernels.png")
    text = "\n".join(cpukernels.render(document, name))
    assert (tmp_path / name).stat().st_size > 0
    assert "| `mse_regression` | identical | within (24 ULP) |" in text
    assert "| `forward_pass` | identical | **differs** (scalars y, y_pro) |" in text
    assert "`sse41`: against the base 0 identical, 1 within tolerance, 1 beyond" in text
    assert "| `mse_regression` (xla) | 0/20 | 0/2 **CHANGED** |" in text
    assert "| `mse_regression` | the note, 2.4: final w1[0] | `0.5` | `sse41` |" in text
    assert "| `forward_pass` | the note, 2.4: final w1[0] | `0.5` | `avx512_core` |" in text
    assert "| Haswell (Haswell) | none of 2 | same as the first | 3 |" in text
