"""Figures (matplotlib, PNG): learning curves per task in the style of the paper's Figure 3,
rliable interval estimates, and performance profiles. Deterministic for the same records."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .store import EPISODES, atomic_write_bytes, read_csv

CURVE_POINTS = 50


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    _figure().close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def curve(episodes: list[dict], grid: np.ndarray) -> np.ndarray:
    """Mean return of the episodes ending in each bin of `grid` (bin edges), carried forward
    over empty bins (NaN before the first episode)."""
    steps = np.array([e["global_step"] for e in episodes], dtype=float)
    returns = np.array([e["return"] for e in episodes], dtype=float)
    out = np.full(len(grid) - 1, np.nan)
    last = np.nan
    for i in range(len(grid) - 1):
        inside = (steps > grid[i]) & (steps <= grid[i + 1])
        if inside.any():
            last = returns[inside].mean()
        out[i] = last
    return out


def learning_curves(frame, path: Path) -> None:
    """One panel per task; per arm the mean over seeds of the training-episode return, with a
    95% normal-approximation band (1.96 standard errors over seeds)."""
    plt = _figure()
    done = frame[frame["status"] == "complete"]
    tasks = sorted(done["task"].unique())
    cols = min(4, len(tasks))
    rows = int(np.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    arms = sorted(done["arm_label"].unique())
    colors = {arm: plt.get_cmap("tab10")(i % 10) for i, arm in enumerate(arms)}
    for ax, task in zip(axes.flat, tasks, strict=False):
        rows_task = done[done["task"] == task]
        steps = int(rows_task["steps"].max())
        grid = np.linspace(0, steps, CURVE_POINTS + 1)
        for arm in arms:
            runs = rows_task[rows_task["arm_label"] == arm]
            if runs.empty:
                continue
            curves = np.stack([curve(read_csv(Path(p) / EPISODES), grid) for p in sorted(runs["path"])])
            mean = np.nanmean(curves, axis=0)
            ax.plot(grid[1:], mean, color=colors[arm], label=arm, linewidth=1.2)
            if len(curves) > 1:
                sem = np.nanstd(curves, axis=0, ddof=1) / np.sqrt(len(curves))
                ax.fill_between(grid[1:], mean - 1.96 * sem, mean + 1.96 * sem, color=colors[arm], alpha=0.2)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("env steps", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path)


def interval_estimates(aggregates, path: Path) -> None:
    """Point estimate and 95% CI of each aggregate, one panel per aggregate."""
    plt = _figure()
    names = list(dict.fromkeys(aggregates["aggregate"]))
    arms = sorted(aggregates["arm"].unique())
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 0.5 * len(arms) + 1.2), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        part = aggregates[aggregates["aggregate"] == name].set_index("arm").loc[arms]
        y = np.arange(len(arms))
        ax.hlines(y, part["ci_low"], part["ci_high"], linewidth=6, alpha=0.5)
        ax.plot(part["value"], y, "k|", markersize=12)
        ax.set_yticks(y, arms if ax is axes.flat[0] else [""] * len(arms), fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    _save(fig, path)


def toggle_histograms(diffs: dict[str, list[float]], path: Path) -> None:
    """One histogram per toggle of the paired differences normalized(on) - normalized(off)."""
    plt = _figure()
    names = sorted(diffs)
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 2.6), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        values = np.asarray(diffs[name])
        span = (float(values.min()) - 0.05, float(values.max()) + 0.05)  # equal values still get bins
        ax.hist(values, bins=min(20, max(5, len(values))), range=span, color="tab:blue", alpha=0.8)
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_title(f"{name} on - off", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    _save(fig, path)


def performance_profiles(taus: np.ndarray, points: dict, intervals: dict, path: Path) -> None:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for arm in sorted(points):
        ax.plot(taus, points[arm], label=arm, linewidth=1.2)
        ax.fill_between(taus, intervals[arm][0], intervals[arm][1], alpha=0.2)
    ax.set_xlabel("normalized score tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)
