"""Training speed: measured as a fraction of the simulator's own speed, stored, and used to
estimate a grid's wall time on the machine that runs it.

`python -m suite speed` measures, per task, raw env stepping (gym.make, random actions) and
each arm's training throughput alone and in grid mode (K runs stacked in one process), both
in CPU seconds of one process, and stores the ratios (suite/data/speed.json). Ratios travel
between machines better than steps/s do, but not exactly: the update's numpy does not speed up
with a CPU as MuJoCo does (ppo_clip stacked by 9 on HalfCheetah: 0.71 of raw stepping on an AMD
EPYC, 0.49 on an Intel Xeon whose raw stepping is 2.7x faster), so the estimate is closest with
a table measured on the machine's own class (`python -m suite speed`, about 6 minutes). The
estimate measures this machine's raw stepping (a second or two) and multiplies.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from algorithms import Trainer, make_arm, train_group
from algorithms.rollout import make_env
from algorithms.threads import pin_one_thread
from suite.grid.plan import RunSpec, make_groups
from suite.grid.run import Run
from suite.grid.runner import EVAL_EPISODES
from suite.paper import DATA
from suite.records.files import atomic_write_json, environment_info, user_data_dir

SPEED_FILE = DATA / "speed.json"
STACK_SIZES = (1, 3, 9)  # grid sizes `suite speed` measures
DEFAULT_FRACTION = 0.2  # of raw stepping, for an arm never measured
RAW_PROBE_STEPS = 3000


@dataclass(frozen=True)
class Rate:
    """Env steps per wall second and per CPU second of this process."""

    wall: float
    cpu: float


class Clock:
    """Wall and CPU seconds (this process, all threads) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def raw_stepping(task: str, steps: int = RAW_PROBE_STEPS) -> Rate:
    """Raw stepping, the one definition: random actions (drawn before the clock starts)
    through the env exactly as the trainer builds it (`make_env`: gym.make, time limit,
    env checker off), resets included."""
    env = make_env(task)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=0)
    with Clock() as clock:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
    env.close()
    return Rate(steps / max(clock.wall, 1e-9), steps / max(clock.cpu, 1e-9))


def simulator_stepping(task: str, steps: int = RAW_PROBE_STEPS) -> Rate | None:
    """The simulator's own cost, a lower floor than raw stepping: MuJoCo's `mj_step` for the
    task's frame skip on its model, with random controls in the actuators' ranges, no Python
    env around it (no observation, reward or time limit); the state is reset every episode
    length. None for a task that is not a MuJoCo env."""
    import mujoco  # here, not at the top: its import reads MUJOCO_GL and fails where that GL is missing,
    # and the CLI must still load to say so in one line (suite evaluate --video)

    env = make_env(task)
    inner = env.unwrapped
    if not hasattr(inner, "model") or not hasattr(inner, "frame_skip"):
        env.close()
        return None
    model, data, frame_skip = inner.model, inner.data, int(inner.frame_skip)
    episode = env.spec.max_episode_steps or 1000
    low, high = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    controls = np.random.default_rng(0).uniform(low, high, size=(steps, model.nu))
    mujoco.mj_resetData(model, data)
    with Clock() as clock:
        for i in range(steps):
            data.ctrl[:] = controls[i]
            mujoco.mj_step(model, data, nstep=frame_skip)
            if (i + 1) % episode == 0:
                mujoco.mj_resetData(model, data)
    env.close()
    return Rate(steps / max(clock.wall, 1e-9), steps / max(clock.cpu, 1e-9))


