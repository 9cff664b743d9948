"""Training speed: measured as a fraction of the simulator's own speed, stored, and used to
estimate a grid's wall time on the machine that runs it.

`python -m suite speed` measures, per task, raw env stepping (gym.make, random actions) and
each arm's training throughput alone and in grid mode (K runs stacked in one process), both
in CPU seconds of one process, and stores the ratios (suite/data/speed.json). Ratios travel
between machines far better than steps/s do: a machine that steps MuJoCo half as fast trains
about half as fast. The estimate measures this machine's raw stepping (a second or two) and
multiplies.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .plan import RunSpec, make_groups
from .runner import EVAL_EPISODES
from .status import run_state
from .store import atomic_write_json, environment_info, user_data_dir

SPEED_FILE = Path(__file__).parent / "data" / "speed.json"
STACK_SIZES = (1, 3, 9)  # grid sizes `suite speed` measures
DEFAULT_FRACTION = 0.2  # of raw stepping, for an arm never measured
RAW_PROBE_STEPS = 3000


def raw_steps_per_cpu_second(task: str, steps: int = RAW_PROBE_STEPS) -> float:
    """Random actions through gym.make(task) (env checker off, as the trainer builds it),
    counted per CPU second of this process."""
    from algorithms.rollout import make_env

    env = make_env(task)
    env.action_space.seed(0)
    env.reset(seed=0)
    started = time.process_time()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / max(time.process_time() - started, 1e-9)


def measure_speed(tasks: list[str], arm_names: list[str], iterations: int = 2,
                  sizes: tuple[int, ...] = STACK_SIZES) -> dict:
    """Per task: raw stepping, and each arm's training steps per CPU second as a fraction
    of it, for `sizes` runs trained together (grid mode), over `iterations` PPO-sized
    (2048-step) batches per run."""
    from algorithms import Trainer, make_arm, train_group
    from algorithms.threads import pin_one_thread

    pin_one_thread()
    raw, fractions = {}, {}
    for task in tasks:
        raw[task] = raw_steps_per_cpu_second(task, 10_000)
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
    floor_seconds: float  # the same env steps at raw simulator speed on the same lanes
    lanes: int
    sources: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds else float("nan")


def estimate(specs: list[RunSpec], runs_dir: Path, workers: int, group_size: int = 1, backend: str = "local",
             raw: dict[str, float] | None = None, table: dict | None = None) -> Estimate:
    """Estimated wall seconds to finish `specs` with `workers` processes (local: at most the
    cores, more share them; ray: one lane per worker), `group_size` runs per process (grid mode),
    from speed.json's fractions times this machine's raw stepping (`raw`: measured now
    unless given). Each run also pays its evaluation (EVAL_EPISODES full-length episodes)."""
    from algorithms.rollout import make_env

    table = load_speed() if table is None else table
    todo = [spec for spec in specs if not run_state(Path(runs_dir) / spec.key).final]
    tasks = sorted({spec.task for spec in todo})
    sources = {"raw stepping measured now" if raw is None else "raw stepping given"}
    raw = {t: raw_steps_per_cpu_second(t) for t in tasks} if raw is None else raw
    episode = {t: make_env(t).spec.max_episode_steps or 1000 for t in tasks}
    durations, floor = [], 0.0
    for group in make_groups(todo, group_size):
        task, arm = group[0].task, group[0].arm.name
        fraction = fraction_of_raw(table, task, arm, len(group))
        sources.add("suite/data/speed.json" if fraction is not None else f"default {DEFAULT_FRACTION} of raw")
        steps = sum(spec.steps for spec in group)
        training = steps / ((fraction or DEFAULT_FRACTION) * raw[task])
        evaluation = len(group) * EVAL_EPISODES * episode[task] / raw[task]
        durations.append(training + evaluation)
        floor += steps / raw[task]
    cores = os.cpu_count() or 1
    lanes = max(1, workers if backend == "ray" else min(workers, cores))
    slowdown = workers / cores if backend != "ray" and workers > cores else 1.0
    loads = [0.0] * lanes
    for seconds in sorted(durations, reverse=True):  # longest first onto the least loaded lane (LPT)
        loads[loads.index(min(loads))] += seconds * slowdown
    return Estimate(max(loads, default=0.0), floor / lanes, lanes,
                    ", ".join(sorted(sources)) if durations else "nothing to train")


def save_speed(report: dict, path: Path | None = None) -> Path:
    """Merge `report` into the table at `path` (default: this user's, not the package's):
    re-measuring some tasks or arms keeps the rest. Returns the path written."""
    path = user_speed_file() if path is None else Path(path)
    atomic_write_json(path, _merge(_read_speed(path), report))
    return path
