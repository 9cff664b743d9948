"""Does arm A beat arm B, and how sure is that: `python -m suite compare A B`.

A and B are arm specs (`ppo_clip`, `mypkg.mymodule:NAME:lr=1e-4`) or rows of the paper's
comparisons ("Clipping, eps = 0.2"), each looked up by config hash in one or more runs dirs
(your runs beside the committed `runs/`). Only tasks both arms have complete runs on are
compared, and only like with like: the two sides must agree on task versions, MuJoCo
version and step budget, or the comparison is refused in one line.

Scores are normalized by fixed references (random policy = 0, openai/baselines ppo2's 1M-step
return = 1; suite/data/reference_scores.json), so that the two arms never move each other's
numbers. Per task: each arm's mean score with a 95% bootstrap interval over its seeds.
Overall: the difference of IQM and of mean normalized scores (A - B) and the probability of
improvement P(A > B), each with a 95% stratified-bootstrap interval (rliable), and a
one-line verdict resting on P(A > B) alone (decided when its interval excludes 0.5), which says
when the data cannot decide and why where the aggregate intervals exclude 0. Each side needs
at least 2 seeds on every compared task; an arm is never compared with itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from algorithms import ConfigError
from suite.errors import SuiteError
from suite.grid.plan import check_runs_dir
from suite.paper import COMPARISONS, arms_comparison
from suite.records.result import Status
from suite.results.readers import load_runs
from suite.results.scores import normalize
from suite.results.stats import REPS, STATS_SEED, differences_of_aggregates, interval, probability_of_improvement
from suite.results.tables import in_comparison, markdown_table


def _rows_to_arm(name: str) -> str:
    """A comparison row's name to its arm spec; anything else is taken as an arm spec."""

    for comparison in COMPARISONS:
        for row, spec in comparison.rows + comparison.extras:
            if row == name:
                return spec
    return name


def side(frame, spec: str, tasks: list[str] | None = None):
    """The complete runs of arm `spec`: its row of a one-arm comparison (tables.in_comparison,
    the one rule for which runs belong to a row: config hash as resolved on each task)."""
    try:
        runs = in_comparison(frame, arms_comparison([_rows_to_arm(spec)]))
    except ConfigError as err:
        raise SuiteError(str(err)) from None
    runs = runs[runs["status"] == Status.COMPLETE].drop(columns="row")
    return runs if tasks is None else runs[runs["task"].isin(tasks)]


def _check_like_with_like(a, b, names: tuple[str, str]) -> None:
    for column, what in (("budget", "step budgets"), ("mujoco", "MuJoCo versions")):
        if column not in a or column not in b:
            continue
        left, right = set(a[column].dropna()), set(b[column].dropna())
        if len(left | right) > 1:
            raise SuiteError(f"{names[0]} and {names[1]} were run with different {what} "
                             f"({', '.join(map(str, sorted(left)))} against {', '.join(map(str, sorted(right)))}); "
                             "compare like with like")
    for frame, name in ((a, names[0]), (b, names[1])):
        versions = frame.groupby(frame["task"].str.rsplit("-v", n=1).str[0])["task"].nunique()
        if (versions > 1).any():
            raise SuiteError(f"{name} mixes versions of one task; compare one version")


MIN_SEEDS = 2  # per side and task: one seed has no spread, and its interval would be a point


