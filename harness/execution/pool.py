"""Runs many experiments over every core: one process per worker, each with its own TensorFlow.

TensorFlow runs one op at a time in these small programs, so a second core is idle
unless a second process uses it. Workers start with ``spawn`` (a TensorFlow process
must not fork) and set up their devices as the parent did (the CPU split, the thread
pools) before TensorFlow starts. The longest runs go first, so that the last one to
finish is short. Each run is reported on stderr as it starts (in this process) and lands.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import modes
from harness.errors import HarnessError, ProgramError
from harness.record import Record
from harness.span import WHOLE, Span


@dataclass(frozen=True)
class Job:
    experiment: str
    device: str
    # None: as the program is written (harness.modes.reference).
    mode: str | None = None
    # The part of the program it makes (Experiment.span_for): whole, or its first epochs or batches.
    span: Span = WHOLE
    # The golden folder whose initial weights the run must draw before it trains (check).
    golden: str | None = None
    # Run it a second time in the same process, that run's loop called once more and timed
    # (the matrix: run-to-run determinism and speed).
    twice: bool = False


@dataclass(frozen=True)
class Done:
    """What became of a job: its record, or the error that stopped it; for a job run twice,
    the second run and the timed call of its loop."""

    job: Job
    record: Record | None
    error: HarnessError | None = None
    again: Record | None = None
    timed: Record | None = None
    seconds_per_step: float | None = None
    # The job's wall time, its runs and judging-free set-up included (the whole-run report).
    seconds: float | None = None


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker must set before TensorFlow starts, as the parent did."""

    logical_cpus: int | None = None
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None

    def apply(self) -> None:
        from harness.execution import devices, runtime

        runtime.set_threads(self.intra_op_threads, self.inter_op_threads)
        if self.logical_cpus:
            devices.split_cpu(self.logical_cpus)
        runtime.configure()


# How often a worker looks whether its parent is still there.
PARENT_POLL_SECONDS = 0.5


def _start(setup: WorkerSetup, parent: int) -> None:
    _die_with(parent)
    setup.apply()


def _die_with(parent: int) -> None:
    """A worker ends when its parent does, however the parent ended (SIGKILL included, which
    leaves no chance to stop the pool): otherwise it computes on for minutes, slowing whatever
    runs next. A thread watches the parent's pid; the worker is re-parented when it dies."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="harness-parent-watch", daemon=True).start()


def _expected_initial(job: Job) -> dict[str, Any] | None:
    if job.golden is None:
        return None
    from harness.execution.devices import Device
    from harness.judge.verdict import held_to
    from harness.store import golden

    kind = Device(job.device).kind
    try:
        path = golden.paths(Path(job.golden), kind, job.experiment, held_to(Path(job.golden), kind)).scalars
        scalars = golden.read_scalars(path)
    except HarnessError:
        return None  # missing or damaged: the judgement says so, by name
    return {k: v for k, v in scalars.items() if k.endswith("_initial")}


def _work(job: Job) -> tuple[Done, float]:
    from harness.execution.devices import Device
    from harness.execution.run import run, run_and_time
    from harness.experiments import catalog

    start = time.perf_counter()
    experiment, device = catalog.get(job.experiment), Device(job.device)
    expected = _expected_initial(job)
    try:
        record = run(experiment, device, job.span.epochs_asked, job.mode, expected, batches=job.span.batches_asked)
        if not job.twice or not experiment.program.timed:
            done = Done(job, record, again=run(experiment, device, mode=job.mode, batches=job.span.batches_asked)
                        if job.twice else None)
        else:
            again, timing = run_and_time(experiment, device, job.mode, expected)
            done = Done(job, record, again=again, timed=timing.again,
                        seconds_per_step=timing.seconds / timing.steps)
    except HarnessError as exc:
        done = Done(job, None, exc)
    except Exception as exc:
        # The program's own failure (an API another release changed) is its experiment's error;
        # anything else is a bug of the harness, and goes on up with its traceback.
        if not ProgramError.raised_by_program(exc):
            raise
        done = Done(job, None, ProgramError.of(job.experiment, exc))
    return done, time.perf_counter() - start


# A job this long (in steps of its loop) is worth a process of its own.
LONG = 1000.0


def _label(job: Job) -> str:
    """``mse_regression on CPU:0 (eager)``: the mode it runs in, as written or asked for."""
    from harness.experiments import catalog

    return f"{job.experiment} on {job.device} ({job.mode or modes.reference(catalog.get(job.experiment))})"


def cost(job: Job) -> float:
    """A rough order of a job's length: steps of its loop (one-shot programs cost nothing)."""
    from harness.experiments import catalog

    experiment = catalog.get(job.experiment)
    return experiment.program.cost(job.span, job.mode or modes.reference(experiment)) * (2 if job.twice else 1)


def run_all(jobs: Sequence[Job], workers: int, setup: WorkerSetup,
            progress: Callable[[str], None] | None = None, fresh: bool = False) -> list[Done]:
    """What became of ``jobs``, in their order; ``workers`` 1 runs them in this process, unless
    they must run in ``fresh`` processes (never this one, nor a worker that ran them before)."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    order = sorted(range(len(jobs)), key=lambda i: -cost(jobs[i]))
    found: list[Done | None] = [None] * len(jobs)

    def land(i: int, done: Done, seconds: float) -> None:
        found[i] = dataclasses.replace(done, seconds=seconds)
        job = jobs[i]
        outcome = f"done in {seconds:.1f} s" if done.error is None else f"stopped: {done.error}"
        left = found.count(None)
        say(f"  {_label(job)}: {outcome}; "
            + (f"{left} of {len(jobs)} runs left" if left else f"all {len(jobs)} runs done"))

    # Starting a worker costs a TensorFlow of its own (seconds): only when at least two long
    # jobs can run side by side is it worth it.
    if not fresh and (workers <= 1 or sum(cost(job) >= LONG for job in jobs) < 2):
        setup.apply()
        for i in order:
            say(f"  {_label(jobs[i])}: running")
            land(i, *_work(jobs[i]))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                                 initializer=_start, initargs=(setup, os.getpid())) as pool:
            futures: dict[Future[tuple[Done, float]], int] = {pool.submit(_work, jobs[i]): i for i in order}
            for future in as_completed(futures):
                land(futures[future], *future.result())
    return [done for done in found if done is not None]
