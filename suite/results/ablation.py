"""The effect of each code-level toggle, from runs that differ in that toggle only.

For a toggle t, a pair is two complete runs of the same arm, task and seed whose toggle
states (from their on=/off= overrides) are equal except t. The effect is the mean over
pairs of normalized(on) - normalized(off), with a 95% percentile bootstrap CI over pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.results.stats import STATS_SEED, interval


def toggle_states(overrides: dict) -> dict[str, bool]:
    states = {}
    for key, value in (("on", True), ("off", False)):
        for name in str(overrides.get(key, "")).split("+"):
            if name:
                states[name] = value
    return states


def paired_differences(frame) -> dict[str, list[float]]:
    """{toggle: [normalized(on) - normalized(off) per pair]}."""
    scored = frame[frame["normalized"].notna()]
    cells: dict[tuple, float] = {}
    for row in scored.itertuples():
        states = toggle_states(row.overrides)
        if states:
            cells[(row.arm, row.task, row.seed, tuple(sorted(states.items())))] = row.normalized
    diffs: dict[str, list[float]] = {}
    for (arm, task, seed, states), value in sorted(cells.items()):
        for name, on in states:
            if not on:
                continue
            twin = tuple((n, False if n == name else v) for n, v in states)
            if (arm, task, seed, twin) in cells:
                diffs.setdefault(name, []).append(value - cells[(arm, task, seed, twin)])
    return diffs


def toggle_effects(frame, seed: int = STATS_SEED):
    """Per toggle, the mean paired difference with its 95% interval (pairs resampled: stats.interval)."""
    rows = []
    for name, values in sorted(paired_differences(frame).items()):
        effect, low, high = interval(np.asarray(values)[:, None], seed=seed)
        rows.append({"toggle": name, "pairs": len(values), "effect": float(effect), "ci_low": float(low),
                     "ci_high": float(high)})
    return pd.DataFrame(rows)
