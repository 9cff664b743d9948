"""Training runs: one group of runs of a task in one process (grid mode; a single run is a
group of one), each resumed only from a checkpoint it can verify, each recorded in its own
directory.

Resume verifies what it continues from: the checkpoint must be this run's (task, config
hash, seed, written in the checkpoint by `RecordLogger`), load into the trainer, and
progress.csv and episodes.csv must reach its step. Anything else and the run starts over,
with one line (on stderr) saying why. A member whose setup fails (a checkpoint that will not
load, an env that will not build) fails alone; its group trains on.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from algorithms import ARMS, ConfigError, Trainer, make_arm, train_group
from algorithms.threads import one_thread
from suite.errors import SuiteError
from suite.grid.plan import RunSpec
from suite.grid.run import Run
from suite.paper import SCORE_EPISODES, paper_score
from suite.records.faults import failpoint
from suite.records.files import (
    PROGRESS,
    RecordLogger,
    RunRecord,
    environment_info,
    make_dirs,
    same_cpu_class,
    version_differences,
)
from suite.records.result import RunResult, Status
from suite.records.state import RunState, split_label

EVAL_EPISODES = 10


class AlgorithmExit(RuntimeError):
    """An algorithm's code called sys.exit: the runs it was training fail, the grid goes on."""


def execute(spec: RunSpec, runs_dir: str | Path, checkpoint_every: int = 10,
            stop_after: int | None = None, on_row=None, should_stop=None) -> RunResult:
    """Train one run to completion (or `stop_after` iterations), resuming from its
    checkpoint; a run whose result is final (complete or diverged) is not trained again.
    `on_row(row)` is called with every progress row (for live displays). A group of one:
    `execute_group`."""
    return execute_group([spec], runs_dir, checkpoint_every, stop_after,
                         on_row=None if on_row is None else lambda _key, row: on_row(row),
                         should_stop=should_stop)[0]


def execute_group(specs: list[RunSpec], runs_dir: str | Path, checkpoint_every: int = 10,
                  stop_after: int | None = None, on_row=None, should_stop=None,
                  states: list[RunState] | None = None, adjust=None) -> list[RunResult]:
    """Train several runs in one process, in lockstep (grid mode, `algorithms.train_group`):
    runs of one task whose arms share an update structure take one stacked update. Each run
    keeps its own records, checkpoint and resume point, exactly as if trained alone.
    `on_row(key, row)` gets every member's progress rows; `should_stop()`, asked between
    iterations, makes every member stop at its next progress row with a checkpoint there
    (result status "partial"). `states`: each run's state as its caller read it under the run's
    lock (backends.claim), so that it is read once; without them each is read here.
    `adjust(trainer)` is applied to every member that starts fresh (verify's perturbed reruns).

    Always one torch and BLAS thread, as the records were made (config.json's torch_threads):
    a rerun with more (verify's, in a process that did not pin) rounds some sums differently."""
    with one_thread():
        return _execute_group(specs, runs_dir, checkpoint_every, stop_after, on_row, should_stop, states, adjust)


def _execute_group(specs: list[RunSpec], runs_dir: str | Path, checkpoint_every: int, stop_after: int | None, on_row,
                   should_stop, states: list[RunState] | None, adjust) -> list[RunResult]:
    results: list[RunResult | None] = [None] * len(specs)
    members = []  # (index, run, trainer, logger)
    for i, spec in enumerate(specs):
        run = Run(spec, runs_dir, states[i] if states is not None else None)
        failpoint("run:start")
        run.record.remove_stale_temp_files()
        state = run.state()
        if state.final:
            run.record.compress()  # a final run recorded before compression existed, or killed before it
            results[i] = state.result
            continue
        try:
            trainer, logger = _prepare(run, on_row, adjust)
        except (Exception, SystemExit) as err:  # this member fails alone (sys.exit in its code too)
            results[i] = record_failure(run, err, traceback.format_exc())
            continue
        members.append((i, run, trainer, logger))
    # a diverging run's overflows are recorded as its divergence (trainer.check_finite), not
    # printed as numpy RuntimeWarnings with their source lines
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            statuses = train_group([m[2] for m in members], [m[3] for m in members], checkpoint_every, stop_after,
                                   should_stop=should_stop)
        except SystemExit as err:  # an algorithm's own sys.exit fails its group, never the grid
            raise AlgorithmExit(f"the algorithm's code called sys.exit({err.code!r}) while training") from None
    for (i, run, trainer, logger), status in zip(members, statuses, strict=True):
        results[i] = _finish(run, trainer, logger, status)
    return results  # type: ignore[return-value]


