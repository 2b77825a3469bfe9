"""Options and fixtures of the harness live in one plugin; this file only loads it."""

pytest_plugins = ["harness.pytest_plugin"]
