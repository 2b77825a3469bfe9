"""Options and fixtures of the harness live in one plugin; this file only loads it, and
pytest's own pytester for the tests that run pytest inside pytest."""

pytest_plugins = ["harness.pytest_plugin", "pytester"]
