"""Execution backends: where groups of runs train. Each takes the groups (`plan.make_groups`),
a `finished(spec, result)` callback, the display and a stop flag (set by the first Ctrl-C or
SIGTERM), and trains every group with `run_group_locked`.

- in-process: the groups one after another in this process (one worker).
- local pool: one spawned worker process per group, up to `workers` at once. A worker that
  dies (the OOM killer, `kill -9`) costs only its own group: its runs get a failed record
  and the group is retried from its checkpoints (up to RETRIES times) while the others train
  on. On a stop, no group starts; those in flight stop at their next progress row with a
  checkpoint.
- Ray: one Ray task (1 CPU, retried on worker loss) per group. The driver sends the runs'
  partial records with it and writes the records the task returns, so workers need no
  shared filesystem. On a stop the tasks are cancelled; their runs resume from the driver's
  records.

A run is trained only while its directory's lock (`run.lock`, an OS file lock released when
the process dies) is held, so two `suite run` on one runs dir never train a run twice.
"""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
import time
import traceback
from collections import deque
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from queue import Empty
from typing import Any

from filelock import FileLock, Timeout

from algorithms.threads import pin_one_thread
from suite.errors import SuiteError
from suite.grid.plan import RunSpec
from suite.grid.run import Run
from suite.grid.runner import execute_group, record_failure
from suite.records.faults import failpoint
from suite.records.files import make_dirs
from suite.records.result import RunResult, Status
from suite.records.state import RunState

LOCK = "run.lock"
BACKENDS = ("local", "ray")
RETRIES = 2  # a group whose worker process died is trained again this many times
# OS errors that no retry mends: the grid stops and says which path.
FATAL_ERRNOS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR)


def note(spec: RunSpec, status: Status, error: str, os_error: bool = False) -> RunResult:
    """A result that is not a record: a run busy elsewhere, a worker that died, an OS error."""
    return RunResult.note(spec.result_identity, status, error, os_error)


