"""The grid: every (task, arm, seed) run, on a local process pool or a Ray cluster.

- One process per run, one torch thread each. Complete runs are not started; partial runs
  resume from their checkpoint.
- A run is trained only while its directory's lock (`run.lock`, an OS file lock released
  when the process dies) is held, so two `suite run` on one runs dir never train the same
  run twice: the second reports it as "busy" and goes on.
- A run that raises is recorded as failed with its traceback; the grid goes on.
- Ray: each group of runs trained together (grid mode, `--stack`) is a task (1 CPU,
  retried on worker loss). The driver sends the runs' partial records with it and writes
  the records the task returns, so workers need no shared filesystem. A task trains with
  the same `execute_group` as the local backend.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from algorithms.threads import one_thread, pin_one_thread
from algorithms.toggles import ablation_specs

from .errors import SuiteError
from .presets import preset as get_preset
from .runner import (
    DEFAULT_SEEDS,
    DEFAULT_STACK,
    DEFAULT_STEPS,
    FINAL_STATUSES,
    RunSpec,
    check_config,
    check_runs_dir,
    execute_group,
    failure_record,
    parse_positive_int,
    plan,
    split_arm_specs,
    stack_units,
)
from .store import CHECKPOINT, RESULT, RunRecord, atomic_write_bytes, atomic_write_json
from .tasks import PAPER_TASKS

LOCK = "run.lock"
BACKENDS = ("local", "ray")


def resolve_grid(algos=None, tasks=None, seeds=None, steps=None, preset: str | None = None,
                 ablate: str | list[str] | None = None) -> list[RunSpec]:
    """The runs of a grid; a preset fills what is not given. `ablate` (toggle names) expands
    every arm into the 2^k combinations of those toggles on and off."""
    base = get_preset(preset) if preset else {}
    algos = algos if algos is not None else base.get("algos", "ppo_clip")
    if ablate:
        names = [n.strip() for n in (ablate.split(",") if isinstance(ablate, str) else ablate) if n.strip()]
        specs = split_arm_specs(algos) if isinstance(algos, str) else list(algos)
        algos = [expanded for spec in specs for expanded in ablation_specs(spec, names)]
    return plan(algos,
                tasks if tasks is not None else base.get("tasks", PAPER_TASKS),
                seeds if seeds is not None else base.get("seeds", DEFAULT_SEEDS),
                steps if steps is not None else base.get("steps", DEFAULT_STEPS))


def run(algos=None, tasks=None, seeds=None, steps=None, runs_dir: str | Path = "runs",
        workers: int | str | None = None, backend: str = "local", ray_address: str | None = None,
        preset: str | None = None, ablate: str | list[str] | None = None, wandb: bool = False,
        wandb_project: str = "pgsuite",
        wandb_entity: str | None = None, checkpoint_every: int = 10, display: str = "auto",
        stack: int | str = DEFAULT_STACK):
    """Run a grid; returns a pandas DataFrame, one row per run, with a `trained` column.
    The same as `python -m suite run`. `display`: "auto" (live table on a terminal, lines
    otherwise), "lines", or "none". `stack`: up to this many runs of one task and algorithm
    train together in one process or Ray task (grid mode, stacked networks); 1 = each
    run alone. Records are the same either way."""
    import pandas as pd

    specs = resolve_grid(algos, tasks, seeds, steps, preset, ablate)
    runs_dir = check_runs_dir(runs_dir)
    workers = parse_positive_int("workers", workers if workers is not None else os.cpu_count() or 1)
    stack = parse_positive_int("stack", stack)
    if backend not in BACKENDS:
        raise SuiteError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    logger = None
    if wandb:
        from .wandb_log import WandbLogger

        logger = WandbLogger(wandb_project, wandb_entity, preset, runs_dir)

    for spec in specs:  # before anything is written
        check_config(RunRecord(runs_dir / spec.key), spec)
    results: dict[str, dict[str, Any]] = {}
    todo = []
    for spec in specs:
        record = RunRecord(runs_dir / spec.key)
        done = _final_result(record)
        if done is not None:
            results[spec.key] = {**done, "trained": False}
        else:
            todo.append(spec)
    units = stack_units(todo, stack)
    view = GridDisplay(specs, todo, display)

    def finished(spec: RunSpec, result: dict[str, Any]) -> None:
        results[spec.key] = result
        if logger is not None and result.get("status") in ("complete", "diverged", "failed"):
            logger.log_run(spec, runs_dir / spec.key)
        view.finish(spec, result)

    try:
        if backend == "ray":
            _run_ray(units, runs_dir, checkpoint_every, ray_address, view, finished)
        elif workers == 1 or len(units) <= 1:
            with one_thread():
                for unit in units:
                    for spec in unit:
                        view.start(spec)
                    for spec, result in zip(unit, run_group_locked(unit, str(runs_dir), checkpoint_every,
                                                                   on_row=view.row), strict=True):
                        finished(spec, result)
        else:
            _run_pool(units, runs_dir, checkpoint_every, workers, view, finished)
    finally:
        view.close()
    frame = pd.DataFrame([{k: v for k, v in results[s.key].items() if k != "traceback"} for s in specs])
    return frame


def _final_result(record: RunRecord) -> dict[str, Any] | None:
    try:
        result = record.result()
    except SuiteError:
        return None  # a corrupt result is redone
    return result if result is not None and result.get("status") in FINAL_STATUSES else None


def run_group_locked(specs: list[RunSpec], runs_dir: str, checkpoint_every: int, on_row=None
                     ) -> list[dict[str, Any]]:
    """Train runs together (runner.execute_group) while holding each one's lock. A run locked
    by another process is left to it; an exception becomes a failed record for every run
    of the group that had not finished."""
    results: dict[str, dict[str, Any]] = {}
    locks, todo = [], []
    try:
        for spec in specs:
            path = Path(runs_dir) / spec.key
            path.mkdir(parents=True, exist_ok=True)
            lock = FileLock(path / LOCK)
            try:
                lock.acquire(timeout=0)
            except Timeout:
                results[spec.key] = _note(spec, "busy", "being trained by another suite process")
                continue
            locks.append(lock)
            done = _final_result(RunRecord(path))  # finished by another process meanwhile?
            if done is not None:
                results[spec.key] = {**done, "trained": False}
            else:
                todo.append(spec)
        if todo:
            try:
                for spec, result in zip(todo, execute_group(todo, runs_dir, checkpoint_every, on_row=on_row),
                                        strict=True):
                    results[spec.key] = {**result, "trained": True}
            except Exception as err:  # the grid goes on; the failure is recorded with its traceback
                trace = traceback.format_exc()
                for spec in todo:
                    if _final_result(RunRecord(Path(runs_dir) / spec.key)) is None:
                        failure = failure_record(spec, err, trace)
                        atomic_write_json(Path(runs_dir) / spec.key / RESULT, failure)
                        results[spec.key] = {**failure, "trained": True}
                    else:
                        results[spec.key] = {**RunRecord(Path(runs_dir) / spec.key).result(), "trained": True}
    finally:
        for lock in locks:
            lock.release()
    return [results[spec.key] for spec in specs]


def _note(spec: RunSpec, status: str, error: str) -> dict[str, Any]:
    """A result that is not a record: a run busy elsewhere, or a worker that died."""
    return {"status": status, "task": spec.task, "arm": spec.arm.name, "arm_label": spec.arm.label,
            "config_hash": spec.run_hash, "seed": spec.seed, "error": error, "trained": False}


# -- local process pool --------------------------------------------------------------------
_QUEUE = None


def _worker_init(queue, parent_pid: int) -> None:
    """One torch thread; report rows on `queue`; exit if the parent process dies (so a
    killed grid leaves no orphan still training)."""
    global _QUEUE
    pin_one_thread()
    _QUEUE = queue

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _pool_task(specs: list[RunSpec], runs_dir: str, checkpoint_every: int) -> list[dict[str, Any]]:
    for spec in specs:
        _QUEUE.put(("start", spec.key, None))

    def on_row(key, row):
        _QUEUE.put(("row", key, {"global_step": row["global_step"], "steps_per_second": row["steps_per_second"]}))

    return run_group_locked(specs, runs_dir, checkpoint_every, on_row=on_row)


def _run_pool(units, runs_dir, checkpoint_every, workers, view, finished) -> None:
    context = get_context("spawn")
    queue = context.Queue()
    by_key = {spec.key: spec for unit in units for spec in unit}
    with ProcessPoolExecutor(min(workers, len(units)), mp_context=context, initializer=_worker_init,
                             initargs=(queue, os.getpid())) as pool:
        pending = {pool.submit(_pool_task, unit, str(runs_dir), checkpoint_every): unit for unit in units}
        while pending:
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            _drain(queue, by_key, view)
            for future in done:
                unit = pending.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool as err:  # the worker process itself died (OOM-killed, say)
                    results = [_note(spec, "failed", f"worker process lost: {err}") for spec in unit]
                except Exception as err:  # raised outside the runs' own guard
                    results = [_note(spec, "failed", f"{type(err).__name__}: {err}") for spec in unit]
                for spec, result in zip(unit, results, strict=True):
                    finished(spec, result)
        _drain(queue, by_key, view)


def _drain(queue, by_key, view) -> None:
    while True:
        try:
            kind, key, payload = queue.get_nowait()
        except Exception:  # queue.Empty, or a queue closed under us
            return
        if kind == "start":
            view.start(by_key[key])
        else:
            view.row(key, payload)


# -- Ray ---------------------------------------------------------------------------------
def _ray_task(specs: list[RunSpec], files: dict[str, dict[str, bytes]], checkpoint_every: int):
    """Train a group of runs together (grid mode, runner.execute_group) in a private directory
    seeded with the driver's records; return each run's result and record files, for the
    driver to write. A group that raises gives every run a failed record."""
    pin_one_thread()
    with tempfile.TemporaryDirectory() as scratch:
        paths = [Path(scratch) / spec.key for spec in specs]
        for spec, path in zip(specs, paths, strict=True):
            path.mkdir(parents=True)
            for name, data in files[spec.key].items():
                (path / name).write_bytes(data)
        try:
            results = execute_group(specs, scratch, checkpoint_every)
        except Exception as err:
            results = [failure_record(spec, err, traceback.format_exc()) for spec in specs]
            for path, result in zip(paths, results, strict=True):
                atomic_write_json(path / RESULT, result)
        return [(result, _read_files(path)) for result, path in zip(results, paths, strict=True)]


def _read_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
            and p.name != LOCK}


def _write_files(path: Path, files: dict[str, bytes]) -> None:
    """Records first, then the checkpoint, the result last: a driver killed in between
    leaves a run that resumes, never a result without its records. A compressed CSV
    replaces the plain one the driver may still hold from an earlier, partial attempt."""
    order = sorted(files, key=lambda n: (n == RESULT, n == CHECKPOINT))
    for name in order:
        atomic_write_bytes(path / name, files[name])
        if name.endswith(".csv.gz"):
            (path / name.removesuffix(".gz")).unlink(missing_ok=True)
    if RESULT not in files:
        (path / RESULT).unlink(missing_ok=True)


def _run_ray(units, runs_dir, checkpoint_every, ray_address, view, finished) -> None:
    """One Ray task (1 CPU) per group of `stack_units`: grid mode on a cluster."""
    try:
        import ray
    except ImportError:
        raise SuiteError("the ray backend needs ray: pip install -e '.[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=ray_address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    task = ray.remote(num_cpus=1, max_retries=3)(_ray_task)
    refs, locks = {}, {}
    try:
        for unit in units:
            group = []
            for spec in unit:
                path = runs_dir / spec.key
                path.mkdir(parents=True, exist_ok=True)
                lock = FileLock(path / LOCK)
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    finished(spec, _note(spec, "busy", "being trained by another suite process"))
                    continue
                done = _final_result(RunRecord(path))
                if done is not None:
                    lock.release()
                    finished(spec, {**done, "trained": False})
                    continue
                locks[spec.key] = lock
                group.append(spec)
            if group:
                files = {spec.key: _read_files(runs_dir / spec.key) for spec in group}
                refs[task.remote(group, files, checkpoint_every)] = group
                for spec in group:
                    view.start(spec)
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            for ref in ready:
                group = refs.pop(ref)
                try:
                    outputs = ray.get(ref)
                except Exception as err:  # the task failed beyond its retries
                    trace = traceback.format_exc()
                    outputs = [(failure_record(spec, err, trace), None) for spec in group]
                for spec, (result, files) in zip(group, outputs, strict=True):
                    if files is None:
                        atomic_write_json(runs_dir / spec.key / RESULT, result)
                    else:
                        _write_files(runs_dir / spec.key, files)
                    locks.pop(spec.key).release()
                    finished(spec, {**result, "trained": True})
    finally:
        for lock in locks.values():
            lock.release()
        if started_here:
            ray.shutdown()


# -- display -------------------------------------------------------------------------------
class GridDisplay:
    """Runs done / total, aggregate env steps/s, ETA and the runs in flight: a live table on
    a terminal (rich), a line per finished run otherwise."""

    def __init__(self, specs: list[RunSpec], todo: list[RunSpec], mode: str = "auto"):
        self.total = len(specs)
        self.done = len(specs) - len(todo)
        self.failed = 0
        self.remaining_steps = {spec.key: spec.steps for spec in todo}
        self.flight: dict[str, dict[str, float]] = {}
        self.started = time.time()
        if mode == "auto":
            mode = "live" if sys.stdout.isatty() else "lines"
        self.mode = mode
        self.live = None
        if mode == "live":
            from rich.live import Live

            self.live = Live(self._render(), refresh_per_second=2, transient=False)
            self.live.start()
        if mode != "none":
            self._print(f"{self.total} runs: {self.done} already done, {len(todo)} to train")

    def _print(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text)
        elif self.mode == "lines":
            print(text, flush=True)

    def start(self, spec: RunSpec) -> None:
        self.flight[spec.key] = {"step": 0, "sps": 0.0, "steps": spec.steps}
        self._refresh()

    def row(self, key: str, row: dict[str, float]) -> None:
        if key in self.flight:
            self.flight[key].update(step=row["global_step"], sps=row["steps_per_second"])
            self.remaining_steps[key] = self.flight[key]["steps"] - row["global_step"]
            self._refresh()

    def finish(self, spec: RunSpec, result: dict[str, Any]) -> None:
        self.flight.pop(spec.key, None)
        self.remaining_steps.pop(spec.key, None)
        self.done += 1
        status = result.get("status")
        self.failed += status == "failed"
        score = result.get("score")
        shown = f"score {score:.1f}" if isinstance(score, float) else result.get("error", "")
        self._print(f"[{self.done}/{self.total}] {spec.key}: {status} {shown}")
        self._refresh()

    def summary(self) -> str:
        rate = sum(f["sps"] for f in self.flight.values())
        left = sum(self.remaining_steps.values())
        eta = f"{left / rate / 60:.1f} min" if rate > 0 else "?"
        return (f"runs {self.done}/{self.total} done, {self.failed} failed, {len(self.flight)} in flight | "
                f"{rate:,.0f} env steps/s | ETA {eta} | elapsed {(time.time() - self.started) / 60:.1f} min")

    def _render(self):
        from rich.table import Table

        table = Table(title=self.summary(), title_justify="left")
        for column in ("run in flight", "step", "steps/s"):
            table.add_column(column)
        for key, f in sorted(self.flight.items()):
            table.add_row(key, f"{int(f['step']):,}/{int(f['steps']):,}", f"{f['sps']:,.0f}")
        return table

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        if self.mode != "none":
            print(self.summary(), flush=True)
