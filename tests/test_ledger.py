"""Every number the note and the course print, and every claim they make, against this
project's runs. A number declared not to match is a strict expected failure that reports
how far it is; the day it matches, the test fails and the declaration goes."""

from __future__ import annotations

import pytest

from harness.experiments import catalog
from harness.judge.ledger import check_claim, check_printed
from harness.judge.verdict import kernel_golden
from harness.pytest_plugin import golden_root, needs_whole_run


def test_printed_number(printed, device, record_of, request):
    experiment, number = printed
    needs_whole_run(request.config, experiment)
    kernels = kernel_golden(golden_root(request.config), experiment, device.kind)
    result = check_printed(experiment, number, record_of(experiment, device), kernels)
    if result.verdict in ("known difference", "impossible"):
        pytest.xfail(result.describe())
    assert result.ok, result.describe()


def test_claim(claim, device, record_of, request):
    experiment, statement = claim
    needs_whole_run(request.config, experiment)
    others = {name: record_of(catalog.get(name), device) for name in statement.needs}
    kernels = kernel_golden(golden_root(request.config), experiment, device.kind)
    result = check_claim(experiment, statement, record_of(experiment, device), others, kernels)
    if result.ok and not result.holds:
        pytest.xfail(result.describe())
    assert result.ok, result.describe()
