"""How sure a ranking is: the uncertainty of a comparison's order, from its raw scores.

A comparison's rows (settings) are ranked by their mean normalized score over tasks x
seeds, each task normalized as the paper did (random = 0, the best setting's mean = 1). A
bootstrap resample draws, within each (task, setting), that cell's seeds with replacement;
the normalization stays the one of the observed data (stats.DESIGN, the suite's one
analysis), so every statistic below is about the same numbers as the table it sits under:

- rank correlations with the paper's column (Spearman's rho, Kendall's tau), point and 95%
  percentile interval;
- each setting's probability of ranking first, in the top 3, and last;
- every pairwise difference of mean normalized scores with its interval, and how many
  intervals exclude 0;
- Friedman's test of "the settings differ at all" (blocks: tasks; per block the settings'
  mean normalized scores);
- the rho that "no-clip last, the other settings in random order" gives, exactly: with our
  ranks a permutation, Spearman's rho is linear in them, so its expectation is the rho of
  their expected ranks over the permutations' fixed spread; and beside every rho its null
  p-values: the share of orderings, all random or no-clip last and the rest random, whose
  rho is at least ours (NULL_DRAWS permutations from STATS_SEED);
- per task, whether it separates the settings at all (Kruskal-Wallis over the seeds' scores;
  a task where every run scores the same separates nothing);
- the seeds per task a difference of a given size would need (two-sided 5%, power 80%).

Resamples are rliable's stratified bootstrap (stats.resamples), REPS of them from the fixed
STATS_SEED, the same bootstrap and count as every other interval, so a table is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import friedmanchisquare, kendalltau, kruskal, norm, rankdata, spearmanr

from suite.results.stats import REPS, STATS_SEED, resamples
from suite.results.tables import markdown_table


@dataclass
class Scores:
    """Raw scores [settings, tasks, seeds] (NaN where a run is missing) and the random
    policy's score per task."""

    settings: list[str]
    tasks: list[str]
    raw: np.ndarray
    random: np.ndarray  # [tasks]

    @classmethod
    def from_frame(cls, runs, randoms: dict[str, float]) -> Scores:
        """From a comparison's runs (`row`, `task`, `seed`, `score`; tables.in_comparison)."""
        settings = list(dict.fromkeys(runs["row"]))
        tasks = sorted(runs["task"].unique())
        scored = runs[runs["score"].notna()]
        seeds = sorted(scored["seed"].unique())
        raw = np.full((len(settings), len(tasks), max(len(seeds), 1)), np.nan)
        for r in scored.itertuples():
            raw[settings.index(r.row), tasks.index(r.task), seeds.index(r.seed)] = r.score
        return cls(settings, tasks, raw, np.array([randoms[t] for t in tasks], dtype=float))

    def complete(self) -> bool:
        return bool(np.isfinite(self.raw).all())