def claim(spec: RunSpec, runs_dir: str | Path) -> tuple[FileLock | None, RunResult | RunState]:
    """Take a run's lock and read its state under it (the read that counts: another process
    may have finished the run since the grid was planned): (lock, state) to train it; (None,
    result) for a run locked by another process ("busy") or final already."""
    run = Run(spec, runs_dir)
    lock = FileLock(make_dirs(run.path) / LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None, note(spec, Status.BUSY, "being trained by another suite process")
    state = run.state(fresh=True)
    if state.final:
        lock.release()
        return None, state.result.with_trained(False)
    return lock, state


def os_error_text(err: OSError) -> str:
    where = err.filename if err.filename is not None else "?"
    return f"{where}: {err.strerror or err}"


def run_group_locked(specs: list[RunSpec], runs_dir: str, checkpoint_every: int, on_row=None,
                     should_stop=None) -> list[RunResult]:
    """Train runs together (runner.execute_group) while holding each one's lock. A run locked
    by another process is left to it; an exception becomes a failed record for every run
    of the group that had not finished; an OS error that no retry mends (a full disk, a
    read-only directory) becomes a note with `os_error` set, for the driver to stop on."""
    results: dict[str, RunResult] = {}
    locks, todo, states = [], [], []
    try:
        for spec in specs:
            lock, found = claim(spec, runs_dir)
            if lock is None:
                results[spec.key] = found
            else:
                locks.append(lock)
                todo.append(spec)
                states.append(found)
        if todo:
            try:
                trained = execute_group(todo, runs_dir, checkpoint_every, on_row=on_row, should_stop=should_stop,
                                        states=states)
                for spec, result in zip(todo, trained, strict=True):
                    results[spec.key] = result.with_trained(True)
            except Exception as err:  # the grid goes on; the failure is recorded with its traceback
                if isinstance(err, OSError) and err.errno in FATAL_ERRNOS:
                    raise
                trace = traceback.format_exc()
                for spec in todo:
                    results[spec.key] = record_failure(Run(spec, runs_dir), err, trace).with_trained(True)
    except OSError as err:
        if err.errno not in FATAL_ERRNOS:
            raise
        for spec in specs:
            results.setdefault(spec.key, note(spec, Status.FAILED, os_error_text(err), os_error=True))
        for spec in todo:  # a run stopped by the error is not done
            results[spec.key] = note(spec, Status.FAILED, os_error_text(err), os_error=True)
    finally:
        for lock in locks:
            lock.release()
    return [results[spec.key] for spec in specs]


# -- in this process -------------------------------------------------------------------------
def run_in_process(groups, runs_dir, checkpoint_every, view, finished, stop) -> None:
    # one thread: execute_group pins it for every caller
    for group in groups:
        if stop.is_set():
            return
        for spec in group:
            view.start(spec)
        results = run_group_locked(group, str(runs_dir), checkpoint_every, on_row=view.row,
                                   should_stop=stop.is_set)
        for spec, result in zip(group, results, strict=True):
            finished(spec, result)


# -- local process pool ---------------------------------------------------------------------
def _worker(tag: int, group: list[RunSpec], runs_dir: str, checkpoint_every: int, queue, stop_event,
            parent_pid: int) -> None:
    """One group in a spawned process: one torch thread; Ctrl-C and SIGTERM are the driver's
    to handle (it sets `stop_event`); exits if the driver dies, so a killed grid leaves no
    orphan."""
    failpoint("worker:start")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the whole group
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked from before the spawn (_start)
    pin_one_thread()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    for spec in group:
        queue.put(("start", tag, spec.key))

    def on_row(key, row):
        queue.put(("row", tag, (key, dict(row))))

    try:
        results = run_group_locked(group, runs_dir, checkpoint_every, on_row=on_row, should_stop=stop_event.is_set)
    except BaseException as err:  # raised outside the runs' own guard
        results = [note(spec, Status.FAILED, f"{type(err).__name__}: {err}") for spec in group]
    queue.put(("done", tag, results))


def _start(process) -> None:
    """Start a worker with SIGINT blocked, so that a Ctrl-C while it imports (before `_worker`
    ignores SIGINT) stays pending and is then dropped, instead of a traceback; the driver's
    own SIGINT, if one came meanwhile, is delivered when its mask is restored."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def run_pool(groups, runs_dir, checkpoint_every, workers, view, finished, stop) -> None:
    context = get_context("spawn")
    queue, stop_event = context.Queue(), context.Event()
    by_key = {spec.key: spec for group in groups for spec in group}
    waiting = deque(enumerate(groups))
    attempts: dict[int, int] = {}
    running: dict[int, Any] = {}  # tag -> process
    reported: dict[int, list] = {}

    def drain(timeout: float) -> None:
        try:
            kind, tag, payload = queue.get(timeout=timeout)
            while True:
                if kind == "start":
                    view.start(by_key[payload])
                elif kind == "row":
                    view.row(*payload)
                else:
                    reported[tag] = payload
                kind, tag, payload = queue.get_nowait()
        except Empty:
            return

    try:
        while waiting or running:
            if stop.is_set():
                stop_event.set()
                waiting.clear()
            while waiting and len(running) < workers:
                tag, group = waiting.popleft()
                process = context.Process(target=_worker, daemon=True, args=(
                    tag, group, str(runs_dir), checkpoint_every, queue, stop_event, os.getpid()))
                _start(process)
                running[tag] = process
            drain(0.5)
            for tag, process in list(running.items()):
                if tag not in reported and process.is_alive():
                    continue
                process.join()
                drain(0)  # a worker's last message is in the pipe once it has exited
                del running[tag]
                group = groups[tag]
                if tag in reported:
                    for spec, result in zip(group, reported.pop(tag), strict=True):
                        finished(spec, result)
                    continue
                attempts[tag] = attempts.get(tag, 0) + 1
                lost = _lost(process.exitcode)
                retry = attempts[tag] <= RETRIES and not stop.is_set()
                for spec in group:
                    result = record_failure(Run(spec, runs_dir), RuntimeError(lost), "")
                    if retry:
                        view.start(spec)
                    else:
                        finished(spec, result.with_trained(True))
                if retry:
                    view.say(f"{lost}; its {len(group)} run(s) retried from their checkpoints "
                             f"(attempt {attempts[tag] + 1} of {RETRIES + 1})")
                    waiting.appendleft((tag, group))
    finally:
        stop_event.set()
        for process in running.values():  # a second Ctrl-C: stop at once (records stay whole)
            process.kill()
        for process in running.values():
            process.join(5)


def _lost(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit status {exitcode}"
    return f"worker process lost ({how})"


# -- Ray ---------------------------------------------------------------------------------------
def _ray_task(specs: list[RunSpec], files: dict[str, dict[str, bytes]], checkpoint_every: int,
              states: list[RunState]):
    """Train a group of runs together (grid mode, runner.execute_group) in a private directory
    seeded with the driver's records; return each run's result and record files, for the
    driver to write. A group that raises gives every run a failed record."""
    pin_one_thread()
    with tempfile.TemporaryDirectory() as scratch:
        runs = [Run(spec, scratch) for spec in specs]
        for run in runs:
            make_dirs(run.path)
            run.write_files(files[run.key])
        try:  # the states the driver read under the runs' locks: the same files, not read again
            results = execute_group(specs, scratch, checkpoint_every, states=states)
        except Exception as err:
            results = [RunResult.failed(spec.result_identity, err, traceback.format_exc()) for spec in specs]
            for run, result in zip(runs, results, strict=True):
                run.write_result(result)
        return [(result, _read_files(run.path)) for result, run in zip(results, runs, strict=True)]


def _read_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
            and p.name != LOCK}


@contextmanager
def loopback_only_ray():
    """While a local Ray cluster starts: every one of its servers (GCS, raylet, workers, the
    driver, the runtime-env agent) listens on 127.0.0.1 only. Ray binds them to the node's IP
    and, on Linux, resolves 127.0.0.1 to the machine's outward address unless clusters are off
    (ray/_private/services.py get_node_ip_address: ray_constants.ENABLE_RAY_CLUSTER, read
    from RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER); the processes it starts read the variable, this
    one the constant."""
    from ray._private import ray_constants

    before = os.environ.get(_RAY_CLUSTER_VARIABLE), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_RAY_CLUSTER_VARIABLE], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        if before[0] is None:
            os.environ.pop(_RAY_CLUSTER_VARIABLE, None)
        else:
            os.environ[_RAY_CLUSTER_VARIABLE] = before[0]
        ray_constants.ENABLE_RAY_CLUSTER = before[1]


_RAY_CLUSTER_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def start_ray(address: str | None = None) -> None:
    """Join the Ray cluster at `address`, or start a local one listening on loopback only."""
    import ray

    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        return
    with loopback_only_ray():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, _node_ip_address="127.0.0.1")


def run_ray(groups, runs_dir, checkpoint_every, ray_address, view, finished, stop) -> None:
    """One Ray task (1 CPU) per group of `make_groups`: grid mode on a cluster."""
    try:
        import ray
    except ImportError:
        raise SuiteError("the ray backend needs ray: pip install -e '.[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        start_ray(ray_address)
    task = ray.remote(num_cpus=1, max_retries=3)(_ray_task)
    refs, locks = {}, {}
    try:
        for group in groups:
            claimed, states = [], []
            for spec in group:
                lock, found = claim(spec, runs_dir)
                if lock is None:
                    finished(spec, found)
                    continue
                locks[spec.key] = lock
                claimed.append(spec)
                states.append(found)
            if claimed:
                files = {spec.key: _read_files(Run(spec, runs_dir).path) for spec in claimed}
                refs[task.remote(claimed, files, checkpoint_every, states)] = claimed
                for spec in claimed:
                    view.start(spec)
        while refs:
            if stop.is_set():
                for ref in refs:
                    ray.cancel(ref)
                return
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            for ref in ready:
                claimed = refs.pop(ref)
                try:
                    outputs = ray.get(ref)
                except Exception as err:  # the task failed beyond its retries
                    trace = traceback.format_exc()
                    outputs = [(RunResult.failed(spec.result_identity, err, trace), None) for spec in claimed]
                for spec, (result, files) in zip(claimed, outputs, strict=True):
                    if files is None:
                        Run(spec, runs_dir).write_result(result)
                    else:
                        Run(spec, runs_dir).write_files(files)
                    locks.pop(spec.key).release()
                    finished(spec, result.with_trained(True))
    finally:
        for lock in locks.values():
            lock.release()
        if started_here:
            ray.shutdown()
