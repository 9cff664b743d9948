"""The paper's comparisons (Table 1, Figure 3) rebuilt from run records, and the per-task
table of raw scores.

A comparison's runs are found by config hash (suite/paper.py), and each comparison is
normalized among its own rows only, so arms outside it never move its numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from algorithms import make_arm
from suite.paper import ALL_COMPARISONS, PAPER_SEEDS, Comparison
from suite.records.files import run_hash
from suite.records.result import Status
from suite.results.stats import STATS_SEED, interval


def in_comparison(frame, comparison: Comparison, balanced: bool = True):
    """The runs of `frame` that are rows of `comparison`, with a `row` column (the paper's
    name for the setting), in the comparison's row order: of its seeds, the first PAPER_SEEDS
    always (a missing one shows as missing) and each further seed only once it is final in
    every (row, task) cell, so that a grid still filling never unbalances a table
    (`balanced=False`: every planned seed, for counting a grid's progress)."""
    budgets = frame["budget"].dropna().unique() if "budget" in frame else []
    rows = {(task, run_hash(digest, int(b))): name for task in frame["task"].unique()
            for digest, name in comparison.row_names(task).items() for b in budgets}
    found = frame.assign(row=[rows.get(key) for key in zip(frame["task"], frame["config_hash"], strict=True)])
    found = found[found["row"].notna()]
    if comparison.seeds is not None:
        found = found[found["seed"].isin(comparison.seeds)]
        if balanced:
            found = found[found["seed"].isin(balanced_seeds(found, comparison.seeds))]
    order = {name: i for i, (name, _) in enumerate(comparison.rows)}
    return found.assign(_order=found["row"].map(order)).sort_values(["_order", "task", "seed"]).drop(
        columns="_order").reset_index(drop=True)


def balanced_seeds(runs, seeds: tuple[int, ...]) -> list[int]:
    """`seeds`' first PAPER_SEEDS, then each further one that is final (complete or diverged) in
    every (row, task) cell of `runs`."""
    cells = set(zip(runs["row"], runs["task"], strict=True))
    final = runs[runs["status"].isin([Status.COMPLETE, Status.DIVERGED])]
    return list(seeds[:PAPER_SEEDS]) + [
        s for s in seeds[PAPER_SEEDS:]
        if cells and set(zip(*(final.loc[final["seed"] == s, c] for c in ("row", "task")), strict=True)) == cells]


def mean_interval(values_by_task: list[np.ndarray], seed: int = STATS_SEED) -> tuple[float, float, float]:
    """Mean over all runs with its 95% interval, runs resampled within each task (stats.interval).
    With the same runs on every task this is exactly the mean of the rliable table (one matrix
    [seeds, tasks], one seed): one number, one interval."""
    if len({len(v) for v in values_by_task}) == 1:
        point, low, high = interval(np.stack(values_by_task, axis=1), seed=seed)
    else:
        point, low, high = interval([v[:, None] for v in values_by_task], seed=seed)
    return float(point), float(low), float(high)


def _coverage(group, tasks: list[str], expected: int) -> tuple[str, bool]:
    """('21/21', True), or ('16/21 (Hopper-v5: 1 diverged; Walker2d-v5: 1 missing; 1 task not run)',
    False): what is scored out of `expected` seeds of each of `tasks`, and what is not."""
    notes, found, absent_tasks = [], 0, 0
    for task in tasks:
        rows = group[group["task"] == task]
        if rows.empty:
            absent_tasks += 1
            continue
        found += int((rows["status"] == Status.COMPLETE).sum())
        parts = [f"{int((rows['status'] == s).sum())} {s}" for s in (Status.DIVERGED, Status.FAILED)
                 if (rows["status"] == s).any()]
        if expected > len(rows):
            parts.append(f"{expected - len(rows)} missing")
        if parts:
            notes.append(f"{task}: {', '.join(parts)}")
    if absent_tasks:
        notes.append(f"{absent_tasks} task{'s' * (absent_tasks > 1)} not run")
    text = f"{found}/{expected * len(tasks)}"
    return (f"{text} ({'; '.join(notes)})" if notes else text), not notes


def expected_seeds(frame) -> int:
    """Seeds a complete cell should have: the most seen for any (task, config)."""
    return int(frame.groupby(["task", "config_hash"]).size().max()) if len(frame) else 0


def comparison_table(frame, paper: dict[str, float] | None = None, seed: int = STATS_SEED,
                     tasks: list[str] | None = None, seeds: int | None = None):
    """One row per setting of a comparison present in `frame` (from `in_comparison`, with
    `normalized`): our mean normalized score with a 95% stratified-bootstrap CI and our rank
    (1 = best); with `paper` values, the paper's value, its rank among the paper's settings
    and the difference; the runs scored out of `seeds` x `tasks` (default: the tasks and the
    most seeds found), and whether every expected run was scored."""

    found_tasks = sorted(frame["task"].unique())
    tasks = sorted(tasks) if tasks is not None else found_tasks
    expected = seeds if seeds is not None else expected_seeds(frame)
    rows = []
    for setting, group in frame.groupby("row", sort=False):
        by_task = [group[(group["task"] == t) & group["normalized"].notna()].sort_values("seed")["normalized"]
                   .to_numpy() for t in found_tasks]  # in seed order, as stats.score_matrices stacks them
        usable = [v for v in by_task if len(v)]
        mean, lo, hi = mean_interval(usable, seed) if usable else (np.nan, np.nan, np.nan)
        coverage, complete = _coverage(group, tasks, expected)
        rows.append({"setting": setting, "score": mean, "ci_low": lo, "ci_high": hi, "runs": coverage,
                     "complete": complete, "tasks_scored": len(usable)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["rank"] = table["score"].rank(ascending=False, method="min")
    if paper is not None:
        ranks = pd.Series(paper).rank(ascending=False, method="min")
        table["paper"] = table["setting"].map(paper)
        table["paper_rank"] = table["setting"].map(ranks)
        table["difference"] = table["score"] - table["paper"]
    return table


def per_task_normalized(frame):
    """Mean normalized score per setting (rows, comparison order) and task (columns)."""
    table = frame.groupby(["row", "task"], sort=False)["normalized"].mean().unstack("task")
    return table[sorted(table.columns)]


def config_names(frame, comparisons: tuple[Comparison, ...]) -> dict[str, str]:
    """A name per config hash of `frame` (one row of a raw table each, never two configs
    pooled under one label): the shortest spec a comparison runs it with (`a2c_sb3`, not its
    record's label `a2c`), else its shortest arm_label; a name two configs would share gets
    the hash."""
    specs: dict[str, str] = {}
    for comparison in comparisons:
        for spec in comparison.all_arms:
            digest = make_arm(spec).config_hash
            specs[digest] = min(specs.get(digest, spec), spec, key=lambda x: (len(x), x))
    names = {}
    for (digest, budget), group in frame.groupby(["config_hash", "budget"], sort=False):
        arm_hash = next((h for h in specs if run_hash(h, int(budget)) == digest), None)
        names[digest] = specs[arm_hash] if arm_hash else min(group["arm_label"], key=lambda x: (len(x), x))
    shared = pd.Series(names).duplicated(keep=False)
    return {digest: f"{name} [{digest}]" if shared[digest] else name for digest, name in names.items()}


def raw_table(frame):
    """per_task with one row per config hash, each named as config_names names it."""
    return per_task(frame.assign(config=frame["config_hash"].map(config_names(frame, ALL_COMPARISONS))),
                    label="config")


def per_task(frame, label: str = "arm_label"):
    """Raw scores per config (rows, named by `label`; one config hash a row) and task
    (columns): mean, sample std over seeds (ddof 1), runs, states. Missing: the runs of that
    config short of its most seeds on any task."""

    rows = []
    most = frame.groupby("config_hash")["task"].value_counts().groupby(level=0).max()
    for (_, arm, task), group in frame.groupby(["config_hash", label, "task"], sort=False):
        scores = group.loc[group["status"] == Status.COMPLETE, "score"].to_numpy(dtype=float)
        rows.append({"arm": arm, "task": task, "mean": scores.mean() if len(scores) else np.nan,
                     "std": scores.std(ddof=1) if len(scores) > 1 else np.nan, "complete": len(scores),
                     "diverged": int((group["status"] == Status.DIVERGED).sum()),
                     "failed": int((group["status"] == Status.FAILED).sum()),
                     "missing": int(most[group["config_hash"].iloc[0]]) - len(group)})
    return pd.DataFrame(rows)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _rank(value) -> str:
    return "-" if value is None or np.isnan(value) else str(int(value))


def comparison_markdown(table, mode: str) -> str:
    with_paper = "paper" in table
    header = ["setting", f"ours ({mode} normalization, 95% CI)", "our rank"]
    header += ["paper", "paper rank", "ours - paper"] if with_paper else []
    rows = []
    for r in table.itertuples():
        cells = [r.setting, f"{fmt(r.score)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]", _rank(r.rank)]
        if with_paper:
            cells += [fmt(r.paper), _rank(r.paper_rank), fmt(r.difference)]
        rows.append(cells + [r.runs])
    return markdown_table(header + ["runs scored"], rows)


def per_task_normalized_markdown(table) -> str:
    rows = [[setting, *(fmt(v) for v in values)] for setting, values in zip(table.index, table.to_numpy(),
                                                                             strict=True)]
    return markdown_table(["setting", *table.columns], rows)


def cell(r) -> str:
    """'mean ± sd (n=3)' with the states that are not complete, or only those states."""
    flags = [f"{int(r[s])} {s}" for s in ("diverged", "failed", "missing") if r[s]]
    if not r["complete"]:  # nothing scored: say what happened, show no number
        return ", ".join(flags)
    spread = f" ± {fmt(r['std'], 1)}" if r["complete"] > 1 else ""
    text = f"{fmt(r['mean'], 1)}{spread} (n={int(r['complete'])})"
    return text + (f", {', '.join(flags)}" if flags else "")


def per_task_markdown(table) -> str:
    tasks = sorted(table["task"].unique())
    rows = []
    for arm, group in table.groupby("arm", sort=False):
        cells = [arm]
        for task in tasks:
            match = group[group["task"] == task]
            cells.append("-" if match.empty else cell(match.iloc[0]))
        rows.append(cells)
    return markdown_table(["config", *tasks], rows)
