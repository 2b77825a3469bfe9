"""Runs many experiments over every core: one process per worker, each with its own TensorFlow.

TensorFlow runs one op at a time in these small programs, so a second core is idle
unless a second process uses it. Workers start with ``spawn`` (a TensorFlow process
must not fork) and set up their devices as the parent did (the CPU split, the thread
pools) before TensorFlow starts. The longest runs go first, so that the last one to
finish is short. Each finished run is reported on stderr as it lands.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from harness.record import Record


@dataclass(frozen=True)
class Job:
    experiment: str
    device: str
    mode: str = "eager"
    epochs: int | None = None


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


def _start(setup: WorkerSetup) -> None:
    setup.apply()


def _run(job: Job) -> tuple[Record, float]:
    from harness.execution.devices import Device
    from harness.execution.run import run
    from harness.experiments import catalog

    start = time.perf_counter()
    record = run(catalog.get(job.experiment), Device(job.device), job.epochs, job.mode)
    return record, time.perf_counter() - start


# A job this long (in steps of its loop) is worth a process of its own.
LONG = 1000.0


def cost(job: Job) -> float:
    """A rough order of a job's length: steps of its loop (one-shot programs cost nothing)."""
    from harness.experiments import catalog

    training = catalog.get(job.experiment).training
    return 0.0 if training is None else float(job.epochs or training.epochs) * (
        1.0 if job.mode == "eager" else 0.1)


def run_all(jobs: Sequence[Job], workers: int, setup: WorkerSetup,
            progress: Callable[[str], None] | None = None) -> list[Record]:
    """The records of ``jobs``, in their order; ``workers`` 1 runs them in this process."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    order = sorted(range(len(jobs)), key=lambda i: -cost(jobs[i]))
    records: list[Record | None] = [None] * len(jobs)

    def done(i: int, record: Record, seconds: float) -> None:
        records[i] = record
        job = jobs[i]
        say(f"  {job.experiment} on {job.device} ({job.mode}): done in {seconds:.1f} s")

    # Starting a worker costs a TensorFlow of its own (seconds): only when at least two long
    # jobs can run side by side is it worth it.
    if workers <= 1 or sum(cost(job) >= LONG for job in jobs) < 2:
        setup.apply()
        for i in order:
            say(f"  {jobs[i].experiment} on {jobs[i].device} ({jobs[i].mode}): running")
            done(i, *_run(jobs[i]))
        return [r for r in records if r is not None]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context,
                             initializer=_start, initargs=(setup,)) as pool:
        futures: dict[Future[tuple[Record, float]], int] = {pool.submit(_run, jobs[i]): i for i in order}
        for future in as_completed(futures):
            done(futures[future], *future.result())
    return [r for r in records if r is not None]
