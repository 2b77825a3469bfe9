"""Shared by the tests: the command line in a fresh process, as a user calls it."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent


def harness(*args: str, env: dict[str, str] | None = None, timeout: float = 600
            ) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` in a fresh process, from the project root."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Done:
    """``python -m harness ARGS`` in this process (TensorFlow is already loaded here): what a
    user sees, at a fraction of a fresh process's start-up. ``harness`` is the fresh process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
    return Done(code, out.getvalue(), err.getvalue())


def cpus() -> list[str]:
    """The CPU devices this test process sees (CPU:0, and CPU:1 .. under --logical-cpus N): what a
    command run in it (``cli``) runs on, so a test counts from these, never from one it assumes."""
    from harness.execution import devices

    return [d.name for d in devices.visible() if d.kind == "cpu"]


def short(experiment: Any) -> int | None:
    """A cheap run of a training experiment that still reaches two of its printed rows."""
    return experiment.training.short_epochs() if experiment.training is not None else None


# Two epochs: the program's first printed row (epoch 0) and one more step. Enough to see the
# random state a run starts from, and every step of the loop once.
TINY = 2


# A Keras program's tiny run: its first batches (an epoch of MNIST is 1875).
TINY_BATCHES = 8


def tiny(experiment: Any) -> dict[str, int]:
    """The arguments of ``run`` for a tiny run: TINY epochs of a loop, TINY_BATCHES of a fit."""
    return {"epochs": TINY} if experiment.training is not None else {"batches": TINY_BATCHES} if experiment.fit else {}


def nested(pytester: Any, *args: str) -> Any:
    """pytest inside pytest, in a fresh process, with the harness's plugin loaded."""
    return pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "-p", "no:cacheprovider", *args)


def without_data(experiment: Any) -> bool:
    """Whether the experiment's data is not on this machine (CIFAR-10 offline): its data lines (a
    one-shot program: the program) stop with DatasetMissing, and no golden of it can be written here."""
    return _without_data(experiment.name)


@functools.cache
def _without_data(name: str) -> bool:
    from harness.errors import DatasetMissing
    from harness.experiments import catalog

    experiment = catalog.get(name)
    if experiment.training is not None:
        return False  # the GradientTape programs' data ships with the harness
    from harness.execution.devices import Device
    from harness.execution.run import pinned

    try:
        with pinned(Device("CPU:0")):
            experiment.fit.data() if experiment.fit is not None else experiment.fn()
    except DatasetMissing:
        return True
    return False


def golden_copy(tmp_path: Path, **manifest: object) -> Path:
    """A copy of the committed goldens with these manifest fields changed (another CPU, other classes)."""
    import shutil

    import yaml

    from harness.store import golden

    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT, root)
    path = root / "cpu" / golden.MANIFEST
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(manifest)
    path.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    return root