def _prepare(run: Run, on_row, adjust=None) -> tuple[Trainer, RecordLogger]:
    """The member's trainer, resumed where that can be verified, else fresh (with the
    reason on stderr), and its logger."""
    spec, record, state = run.spec, run.record, run.state()
    if state.state == Status.DAMAGED:
        _say(f"{spec.key}: redoing a damaged run ({state.reason})")
    trainer = _trainer(spec)
    resumed, why = _resume(spec, record, trainer) if state.state in (Status.PARTIAL, Status.FAILED) else (None, "")
    if resumed is None:
        if why:
            _say(f"{spec.key}: starting over: {why}")
            trainer = _trainer(spec)  # a failed load may have half-filled the first one
        if adjust is not None:
            adjust(trainer)
        record.clear()
        run.write_config()
        resumed = ([], [])
    else:
        run.clear_result()  # a failed attempt's result: the run is partial again
    row_hook = None if on_row is None else lambda row, key=spec.key: on_row(key, row)
    return trainer, RecordLogger(record, *resumed, on_row=row_hook, identity=spec.identity)


def _trainer(spec: RunSpec) -> Trainer:
    return Trainer(spec.task, spec.arm.algorithm, spec.arm.config, spec.seed, spec.steps)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _resume(spec: RunSpec, record: RunRecord, trainer: Trainer) -> tuple[tuple[list, list] | None, str]:
    """The records up to the checkpoint, with the checkpoint loaded into `trainer`; or None
    and why not (no checkpoint: an empty reason)."""
    try:
        state = record.load_checkpoint()
    except SuiteError as err:
        return None, str(err)
    if state is None:
        return None, ""
    mixed = _other_machine(record)
    if mixed:
        return None, mixed
    if not isinstance(state, dict):
        return None, f"checkpoint.pt holds a {type(state).__name__}, not a checkpoint"
    identity = state.get("identity")
    if not isinstance(identity, dict):
        return None, "checkpoint.pt records no identity (task, config hash, seed)"
    expected = spec.identity
    if {k: identity.get(k) for k in expected} != expected:
        theirs = {k: identity.get(k) for k in expected}
        return None, f"checkpoint.pt is another run's ({theirs}, this run is {expected})"
    try:
        trainer.load_state_dict(state)
    except Exception as err:  # any checkpoint that does not fit this trainer
        return None, f"checkpoint.pt does not load ({type(err).__name__}: {err})"
    if identity.get("global_step") != trainer.global_step:
        return None, (f"checkpoint.pt's identity says step {identity.get('global_step')}, "
                      f"its state {trainer.global_step}")
    try:
        progress, episodes = record.records_until(trainer.global_step)
    except FileNotFoundError as err:
        return None, f"{Path(err.filename).name} is missing (the checkpoint is at step {trainer.global_step})"
    except SuiteError as err:
        return None, str(err)
    reached = progress[-1]["global_step"] if progress else 0
    if reached != trainer.global_step:
        return None, f"{PROGRESS} reaches step {reached}, the checkpoint is at step {trainer.global_step}"
    if len(episodes) != identity.get("episodes"):
        return None, (f"episodes.csv holds {len(episodes)} episodes up to step {trainer.global_step}, "
                      f"the checkpoint counted {identity.get('episodes')}")
    return (progress, episodes), ""


def _other_machine(record: RunRecord) -> str:
    """Why the checkpoint must not be resumed here, or "": a run is trained on one CPU class
    with one numeric stack from start to end, or its record would name a machine that cannot
    reproduce it (CPU classes and versions move the last bits of its floats)."""
    recorded, here = (record.config() or {}).get("environment") or {}, environment_info()
    if not same_cpu_class(recorded, here):
        return (f"its checkpoint was made on {recorded.get('cpu')!r} [{recorded.get('cpu_flags')}], this machine is "
                f"{here.get('cpu')!r} [{here.get('cpu_flags')}]: a run is trained on one CPU class")
    versions = version_differences(recorded, here)
    return f"its checkpoint was made with other versions ({versions})" if versions else ""


def _finish(run: Run, trainer: Trainer, logger: RecordLogger, status: str) -> RunResult:
    """The member's result, written (the trainer's "stopped" is a partial run: nothing written)."""
    spec = run.spec
    if status == "stopped":
        return RunResult.stopped(trainer.iteration, trainer.global_step)
    returns = [e["return"] for e in logger.episodes]
    measured = {"steps": trainer.global_step, "iterations": trainer.iteration, "episodes": len(returns),
                "score": paper_score(returns),
                "score_episodes": min(len(returns), SCORE_EPISODES),
                "steps_per_second": trainer.global_step / max(trainer.wall_seconds, 1e-9),
                "wall_seconds": trainer.wall_seconds}
    if status == Status.DIVERGED:
        logger.flush()
        result = RunResult.diverged(spec.result_identity, measured, trainer.divergence)
    else:
        eval_returns = trainer.evaluate(EVAL_EPISODES)
        result = RunResult.complete(spec.result_identity, measured, float(np.mean(eval_returns)), len(eval_returns))
    run.write_result(result)
    run.record.compress()
    failpoint("run:end")
    return result


