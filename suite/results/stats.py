"""Every interval the suite shows, through one bootstrap: rliable's stratified bootstrap
(runs resampled within each task, or within each cell), REPS resamples, 95% percentile
intervals, a fixed seed recorded with the output. rliable takes a RandomState for interval
estimates but draws from numpy's global RNG in places (performance profiles), so both are
seeded before each call.

- `interval`: a statistic of one array [runs, strata] (or of per-stratum arrays of unequal
  length) with its interval: a table's mean normalized score, a task's mean score, a toggle's
  mean paired difference, a learning curve's band;
- `resamples`: the resampled arrays themselves, for statistics of several settings at once
  (ranks, rank correlations: suite/results/ranking.py);
- `aggregates`, `improvement_probabilities`, `performance_profiles`: rliable's own (P(X > Y)
  counted by `probability_of_improvement`, rliable's floats at a thousandth of the cost).

rliable is slow to import (it loads arch and statsmodels: `python -X importtime`), so `_rliable`
imports it on first use, the one import of it, rather than when `suite` is imported.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd

STATS_SEED = 0
REPS = 2000  # resamples of every interval: our choice (rliable's get_interval_estimates defaults to 50,000)
AGGREGATES = ("median", "iqm", "mean", "optimality_gap")


def score_matrices(frame, label: str = "arm_label") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """{arm: normalized scores [runs, tasks]} for the arms (named by column `label`, in
    order of appearance) with the same number of scored runs on every task (sorted by
    seed); the others with why they are left out."""
    tasks = sorted(frame["task"].unique())
    matrices, excluded = {}, {}
    for arm, group in frame.groupby(label, sort=False):
        columns = [group[(group["task"] == t) & group["normalized"].notna()].sort_values("seed")["normalized"]
                   .to_numpy() for t in tasks]
        counts = [len(c) for c in columns]
        if min(counts) == 0 or len(set(counts)) > 1:
            excluded[arm] = "scored runs per task differ: " + ", ".join(
                f"{t} {n}" for t, n in zip(tasks, counts, strict=True))
            continue
        matrices[arm] = np.stack(columns, axis=1)
    return matrices, excluded


def _rliable():
    """rliable's (library, metrics), imported on first use."""
    from rliable import library, metrics

    return library, metrics


def differences_of_aggregates(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """IQM(x) - IQM(y) and mean(x) - mean(y) of two [runs, tasks] score matrices."""
    _, metrics = _rliable()
    return np.array([metrics.aggregate_iqm(x) - metrics.aggregate_iqm(y),
                     metrics.aggregate_mean(x) - metrics.aggregate_mean(y)])


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.float64:
    """P(X > Y) of two [runs, tasks] score matrices: per task, the share of (x run, y run)
    pairs with x > y, ties counting half, averaged over tasks. The same float as rliable's
    `metrics.probability_of_improvement` (scipy's Mann-Whitney U per task, divided by
    n_x n_y, then np.mean): U is that count, a sum of halves and so exact either way, and the
    division and the mean are the same operations (tests/test_results.py checks equality).
    rliable's shortcut for identical columns (0.5) needs no branch: the count gives n^2 / 2
    there. Counted directly it costs microseconds where scipy's call costs a millisecond a
    task, which made the leaderboard's bootstraps of every pair most of its build time."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    greater = (x[:, None, :] > y[None, :, :]).sum(axis=(0, 1))
    ties = (x[:, None, :] == y[None, :, :]).sum(axis=(0, 1))
    return np.mean((greater + 0.5 * ties) / (x.shape[0] * y.shape[0]))


def _seed(seed: int) -> np.random.RandomState:
    np.random.seed(seed)
    return np.random.RandomState(seed)


@contextlib.contextmanager
def _quiet():
    """rliable hands arch a RandomState, which arch deprecates with a FutureWarning per call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)
        yield


