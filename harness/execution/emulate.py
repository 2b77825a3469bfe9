"""Runs experiments under another CPU kernel class than this process's.

oneDNN and XLA read their instruction-set caps once, when they start: a class other than
this process's runs in a child process (``python -m harness run --json``) whose environment
is this one's with the class's variables (``kernels.environment``) in place of the user's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence

from harness import kernels
from harness.errors import HarnessError
from harness.record import Record


def run_under(key: str, names: Sequence[str], mode: str | None, jobs: int, device: str = "CPU:0",
              progress: Callable[[str], None] | None = None, whole: bool = False) -> list[Record]:
    """The records of ``names`` (in that order) run in ``mode`` (None: as written) under kernel
    class ``key`` (a long Keras program: its declared prefix, unless ``whole``)."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    say(f"kernel class {key}, {mode or 'as written'}: {len(names)} experiments")
    command = [sys.executable, "-m", "harness", "run", "--json", "--device", device,
               *(("--mode", mode) if mode else ()), *(("--whole",) if whole else ()), "--jobs", str(jobs), *names]
    env = kernels.environment(key, os.environ)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise HarnessError(f"the runs under kernel class {key} ({mode}) stopped with exit {done.returncode}:\n{tail}")
    return [Record.from_json(r) for r in json.loads(done.stdout)]


def run_every_mode(key: str, names: Sequence[str], trainers: Sequence[str], jobs: int, device: str = "CPU:0",
                   whole: bool = False) -> tuple[dict[str, Record], dict[str, dict[str, Record]]]:
    """Under kernel class ``key``: ``names`` as written, and the GradientTape loops among them
    (``trainers``) in every other mode (mode -> experiment -> record)."""
    from harness import modes

    as_written = {r.experiment: r for r in run_under(key, names, None, jobs, device, whole=whole)}
    others = {mode: {r.experiment: r for r in run_under(key, trainers, mode, jobs, device)}
              for mode in modes.MODES if mode != modes.REFERENCE and trainers}
    return as_written, others