def record_failure(run: Run, err: BaseException, trace: str) -> RunResult:
    """Write a failed result for a run that is not final (its checkpoint and records stay:
    the retry resumes from them). Its state is read afresh: it may have finished since."""
    state = run.state(fresh=True)
    if state.final:
        return state.result
    failure = RunResult.failed(run.spec.result_identity, err, trace)
    run.write_result(failure)
    return failure


def modules_named(config: dict[str, Any]) -> list[str]:
    """The modules rebuilding a record's run would import: a task written `module:Env`, a
    plug-in arm's module (or an arm label that is not a built-in arm's)."""

    found = []
    task = str(config.get("task", ""))
    if ":" in task:
        found.append(task.split(":", 1)[0])
    # exactly what make_arm(arm_label) would import: the label's module (module:NAME), or an
    # entry-point name; config.json's `plugin` field is not what gets imported
    head, _ = split_label(str(config.get("arm_label", "")))
    if head and head not in ARMS:
        found.append(head.split(":", 1)[0])
    return found


def evaluate(run_path: str | Path, episodes: int = EVAL_EPISODES, stochastic: bool = False,
             video: str | Path | None = None, size: tuple[int, int] = (480, 480),
             allow_import: tuple[str, ...] = ()) -> list[float]:
    """Returns of `episodes` episodes of a saved run, from its checkpoint: the saved networks
    and the saved observation statistics (frozen), on the run's separately seeded evaluation
    env, taking the mean action (or, `stochastic`, a sampled one). `video`: also render them
    offscreen (MuJoCo through EGL unless MUJOCO_GL says otherwise) and write an MP4 there
    (needs the `video` extra: imageio with its ffmpeg plugin). A record never makes code run:
    a module its task or arm names is imported only if it is in `allow_import`."""
    record = RunRecord(Path(run_path))
    config = record.config()
    if config is None:
        raise SuiteError(f"{run_path}: needs config.json and checkpoint.pt to evaluate")
    refused = [m for m in modules_named(config) if m not in allow_import]
    if refused:
        raise SuiteError(f"{run_path}: its record names module {refused[0]!r}, which is not imported because a "
                         f"record says so; to run it, name it: --allow-import {refused[0]}")
    state = record.load_checkpoint()
    if state is None:
        raise SuiteError(f"{run_path}: needs config.json and checkpoint.pt to evaluate")
    try:
        arm = make_arm(config["arm_label"], config["task"])
    except ConfigError as err:
        raise SuiteError(str(err)) from None
    spec = RunSpec(config["task"], arm, int(config["seed"]), int(config["steps"]))
    if video is not None:
        _check_gl()
    trainer = _trainer(spec)
    try:
        trainer.load_state_dict(state)
    except Exception as err:
        raise SuiteError(f"{record.file('checkpoint.pt')}: does not load ({type(err).__name__}: {err})") from None
    if video is None:
        return trainer.evaluate(episodes, stochastic)
    return _evaluate_on_video(trainer, spec.task, episodes, stochastic, Path(video), size)


def _check_gl() -> None:
    """MuJoCo picks its GL platform (MUJOCO_GL: egl by default here, osmesa, glfw) when it is
    first imported; one it cannot load fails that import: say so in one line."""

    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import mujoco  # noqa: F401
    except Exception as err:
        raise SuiteError(f"no usable GL platform to render with: MUJOCO_GL={os.environ['MUJOCO_GL']} "
                         f"({type(err).__name__}: {err}); on a machine without a screen use egl or osmesa, "
                         "with its libraries installed") from None


def _evaluate_on_video(trainer: Trainer, task: str, episodes: int, stochastic: bool, path: Path,
                       size: tuple[int, int]) -> list[float]:

    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401  (the MP4 writer imageio uses)
    except ImportError:
        raise SuiteError("--video needs imageio and its ffmpeg plugin: pip install -e '.[video]'") from None
    frames: list = []
    env = None
    try:
        try:
            env = gym.make(task, disable_env_checker=True, render_mode="rgb_array", width=size[0], height=size[1])
        except TypeError:  # a task without width/height options
            env = gym.make(task, disable_env_checker=True, render_mode="rgb_array")
        returns = trainer.evaluate(episodes, stochastic, env=env, on_step=lambda e: frames.append(e.render()))
    except Exception as err:  # no GL platform (EGL, OSMesa) to render with, typically
        raise SuiteError(f"cannot render {task} offscreen with MUJOCO_GL={os.environ['MUJOCO_GL']} "
                         f"({type(err).__name__}: {err}); MUJOCO_GL=egl or osmesa need those libraries") from None
    finally:
        if env is not None:
            env.close()
    fps = int(env.metadata.get("render_fps") or 30)
    make_dirs(path.parent)
    temp = path.with_name(f".{path.name}.tmp.mp4")
    try:
        with imageio.get_writer(temp, fps=fps, codec="libx264", macro_block_size=1, quality=7) as writer:
            for frame in frames:
                writer.append_data(frame)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return returns