def compare(a: str, b: str, runs_dirs=("runs",), tasks: list[str] | None = None, reps: int = REPS,
            seed: int = STATS_SEED, budget: int | None = None) -> dict:
    """The comparison as a dict: per_task (DataFrame), overall (dict), verdict (str). A run
    found in several runs dirs (one task, config hash and seed) counts once; `budget` keeps the
    runs of that step budget only."""
    for runs_dir in runs_dirs:
        if not check_runs_dir(runs_dir, write=False).is_dir():
            raise SuiteError(f"runs dir {str(runs_dir)!r} does not exist")
    frame = pd.concat([load_runs(d) for d in runs_dirs], ignore_index=True)
    if frame.empty:
        raise SuiteError(f"no run records in {', '.join(map(str, runs_dirs))}")
    frame = frame.drop_duplicates(subset=["task", "config_hash", "seed"], keep="first")
    frame["score"] = pd.to_numeric(frame.get("score"), errors="coerce")
    if budget is not None:
        frame = frame[frame["budget"] == budget]
        if frame.empty:
            raise SuiteError(f"no runs with a budget of {budget} steps in {', '.join(map(str, runs_dirs))}")
    if tasks is not None:
        frame = frame[frame["task"].isin(tasks)]
    left, right = side(frame, a, tasks), side(frame, b, tasks)
    if left.empty or right.empty:
        empty = a if left.empty else b
        raise SuiteError(f"no complete runs of {empty!r} in {', '.join(map(str, runs_dirs))}")
    if set(left["config_hash"]) == set(right["config_hash"]):
        raise SuiteError(f"{a!r} and {b!r} are one configuration (config hash "
                         f"{', '.join(sorted(set(left['config_hash'])))}): nothing to compare")
    _check_like_with_like(left, right, (a, b))
    common = sorted(set(left["task"]) & set(right["task"]))
    if not common:
        raise SuiteError(f"{a!r} and {b!r} have no task in common with complete runs")
    left, right = (x[x["task"].isin(common)] for x in (left, right))
    for name, x in ((a, left), (b, right)):
        counts = x.groupby("task").size()
        if (counts < MIN_SEEDS).any():
            task = counts[counts < MIN_SEEDS].index[0]
            raise SuiteError(f"{name!r} has {int(counts[task])} complete run(s) on {task}; a comparison needs at "
                             f"least {MIN_SEEDS} seeds per side and task")
    left, _ = normalize(left, "reference")
    right, _ = normalize(right, "reference")
    per_task = []
    for task in common:
        row = {"task": task}
        for name, frame_ in (("a", left), ("b", right)):
            values = frame_.loc[frame_["task"] == task].sort_values("seed")["score"].to_numpy(float)
            mean, low, high = interval(values[:, None], reps=reps, seed=seed)
            row.update({f"{name}_mean": float(mean), f"{name}_low": float(low), f"{name}_high": float(high),
                        f"{name}_runs": len(values)})
        per_task.append(row)
    seeds = min(int(x.groupby("task").size().min()) for x in (left, right))
    matrices = [np.stack([x.loc[x["task"] == t].sort_values("seed")["normalized"].to_numpy()[:seeds]
                          for t in common], axis=1) for x in (left, right)]

    diff, diff_low, diff_high = interval(matrices, differences_of_aggregates, reps=reps, seed=seed)
    poi, poi_low, poi_high = interval(matrices, probability_of_improvement, reps=reps, seed=seed)
    overall = {"tasks": len(common), "runs_per_task": seeds,
               "iqm_difference": float(diff[0]), "iqm_low": float(diff_low[0]), "iqm_high": float(diff_high[0]),
               "mean_difference": float(diff[1]), "mean_low": float(diff_low[1]), "mean_high": float(diff_high[1]),
               "p_improvement": float(poi), "p_low": float(poi_low), "p_high": float(poi_high)}
    return {"a": a, "b": b, "per_task": pd.DataFrame(per_task), "overall": overall,
            "verdict": verdict(a, b, overall), "reps": reps, "seed": seed}


def verdict(a: str, b: str, o: dict) -> str:
    """One line, resting on one statistic: the probability of improvement P(A > B) (Agarwal et
    al. 2021; rliable), decided when its 95% interval excludes 0.5. Where the aggregate
    differences' intervals exclude 0 while P's does not, the line says why both hold."""
    odds = f"P(A > B) = {o['p_improvement']:.2f} [{o['p_low']:.2f}, {o['p_high']:.2f}]"
    basis = "by P(A > B), whose 95% interval"
    if o["p_low"] > 0.5:
        return f"{a} beats {b} {basis} excludes 0.5: {odds}."
    if o["p_high"] < 0.5:
        return f"{b} beats {a} {basis} excludes 0.5: {odds}."
    line = (f"cannot decide {basis} includes 0.5: {odds} at {o['runs_per_task']} runs per task on {o['tasks']} "
            "task(s)")
    resolved = [f"the {name} difference {o[f'{key}_difference']:+.3f} [{o[f'{key}_low']:+.3f}, "
                f"{o[f'{key}_high']:+.3f}]" for key, name in (("iqm", "IQM"), ("mean", "mean"))
                if o[f"{key}_low"] > 0 or o[f"{key}_high"] < 0]
    if resolved:
        line += (f"; {' and '.join(resolved)} exclude{'s' if len(resolved) == 1 else ''} 0: one arm's scores are "
                 "higher on aggregate, but a run of one is not reliably better than a run of the other")
    return line + "."


def compare_markdown(result: dict) -> str:
    a, b, o = result["a"], result["b"], result["overall"]
    rows = [[r.task, f"{r.a_mean:.1f} [{r.a_low:.1f}, {r.a_high:.1f}] (n={r.a_runs})",
             f"{r.b_mean:.1f} [{r.b_low:.1f}, {r.b_high:.1f}] (n={r.b_runs})"] for r in result["per_task"].itertuples()]
    return "\n".join([
        f"A = {a}, B = {b}: scores (mean of the last 100 training episodes) per task, 95% bootstrap interval "
        "over seeds:", "", markdown_table(["task", "A", "B"], rows), "",
        f"Normalized by fixed references (random = 0, openai/baselines ppo2 at 1M = 1); stratified bootstrap, "
        f"{result['reps']} resamples, seed {result['seed']}, {o['runs_per_task']} runs per task on {o['tasks']} "
        "task(s):",
        f"- IQM difference A - B: {o['iqm_difference']:+.3f} [{o['iqm_low']:+.3f}, {o['iqm_high']:+.3f}]",
        f"- mean difference A - B: {o['mean_difference']:+.3f} [{o['mean_low']:+.3f}, {o['mean_high']:+.3f}]",
        f"- P(A > B): {o['p_improvement']:.3f} [{o['p_low']:.3f}, {o['p_high']:.3f}]", "",
        f"Verdict: {result['verdict']}"])
