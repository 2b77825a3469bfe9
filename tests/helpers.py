"""Shared by the tests: the CLI in a subprocess, and runs made cheap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Long enough to pass two of the notes' checkpoints (0 and 500), short enough to be cheap.
SHORT_EPOCHS = 600


def harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` in a fresh process, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=600,
    )


def run_json(*args: str) -> list[dict[str, Any]]:
    done = harness("run", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
