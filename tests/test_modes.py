"""Every execution mode of the training loops against the eager golden of its device.

A mode either reproduces the eager run bit for bit, or it is a finding: declared next to
the experiment (``known_mode_differences``: the first differing epoch and the largest
distance, measured) and reported here as an expected failure that says where and how
far. An undeclared difference fails; a declared one that changes, or goes away, fails too.
"""

from __future__ import annotations

import pytest

from harness.judge.verdict import describe_mode, judge_mode
from harness.pytest_plugin import golden_root


def test_mode_reproduces_the_eager_golden(trainer, device, other_mode, record_of, request,
                                          record_property):
    result = judge_mode(golden_root(request.config), trainer, record_of(trainer, device, other_mode))
    assert result.comparison is not None, str(result.error)
    record_property("mode_verdict", result.mode_verdict)
    words = f"{trainer.name} in mode {other_mode} on {device.name}: {describe_mode(result)}"
    if result.mode_verdict == "declared":
        pytest.xfail(f"{words}\n  {result.declared.why}\n{result.comparison.explain()}")
    assert result.mode_verdict == "identical", f"{words}\n{result.comparison.explain()}"
