"""The paper's Table 1 rebuilt from run records, and the per-task table of raw scores."""

from __future__ import annotations

import numpy as np

from .scores import paper_table1

BOOTSTRAP_REPS = 2000


def table1_setting(arm: str, overrides: dict) -> str | None:
    """The Table 1 row a run belongs to, or None when its config is not one of the paper's
    settings (only the setting's own key may be overridden)."""
    keys = set(overrides or {})
    if arm == "ppo_noclip" and not keys:
        return "No clipping or penalty"
    if arm == "ppo_clip" and keys <= {"clip_eps"}:
        return f"Clipping, eps = {float(overrides.get('clip_eps', 0.2)):g}"
    if arm == "ppo_klpen" and keys <= {"kl_target"}:
        return f"Adaptive KL, d_targ = {float(overrides.get('kl_target', 0.01)):g}"
    if arm == "ppo_kl_fixed" and keys <= {"beta"}:
        return f"Fixed KL, beta = {float(overrides.get('beta', 1.0)):g}"
    return None


def stratified_mean_ci(values_by_task: list[np.ndarray], rng: np.random.Generator,
                       reps: int = BOOTSTRAP_REPS) -> tuple[float, float, float]:
    """Mean over all runs, and a 95% percentile CI from resampling runs within each task."""
    pooled = np.concatenate(values_by_task)
    means = np.empty(reps)
    for r in range(reps):
        means[r] = np.concatenate([v[rng.integers(0, len(v), len(v))] for v in values_by_task]).mean()
    return float(pooled.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _coverage(group, tasks: list[str], expected: int) -> str:
    """'21/21', or '19/21 (Hopper-v5: 1 diverged; Walker2d-v5: 1 missing)'."""
    notes, found = [], 0
    for task in tasks:
        rows = group[group["task"] == task]
        done = int((rows["status"] == "complete").sum())
        found += done
        parts = [f"{int((rows['status'] == s).sum())} {s}" for s in ("diverged", "failed")
                 if (rows["status"] == s).any()]
        absent = expected - len(rows)
        if absent > 0:
            parts.append(f"{absent} missing")
        if parts:
            notes.append(f"{task}: {', '.join(parts)}")
    text = f"{found}/{expected * len(tasks)}"
    return f"{text} ({'; '.join(notes)})" if notes else text


def expected_seeds(frame) -> int:
    """Seeds a complete cell should have: the most seen for any (task, arm)."""
    return int(frame.groupby(["task", "arm_label"]).size().max())


def table1(frame, seed: int = 0):
    """One row per Table 1 setting present: our mean normalized score with a 95%
    stratified-bootstrap CI, the paper's value, the difference, seeds found."""
    import pandas as pd

    paper = paper_table1()
    frame = frame.assign(setting=[table1_setting(a, o) for a, o in zip(frame["arm"], frame["overrides"],
                                                                        strict=True)])
    frame = frame[frame["setting"].notna()]
    tasks = sorted(frame["task"].unique())
    expected = expected_seeds(frame) if len(frame) else 0
    rows = []
    order = {name: i for i, name in enumerate(paper)}
    for setting, group in sorted(frame.groupby("setting"), key=lambda item: order.get(item[0], 99)):
        by_task = [group.loc[(group["task"] == t) & group["normalized"].notna(), "normalized"].to_numpy()
                   for t in tasks]
        usable = [v for v in by_task if len(v)]
        rng = np.random.default_rng(seed)
        mean, lo, hi = stratified_mean_ci(usable, rng) if usable else (np.nan, np.nan, np.nan)
        ours_paper = paper.get(setting, np.nan)
        rows.append({"setting": setting, "score": mean, "ci_low": lo, "ci_high": hi, "paper": ours_paper,
                     "difference": mean - ours_paper, "seeds": _coverage(group, tasks, expected),
                     "tasks_scored": len(usable)})
    return pd.DataFrame(rows)


def per_task(frame):
    """Raw scores per arm (rows) and task (columns): mean, std over seeds, runs, states."""
    import pandas as pd

    expected = expected_seeds(frame)
    rows = []
    for (arm, task), group in frame.groupby(["arm_label", "task"]):
        scores = group.loc[group["status"] == "complete", "score"].to_numpy(dtype=float)
        rows.append({"arm": arm, "task": task, "mean": scores.mean() if len(scores) else np.nan,
                     "std": scores.std() if len(scores) else np.nan, "complete": len(scores),
                     "diverged": int((group["status"] == "diverged").sum()),
                     "failed": int((group["status"] == "failed").sum()),
                     "missing": expected - len(group)})
    return pd.DataFrame(rows)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def fmt(value, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def table1_markdown(table, mode: str) -> str:
    rows = [[r.setting, f"{fmt(r.score)} [{fmt(r.ci_low)}, {fmt(r.ci_high)}]", fmt(r.paper),
             fmt(r.difference, 2) if not np.isnan(r.difference) else "-", r.seeds]
            for r in table.itertuples()]
    return markdown_table(["setting", f"ours ({mode} normalization, 95% CI)", "paper", "ours - paper",
                           "runs scored"], rows)


def per_task_markdown(table) -> str:
    tasks = sorted(table["task"].unique())
    rows = []
    for arm, group in table.groupby("arm"):
        cells = [arm]
        for task in tasks:
            match = group[group["task"] == task]
            if match.empty:
                cells.append("-")
                continue
            r = match.iloc[0]
            flags = [f"{r[s]} {s}" for s in ("diverged", "failed", "missing") if r[s]]
            if not r["complete"]:  # nothing scored: say what happened, show no number
                cells.append(", ".join(flags))
                continue
            text = f"{fmt(r['mean'], 1)} ± {fmt(r['std'], 1)} (n={r['complete']})"
            cells.append(text + (f", {', '.join(flags)}" if flags else ""))
        rows.append(cells)
    return markdown_table(["arm", *tasks], rows)