def measure_speed(tasks: list[str], arm_names: list[str], iterations: int = 2,
                  sizes: tuple[int, ...] = STACK_SIZES) -> dict:
    """Per task: raw stepping, and each arm's training steps per CPU second as a fraction
    of it, for `sizes` runs trained together (grid mode), over `iterations` PPO-sized
    (2048-step) batches per run."""

    pin_one_thread()
    raw, fractions = {}, {}
    for task in tasks:
        raw[task] = raw_stepping(task, 10_000).cpu
        for name in arm_names:
            arm = make_arm(name, task)
            steps = max(iterations * 2048, arm.config.batch_size)
            for size in sizes:
                trainers = [Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=steps)
                            for seed in range(size)]
                started = time.process_time()
                train_group(trainers, [None] * size, checkpoint_every=10**9)
                rate = sum(t.global_step for t in trainers) / max(time.process_time() - started, 1e-9)
                fractions.setdefault(task, {}).setdefault(name, {})[str(size)] = round(rate / raw[task], 4)
    return {"format": 2, "raw_steps_per_cpu_second": {t: round(v, 1) for t, v in raw.items()},
            "fraction_of_raw": fractions, "stack_sizes": list(sizes), "iterations": iterations,
            "machine": environment_info(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def user_speed_file() -> Path:
    return user_data_dir() / "speed.json"


def load_speed(path: Path | None = None) -> dict:
    """The speed table: the one shipped with the suite (measured on the machine named in
    it), overlaid with this user's own measurements (`python -m suite speed`), which win
    per task and arm. `path`: one file alone."""
    if path is not None:
        return _read_speed(path)
    return _merge(_read_speed(SPEED_FILE), _read_speed(user_speed_file()))


def _read_speed(path: Path) -> dict:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return data if data.get("format") == 2 else {}


def _merge(old: dict, new: dict) -> dict:
    if not old or not new:
        return dict(new or old)
    merged = {**old, **new}
    merged["raw_steps_per_cpu_second"] = {**old.get("raw_steps_per_cpu_second", {}),
                                          **new.get("raw_steps_per_cpu_second", {})}
    fractions = old.get("fraction_of_raw", {})
    merged["fraction_of_raw"] = {t: {**fractions.get(t, {}), **new.get("fraction_of_raw", {}).get(t, {})}
                                 for t in {**fractions, **new.get("fraction_of_raw", {})}}
    return merged


def fraction_of_raw(table: dict, task: str, arm: str, members: int) -> float | None:
    """The measured fraction for `members` runs trained together, linear between the
    measured group sizes (the largest measured beyond them); None if never measured."""
    measured = table.get("fraction_of_raw", {}).get(task, {}).get(arm)
    if not measured:
        return None
    points = sorted((int(k), v) for k, v in measured.items())
    if members <= points[0][0]:
        return points[0][1]
    for (k0, f0), (k1, f1) in zip(points, points[1:], strict=False):
        if members <= k1:
            return f0 + (f1 - f0) * (members - k0) / (k1 - k0)
    return points[-1][1]


@dataclass
class Estimate:
    seconds: float  # estimated wall time
    floor_seconds: float  # the same env steps at raw stepping speed (the env alone) on the same lanes
    simulator_seconds: float  # the same env steps at MuJoCo's mj_step speed (no Python env): a lower floor
    lanes: int
    sources: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds else float("nan")


def estimate(specs: list[RunSpec], runs_dir: Path, workers: int, group_size: int = 1, backend: str = "local",
             raw: dict[str, float] | None = None, table: dict | None = None,
             simulator: dict[str, float | None] | None = None) -> Estimate:
    """Estimated wall seconds to finish `specs` with `workers` processes (local: at most the
    cores, more share them; ray: one lane per worker), `group_size` runs per process (grid mode),
    from speed.json's fractions times this machine's raw stepping (`raw`: measured now
    unless given; `simulator`: mj_step's steps per CPU second, likewise). Each run also pays its
    evaluation (EVAL_EPISODES full-length episodes)."""

    table = load_speed() if table is None else table
    todo = [spec for spec in specs if not Run(spec, runs_dir).state().final]
    tasks = sorted({spec.task for spec in todo})
    sources = {"raw stepping measured now" if raw is None else "raw stepping given"}
    raw = {t: raw_stepping(t).cpu for t in tasks} if raw is None else raw
    if simulator is None:
        simulator = {t: getattr(simulator_stepping(t), "cpu", None) for t in tasks}
    episode = {t: make_env(t).spec.max_episode_steps or 1000 for t in tasks}
    durations, floor, simulated = [], 0.0, 0.0
    for group in make_groups(todo, group_size):
        task, arm = group[0].task, group[0].arm.name
        fraction = fraction_of_raw(table, task, arm, len(group))
        sources.add("suite/data/speed.json" if fraction is not None else f"default {DEFAULT_FRACTION} of raw")
        steps = sum(spec.steps for spec in group)
        training = steps / ((fraction or DEFAULT_FRACTION) * raw[task])
        evaluation = len(group) * EVAL_EPISODES * episode[task] / raw[task]
        durations.append(training + evaluation)
        floor += steps / raw[task]
        simulated += steps / (simulator.get(task) or raw[task])  # not MuJoCo: the env is its own floor
    cores = os.cpu_count() or 1
    lanes = max(1, workers if backend == "ray" else min(workers, cores))
    slowdown = workers / cores if backend != "ray" and workers > cores else 1.0
    loads = [0.0] * lanes
    for seconds in sorted(durations, reverse=True):  # longest first onto the least loaded lane (LPT)
        loads[loads.index(min(loads))] += seconds * slowdown
    return Estimate(max(loads, default=0.0), floor / lanes, simulated / lanes, lanes,
                    ", ".join(sorted(sources)) if durations else "nothing to train")


def save_speed(report: dict, path: Path | None = None) -> Path:
    """Merge `report` into the table at `path` (default: this user's, not the package's):
    re-measuring some tasks or arms keeps the rest. Returns the path written."""
    path = user_speed_file() if path is None else Path(path)
    atomic_write_json(path, _merge(_read_speed(path), report))
    return path
