"""Training speed per (task, arm): measured, stored, and used to estimate a grid's wall time.

Where a speed comes from, best first: complete runs already in the runs dir (median of
their steps/s), then suite/data/speed.json (measured on the reference machine by
`python -m suite speed`), then a default. Each run is one process on one core.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from .errors import SuiteError
from .runner import FINAL_STATUSES, RunSpec, stack_units
from .store import RunRecord, atomic_write_json, environment_info

SPEED_FILE = Path(__file__).parent / "data" / "speed.json"
DEFAULT_SPEED = 3000.0  # steps/s when nothing was measured for a (task, arm)


def load_speed_table(path: Path = SPEED_FILE, table: str = "steps_per_second") -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get(table, {})


def measure_speed(tasks: list[str], arm_names: list[str], iterations: int = 2, stack: int = 3) -> dict:
    """Steps/s of each arm on each task over `iterations` PPO-sized (2048-step) batches:
    one run alone, and `stack` seeds trained together (grid mode; all their steps counted)."""
    from algorithms import Trainer, make_arm, train_group
    from algorithms.threads import pin_one_thread

    pin_one_thread()
    tables: dict[str, dict[str, dict[str, float]]] = {"steps_per_second": {}, "stacked_steps_per_second": {}}
    for task in tasks:
        for name in arm_names:
            arm = make_arm(name)
            steps = max(iterations * 2048, arm.config.batch_size)
            for table, members in (("steps_per_second", 1), ("stacked_steps_per_second", stack)):
                trainers = [Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=steps)
                            for seed in range(members)]
                started = time.perf_counter()
                train_group(trainers, [None] * members, checkpoint_every=10**9)
                total = sum(t.global_step for t in trainers)
                tables[table].setdefault(task, {})[name] = round(total / (time.perf_counter() - started), 1)
    return {**tables, "stack": stack, "iterations": iterations, "machine": environment_info(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def save_speed(report: dict, path: Path = SPEED_FILE) -> None:
    atomic_write_json(path, report)


def estimate(specs: list[RunSpec], runs_dir: Path, workers: int, stack: int = 1) -> tuple[float, str]:
    """Estimated wall seconds to finish `specs` with `workers` processes, `stack` runs per
    process (grid mode), and the sources used. A run's recorded steps/s is its group's
    (its wall seconds are its share), so a group takes the sum of its members' times."""
    table = load_speed_table(table="stacked_steps_per_second" if stack > 1 else "steps_per_second")
    measured: dict[tuple[str, str], list[float]] = {}
    for result_path in Path(runs_dir).glob("*/*/seed*/result.json"):
        try:
            result = json.loads(result_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if result.get("status") == "complete" and result.get("steps_per_second"):
            measured.setdefault((result["task"], result["arm"]), []).append(result["steps_per_second"])
    sources = set()
    durations: dict[str, float] = {}
    for spec in specs:
        try:
            result = RunRecord(Path(runs_dir) / spec.key).result()
        except SuiteError:
            result = None  # a corrupt record is redone
        if result is not None and result.get("status") in FINAL_STATUSES:
            continue
        key = (spec.task, spec.arm.name)
        if key in measured:
            sps, src = statistics.median(measured[key]), "runs dir"
        elif spec.arm.name in table.get(spec.task, {}):
            sps, src = table[spec.task][spec.arm.name], "suite/data/speed.json"
        else:
            sps, src = DEFAULT_SPEED, f"default {DEFAULT_SPEED:.0f} steps/s"
        sources.add(src)
        durations[spec.key] = spec.steps / sps
    todo = [spec for spec in specs if spec.key in durations]
    units = [sum(durations[spec.key] for spec in unit) for unit in stack_units(todo, stack)]
    # More processes than cores share the cores; the longest runs go first (LPT schedule).
    lanes = max(1, min(workers, os.cpu_count() or 1, len(units) or 1))
    slowdown = max(1.0, workers / (os.cpu_count() or 1)) if workers > lanes else 1.0
    loads = [0.0] * lanes
    for seconds in sorted(units, reverse=True):
        loads[loads.index(min(loads))] += seconds * slowdown
    return max(loads, default=0.0), ", ".join(sorted(sources)) or "nothing to train"
