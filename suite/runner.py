"""Runs of the grid: one (task, arm, seed, step budget) each, resumable, recorded in runs/."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from algorithms import Arm, ConfigError, Trainer, make_arm, train_group
from algorithms.config import config_dict, config_hash

from .errors import SuiteError
from .faults import failpoint
from .store import CONFIG, RESULT, RecordLogger, RunRecord, atomic_write_json, environment_info
from .tasks import PAPER_TASKS, resolve_tasks

DEFAULT_SEEDS = 3  # PPO paper: 3 seeds per task
DEFAULT_STEPS = 1_000_000  # PPO paper: 1M timesteps
EVAL_EPISODES = 10
SCORE_EPISODES = 100  # PPO paper: a run's score is the mean of its last 100 training episodes
# Results that are final: a deterministic run that diverged would diverge again. A failed
# run (an exception, possibly transient) is retried.
FINAL_STATUSES = ("complete", "diverged")
# Grid mode's default group: up to 3 runs (the paper's 3 seeds of a setting) per process.
DEFAULT_STACK = 3


def run_hash(arm_hash: str, steps: int) -> str:
    """A run directory's hash: the arm's config hash with the step budget (lr annealing
    depends on it)."""
    return config_hash({"arm": arm_hash, "steps": steps})


@dataclass(frozen=True)
class RunSpec:
    task: str
    arm: Arm
    seed: int
    steps: int

    @property
    def run_hash(self) -> str:
        return run_hash(self.arm.config_hash, self.steps)

    @property
    def key(self) -> str:
        return f"{self.task}/{self.arm.name}-{self.run_hash}/seed{self.seed}"

    def config_record(self) -> dict[str, Any]:
        return {"task": self.task, "arm": self.arm.name, "arm_label": self.arm.label,
                "optimizations": self.arm.optimizations,
                "algorithm": self.arm.algorithm.__name__, "overrides": dict(self.arm.overrides),
                "config": config_dict(self.arm.config), "config_hash": self.run_hash,
                "seed": self.seed, "steps": self.steps}


def parse_steps(value: str | int | float) -> int:
    """A positive whole number of steps; accepts 1000000, 1e6 and 1_000_000."""
    try:
        number = float(str(value).replace("_", ""))
    except ValueError:
        raise SuiteError(f"steps {value!r} is not a number") from None
    if not math.isfinite(number) or not number.is_integer() or number <= 0:
        raise SuiteError(f"steps {value!r} must be a positive whole number")
    return int(number)


def parse_positive_int(what: str, value: str | int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise SuiteError(f"{what} {value!r} is not a whole number") from None
    if number < 1:
        raise SuiteError(f"{what} {value!r} must be >= 1")
    return number


def split_arm_specs(text: str) -> list[str]:
    """`ppo_clip:clip_eps=0.1,lr=1e-4,trpo` -> ["ppo_clip:clip_eps=0.1:lr=1e-4", "trpo"]:
    a comma-separated item with '=' and no ':' continues the previous arm's overrides."""
    specs: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise SuiteError(f"empty arm in {text!r}")
        if "=" in item and ":" not in item and specs:
            specs[-1] += ":" + item
        else:
            specs.append(item)
    return specs


def plan(algos: Iterable[str] | str, tasks: Iterable[str] = PAPER_TASKS, seeds: int = DEFAULT_SEEDS,
         steps: int | str = DEFAULT_STEPS) -> list[RunSpec]:
    """Validate every input and list the runs, without touching the disk."""
    specs = split_arm_specs(algos) if isinstance(algos, str) else list(algos)
    if not specs:
        raise SuiteError("no arms given")
    try:
        arms = [make_arm(spec) for spec in specs]
    except ConfigError as err:
        raise SuiteError(str(err)) from None
    task_list = resolve_tasks(list(tasks))
    seeds = parse_positive_int("seeds", seeds)
    steps = parse_steps(steps)
    for arm in arms:
        if steps < arm.config.batch_size:
            raise SuiteError(f"steps={steps} is less than one iteration of {arm.label} "
                             f"({arm.config.batch_size} transitions)")
    return [RunSpec(task, arm, seed, steps) for task in task_list for arm in arms for seed in range(seeds)]


def stack_units(specs: list[RunSpec], stack: int) -> list[list[RunSpec]]:
    """Runs trained together in one process: up to `stack` runs of one task and one
    algorithm with one batch size (their iterations keep step; PPO members of any setting
    share the stacked update), in plan order."""
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in specs:
        key = (spec.task, spec.arm.algorithm.__name__, spec.arm.config.batch_size)
        groups.setdefault(key, []).append(spec)
    return [group[i:i + stack] for group in groups.values() for i in range(0, len(group), stack)]


def execute(spec: RunSpec, runs_dir: str | Path, checkpoint_every: int = 10,
            stop_after: int | None = None, on_row=None) -> dict[str, Any]:
    """Train one run to completion (or `stop_after` iterations), resuming from its
    checkpoint; a run whose result is final (complete or diverged) is not trained again.
    `on_row(row)` is called with every progress row (for live displays). A group of one:
    `execute_group`."""
    return execute_group([spec], runs_dir, checkpoint_every, stop_after,
                         on_row=None if on_row is None else lambda _key, row: on_row(row))[0]


