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
from .runner import FINAL_STATUSES, RunSpec
from .store import RunRecord, atomic_write_json, environment_info

SPEED_FILE = Path(__file__).parent / "data" / "speed.json"
DEFAULT_SPEED = 3000.0  # steps/s when nothing was measured for a (task, arm)


def load_speed_table(path: Path = SPEED_FILE) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("steps_per_second", {})


def measure_speed(tasks: list[str], arm_names: list[str], iterations: int = 2) -> dict:
    """Steps/s of each arm on each task over `iterations` PPO-sized (2048-step) batches."""
    from algorithms import Trainer, make_arm
    from algorithms.threads import pin_one_thread

    pin_one_thread()
    table: dict[str, dict[str, float]] = {}
    for task in tasks:
        for name in arm_names:
            arm = make_arm(name)
            steps = max(iterations * 2048, arm.config.batch_size)
            trainer = Trainer(task, arm.algorithm, arm.config, seed=0, total_steps=steps)
            started = time.perf_counter()
            trainer.train(checkpoint_every=10**9)
            table.setdefault(task, {})[name] = round(trainer.global_step / (time.perf_counter() - started), 1)
    return {"steps_per_second": table, "iterations": iterations, "machine": environment_info(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def save_speed(report: dict, path: Path = SPEED_FILE) -> None:
    atomic_write_json(path, report)


def estimate(specs: list[RunSpec], runs_dir: Path, workers: int) -> tuple[float, str]:
    """Estimated wall seconds to finish `specs` with `workers` processes, and the sources used."""
    table = load_speed_table()
    measured: dict[tuple[str, str], list[float]] = {}
    for result_path in Path(runs_dir).glob("*/*/seed*/result.json"):
        try:
            result = json.loads(result_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if result.get("status") == "complete" and result.get("steps_per_second"):
            measured.setdefault((result["task"], result["arm"]), []).append(result["steps_per_second"])
    sources = set()
    durations = []
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
        durations.append(spec.steps / sps)
    # More processes than cores share the cores; the longest runs go first (LPT schedule).
    lanes = max(1, min(workers, os.cpu_count() or 1, len(durations) or 1))
    slowdown = max(1.0, workers / (os.cpu_count() or 1)) if workers > lanes else 1.0
    loads = [0.0] * lanes
    for seconds in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += seconds * slowdown
    return max(loads, default=0.0), ", ".join(sorted(sources)) or "nothing to train"
