"""The grid: every (task, arm, seed) run of a plan, trained on a backend (suite/grid/backends.py),
with a live display (suite/grid/display.py), resuming what is on disk (suite/records/state.py).

Interrupts: the first Ctrl-C (or SIGTERM) stops scheduling and lets the runs in flight stop
at their next progress row with a checkpoint; `run` then raises `Interrupted` (the CLI prints
one line on how to resume and exits 130). A second Ctrl-C stops at once (KeyboardInterrupt);
the records on disk are still whole, and the runs resume from their last checkpoint.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from suite.errors import Interrupted, SuiteError
from suite.grid.backends import BACKENDS, run_in_process, run_pool, run_ray
from suite.grid.display import GridDisplay
from suite.grid.plan import DEFAULT_GROUP_SIZE, check_runs_dir, make_groups, parse_positive_int, resolve_grid
from suite.grid.run import Run
from suite.grid.tracking import TensorboardLogger, WandbLogger
from suite.records.result import RECORDED, RunResult, Status


@dataclass(frozen=True)
class CheckedGrid:
    """A grid's inputs, every one checked (once, here): the runs and how to train them."""
    specs: list
    runs_dir: Path
    workers: int
    group_size: int
    checkpoint_every: int


DISPLAYS = ("auto", "lines", "none")


def checked_grid(algos=None, tasks=None, seeds=None, steps=None, preset=None, ablate=None,
                 runs_dir: str | Path = "runs", workers: int | str | None = None, backend: str = "local",
                 group_size: int | str = DEFAULT_GROUP_SIZE, checkpoint_every: int | str = 10,
                 display: str = "auto") -> CheckedGrid:
    """Every input of `run` checked, with SuiteError's one line for a bad one (the CLI's dry
    run asks this alone)."""
    specs = resolve_grid(algos, tasks, seeds, steps, preset, ablate)
    runs_dir = check_runs_dir(runs_dir)
    workers = parse_positive_int("workers", workers if workers is not None else os.cpu_count() or 1)
    group_size = parse_positive_int("group-size", group_size)
    checkpoint_every = parse_positive_int("checkpoint-every", checkpoint_every)
    if backend not in BACKENDS:
        raise SuiteError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    if display not in DISPLAYS:
        raise SuiteError(f"unknown display {display!r}; valid: {', '.join(DISPLAYS)}")
    return CheckedGrid(specs, runs_dir, workers, group_size, checkpoint_every)


def run(algos=None, tasks=None, seeds=None, steps=None, runs_dir: str | Path = "runs",
        workers: int | str | None = None, backend: str = "local", ray_address: str | None = None,
        preset: str | None = None, ablate: str | list[str] | None = None, wandb: bool = False,
        wandb_project: str = "pgsuite",
        wandb_entity: str | None = None, checkpoint_every: int = 10, display: str = "auto",
        group_size: int | str = DEFAULT_GROUP_SIZE, tensorboard: str | Path | None = None):
    """Run a grid; returns a pandas DataFrame, one row per run, with a `trained` column.
    The same as `python -m suite run`. `display`: "auto" (live table on a terminal, lines
    otherwise), "lines", or "none". `group_size`: up to this many runs of one task and algorithm
    train together in one process or Ray task (grid mode, stacked networks); 1 = each
    run alone. Records are the same either way. `wandb` / `tensorboard` (a log directory):
    log every progress row as it is written (suite/grid/tracking.py). Raises `Interrupted` (with the DataFrame
    so far as `.frame`) after a Ctrl-C or SIGTERM has stopped the grid at a checkpoint."""

    grid = checked_grid(algos, tasks, seeds, steps, preset, ablate, runs_dir, workers, backend, group_size,
                        checkpoint_every, display)
    specs, runs_dir, workers = grid.specs, grid.runs_dir, grid.workers
    group_size, checkpoint_every = grid.group_size, grid.checkpoint_every
    trackers = []
    if wandb:
        trackers.append(WandbLogger(wandb_project, wandb_entity, preset, runs_dir))
    if tensorboard is not None:
        trackers.append(TensorboardLogger(tensorboard, runs_dir))

    results: dict[str, RunResult] = {}
    todo = []
    for spec in specs:
        run = Run(spec, runs_dir)
        if run.state().final:  # planning's read; the run's lock is taken, and its state read again, to train it
            run.record.finish_final()
            results[spec.key] = run.state().result.with_trained(False)
        else:
            todo.append(spec)
    groups = make_groups(todo, group_size)
    view = GridDisplay(specs, todo, display)
    by_key = {spec.key: spec for spec in todo}
    for tracker in trackers:
        view.row_hooks.append(lambda key, row, tracker=tracker: tracker.row(by_key[key], row))
    os_errors: list[str] = []

    def finished(spec, result: RunResult) -> None:
        results[spec.key] = result
        if result.os_error:
            os_errors.append(result.error)
            stop.set()
        if result.status in RECORDED:
            for tracker in trackers:
                tracker.finish(spec, Run(spec, runs_dir).path, result.to_record())
        view.finish(spec, result)

    with _interrupts(view) as stop:
        try:
            if backend == "ray":
                run_ray(groups, runs_dir, checkpoint_every, ray_address, view, finished, stop)
            elif workers == 1 or len(groups) <= 1:
                run_in_process(groups, runs_dir, checkpoint_every, view, finished, stop)
            else:
                run_pool(groups, runs_dir, checkpoint_every, workers, view, finished, stop)
        finally:
            view.close()
            for tracker in trackers:
                tracker.close()
    rows = [results[s.key].row() if s.key in results else
            {"status": Status.NOT_STARTED.value, "task": s.task, "arm": s.arm.name, "arm_label": s.arm.label,
             "seed": s.seed} for s in specs]
    frame = pd.DataFrame(rows)
    if os_errors:
        raise SuiteError(f"{os_errors[0]} (the grid stopped; records written so far are whole)")
    if stop.is_set():
        done = sum(1 for result in results.values() if result.final)
        raise Interrupted(f"interrupted ({stop.reason}): {done} of {len(specs)} runs done, the runs in flight "
                          "stopped at a checkpoint; run the same command again to resume", frame)
    return frame


class _Stop(threading.Event):
    reason = ""


@contextmanager
def _interrupts(view):
    """A stop flag set by the first SIGINT or SIGTERM (the second SIGINT raises
    KeyboardInterrupt: stop at once). Handlers are installed only in the main thread."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, _frame):
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        name = signal.Signals(signum).name
        stop.reason = name
        stop.set()
        try:
            view.say(f"{name}: stopping; runs in flight save a checkpoint at their next progress row "
                     "(Ctrl-C again to stop at once)")
        except RuntimeError:  # the signal came in the middle of a print
            pass

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