def interval(data: np.ndarray | list[np.ndarray], statistic=None, reps: int = REPS, seed: int = STATS_SEED
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) of `statistic` (default: the mean of every value) of `data`, a
    [runs, strata, ...] array whose runs are resampled within each stratum, or a list of
    arrays [runs_k, ...] resampled independently (strata of unequal size). Each of the three
    has the statistic's shape. The 95% percentile interval of rliable's stratified bootstrap."""
    rly, _ = _rliable()

    if statistic is None:
        def statistic(*arrays):
            return np.mean(np.concatenate([np.ravel(a) for a in arrays]))
    scores = [np.asarray(a, dtype=float) for a in data] if isinstance(data, list) else np.asarray(data, dtype=float)
    with _quiet():
        points, intervals = rly.get_interval_estimates({"x": scores}, statistic, reps=reps, random_state=_seed(seed))
    point = np.asarray(points["x"])
    bounds = np.asarray(intervals["x"]).reshape(2, *point.shape)
    return point, bounds[0], bounds[1]


def resamples(data: np.ndarray, reps: int = REPS, seed: int = STATS_SEED) -> np.ndarray:
    """[reps, runs, strata]: rliable's stratified bootstrap of `data` [runs, strata], each
    stratum's runs drawn with replacement."""
    rly, _ = _rliable()

    with _quiet():
        boot = rly.StratifiedBootstrap(np.asarray(data, dtype=float), random_state=_seed(seed))
        return np.stack([positional[0] for positional, _ in boot.bootstrap(reps)])


def aggregates(matrices: dict[str, np.ndarray], seed: int = STATS_SEED, reps: int = REPS):
    """Median, IQM, mean, optimality gap per arm, with stratified-bootstrap 95% CIs."""
    rly, metrics = _rliable()

    def func(x):
        return np.array([metrics.aggregate_median(x), metrics.aggregate_iqm(x), metrics.aggregate_mean(x),
                         metrics.aggregate_optimality_gap(x)])

    with _quiet():
        points, intervals = rly.get_interval_estimates(matrices, func, reps=reps, random_state=_seed(seed))
    rows = []
    for arm in matrices:
        for i, name in enumerate(AGGREGATES):
            rows.append({"arm": arm, "aggregate": name, "value": float(points[arm][i]),
                         "ci_low": float(intervals[arm][0, i]), "ci_high": float(intervals[arm][1, i])})
    return pd.DataFrame(rows)


def improvement_probabilities(matrices: dict[str, np.ndarray], seed: int = STATS_SEED, reps: int = REPS,
                              against: str | None = None):
    """P(X > Y) for every ordered pair of arms (or, with `against`, every arm X against that
    one), with 95% CIs."""
    rly, metrics = _rliable()

    arms = list(matrices)
    pairs = [(x, y) for x in arms for y in arms if x != y and (against is None or y == against)]
    if not pairs:
        return pd.DataFrame(columns=["x", "y", "probability", "ci_low", "ci_high"])
    # keys by position: arm names may hold commas ("Clipping, eps = 0.2")
    data = {str(i): (matrices[x], matrices[y]) for i, (x, y) in enumerate(pairs)}
    with _quiet():
        points, intervals = rly.get_interval_estimates(data, probability_of_improvement, reps=reps,
                                                       random_state=_seed(seed))
    rows = []
    for i, (x, y) in enumerate(pairs):
        low, high = np.ravel(intervals[str(i)])[:2]
        rows.append({"x": x, "y": y, "probability": float(np.ravel(points[str(i)])[0]),
                     "ci_low": float(low), "ci_high": float(high)})
    return pd.DataFrame(rows)


def performance_profiles(matrices: dict[str, np.ndarray], taus: np.ndarray, seed: int = STATS_SEED,
                         reps: int = REPS):
    """Fraction of runs with normalized score > tau, per arm, with CIs: (points, intervals)."""
    rly, _ = _rliable()

    _seed(seed)
    return rly.create_performance_profile(matrices, taus, reps=reps)
