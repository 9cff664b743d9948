"""rliable statistics over normalized (runs x tasks) score arrays, reproducible.

Every bootstrap uses a fixed seed, recorded with the output: rliable takes a RandomState
for interval estimates but draws from numpy's global RNG in places (performance
profiles), so both are seeded before each call.
"""

from __future__ import annotations

import numpy as np

STATS_SEED = 0
REPS = 2000
AGGREGATES = ("median", "iqm", "mean", "optimality_gap")


def score_matrices(frame) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """{arm: normalized scores [runs, tasks]} for the arms with the same number of scored
    runs on every task (sorted by seed); the others with why they are left out."""
    tasks = sorted(frame["task"].unique())
    matrices, excluded = {}, {}
    for arm, group in frame.groupby("arm_label"):
        columns = [group[(group["task"] == t) & group["normalized"].notna()].sort_values("seed")["normalized"]
                   .to_numpy() for t in tasks]
        counts = [len(c) for c in columns]
        if min(counts) == 0 or len(set(counts)) > 1:
            excluded[arm] = "scored runs per task differ: " + ", ".join(
                f"{t} {n}" for t, n in zip(tasks, counts, strict=True))
            continue
        matrices[arm] = np.stack(columns, axis=1)
    return matrices, excluded


def _seed(seed: int) -> np.random.RandomState:
    np.random.seed(seed)
    return np.random.RandomState(seed)


def aggregates(matrices: dict[str, np.ndarray], seed: int = STATS_SEED, reps: int = REPS):
    """Median, IQM, mean, optimality gap per arm, with stratified-bootstrap 95% CIs."""
    import pandas as pd
    from rliable import library as rly
    from rliable import metrics

    def func(x):
        return np.array([metrics.aggregate_median(x), metrics.aggregate_iqm(x), metrics.aggregate_mean(x),
                         metrics.aggregate_optimality_gap(x)])

    points, intervals = rly.get_interval_estimates(matrices, func, reps=reps, random_state=_seed(seed))
    rows = []
    for arm in matrices:
        for i, name in enumerate(AGGREGATES):
            rows.append({"arm": arm, "aggregate": name, "value": float(points[arm][i]),
                         "ci_low": float(intervals[arm][0, i]), "ci_high": float(intervals[arm][1, i])})
    return pd.DataFrame(rows)


def improvement_probabilities(matrices: dict[str, np.ndarray], seed: int = STATS_SEED, reps: int = REPS):
    """P(X > Y) for every ordered pair of arms, with 95% CIs."""
    import pandas as pd
    from rliable import library as rly
    from rliable import metrics

    arms = list(matrices)
    pairs = {f"{x},{y}": (matrices[x], matrices[y]) for x in arms for y in arms if x != y}
    if not pairs:
        return pd.DataFrame(columns=["x", "y", "probability", "ci_low", "ci_high"])
    points, intervals = rly.get_interval_estimates(pairs, metrics.probability_of_improvement, reps=reps,
                                                   random_state=_seed(seed))
    rows = []
    for key in pairs:
        low, high = np.ravel(intervals[key])[:2]
        rows.append({"x": key.split(",")[0], "y": key.split(",")[1], "probability": float(np.ravel(points[key])[0]),
                     "ci_low": float(low), "ci_high": float(high)})
    return pd.DataFrame(rows)


def performance_profiles(matrices: dict[str, np.ndarray], taus: np.ndarray, seed: int = STATS_SEED,
                         reps: int = REPS):
    """Fraction of runs with normalized score > tau, per arm, with CIs: (points, intervals)."""
    from rliable import library as rly

    _seed(seed)
    return rly.create_performance_profile(matrices, taus, reps=reps)
