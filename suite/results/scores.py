"""Scores: the random-policy baseline, run scores as a table, and normalization.

Normalized score = (score - random) / (top - random), where `top` is, by mode:
- "paper": the highest per-task mean score (mean over seeds) among the settings in the
  frame given, as the PPO paper did (random = 0, best = 1): give it one comparison's runs
  (tables.in_comparison), so that arms outside the comparison never move it;
- "reference": a fixed, checked-in score per task (suite/data/reference_scores.json), so
  that adding an arm never moves another arm's number.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd

from algorithms.rollout import make_env
from suite.errors import SuiteError
from suite.paper import DATA
from suite.records.files import atomic_write_json, read_json, user_data_dir
from suite.records.result import Status

RANDOM_FILE = DATA / "random_scores.json"
REFERENCE_FILE = DATA / "reference_scores.json"
MODES = ("paper", "reference")


def measure_random(tasks: list[str], episodes: int = 100, seed: int = 0) -> dict:
    """Mean return of uniformly random actions, `episodes` episodes per task. The env is
    reset with `seed` once, the action space seeded with `seed`; later resets continue."""
    import mujoco  # here, not at the top: its import reads MUJOCO_GL and fails where that GL is missing,
    # and the CLI must still load to say so in one line (suite evaluate --video)

    table = {}
    for task in tasks:
        env = make_env(task)
        env.action_space.seed(seed)
        env.reset(seed=seed)
        returns = []
        for _ in range(episodes):
            total, done = 0.0, False
            while not done:
                _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                total += reward
                done = terminated or truncated
            returns.append(total)
            env.reset()
        table[task] = {"mean": float(np.mean(returns)), "std": float(np.std(returns)), "episodes": episodes,
                       "seed": seed}
    return {"policy": "uniform random actions (action_space.sample)", "scores": table,
            "gymnasium": gym.__version__, "mujoco": mujoco.__version__}


def user_random_file() -> Path:
    return user_data_dir() / "random_scores.json"


def save_random(report: dict, path: Path | None = None) -> Path:
    """Merge `report` into the file at `path` (default: this user's, not the package's)."""
    path = user_random_file() if path is None else Path(path)
    existing = read_json(path) if path.exists() else {"scores": {}}
    merged = {**report, "scores": {**existing.get("scores", {}), **report["scores"]}}
    atomic_write_json(path, merged)
    return path


def random_scores(path: Path | None = None) -> dict[str, float]:
    """The random policy's mean return per task: the shipped table (suite/data), which
    every table normalizes against so that tables stay comparable, plus this user's own
    measurements for tasks it lacks. `path`: one file alone."""
    if path is not None:
        return _read_random(path)
    return {**_read_random(user_random_file()), **_read_random(RANDOM_FILE)}


def _read_random(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    return {task: entry["mean"] for task, entry in read_json(path)["scores"].items()}


def reference_scores(path: Path = REFERENCE_FILE) -> dict[str, float]:
    return dict(read_json(path)["scores"])


def run_table(runs, budget: int | None = None):
    """From load_runs(): one row per run that has a result, with task, arm_label, seed,
    status, score (NaN unless complete), plus the versions the records carry. Refuses
    records that mix step budgets (unless `budget` picks one), MuJoCo versions, or
    versions of one task."""

    if runs.empty:
        raise SuiteError("no run records found")
    frame = runs[runs["status"].isin([Status.COMPLETE, Status.DIVERGED, Status.FAILED])].copy()
    budgets = sorted(int(b) for b in frame["budget"].dropna().unique()) if "budget" in frame else []
    if budget is not None:
        if budget not in budgets:
            raise SuiteError(f"no finished runs with a budget of {budget} steps; budgets found: {budgets}")
        frame = frame[frame["budget"] == budget]
    elif len(budgets) > 1:
        raise SuiteError(f"records mix step budgets {budgets}; pick one with --budget")
    if frame.empty:
        raise SuiteError("no finished runs (complete, diverged or failed) found")
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").where(frame["status"] == Status.COMPLETE)
    versions = frame["mujoco"].dropna().unique() if "mujoco" in frame else []
    if len(versions) > 1:
        raise SuiteError(f"records mix MuJoCo versions {sorted(versions)}; select one runs dir per version")
    names = frame["task"].str.rsplit("-v", n=1).str[0]
    mixed = frame.groupby(names)["task"].nunique()
    if (mixed > 1).any():
        name = mixed[mixed > 1].index[0]
        found = sorted(frame.loc[names == name, "task"].unique())
        raise SuiteError(f"records mix versions of one task: {', '.join(found)}; compare one version")
    # One label per config: the shortest of those its records carry (`ppo_clip` and
    # `ppo_clip:clip_eps=0.2` are one config and one run directory).
    frame["arm_label"] = frame.groupby("config_hash")["arm_label"].transform(
        lambda labels: min(labels, key=lambda text: (len(text), text)))
    return frame.sort_values(["task", "arm_label", "seed"]).reset_index(drop=True)


def normalize(frame, mode: str = "paper", randoms: dict[str, float] | None = None,
              references: dict[str, float] | None = None):
    """Adds `normalized` (NaN where the run has no score) and returns (frame, tops)."""
    if mode not in MODES:
        raise SuiteError(f"unknown normalization {mode!r}; valid: {', '.join(MODES)}")
    randoms = random_scores() if randoms is None else randoms
    missing = sorted(set(frame["task"]) - set(randoms))
    if missing:
        raise SuiteError(f"no random-policy score for {', '.join(missing)}; run python -m suite random")
    if mode == "paper":
        tops = frame.groupby(["task", "config_hash"])["score"].mean().groupby("task").max().to_dict()
    else:
        references = reference_scores() if references is None else references
        absent = sorted(set(frame["task"]) - set(references))
        if absent:
            raise SuiteError(f"no reference score for {', '.join(absent)}")
        tops = {task: references[task] for task in frame["task"].unique()}
    frame = frame.copy()
    low = frame["task"].map(randoms)
    high = frame["task"].map(tops)
    frame["normalized"] = (frame["score"] - low) / (high - low)
    return frame, tops
