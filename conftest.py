"""Options and fixtures of the harness live in one plugin; this file loads it, pytest's own
pytester for the tests that run pytest inside pytest, and hypothesis's profiles."""

from hypothesis import HealthCheck, settings

from harness import kernels
from harness.store import golden

# Before TensorFlow starts (the plugin below imports it): a CPU whose own kernel class the goldens
# do not cover runs the nearest covered class it can (HARNESS_KERNELS=own: its own), here and in
# every worker, which inherits the environment (docs/devices.md).
kernels.run_covered(golden.covered_classes(golden.ROOT, "cpu"))

pytest_plugins = ["harness.pytest_plugin", "pytester"]

# The profiles of tests/test_properties.py live here: hypothesis loads `--hypothesis-profile`
# when pytest configures, before any test module is imported. "default" bounds the default
# `tox` (the property suite within 30 s); `tox -e fuzz` loads "fuzz".
_SETTINGS = {"deadline": None,
             "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("default", max_examples=10, **_SETTINGS)
settings.register_profile("fuzz", max_examples=3400, **_SETTINGS)  # 3 properties: over 10,000 inputs
settings.load_profile("default")
