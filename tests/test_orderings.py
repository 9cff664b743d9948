"""Known answers for the Figure 3 orderings (suite/results/orderings.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from suite.paper import FIGURE3, PUBLISHED_FILE, paper_figure3
from suite.results.orderings import (
    EQUAL,
    EQUIVALENCE,
    LEVEL,
    LEVEL_UNRESOLVED,
    OTHER_SIDE,
    REPRODUCES,
    REVERSED,
    SAME_SIDE,
    SEPARATED,
    order_string,
    orderings,
    orderings_markdown,
)

PAPER = {"A": {"T-v5": 100.0, "L-v5": 50.0}, "B": {"T-v5": 10.0, "L-v5": 50.0}, "C": {"L-v5": 0.0}}


def _runs(scores: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    rows = [{"row": row, "task": task, "seed": s, "score": v}
            for (row, task), values in scores.items() for s, v in enumerate(values)]
    return pd.DataFrame(rows)


def _verdicts(runs, paper=PAPER) -> dict[tuple[str, str, str], str]:
    return {(o.task, o.upper, o.lower): o.verdict for o in orderings(runs, paper, reps=500)}


def test_clear_gaps_reproduce_or_reverse_and_overlap_is_not_resolved():
    same = _runs({("A", "T-v5"): [90, 91, 92], ("B", "T-v5"): [10, 11, 12]})
    flipped = _runs({("A", "T-v5"): [10, 11, 12], ("B", "T-v5"): [90, 91, 92]})
    overlap = _runs({("A", "T-v5"): [10, 60, 30], ("B", "T-v5"): [20, 50, 25]})  # A's mean 33.3 > B's 31.7
    under = _runs({("A", "T-v5"): [20, 50, 25], ("B", "T-v5"): [10, 60, 30]})
    assert _verdicts(same) == {("T-v5", "A", "B"): REPRODUCES}
    assert _verdicts(flipped) == {("T-v5", "A", "B"): REVERSED}
    assert _verdicts(overlap) == {("T-v5", "A", "B"): SAME_SIDE}
    assert _verdicts(under) == {("T-v5", "A", "B"): OTHER_SIDE}
    (found,) = orderings(same, PAPER, reps=500)
    assert found.paper_gap == 90 and found.difference == pytest.approx(80.0) and found.low > 0


def test_the_paper_s_upper_row_comes_first_whatever_our_row_order():
    runs = _runs({("C", "L-v5"): [5, 6, 7], ("A", "L-v5"): [1, 2, 3]})  # paper: A 50 > C 0
    (found,) = orderings(runs, PAPER, reps=500)
    assert (found.upper, found.lower, found.paper_gap, found.verdict) == ("A", "C", 50.0, REVERSED)
    assert found.difference == pytest.approx(-4.0)


def test_level_in_the_paper_is_level_or_separated_in_ours():
    level = _runs({("A", "L-v5"): [1000, 1000, 1000], ("B", "L-v5"): [1000, 1000, 1000]})
    apart = _runs({("A", "L-v5"): [1000, 1000, 1000], ("B", "L-v5"): [500, 510, 520]})
    assert _verdicts(level) == {("L-v5", "A", "B"): LEVEL}
    assert _verdicts(apart) == {("L-v5", "A", "B"): SEPARATED}


def test_a_resolved_gap_inside_the_equivalence_margin_is_practically_equal_not_reversed():
    # Reacher-like: the paper orders A above B; ours has B ahead by 0.4 of a 40-wide range
    tight = _runs({("A", "T-v5"): [-4.4, -4.5, -4.6], ("B", "T-v5"): [-4.0, -4.1, -4.2]})
    (found,) = orderings(tight, PAPER, {"T-v5": -44.0}, reps=500)
    assert found.high < 0  # resolved, the other way
    assert found.margin == pytest.approx(EQUIVALENCE * (-4.1 + 44.0))
    assert found.verdict == EQUAL
    assert orderings(tight, PAPER, reps=500)[0].verdict == REVERSED  # no range given: no margin


def test_level_in_the_paper_but_unresolved_and_not_equal_in_ours_is_said_so():
    # InvertedPendulum-like: 1000 against 672 with a spread too wide to resolve either way
    spread = _runs({("A", "L-v5"): [1000, 1000, 1000], ("B", "L-v5"): [16, 1000, 1000]})
    assert orderings(spread, PAPER, {"L-v5": 5.0}, reps=500)[0].verdict == LEVEL_UNRESOLVED
    near = _runs({("A", "L-v5"): [1000, 1000, 1000], ("B", "L-v5"): [990, 995, 1000]})
    assert orderings(near, PAPER, {"L-v5": 5.0}, reps=500)[0].verdict == LEVEL


def test_rows_without_a_paper_value_or_enough_seeds_are_left_out():
    runs = _runs({("A", "T-v5"): [1, 2, 3], ("C", "T-v5"): [1, 2, 3],  # C has no paper value on T
                  ("A", "L-v5"): [1, 2], ("B", "L-v5"): [4.0], ("C", "L-v5"): [0, 1]})
    runs.loc[len(runs)] = {"row": "B", "task": "L-v5", "seed": 9, "score": np.nan}  # unscored: not a seed
    assert set(_verdicts(runs)) == {("L-v5", "A", "C")}


def test_a_fixed_seed_gives_the_same_intervals_and_another_seed_others():
    runs = _runs({("A", "T-v5"): [10, 60, 30], ("B", "T-v5"): [20, 50, 25]})
    first, again = orderings(runs, PAPER, reps=300, seed=3), orderings(runs, PAPER, reps=300, seed=3)
    other = orderings(runs, PAPER, reps=300, seed=4)
    assert first == again
    assert (first[0].low, first[0].high) != (other[0].low, other[0].high)


def test_order_string_joins_levels_with_equals():
    assert order_string({"B": 2.0, "A": 3.0, "C": 2.0, "D": -1.0}) == "A > B = C > D"


def test_markdown_counts_the_verdicts():
    runs = _runs({("A", "T-v5"): [90, 91, 92], ("B", "T-v5"): [10, 11, 12],
                  ("A", "L-v5"): [1000, 1000, 1000], ("B", "L-v5"): [1000, 1000, 1000]})
    text = orderings_markdown(orderings(runs, PAPER, reps=200), runs, PAPER)
    assert "| T-v5 | A > B | A > B |" in text and "| L-v5 | A = B | A = B |" in text
    assert "Of the 1 pair the paper orders: 1 reproduces" in text
    assert "Of the 1 pair the paper has level: 1 level in ours too" in text


def test_paper_figure3_is_the_transcribed_plot_values_of_four_rows():
    found = paper_figure3()
    rows = [name for name, _ in FIGURE3.rows]
    assert sorted(found) == sorted(["PPO (Clip)", "TRPO", "A2C", "A2C + Trust Region"])
    assert set(found) <= set(rows)
    assert all(len(values) == 7 and all(t.endswith("-v5") for t in values) for values in found.values())
    entries = json.loads(PUBLISHED_FILE.read_text())["entries"]
    trpo = next(e for e in entries if e["row"] == "TRPO" and e["source"].startswith("PPO paper"))
    assert found["TRPO"]["Hopper-v5"] == trpo["scores"]["Hopper"][0] == 2100
