"""The effect of each code-level toggle, from runs that differ in that toggle only.

For a toggle t, a pair is two complete runs of the same arm, task and seed whose toggle
states (from their on=/off= overrides) are equal except t. The effect is the mean over
pairs of normalized(on) - normalized(off), with a 95% percentile bootstrap CI over pairs.
"""

from __future__ import annotations

import numpy as np

from .tables import BOOTSTRAP_REPS


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


def toggle_effects(frame, seed: int = 0):
    import pandas as pd

    rows = []
    for name, values in sorted(paired_differences(frame).items()):
        values = np.asarray(values)
        rng = np.random.default_rng(seed)
        means = values[rng.integers(0, len(values), (BOOTSTRAP_REPS, len(values)))].mean(axis=1)
        rows.append({"toggle": name, "pairs": len(values), "effect": float(values.mean()),
                     "ci_low": float(np.percentile(means, 2.5)), "ci_high": float(np.percentile(means, 97.5))})
    return pd.DataFrame(rows)
