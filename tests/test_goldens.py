"""Every experiment, on every selected device, reproduces its golden (in the default tier, a
program whose training is another's bit for bit is held by that one's: ``repeated_training``)."""

from __future__ import annotations

from harness.pytest_plugin import repeated_training


def test_reproduces_golden(experiment, device, record_of, golden_check, request):
    repeated_training(request.config, experiment)
    golden_check(record_of(experiment, device))