def normalized_means(raw: np.ndarray, random: np.ndarray, top: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(mean normalized score per setting [S], per setting and task [S, K]) of raw scores
    [..., S, K, N]: random = 0 and `top` [K] = 1, by default each task's best setting mean in
    `raw` itself (leading axes: resamples, normalized by the observed data's `top`)."""
    cell = np.nanmean(raw, axis=-1)  # [..., S, K]
    top = cell.max(axis=-2, keepdims=True) if top is None else top
    per_task = (cell - random) / (top - random)
    return per_task.mean(axis=-1), per_task


def tops_of(raw: np.ndarray) -> np.ndarray:
    """[K]: each task's best setting mean of raw scores [S, K, N], the normalization's 1."""
    return np.nanmean(raw, axis=-1).max(axis=0)


def resample(raw: np.ndarray, reps: int, seed: int) -> np.ndarray:
    """[reps, S, K, N]: each (setting, task) cell's seeds drawn with replacement, through the
    one bootstrap (stats.resamples, the S x K cells as strata)."""
    s, k, n = raw.shape
    boot = resamples(np.moveaxis(raw, -1, 0).reshape(n, s * k), reps, seed)  # [reps, N, S*K]
    return np.moveaxis(boot.reshape(reps, n, s, k), 1, -1)


def ranks_of(means: np.ndarray) -> np.ndarray:
    """1 = best, along the last axis (ties share the lower rank, as pandas' 'min')."""

    return rankdata(-means, axis=-1, method="min")


def _correlations(ours: np.ndarray, paper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rho and Kendall's tau (tau-b) of each row of `ours` [R, S] against `paper` [S]."""

    a = rankdata(ours, axis=-1)
    b = rankdata(paper)
    a_c, b_c = a - a.mean(-1, keepdims=True), b - b.mean()
    rho = (a_c * b_c).sum(-1) / np.sqrt((a_c**2).sum(-1) * (b_c**2).sum())
    tau = np.array([kendalltau(row, paper).statistic for row in ours])
    return rho, tau


def null_rho(paper: np.ndarray, fixed: dict[int, int]) -> float:
    """E[Spearman's rho against `paper`] when the settings in `fixed` (index -> our rank in
    ascending order of score, 1 = lowest, as the paper's values are ranked) hold those
    ranks and the others take the remaining ranks in uniformly random order.
    Our ranks are a permutation of 1..S whatever the order, so their mean and spread are
    fixed and rho is linear in them: E[rho] = rho computed with each free setting at the
    mean of the free ranks (over the permutation's own spread)."""

    s = len(paper)
    b = rankdata(paper)
    free_ranks = [r for r in range(1, s + 1) if r not in fixed.values()]
    expected = np.array([fixed.get(i, np.mean(free_ranks)) for i in range(s)], dtype=float)
    ranks = np.arange(1, s + 1, dtype=float)
    spread = np.sqrt(((ranks - ranks.mean()) ** 2).sum())
    b_c = b - b.mean()
    return float(((expected - expected.mean()) * b_c).sum() / (spread * np.sqrt((b_c**2).sum())))


NULL_DRAWS = 100_000  # random orderings behind a rho's null p-values

# The suite's one analysis design, stated once (the leaderboard prints it at its top) and
# followed by every interval and test.
DESIGN = (
    "- **Unit**: a run's score, the mean return of its last 100 training episodes.",
    "- **Normalization**: per task, random policy = 0 and the best row's mean over its seeds = 1, among the rows of "
    "the same table. The tops are those of the observed data and stay fixed in every resample: an interval is "
    "about the very numbers of its table (renormalizing each resample would pull every row down by the upward "
    "bias of a maximum of noisy means: up to 0.054 on Table 1 at 3 seeds, as issue 33 measured); the price is "
    "that the uncertainty of the top itself is not in the interval.",
    "- **Intervals**: 95% percentile intervals of rliable's stratified bootstrap, runs resampled within each "
    f"(row, task) cell, {REPS} resamples, seed {STATS_SEED}. A pairwise difference is resolved when its "
    "interval excludes 0.",
    "- **Tests**: Friedman's test of \"do the rows differ at all\" with tasks as blocks (per block the rows' "
    "mean normalized scores): runs of one seed are not paired across rows, so task x seed blocks would be a "
    "pairing the design does not have. Per task, Kruskal-Wallis over the runs' scores.",
    "- **Against the paper**: Spearman's rho between our mean normalized scores and the paper's column, with its "
    f"bootstrap interval and, beside it, its null p-values: the share of {NULL_DRAWS:,} random orderings (all random, "
    "and with no-clip held last) whose rho reaches ours.",
)


def null_p(paper: np.ndarray, observed: float, fixed: dict[int, int] | None = None, draws: int = NULL_DRAWS,
           seed: int = STATS_SEED) -> float:
    """P(rho >= observed) against `paper` when our settings are ordered at random (those in
    `fixed`, index -> rank in ascending order of score, 1 = lowest, holding theirs): the
    share of `draws` random orderings (a fixed seed) whose Spearman's rho reaches `observed`,
    counting the observed ordering itself, (hits + 1) / (draws + 1)."""
    fixed = fixed or {}
    s = len(paper)
    free_index = [i for i in range(s) if i not in fixed]
    free_ranks = np.array([r for r in range(1, s + 1) if r not in fixed.values()], dtype=float)
    ranks = np.empty((draws, s))
    for i, r in fixed.items():
        ranks[:, i] = r
    rng = np.random.default_rng(seed)
    ranks[:, free_index] = rng.permuted(np.broadcast_to(free_ranks, (draws, len(free_ranks))), axis=1)
    b = rankdata(paper)
    b_c = b - b.mean()
    r_c = ranks - ranks.mean(axis=1, keepdims=True)
    rho = (r_c * b_c).sum(1) / np.sqrt((r_c**2).sum(1) * (b_c**2).sum())
    return float(((rho >= observed - 1e-12).sum() + 1) / (draws + 1))


def rank_correlation(table) -> tuple[float, int, float] | None:
    """Spearman's rho between our scores and the paper's over the settings whose runs are
    all scored, how many settings that is, and P(rho >= ours) with them in random order;
    None with fewer than three."""

    usable = table[table["complete"] & table["score"].notna() & table["paper"].notna()]
    if len(usable) < 3:
        return None
    rho = float(spearmanr(usable["score"], usable["paper"]).statistic)
    return rho, len(usable), null_p(usable["paper"].to_numpy(float), rho)


def seeds_needed(difference: float, run_std: float, tasks: int, alpha: float = 0.05,
                 power: float = 0.8) -> int | float:
    """Seeds per task for a two-sided test at `alpha` to detect a difference of mean
    normalized scores with `power`, runs of std `run_std` (normal approximation); math.inf
    when there is no difference to detect."""

    if difference <= 0:
        return math.inf
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    runs = 2 * (z * run_std / difference) ** 2
    return max(2, math.ceil(runs / tasks))


@dataclass
class Ranking:
    settings: list[str]
    tasks: list[str]
    means: np.ndarray  # [S] point estimates
    ranks: np.ndarray  # [S]
    p_first: np.ndarray
    p_top3: np.ndarray
    p_last: np.ndarray
    pairs: list[tuple[str, str, float, float, float]]  # (a, b, mean a - b, low, high)
    friedman: tuple[float, float]  # (statistic, p) over every setting
    friedman_others: tuple[float, float] | None  # the same without the outlier setting
    task_separates: dict[str, tuple[bool, str]]  # among every setting
    task_separates_others: dict[str, tuple[bool, str]]  # among the settings other than the outlier
    run_std: float  # pooled std of a run's normalized score about its cell mean
    reps: int
    seed: int
    seeds: int  # per (setting, task)
    paper: np.ndarray | None = None
    rho: tuple[float, float, float] | None = None  # point, low, high
    tau: tuple[float, float, float] | None = None
    rho_null: float | None = None
    rho_p: float | None = None  # P(rho >= ours) with our settings in random order
    rho_p_last: float | None = None  # the same with the outlier last and the others random
    notes: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> int:
        return count_resolved(self.pairs)


def is_resolved(pair: tuple) -> bool:
    """A pair (a, b, difference, ci_low, ci_high) is resolved when its interval excludes 0."""
    *_, lo, hi = pair
    return lo > 0 or hi < 0


def count_resolved(pairs: list[tuple]) -> int:
    return sum(1 for pair in pairs if is_resolved(pair))


def rank_uncertainty(scores: Scores, paper: dict[str, float] | None = None, reps: int = REPS,
                     seed: int = STATS_SEED, last_fixed: str | None = "No clipping or penalty") -> Ranking:
    """Every statistic of the module docstring for one comparison's complete scores."""

    if not scores.complete():
        raise ValueError("rank uncertainty needs every (setting, task, seed) scored")
    means, per_task = normalized_means(scores.raw, scores.random)
    boot_means, _ = normalized_means(resample(scores.raw, reps, seed), scores.random, tops_of(scores.raw))
    boot_ranks = ranks_of(boot_means)
    s = len(scores.settings)
    pairs = []
    for i, j in combinations(range(s), 2):
        diff = boot_means[:, i] - boot_means[:, j]
        pairs.append((scores.settings[i], scores.settings[j], float(means[i] - means[j]),
                      float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))))
    others = [i for i, name in enumerate(scores.settings) if name != last_fixed]
    cell = scores.raw

    def friedman(rows: list[int]) -> tuple[float, float]:
        if len(rows) < 3:
            return (np.nan, np.nan)
        stat, p = friedmanchisquare(*per_task[rows])
        return float(stat), float(p)

    def separation(rows: list[int]) -> dict[str, tuple[bool, str]]:
        found = {}
        for k, task in enumerate(scores.tasks):
            values = [cell[i, k] for i in rows]
            if np.ptp(np.concatenate(values)) == 0:
                found[task] = (False, "every run scores the same")
                continue
            pk = kruskal(*values).pvalue
            found[task] = (bool(pk < 0.05), f"p = {pk:.3f}")
        return found

    # spread of a run's normalized score about its cell's mean, pooled over cells
    top = np.nanmean(cell, axis=-1).max(axis=0)
    run_norm = (cell - scores.random[None, :, None]) / (top - scores.random)[None, :, None]
    resid = run_norm - run_norm.mean(axis=-1, keepdims=True)
    dof = run_norm.size - run_norm.shape[0] * run_norm.shape[1]
    run_std = float(np.sqrt((resid**2).sum() / dof)) if dof > 0 else float("nan")
    has_outlier = len(others) < s
    ranking = Ranking(scores.settings, scores.tasks, means, ranks_of(means), (boot_ranks == 1).mean(0),
                      (boot_ranks <= 3).mean(0), (boot_ranks == s).mean(0), pairs, friedman(list(range(s))),
                      friedman(others) if has_outlier else None, separation(list(range(s))),
                      separation(others) if has_outlier else {}, run_std, reps, seed, scores.raw.shape[-1])
    if paper is not None and all(name in paper for name in scores.settings):
        column = np.array([paper[name] for name in scores.settings])
        rho, tau = _correlations(means[None], column)
        boot_rho, boot_tau = _correlations(boot_means, column)
        ranking.paper = column
        ranking.rho = (float(rho[0]), float(np.percentile(boot_rho, 2.5)), float(np.percentile(boot_rho, 97.5)))
        ranking.tau = (float(tau[0]), float(np.percentile(boot_tau, 2.5)), float(np.percentile(boot_tau, 97.5)))
        ranking.rho_p = null_p(column, ranking.rho[0], seed=seed)
        if last_fixed in scores.settings:
            last = {scores.settings.index(last_fixed): 1}
            ranking.rho_null = null_rho(column, last)
            ranking.rho_p_last = null_p(column, ranking.rho[0], last, seed=seed)
    return ranking


def fmt(x: float) -> str:
    return f"{x:.2f}"


def rho_nulls(r: Ranking, outlier: str | None) -> str:
    """The null comparisons printed beside a rho: 'P(rho >= 0.52) = 0.06 with the settings in
    random order, 0.15 with 'X' last and the rest random (which gives rho = 0.25 on average)'."""
    text = f"P(rho >= {fmt(r.rho[0])}) = {r.rho_p:.3f} with the settings in random order"
    if r.rho_p_last is not None:
        text += (f", {r.rho_p_last:.3f} with '{outlier}' last and the rest random (which gives rho = "
                 f"{fmt(r.rho_null)} on average)")
    return text


def ranking_markdown(r: Ranking, exclude_from_pairs: str | None = "No clipping or penalty") -> str:
    """The uncertainty of one comparison's ranking, as markdown, with what it can and cannot
    conclude in plain words."""

    s = len(r.settings)
    lines = [f"How sure this ranking is ({r.seeds} seeds per task and setting; {r.reps} stratified bootstrap "
             f"resamples of seeds within each task and setting, seed {r.seed}, normalized by the table's tops):", ""]
    rows = [[name, fmt(r.means[i]), str(int(r.ranks[i])), fmt(r.p_first[i]), fmt(r.p_top3[i]), fmt(r.p_last[i])]
            for i, name in enumerate(r.settings)]
    lines += [markdown_table(["setting", "mean", "rank", "P(rank 1)", "P(top 3)", "P(last)"], rows), ""]
    total = len(r.pairs)
    middle = others_pairs(r, exclude_from_pairs)
    middle_resolved = count_resolved(middle)
    lines.append(f"- Pairwise differences whose 95% interval excludes 0: {r.resolved} of {total}"
                 + (f"; among the {s - 1} settings other than '{exclude_from_pairs}': {middle_resolved} of "
                    f"{len(middle)}." if exclude_from_pairs in r.settings else "."))
    stat, p = r.friedman
    lines.append(f"- Friedman test over the {len(r.tasks)} tasks (do the settings differ at all?): "
                 f"chi2 = {stat:.2f}, p = {p:.3g}"
                 + (f"; without '{exclude_from_pairs}': chi2 = {r.friedman_others[0]:.2f}, "
                    f"p = {r.friedman_others[1]:.3g}." if r.friedman_others else "."))
    if r.rho is not None:
        lines.append(f"- Against the paper's column: Spearman's rho = {fmt(r.rho[0])} [{fmt(r.rho[1])}, "
                     f"{fmt(r.rho[2])}] ({rho_nulls(r, exclude_from_pairs)}), Kendall's tau = {fmt(r.tau[0])} "
                     f"[{fmt(r.tau[1])}, {fmt(r.tau[2])}].")
    for found, among in ((r.task_separates, "the settings"),
                         (r.task_separates_others, f"the settings other than '{exclude_from_pairs}'")):
        if not found:
            continue
        yes = [f"{t} ({why})" for t, (sep, why) in found.items() if sep]
        no = [f"{t} ({why})" for t, (sep, why) in found.items() if not sep]
        lines.append(f"- Tasks that separate {among} (Kruskal-Wallis over the seeds' scores, p < 0.05): "
                     + (", ".join(yes) if yes else "none") + "; that do not: " + (", ".join(no) if no else "none")
                     + ".")
    typical, seeds = median_gap_seeds(r, exclude_from_pairs)
    lines.append(f"- A run's normalized score varies with std {fmt(r.run_std)} about its cell's mean; the median "
                 f"gap between two settings{' other than ' + repr(exclude_from_pairs) if middle else ''} is "
                 f"{typical:.3f}: telling such a pair apart (5% two-sided, power 80%) would take about {seeds} "
                 f"seeds per task.")
    lines += ["", "In plain words: " + plain_words(r, exclude_from_pairs), ""]
    return "\n".join(lines)


def for_comparison(runs, comparison, randoms: dict[str, float], paper: dict[str, float] | None = None,
                   reps: int = REPS, seed: int = STATS_SEED, tasks: list[str] | None = None
                   ) -> tuple[Ranking | None, str]:
    """(the ranking's uncertainty, its markdown) for a comparison's runs, or (None, why not)
    while a run is missing or unscored (on every one of `tasks`, where given)."""
    outlier = "No clipping or penalty" if comparison.paper_table1 else None
    scores = Scores.from_frame(runs, randoms)
    expected = len(comparison.rows)
    missing_task = tasks is not None and set(scores.tasks) != set(tasks)
    if missing_task or len(scores.settings) < expected or not scores.complete() or scores.raw.shape[-1] < 2:
        return None, ("How sure this ranking is: computed once every run of every setting is scored "
                      f"({int(np.isfinite(scores.raw).sum())} scored so far).")
    ranking = rank_uncertainty(scores, paper, reps, seed, last_fixed=outlier)
    return ranking, ranking_markdown(ranking, outlier)


def profile_differences(a: Scores, b: Scores, reps: int = REPS, seed: int = STATS_SEED):
    """Per setting, the mean normalized score under profile `a` minus under profile `b`, with
    its 95% stratified-bootstrap interval. The two tables are normalized together here (each
    task's best of all 2S settings = 1), so the difference means the same on both sides;
    each table's own columns keep their own normalization. Returns a DataFrame."""

    if a.settings != b.settings or a.tasks != b.tasks:
        raise ValueError("profile differences need the same settings and tasks on both sides")
    n = min(a.raw.shape[-1], b.raw.shape[-1])
    joint = np.concatenate([a.raw[..., :n], b.raw[..., :n]])
    s = len(a.settings)
    means, _ = normalized_means(joint, a.random)
    boot, _ = normalized_means(resample(joint, reps, seed), a.random, tops_of(joint))
    diff = boot[:, :s] - boot[:, s:]
    return pd.DataFrame({"setting": a.settings, "difference": means[:s] - means[s:],
                         "ci_low": np.percentile(diff, 2.5, axis=0), "ci_high": np.percentile(diff, 97.5, axis=0)})


def others_pairs(r: Ranking, outlier: str | None) -> list[tuple]:
    """The pairs between settings other than `outlier`; none when it is not among the settings
    (a comparison without an outlier, such as Figure 3, has no "other settings")."""
    return [q for q in r.pairs if outlier not in (q[0], q[1])] if outlier in r.settings else []


def median_gap_seeds(r: Ranking, outlier: str | None) -> tuple[float, int | float]:
    """(the median gap between two settings other than `outlier`, or between any two when there is
    no outlier; the seeds per task that would tell such a pair apart at 5% two-sided, power 80%,
    math.inf when there is no gap or no spread to measure it by)."""

    middle = others_pairs(r, outlier)
    gaps = [abs(q[2]) for q in (middle or r.pairs)]
    typical = float(np.median(gaps)) if gaps else float("nan")
    if not (math.isfinite(typical) and math.isfinite(r.run_std)):
        return typical, math.inf
    return typical, seeds_needed(typical, r.run_std, len(r.tasks))


def paper_best(r: Ranking) -> str:
    """The setting the paper's column puts first."""
    return r.settings[int(np.argmax(r.paper))]


def resolved_against(r: Ranking, name: str) -> tuple[list[str], list[str]]:
    """(the settings resolved above `name`, those resolved below it), in the settings' order."""
    above, below = [], []
    for a, b, _, low, high in r.pairs:
        if name not in (a, b) or not (low > 0 or high < 0):
            continue
        other, other_ahead = (b, high < 0) if a == name else (a, low > 0)
        (above if other_ahead else below).append(other)
    order = {n: i for i, n in enumerate(r.settings)}
    return sorted(above, key=order.get), sorted(below, key=order.get)


def plain_words(r: Ranking, outlier: str | None) -> str:
    """What the data can and cannot conclude."""
    said = []
    if outlier in r.settings:
        i = r.settings.index(outlier)
        others_resolved = all(is_resolved(q) for q in r.pairs if outlier in (q[0], q[1]))
        if r.p_last[i] > 0.95 and others_resolved:
            said.append(f"'{outlier}' is last, and every other setting is ahead of it beyond the noise.")
        else:
            said.append(f"'{outlier}' is last with probability {fmt(r.p_last[i])}.")
    middle = others_pairs(r, outlier)
    resolved = count_resolved(middle)
    if r.friedman_others is not None and r.friedman_others[1] >= 0.05:
        said.append(f"Whether the other settings differ at all is not shown (Friedman p = "
                    f"{r.friedman_others[1]:.2f}).")
    if middle and resolved == 0:
        said.append("Among the other settings no difference is resolved: their order is noise at this many seeds.")
    elif middle:
        said.append(f"Among the other settings {resolved} of {len(middle)} differences are resolved.")
    else:
        said.append(f"{r.resolved} of {len(r.pairs)} pairwise differences are resolved.")
    if r.paper is not None:
        above, below = resolved_against(r, paper_best(r))
        said.append(f"Resolved from the paper's best, '{paper_best(r)}': "
                    + (", ".join([f"'{n}' above" for n in above] + [f"'{n}' below" for n in below]) or "none")
                    + f"; it is our best with probability {fmt(r.p_first[r.settings.index(paper_best(r))])}.")
    typical, needed = median_gap_seeds(r, outlier)
    among, them = ("two of the other settings", "the other settings") if middle else ("two settings", "the settings")
    if math.isfinite(needed):  # otherwise there is no gap or no spread to speak of
        if needed > r.seeds:
            said.append(f"{r.seeds} seeds per task are too few to order {them}: the median gap between {among} "
                        f"({typical:.3f}) would take about {needed} seeds per task to resolve, so most of their "
                        "order is not settled by these runs.")
        else:
            said.append(f"The median gap between {among} ({typical:.3f}) is large against the runs' spread: "
                        f"about {needed} seeds per task would resolve it.")
    best = int(np.argmax(r.p_first))
    if r.seeds <= 5:
        said.append(f"With {r.seeds} seeds a cell's bootstrap knows {r.seeds} values, so its intervals run narrow: a "
                    "pair it resolves is a candidate, and the rank test, which does not lean on it, is the one to "
                    "believe.")
    said.append(f"The most likely best is '{r.settings[best]}', with probability {fmt(r.p_first[best])}"
                + (": no setting is reliably first." if r.p_first[best] < 0.8 else "."))
    if r.rho is not None:
        low, high = r.rho[1], r.rho[2]
        said.append(f"The rank correlation with the paper lies anywhere in [{fmt(low)}, {fmt(high)}]"
                    + (f", which includes what 'no-clip last, the rest random' gives ({fmt(r.rho_null)})."
                       if r.rho_null is not None and low <= r.rho_null <= high else "."))
    return " ".join(said)
