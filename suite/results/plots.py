"""Figures (matplotlib, PNG and SVG): learning curves per task in the style of the paper's Figure 3,
rliable interval estimates, and performance profiles. Deterministic for the same records."""

from __future__ import annotations

import io
import textwrap
import warnings
from pathlib import Path

import numpy as np

from suite.records.files import EPISODES, atomic_write_bytes, read_csv
from suite.records.result import Status
from suite.results.stats import STATS_SEED, interval

CURVE_POINTS = 50


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "pgsuite"  # the same SVG bytes for the same records
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    """`path` as a 150-dpi PNG, and the same figure as SVG beside it (for papers)."""

    for suffix, metadata, options in ((".png", {"Software": None}, {"dpi": 150}),
                                      (".svg", {"Date": None, "Creator": None}, {})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix[1:], metadata=metadata, **options)
        atomic_write_bytes(Path(path).with_suffix(suffix), buffer.getvalue())
    _figure().close(fig)


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


# Eleven hues a reader can tell apart (tab10, then black), and line styles cycling beside them
# so that neighbours differ twice and a grey print still separates them.
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
           "tab:gray", "tab:olive", "tab:cyan", "black")
LINESTYLES = ("-", "--", "-.", ":")
CHARS_PER_INCH = 11  # characters of a 9-point title per inch of figure: a longer title wraps, never clips


def arm_styles(names) -> dict[str, tuple[str, str]]:
    """(colour, line style) per name, in the order given: one figure's rows get distinct
    hues (11 before any repeats) and a line style that changes from one row to the next."""
    names = list(dict.fromkeys(names))
    return {name: (PALETTE[i % len(PALETTE)], LINESTYLES[(i + i // len(PALETTE)) % len(LINESTYLES)])
            for i, name in enumerate(names)}


def _title(text: str, inches: float) -> str:
    return "\n".join(textwrap.wrap(text, int(CHARS_PER_INCH * inches))) if text else text


def bootstrap_band(curves: np.ndarray, seed: int = STATS_SEED) -> tuple[np.ndarray, np.ndarray]:
    """95% interval of the mean curve over seeds at each point ([S, P] -> two [P]): the seeds
    resampled at each point (stats.interval, the points as strata); a fixed seed, so figures
    are reproducible. A point no seed reached stays NaN."""
    def mean_curve(x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a point every resampled seed lacks
            return np.nanmean(x, axis=0)

    _, low, high = interval(curves, mean_curve, seed=seed)
    return low, high


def learning_curves(frame, path: Path, label: str = "arm_label", title: str = "") -> None:
    """One panel per task; per arm (column `label`) the mean over seeds of the training-
    episode return, binned over env steps, with a bootstrap 95% band over seeds."""

    plt = _figure()
    done = frame[frame["status"] == Status.COMPLETE]
    tasks = sorted(done["task"].unique())
    cols = min(4, len(tasks))
    rows = int(np.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    arms = list(dict.fromkeys(done[label]))
    styles = arm_styles(arms)
    for ax, task in zip(axes.flat, tasks, strict=False):
        rows_task = done[done["task"] == task]
        steps = int(rows_task["steps"].max())
        grid = np.linspace(0, steps, CURVE_POINTS + 1)
        x = grid[1:] / 1e6
        for arm in arms:
            runs = rows_task[rows_task[label] == arm]
            if runs.empty:
                continue
            curves = np.stack([curve(read_csv(Path(p) / EPISODES), grid) for p in sorted(runs["path"])])
            with warnings.catch_warnings():  # bins before any episode ended are NaN for every seed
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                color, style = styles[arm]
                ax.plot(x, mean, color=color, linestyle=style, label=f"{arm} (n={len(curves)})", linewidth=1.3)
                if len(curves) > 1:
                    low, high = bootstrap_band(curves)
                    ax.fill_between(x, low, high, color=color, alpha=0.12, linewidth=0)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("environment steps (millions)", fontsize=8)
        ax.set_ylabel("training episode return", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    ncol = min(4, len(labels))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8)
    caption = "mean over seeds; band: bootstrap 95% CI of that mean (seeds resampled)"
    fig.suptitle(_title(f"{title}. {caption}" if title else caption, 4 * cols), fontsize=9)
    legend_rows = -(-len(labels) // ncol) if labels else 0
    fig.tight_layout(rect=(0, min(0.3, 0.035 * legend_rows / rows + 0.02), 1, 1))
    _save(fig, path)


AGGREGATE_TITLES = {"median": "Median", "iqm": "Interquartile mean (IQM)", "mean": "Mean",
                    "optimality_gap": "Optimality gap (lower is better)"}


def interval_estimates(aggregates, path: Path, title: str = "") -> None:
    """Point estimate and 95% CI of each aggregate, one panel per aggregate."""
    plt = _figure()
    names = list(dict.fromkeys(aggregates["aggregate"]))
    arms = list(dict.fromkeys(aggregates["arm"]))
    styles = arm_styles(arms)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 1.5, 0.4 * len(arms) + 1.6),
                             squeeze=False)
    for ax, name in zip(axes.flat, names, strict=True):
        part = aggregates[aggregates["aggregate"] == name].set_index("arm").loc[arms]
        y = np.arange(len(arms))
        ax.hlines(y, part["ci_low"], part["ci_high"], linewidth=6, alpha=0.6, colors=[styles[a][0] for a in arms])
        ax.plot(part["value"], y, "k|", markersize=12)
        ax.set_yticks(y, arms if ax is axes.flat[0] else [""] * len(arms), fontsize=8)
        ax.set_title(AGGREGATE_TITLES.get(name, name), fontsize=9)
        ax.set_xlabel("normalized score", fontsize=8)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(_title(f"{title} (95% stratified-bootstrap CIs)", fig.get_figwidth()), fontsize=9)
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


def performance_profiles(taus: np.ndarray, points: dict, intervals: dict, path: Path, title: str = "") -> None:
    """The score distributions, one line per row (legend beside the axes, never over them)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    styles = arm_styles(list(points))
    for arm in points:
        color, style = styles[arm]
        ax.plot(taus, points[arm], label=arm, linewidth=1.4, color=color, linestyle=style)
        ax.fill_between(taus, intervals[arm][0], intervals[arm][1], alpha=0.08, color=color, linewidth=0)
    ax.set_xlabel("normalized score tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_title(_title(f"{title}: performance profiles (95% bootstrap bands)" if title else "Performance profiles",
                        6), fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    _save(fig, path)
