"""The run records as pandas DataFrames: every run's row (`load_runs`), one run's progress and
episodes, and the state counts per task and arm (`status_table`). Reads only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from suite.grid.plan import resolve_grid
from suite.grid.run import Run
from suite.records.files import EPISODE_COLUMNS, EPISODES, PROGRESS, read_csv
from suite.records.result import Status
from suite.records.state import STATES, find_runs


def load_runs(runs_dir: str | Path = "runs"):
    """Every run directory under `runs_dir` as a pandas DataFrame, one row per run: its state
    (`suite.records.state.run_state`: complete, diverged, failed, partial or damaged) as `status`,
    the result's fields where the run is final or failed, the config's task, arm and seed,
    and for a damaged run the `reason`. Reads only."""
    rows = []
    for found in find_runs(runs_dir):
        config = found.config or {}
        env = config.get("environment", {})
        row = {"task": config.get("task", found.path.parent.parent.name), "arm": config.get("arm"),
               "arm_label": config.get("arm_label"), "config_hash": config.get("config_hash"),
               "seed": config.get("seed"), "status": found.state.value, "reason": found.reason,
               "overrides": config.get("overrides", {}), "budget": config.get("steps"),
               **{k: env.get(k) for k in ("mujoco", "gymnasium", "torch", "numpy", "commit", "cpu", "cpu_flags",
                                       "host")}}
        if found.result is not None and found.state != Status.DAMAGED:
            row.update({k: v for k, v in found.result.to_record().items() if k not in ("traceback", "status")})
        row["path"] = str(found.path)
        rows.append(row)
    return pd.DataFrame(rows)


def load_progress(run_path: str | Path):
    """A run's progress.csv as a DataFrame."""
    return pd.DataFrame(read_csv(Path(run_path) / PROGRESS))


def load_episodes(run_path: str | Path):
    """A run's episodes.csv as a DataFrame."""
    return pd.DataFrame(read_csv(Path(run_path) / EPISODES), columns=EPISODE_COLUMNS)


def status_table(runs_dir: str | Path, grid: dict | None = None):
    """DataFrame indexed by (task, arm), one column per state, counts of runs; damaged runs
    are also listed by `damaged_runs`."""
    rows = []
    if grid is not None:
        for spec in resolve_grid(**grid):
            rows.append({"task": spec.task, "arm": spec.arm.label,
                         "state": Run(spec, runs_dir).state().state.value})
    else:
        for found in find_runs(runs_dir):
            config = found.config or {}
            rows.append({"task": config.get("task", found.path.parent.parent.name),
                         "arm": config.get("arm_label", found.path.parent.name), "state": found.state.value})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    table = frame.groupby(["task", "arm", "state"]).size().unstack(fill_value=0)
    return table[[s for s in STATES if s in table.columns]]