def execute_group(specs: list[RunSpec], runs_dir: str | Path, checkpoint_every: int = 10,
                  stop_after: int | None = None, on_row=None) -> list[dict[str, Any]]:
    """Train several runs in one process, in lockstep (grid mode, `algorithms.train_group`):
    runs of one task whose arms share an update structure take one stacked update. Each run
    keeps its own records, checkpoint and resume point, exactly as if trained alone.
    `on_row(key, row)` gets every member's progress rows."""
    results: list[dict[str, Any] | None] = [None] * len(specs)
    members = []  # (index, spec, record, trainer, logger)
    for i, spec in enumerate(specs):
        record = RunRecord(Path(runs_dir) / spec.key)
        failpoint("run:start")
        record.remove_stale_temp_files()
        result = _readable(record.result)
        if result is not None and result.get("status") in FINAL_STATUSES:
            record.compress()  # a final run recorded before compression existed, or killed before it
            results[i] = result
            continue
        existing = check_config(record, spec)
        trainer = Trainer(spec.task, spec.arm.algorithm, spec.arm.config, spec.seed, spec.steps)
        resumed = _resume(record, trainer) if existing is not None else None
        if resumed is not None:
            progress, episodes = resumed
        else:
            record.clear()
            atomic_write_json(record.file(CONFIG), {**spec.config_record(), "environment": environment_info()})
            progress, episodes = [], []
        row_hook = None if on_row is None else lambda row, key=spec.key: on_row(key, row)
        members.append((i, spec, record, trainer, RecordLogger(record, progress, episodes, on_row=row_hook)))
    statuses = train_group([m[3] for m in members], [m[4] for m in members], checkpoint_every, stop_after)
    for (i, spec, record, trainer, logger), status in zip(members, statuses, strict=True):
        results[i] = _finish(spec, record, trainer, logger, status)
    return results  # type: ignore[return-value]


def _finish(spec: RunSpec, record: RunRecord, trainer: Trainer, logger: RecordLogger, status: str
            ) -> dict[str, Any]:
    if status == "stopped":
        return {"status": "partial", "iteration": trainer.iteration}
    returns = [e["return"] for e in logger.episodes]
    result = {
        "status": status, "task": spec.task, "arm": spec.arm.name, "arm_label": spec.arm.label,
        "config_hash": spec.run_hash, "seed": spec.seed, "steps": trainer.global_step,
        "iterations": trainer.iteration, "episodes": len(returns),
        "score": float(np.mean(returns[-SCORE_EPISODES:])) if returns else float("nan"),
        "score_episodes": min(len(returns), SCORE_EPISODES),
        "steps_per_second": trainer.global_step / max(trainer.wall_seconds, 1e-9),
        "wall_seconds": trainer.wall_seconds,
    }
    if status == "diverged":
        logger.flush()
        result.update(score=None, eval_score=None, reason=trainer.divergence)
    else:
        eval_returns = trainer.evaluate(EVAL_EPISODES)
        result.update(eval_score=float(np.mean(eval_returns)), eval_episodes=len(eval_returns))
    atomic_write_json(record.file(RESULT), result)
    record.compress()
    failpoint("run:end")
    return result


def evaluate(run_path: str | Path, episodes: int = EVAL_EPISODES) -> list[float]:
    """Returns of `episodes` deterministic-action episodes of a saved run, from its
    checkpoint: the saved networks and the saved observation statistics (frozen), on the
    run's separately seeded evaluation env."""
    record = RunRecord(Path(run_path))
    config = record.config()
    state = record.load_checkpoint()
    if config is None or state is None:
        raise SuiteError(f"{run_path}: needs config.json and checkpoint.pt to evaluate")
    try:
        arm = make_arm(config["arm_label"])
    except ConfigError as err:
        raise SuiteError(str(err)) from None
    spec = RunSpec(config["task"], arm, int(config["seed"]), int(config["steps"]))
    trainer = Trainer(spec.task, spec.arm.algorithm, spec.arm.config, spec.seed, spec.steps)
    trainer.load_state_dict(state)
    return trainer.evaluate(episodes)


def _readable(read):
    """What `read()` returns, or None where the record is unreadable (it is redone)."""
    try:
        return read()
    except SuiteError:
        return None


def _resume(record: RunRecord, trainer: Trainer) -> tuple[list, list] | None:
    """Load the checkpoint and the records up to it; None (start over) if there is no
    checkpoint or any of it is unreadable."""
    try:
        state = record.load_checkpoint()
        if state is None:
            return None
        trainer.load_state_dict(state)
        return record.records_until(trainer.global_step)
    except (SuiteError, ValueError, KeyError, RuntimeError):
        return None


def check_config(record: RunRecord, spec: RunSpec) -> dict[str, Any] | None:
    """The run directory's config.json (None if absent or unreadable); refuses one that is
    another config's."""
    existing = _readable(record.config)
    if existing is not None and existing.get("config_hash") != spec.run_hash:
        raise SuiteError(f"{record.file(CONFIG)} has config_hash {existing.get('config_hash')!r}, expected "
                         f"{spec.run_hash!r} for {spec.arm.label}; move the directory away to rerun it")
    return existing


def failure_record(spec: RunSpec, err: BaseException, trace: str) -> dict[str, Any]:
    return {"status": "failed", "task": spec.task, "arm": spec.arm.name, "arm_label": spec.arm.label,
            "config_hash": spec.run_hash, "seed": spec.seed, "error": f"{type(err).__name__}: {err}",
            "traceback": trace}


def check_runs_dir(runs_dir: str | Path) -> Path:
    path = Path(runs_dir)
    if path.exists() and not path.is_dir():
        raise SuiteError(f"runs dir {str(path)!r} is a file, not a directory")
    probe = path if path.exists() else next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not probe.is_dir():
        raise SuiteError(f"runs dir {str(path)!r} is inside {str(probe)!r}, which is a file, not a directory")
    if not os.access(probe, os.W_OK):
        raise SuiteError(f"runs dir {str(path)!r} is not writable")
    return path


