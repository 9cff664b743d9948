"""Figure 3's tuned baselines (issue 35): each sweep's result and the setting it chooses.

The protocol, the same for every baseline with a knob the paper did not publish (suite.paper
A2C_TR_SWEEP, CEM_SWEEP): its rows run on the 7 tasks at 1M steps on seeds apart from the
table's (TUNING_SEEDS), normalized among the sweep's own rows (random = 0, the best row's
per-task mean = 1); the row with the highest mean normalized score is chosen, and only
then runs on the table's seeds. A sweep chooses nothing until every one of its runs is
final, so a partial sweep never picks a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.paper import PAPER_TASKS, Comparison
from suite.results.ranking import Ranking, Scores, rank_uncertainty
from suite.results.stats import REPS, STATS_SEED
from suite.results.tables import in_comparison


@dataclass
class SweepResult:
    sweep: Comparison
    scores: Scores
    ranking: Ranking | None  # None until every run of the sweep is scored

    @property
    def chosen(self) -> str | None:
        """The chosen row's arm spec, or None while the sweep is incomplete."""
        if self.ranking is None:
            return None
        return dict(self.sweep.rows)[self.ranking.settings[int(np.argmax(self.ranking.means))]]

    @property
    def scored(self) -> int:
        return int(np.isfinite(self.scores.raw).sum())

    @property
    def planned(self) -> int:
        return len(self.sweep.rows) * len(PAPER_TASKS) * len(self.sweep.seeds)


def sweep_result(frame, sweep: Comparison, randoms: dict[str, float], reps: int = REPS,
                 seed: int = STATS_SEED) -> SweepResult:
    """The sweep's scores from a run table (`scores.run_table`) and, once every run is
    scored, the uncertainty of its ranking (the one analysis: ranking.rank_uncertainty)."""
    runs = in_comparison(frame, sweep)
    runs = runs[runs["task"].isin(PAPER_TASKS)]
    if runs.empty:
        return SweepResult(sweep, Scores([], [], np.full((0, 0, 1), np.nan), np.zeros(0)), None)
    scores = Scores.from_frame(runs, randoms)
    whole = (len(scores.settings) == len(sweep.rows) and scores.tasks == sorted(PAPER_TASKS)
             and scores.raw.shape[-1] == len(sweep.seeds) and scores.complete())
    return SweepResult(sweep, scores, rank_uncertainty(scores, None, reps, seed, last_fixed=None) if whole else None)
