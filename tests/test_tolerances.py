"""Every band is derived by one rule from measurements that the suite measures again.

A band (``Tolerance.rounding``) carries what moved the run by float32 rounding only: the NumPy
oracle's other evaluation order, XLA's kernels, Grappler's rewrites. Its width is
``band_for`` of the largest, never typed in. The XLA and Grappler figures are the experiment's
own mode declarations (which the mode tests hold bit for bit); the oracle's figure is held by
tests/test_oracle.py on the goldens' kernel class; ``python -m harness.report.bands`` measures
all of them again, with what a learning rate 0.1% off does.
"""

from __future__ import annotations

import dataclasses

import pytest

from harness.experiments import catalog
from harness.experiments.declare import ROUNDING, band_for
from harness.report.bands import CAUSES

BANDED = [e for e in catalog.training_experiments() if e.tolerance.ulps > 0]


def test_some_experiments_have_bands_and_some_have_none():
    assert BANDED and len(BANDED) < len(catalog.training_experiments())


@pytest.mark.parametrize("banded", BANDED, ids=[e.name for e in BANDED])
def test_a_band_is_the_rule_applied_to_its_measurements(banded):
    experiment = banded
    t = experiment.tolerance
    measured, state = dict(t.measured), dict(t.state_measured)
    assert set(measured) == set(ROUNDING), f"{experiment.name}: a band measures every source: {list(ROUNDING)}"
    assert not state or set(state) <= set(ROUNDING)
    # A band typed by hand beside its measurements (wider or narrower than the rule) is refused.
    for wrong in (t.ulps * 2 or 1, t.ulps // 2 if t.ulps > 1 else t.ulps + 3):
        with pytest.raises(ValueError, match="not the rule's"):
            dataclasses.replace(t, ulps=wrong)
    if state:
        with pytest.raises(ValueError, match="not the rule's"):
            dataclasses.replace(t, state_ulps=(t.state_ulps or 0) * 2 + 1)


@pytest.mark.parametrize("banded", BANDED, ids=[e.name for e in BANDED])
def test_a_bands_mode_figures_are_its_mode_declarations(banded):
    """XLA's and Grappler's figures, values and state together, are the largest distance the
    experiment declares for those modes (0 where they are identical to eager)."""
    experiment = banded
    t = experiment.tolerance
    for cause, pair in CAUSES.items():
        declared = [d.max_ulp for m in pair if (d := experiment.mode_difference(m)) is not None]
        figures = [dict(t.measured)[cause], dict(t.state_measured).get(cause, 0)]
        assert max(figures) == max(declared, default=0), (experiment.name, cause, figures, declared)


def test_the_rule_doubles_and_rounds_up_to_a_power_of_two():
    assert [band_for(x) for x in (0, 1, 20, 64, 65, 116, 265)] == [0, 2, 64, 128, 256, 256, 1024]
