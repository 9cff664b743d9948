"""Which of the paper's Figure 3 orderings reproduce, task by task.

The paper gives Figure 3 as curves only. Its final values at 1M steps have been read off the
plots for four of its six algorithms (suite.paper.paper_figure3: PPO (Clip), TRPO, A2C, A2C +
Trust Region; approximate, -v1 tasks). For each task and each pair of those rows the paper
puts one above the other (or level); ours is the difference of the two rows' mean raw scores
(last-100-episode mean per run) with its 95% interval, each row's seeds resampled on their
own (stats.interval, the one bootstrap). A gap smaller than EQUIVALENCE (5%) of the task's
range (the random policy's score to the best row's mean) is practically no gap. The verdict
on a pair:

- "practically equal": our whole interval lies within that margin of 0 (where the paper
  has the two level too: "level in both");
- "reproduces": our interval lies on the paper's side of 0 (and not within the margin);
- "reversed": it lies on the other side (and not within the margin);
- "same side, not resolved" / "other side, not resolved": the interval holds 0;
- where the paper's two values are level (InvertedPendulum, every row ~1000) and ours are
  not practically equal: "we separate them" when our interval excludes 0, else "paper
  level, ours not resolved".

Raw scores, not normalized ones: an ordering within one task does not depend on the
normalization, and raw scores stand beside the paper's read-off values. Values read off a
plot by eye carry their own error; a pair the paper separates by a few percent is a weak
claim to test, and each row shows the paper's gap so a reader can judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from suite.paper import paper_figure3
from suite.results.scores import random_scores
from suite.results.stats import REPS, STATS_SEED, interval
from suite.results.tables import markdown_table

REPRODUCES, REVERSED = "reproduces", "reversed"
SAME_SIDE, OTHER_SIDE = "same side, not resolved", "other side, not resolved"
EQUAL = "practically equal"
LEVEL, SEPARATED, LEVEL_UNRESOLVED = "level in both", "we separate them", "paper level, ours not resolved"
VERDICTS = (REPRODUCES, SAME_SIDE, OTHER_SIDE, REVERSED, EQUAL, LEVEL, SEPARATED, LEVEL_UNRESOLVED)
EQUIVALENCE = 0.05  # a gap below this fraction of the task's range (random to the best row) is no gap


@dataclass(frozen=True)
class Ordering:
    """One pair of rows on one task: `upper` is the row the paper puts higher (or the first
    of the comparison's order, where the paper has them level)."""

    task: str
    upper: str
    lower: str
    paper_gap: float  # the paper's upper - lower (>= 0)
    difference: float  # ours: mean score of upper - mean score of lower
    low: float
    high: float
    seeds: tuple[int, int]  # scored runs of (upper, lower)
    margin: float = 0.0  # EQUIVALENCE x the task's range: a gap within it is practically none

    @property
    def verdict(self) -> str:
        resolved_up, resolved_down = self.low > 0, self.high < 0
        equal = -self.margin <= self.low and self.high <= self.margin
        if self.paper_gap == 0:
            return LEVEL if equal else SEPARATED if resolved_up or resolved_down else LEVEL_UNRESOLVED
        if equal:
            return EQUAL
        if resolved_up:
            return REPRODUCES
        if resolved_down:
            return REVERSED
        return SAME_SIDE if self.difference >= 0 else OTHER_SIDE


def _difference(upper: np.ndarray, lower: np.ndarray) -> float:
    return float(np.mean(upper) - np.mean(lower))


def orderings(runs, paper: dict[str, dict[str, float]], randoms: dict[str, float] | None = None,
              min_seeds: int = 2, reps: int = REPS, seed: int = STATS_SEED) -> list[Ordering]:
    """Every (task, pair of rows) where the paper has both values and each row has at least
    `min_seeds` scored runs. `runs` holds a comparison's runs (`row`, `task`, `score`;
    tables.in_comparison); `paper` is {row: {task: value}} (suite.paper.paper_figure3);
    `randoms` the random policy's score per task (the bottom of a task's range; without it,
    no gap counts as practically none)."""
    scored = runs[runs["score"].notna()]
    order = list(dict.fromkeys(runs["row"]))
    found = []
    for task in sorted(scored["task"].unique()):
        here = scored[scored["task"] == task]
        values = {row: here.loc[here["row"] == row, "score"].to_numpy(dtype=float) for row in order}
        best = max(float(v.mean()) for v in values.values() if len(v))
        margin = EQUIVALENCE * (best - randoms[task]) if randoms and task in randoms else 0.0
        rows = [row for row in order if task in paper.get(row, {}) and len(values[row]) >= min_seeds]
        for a, b in combinations(rows, 2):
            upper, lower = (a, b) if paper[a][task] >= paper[b][task] else (b, a)
            point, low, high = interval([values[upper][:, None], values[lower][:, None]], _difference,
                                        reps=reps, seed=seed)
            found.append(Ordering(task, upper, lower, paper[upper][task] - paper[lower][task], float(point),
                                  float(low), float(high), (len(values[upper]), len(values[lower])),
                                  max(margin, 0.0)))
    return found


def order_string(values: dict[str, float]) -> str:
    """'A > B > C' from {row: value}, highest first; level values joined by '='."""
    ranked = sorted(values.items(), key=lambda kv: -kv[1])
    text = ranked[0][0] if ranked else ""
    for (_, before), (name, value) in zip(ranked, ranked[1:], strict=False):
        text += (" = " if value == before else " > ") + name
    return text


def orderings_markdown(found: list[Ordering], runs, paper: dict[str, dict[str, float]]) -> str:
    """Per task the paper's order and ours, then every pair with its verdict, then the counts."""
    if not found:
        return ("Which of the paper's orderings reproduce: shown once two rows with transcribed paper values "
                "have at least 2 scored runs on a task.")
    scored = runs[runs["score"].notna()]
    lines = ["Per task, the paper's order of the rows it has values for (read off its plots) and ours (mean "
             "last-100 score over seeds) of the same rows:", ""]
    task_rows = []
    for task in dict.fromkeys(o.task for o in found):
        rows = list(dict.fromkeys([o.upper for o in found if o.task == task] + [o.lower for o in found
                                                                               if o.task == task]))
        means = {row: float(scored.loc[(scored["task"] == task) & (scored["row"] == row), "score"].mean())
                 for row in rows}
        task_rows.append([task, order_string({row: paper[row][task] for row in rows}), order_string(means)])
    lines += [markdown_table(["task", "paper (-v1, approximate)", "ours"], task_rows), ""]
    pair_rows = [[o.task, f"{o.upper} vs {o.lower}", f"{o.paper_gap:+g}",
                  f"{o.difference:+.1f} [{o.low:+.1f}, {o.high:+.1f}]", f"±{o.margin:.1f}",
                  f"{o.seeds[0]}, {o.seeds[1]}", o.verdict]
                 for o in found]
    lines += ["Every pair: the paper's gap (upper - lower, as read off its plot), ours with its 95% bootstrap "
              f"interval ({REPS} resamples, each row's seeds resampled on their own), the runs behind each side; "
              f"a gap whose interval lies within ±{EQUIVALENCE:.0%} of the task's range (the random policy's score "
              "to the best row's mean: the margin column) is practically none:",
              "", markdown_table(["task", "pair (paper's upper first)", "paper gap", "ours [95% CI]", "margin", "runs",
                                  "verdict"], pair_rows), ""]
    counts = {v: sum(1 for o in found if o.verdict == v) for v in VERDICTS}
    ordered = sum(1 for o in found if o.paper_gap != 0)
    level = len(found) - ordered
    seeds = min(min(o.seeds) for o in found)
    lines.append(f"Of the {_pairs(ordered)} the paper orders: {counts[REPRODUCES]} reproduce"
                 f"{'s' * (counts[REPRODUCES] == 1)}, {counts[SAME_SIDE]} lean the paper's way without being "
                 f"resolved, {counts[OTHER_SIDE]} lean the other way without being resolved, {counts[EQUAL]} "
                 f"practically equal in ours (interval within {EQUIVALENCE:.0%} of the task's range), "
                 f"{counts[REVERSED]} reversed. Of the {_pairs(level)} the paper has level: {counts[LEVEL]} level "
                 f"in ours too, {counts[SEPARATED]} separated, {counts[LEVEL_UNRESOLVED]} not resolved either way. "
                 f"With {seeds} seeds a row's bootstrap knows {seeds} values, so its intervals run narrow: a "
                 "resolved pair is a strong candidate, not a certainty.")
    return "\n".join(lines)


def figure3_orderings(runs, seed: int = STATS_SEED) -> str:
    """The markdown of Figure 3's orderings against the paper's transcribed values: what the
    leaderboard and `suite table` print."""
    paper = paper_figure3()
    return orderings_markdown(orderings(runs, paper, random_scores(), seed=seed), runs, paper)


def _pairs(n: int) -> str:
    return f"{n} pair" + "s" * (n != 1)
