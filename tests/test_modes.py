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

from harness.judge.verdict import describe_mode, judge_mode
from harness.pytest_plugin import golden_root, prefix


def test_mode_reproduces_the_reference_golden(moded, device, record_of, request, record_property):
    experiment, mode = moded
    whole = prefix(request.config, experiment) is None
    result = judge_mode(golden_root(request.config), experiment, record_of(experiment, device, mode), whole)
    assert result.comparison is not None, str(result.error)
    record_property("mode_verdict", result.mode_verdict)
    words = f"{experiment.name} in mode {mode} on {device.name}: {describe_mode(result)}"
    if result.mode_verdict == "declared":
        pytest.xfail(f"{words}\n  {result.declared.why}\n{result.comparison.explain()}")
    assert result.mode_verdict == "identical", f"{words}\n{result.comparison.explain()}"
