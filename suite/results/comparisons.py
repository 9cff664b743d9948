"""A comparison rebuilt from run records, once, for every renderer: the leaderboard, `suite
table`, `suite plot` and `suite export` all take a ComparisonResult from `rebuild`.

A comparison (suite.paper.Comparison) is data: its rows (the paper's settings, Figure 3's
algorithms, or any arms: suite.paper.arms_comparison), its seeds, whether the paper's Table 1
column stands beside it. `rebuild` finds its runs (tables.in_comparison: config hash as
each task resolves it), normalizes them among its rows (scores.normalize), and computes its
table (tables.comparison_table) and the uncertainty of its ranking (ranking.for_comparison),
all under the one analysis design (ranking.DESIGN).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from suite.paper import PAPER_SEEDS, PAPER_STEPS, PAPER_TASKS, Comparison, paper_table1
from suite.results import scores
from suite.results.ranking import Ranking, for_comparison
from suite.results.scores import normalize
from suite.results.stats import STATS_SEED
from suite.results.tables import comparison_table, in_comparison


@dataclass
class ComparisonResult:
    comparison: Comparison
    runs: pd.DataFrame  # its runs with `row` and `normalized`
    tops: dict[str, float]  # the normalization's 1 per task
    at_paper_budget: bool
    tasks: list[str]  # the tasks a complete table has (the paper's seven at its budget)
    seeds: int  # the seeds per (row, task) a complete table has
    paper: dict[str, float] | None  # the paper's Table 1 column beside it, at the paper's budget
    table: pd.DataFrame  # tables.comparison_table
    ranking: Ranking | None  # None until every run is scored
    uncertainty: str  # the ranking's markdown, or why it is not computed yet

    @property
    def empty(self) -> bool:
        return self.runs.empty


def comparison_runs(frame, comparison: Comparison, mode: str = "paper"):
    """(the comparison's runs with `row` and `normalized`, tops) from a run table."""
    return normalize(in_comparison(frame, comparison), mode)


def rebuild(frame, comparison: Comparison, mode: str = "paper", seed: int = STATS_SEED) -> ComparisonResult:
    """The comparison from a run table (`scores.run_table`: one step budget)."""
    runs, tops = comparison_runs(frame, comparison, mode)
    at_paper_budget = not frame.empty and int(frame["budget"].max()) == PAPER_STEPS
    tasks = list(PAPER_TASKS) if at_paper_budget else sorted(frame["task"].unique())
    planned = len(comparison.seeds[:PAPER_SEEDS]) if comparison.seeds is not None else 0
    seeds = max(planned, runs["seed"].nunique() if not runs.empty else 0)
    paper = paper_table1() if comparison.paper_table1 and at_paper_budget else None
    if runs.empty:
        return ComparisonResult(comparison, runs, tops, at_paper_budget, tasks, seeds, paper, pd.DataFrame(), None,
                                "")
    table = comparison_table(runs, paper=paper, seed=seed, tasks=tasks, seeds=seeds)
    ranking, uncertainty = for_comparison(runs, comparison, scores.random_scores(), paper, seed=seed,
                                          tasks=tasks if at_paper_budget else None)
    return ComparisonResult(comparison, runs, tops, at_paper_budget, tasks, seeds, paper, table, ranking, uncertainty)
