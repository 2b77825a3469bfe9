"""Every training program in every execution mode against the golden of its reference mode
(eager for a GradientTape loop, the compiled fit for a Keras program) on its device.

A mode either reproduces the reference run bit for bit, or it is a finding: declared next to
the experiment (``known_mode_differences``: the first differing epoch and the largest
distance, measured) and reported here as an expected failure that says where and how
far. An undeclared difference fails; a declared one that changes, or goes away, fails too.
A Keras program runs its declared prefix here (``--whole``: whole), held to what the
declaration says of the epochs it reaches.
"""

from __future__ import annotations

import pytest

from harness.judge.verdict import coverage, describe_mode, judge_mode
from harness.pytest_plugin import golden_root
from harness.store import golden


def _measured_elsewhere(root, experiment, device, mode) -> str | None:
    """Why a Keras program's declared mode is not judged under this process's kernel class: the
    class computes the program's reference run otherwise (it has files of its own) and holds no
    mode signature of its own, so where the mode departs from it was never measured. The Keras
    modes are measured under the base class only (a class's whole runs in four modes take about 54
    minutes); the GradientTape loops' under each. A mode declared identical is judged everywhere."""
    covered = coverage(root, device.kind)
    if (experiment.fit is None or experiment.mode_difference(mode) is None or covered is None or not covered.known
            or covered.kernel_class == covered.base):
        return None
    own = root / device.kind / golden.KERNELS / covered.kernel_class / f"{experiment.name}.yml"
    if not own.exists() or mode in golden.read_mode_signatures(root, device.kind, covered.kernel_class,
                                                                   experiment.name):
        return None
    return (f"{experiment.name} in mode {mode}: its declaration was measured under the base kernel class "
            f"{covered.base}; kernel class {covered.kernel_class} computes the program otherwise and has no "
            "measurement of this mode (python -m harness check --mode MODE there shows how it departs)")


def test_mode_reproduces_the_reference_golden(moded, device, record_of, request, record_property):
    experiment, mode = moded
    root = golden_root(request.config)
    if (why := _measured_elsewhere(root, experiment, device, mode)) is not None:
        pytest.skip(why)
    result = judge_mode(root, experiment, record_of(experiment, device, mode))
    assert result.comparison is not None, str(result.error)
    record_property("mode_verdict", result.mode_verdict)
    words = f"{experiment.name} in mode {mode} on {device.name}: {describe_mode(result)}"
    if result.mode_verdict in ("declared", "envelope"):
        why = result.declared.why if result.declared else result.envelope
        pytest.xfail(f"{words}\n  {why}\n{result.comparison.explain()}")
    assert result.mode_verdict == "identical", f"{words}\n{result.comparison.explain()}"
