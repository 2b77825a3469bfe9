"""Every experiment, on every selected device, reproduces its golden."""

from __future__ import annotations


def test_reproduces_golden(experiment, device, record_of, golden_check):
    golden_check(record_of(experiment, device))
