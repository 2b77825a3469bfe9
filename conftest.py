"""Options and fixtures of the harness live in one plugin; this file loads it, pytest's own
pytester for the tests that run pytest inside pytest, and hypothesis's profiles."""

import argparse
import os
import shlex
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

from harness import kernels
from harness.store import golden


def _golden_dir(argv: list[str]) -> Path:
    """The goldens this session is held to (``--golden-dir``), read before pytest parses its options."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--golden-dir", type=Path, default=golden.ROOT)
    return parser.parse_known_args(argv)[0].golden_dir


# Before TensorFlow starts (the plugin below imports it): a CPU whose own kernel class the goldens
# do not cover runs the nearest covered class it can (HARNESS_KERNELS=own: its own), here and in
# every worker, which inherits the environment (docs/devices.md).
kernels.run_covered(golden.covered_classes(
    _golden_dir([*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *sys.argv[1:]]), "cpu"))

pytest_plugins = ["harness.pytest_plugin", "pytester"]

# The profiles of tests/test_properties.py live here: hypothesis loads `--hypothesis-profile`
# when pytest configures, before any test module is imported. "default" bounds the default
# `tox` (the property suite within 30 s); `tox -e fuzz` loads "fuzz".
_SETTINGS = {"deadline": None,
             "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("default", max_examples=10, **_SETTINGS)
settings.register_profile("fuzz", max_examples=3400, **_SETTINGS)  # 3 properties: over 10,000 inputs
settings.load_profile("default")
