"""Every execution mode of the training loops against the eager golden of its device.

A mode either reproduces the eager trajectory bit for bit, or it is a finding:
declared next to the experiment (``known_mode_differences``, with what was measured)
and reported here as a strict xfail that gives the first differing checkpoint and the
ULP distance. An undeclared difference fails; a declared one that goes away fails too.
"""

from __future__ import annotations

import pytest

from harness import golden
from harness.check import agreement, verify
from harness.training import REFERENCE_MODE


def test_mode_reproduces_the_eager_golden(trainer, device, mode, record_of, record_property):
    if mode == REFERENCE_MODE:
        pytest.skip("eager is the reference: tests/test_goldens.py checks it against its golden")
    record = record_of(trainer, device, mode)
    exact = agreement(golden.ROOT, trainer, record)
    known = trainer.training.known_mode_differences.get(mode)
    record_property("bit_identical", exact.status == "identical")
    if exact.status == "identical":
        assert not known, (f"{trainer.name} in mode {mode} on {device.name} is now bit-identical "
                           f"to eager: remove its known difference ({known})")
        return
    within = verify(golden.ROOT, trainer, record).status
    message = (f"mode {mode}: {exact.explain()}\n  against the experiment's tolerance "
               f"({trainer.tolerance.ulps} ULP): {within}")
    if known:
        pytest.xfail(f"{message}\n  known: {known}")
    pytest.fail(message, pytrace=False)
