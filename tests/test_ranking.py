"""How sure a ranking is (suite/results/ranking.py), against answers known by hand."""

from itertools import permutations

import numpy as np
import pytest
from scipy.stats import spearmanr

from suite.results.ranking import (
    Scores,
    median_gap_seeds,
    normalized_means,
    null_p,
    null_rho,
    paper_best,
    plain_words,
    profile_differences,
    rank_uncertainty,
    ranking_markdown,
    resolved_against,
    seeds_needed,
)

TASKS = ["A-v0", "B-v0", "C-v0"]


def scores(cell_means: list[float], noise: float = 0.0, seeds: int = 3, seed: int = 0) -> Scores:
    """Settings s0..sS-1 with the given mean raw score on every task (random policy 0)."""
    rng = np.random.default_rng(seed)
    raw = np.array(cell_means, dtype=float)[:, None, None] + noise * rng.standard_normal(
        (len(cell_means), len(TASKS), seeds))
    return Scores([f"s{i}" for i in range(len(cell_means))], TASKS, raw, np.zeros(len(TASKS)))


def test_normalization_of_a_resample_puts_the_best_at_one():
    means, per_task = normalized_means(np.array([[[10.0, 30.0]], [[40.0, 40.0]]]), np.array([0.0]))
    np.testing.assert_allclose(per_task[:, 0], [0.5, 1.0])
    np.testing.assert_allclose(means, [0.5, 1.0])


def test_identical_rankings_give_rho_one_and_a_certain_order():
    s = scores([100, 80, 60, 40, 20], noise=0.1)
    paper = {f"s{i}": v for i, v in enumerate([0.9, 0.7, 0.5, 0.3, 0.1])}
    r = rank_uncertainty(s, paper, reps=500, last_fixed=None)
    assert r.rho == pytest.approx((1.0, 1.0, 1.0)) and r.tau == pytest.approx((1.0, 1.0, 1.0))
    np.testing.assert_array_equal(r.p_first, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(r.p_last, [0, 0, 0, 0, 1])
    assert r.resolved == 10 and r.friedman[1] < 0.05
    assert all(sep for sep, _ in r.task_separates.values())


def test_reversed_ranking_gives_rho_minus_one():
    s = scores([20, 40, 60, 80, 100], noise=0.1)
    paper = {f"s{i}": v for i, v in enumerate([0.9, 0.7, 0.5, 0.3, 0.1])}
    assert rank_uncertainty(s, paper, reps=200, last_fixed=None).rho[0] == pytest.approx(-1.0)


def test_fixed_seed_bootstrap_is_reproducible_and_the_seed_matters():
    s = scores([50, 49, 48, 47], noise=5.0)
    a, b = (rank_uncertainty(s, reps=300, seed=3, last_fixed=None) for _ in range(2))
    np.testing.assert_array_equal(a.p_first, b.p_first)
    assert a.pairs == b.pairs
    c = rank_uncertainty(s, reps=300, seed=4, last_fixed=None)
    assert a.pairs != c.pairs


def test_indistinguishable_settings_are_not_resolved():
    """Equal means, noise only: no setting is reliably first and Friedman does not reject."""
    s = scores([50, 50, 50, 50, 50, 50], noise=10.0, seeds=3, seed=1)
    r = rank_uncertainty(s, reps=1000, last_fixed=None)
    assert r.p_first.max() < 0.8 and r.friedman[1] > 0.05
    assert not any(sep for sep, _ in r.task_separates.values())


def test_null_rho_by_hand_on_three_settings():
    """Paper A > B > C; C fixed lowest; A, B in random order: rho is 1 (A above B) or
    1 - 6 x 2 / (3 x 8) = 0.5, on average 0.75."""
    assert null_rho(np.array([0.9, 0.5, 0.1]), {2: 1}) == pytest.approx(0.75)


def test_null_rho_equals_the_average_over_every_permutation_with_ties():
    paper = np.array([-0.4, 0.7, 0.8, 0.7, 0.6, 0.75])  # a tie, as the paper's column has
    fixed = {0: 1}
    rhos = []
    for perm in permutations(range(2, 7)):
        ours = np.empty(6)
        ours[0] = 1
        ours[1:] = perm
        rhos.append(spearmanr(ours, paper).statistic)
    assert null_rho(paper, fixed) == pytest.approx(np.mean(rhos), abs=1e-12)


def test_seeds_needed_matches_the_normal_approximation():
    # 2 (1.95996 + 0.84162)^2 (0.2 / 0.1)^2 = 62.8 runs per arm: 63 seeds on one task, 7 on nine
    assert seeds_needed(0.1, 0.2, tasks=1) == 63
    assert seeds_needed(0.1, 0.2, tasks=9) == 7
    assert seeds_needed(0.0, 0.2, tasks=1) == float("inf")


def test_profile_difference_of_a_table_with_itself_is_zero_and_a_shift_shows():
    s = scores([100, 80, 60], noise=2.0)
    same = profile_differences(s, s, reps=300)
    np.testing.assert_allclose(same["difference"], 0.0, atol=1e-12)
    assert ((same["ci_low"] <= 0) & (same["ci_high"] >= 0)).all()
    better = Scores(s.settings, s.tasks, s.raw + np.array([20.0, 0.0, 0.0])[:, None, None], s.random)
    moved = profile_differences(better, s, reps=300).set_index("setting")
    # each task's joint top is the better s0's cell mean (about 120): s0 gains 20 / top, the others nothing
    tops = better.raw[0].mean(-1)
    assert moved.loc["s0", "difference"] == pytest.approx(np.mean(20 / tops), rel=1e-12)
    assert moved.loc["s0", "ci_low"] > 0
    assert moved.loc["s1", "difference"] == pytest.approx(0.0, abs=1e-12)


def test_a_comparison_without_an_outlier_speaks_of_all_its_pairs():
    """Figure 3 has no setting set apart: the text counts every pair and names no 'other' settings;
    Table 1's text still counts the pairs without its outlier."""
    r = rank_uncertainty(scores([100, 80, 60, 58], noise=1.0), reps=300, last_fixed=None)
    text = ranking_markdown(r, None)
    assert "other than" not in text and "Among the other" not in text
    assert f"In plain words: {r.resolved} of 6 pairwise differences are resolved." in text
    assert 0 < r.resolved <= 6
    fixed = rank_uncertainty(scores([100, 80, 60, 0], noise=1.0), reps=300, last_fixed="s3")
    text = ranking_markdown(fixed, "s3")
    assert "among the 3 settings other than 's3'" in text and "Among the other settings" in text


def test_a_resample_is_normalized_by_the_given_tops_not_its_own_best():
    raw = np.array([[[10.0, 30.0]], [[40.0, 40.0]]])
    _, per_task = normalized_means(raw, np.array([0.0]), top=np.array([80.0]))
    np.testing.assert_allclose(per_task[:, 0], [0.25, 0.5])


def test_the_bootstrap_is_centred_on_the_table_s_numbers_with_fixed_tops():
    # two settings level in truth: renormalizing each resample would pull both below their
    # point estimate (the max of two noisy means sits above either); fixed tops do not
    s = scores([100, 100], noise=20.0, seeds=5, seed=1)
    r = rank_uncertainty(s, reps=2000, last_fixed=None)
    (_, _, diff, low, high), = r.pairs
    assert low < diff < high and low < 0 < high
    assert max(r.means) == pytest.approx(1.0) and r.means.min() < 1.0


def test_null_p_is_the_share_of_random_orderings_reaching_the_observed_rho():
    paper = np.array([0.1, 0.2, 0.3])
    # 3 settings: 1 of the 6 orderings gives rho = 1; with the first fixed last (lowest), 1 of 2
    assert null_p(paper, 1.0) == pytest.approx(1 / 6, abs=0.01)
    assert null_p(paper, 1.0, {0: 1}) == pytest.approx(1 / 2, abs=0.01)
    assert null_p(paper, -1.0) == 1.0  # every ordering reaches the lowest rho
    exact = np.mean([spearmanr(p, paper).statistic >= 0.5 - 1e-12 for p in permutations(range(3))])
    assert null_p(paper, 0.5) == pytest.approx(exact, abs=0.01)


def test_every_rho_printed_carries_its_null_p_values():
    s = scores([100, 80, 60, 40, 20], noise=5.0)
    paper = {f"s{i}": v for i, v in enumerate([0.9, 0.7, 0.5, 0.3, 0.1])}
    r = rank_uncertainty(s, paper, reps=300, last_fixed="s4")
    assert r.rho_p == pytest.approx(1 / 120, abs=0.003) and r.rho_p_last == pytest.approx(1 / 24, abs=0.005)
    text = ranking_markdown(r, "s4")
    assert f"P(rho >= 1.00) = {r.rho_p:.3f} with the settings in random order, {r.rho_p_last:.3f} with" in text
    assert "with 's4' last and the rest random" in text


def test_plain_words_name_what_is_resolved_from_the_paper_s_best_and_how_likely_it_is_ours():
    s = scores([100, 99, 99.5, 40], noise=0.5, seeds=5)
    paper = {"s0": 0.5, "s1": 0.9, "s2": 0.7, "s3": 0.1}  # the paper's best is s1
    r = rank_uncertainty(s, paper, reps=500, last_fixed=None)
    assert paper_best(r) == "s1"
    above, below = resolved_against(r, "s1")
    assert "s3" in below and not set(above) & {"s3"}
    text = plain_words(r, None)
    assert "Resolved from the paper's best, 's1': " in text and "'s3' below" in text
    assert f"it is our best with probability {r.p_first[1]:.2f}" in text


def test_plain_words_say_whether_the_seeds_suffice_for_the_median_gap():
    # close settings in much noise: the median gap needs far more than 4 seeds per task
    close = rank_uncertainty(scores([100, 98, 96, 30], noise=20.0, seeds=4), reps=300, last_fixed="s3")
    typical, needed = median_gap_seeds(close, "s3")
    gaps = sorted(abs(close.means[i] - close.means[j]) for i, j in [(0, 1), (0, 2), (1, 2)])
    assert typical == pytest.approx(gaps[1]) and needed == seeds_needed(typical, close.run_std, len(TASKS))
    assert needed > 4
    text = plain_words(close, "s3")
    assert (f"4 seeds per task are too few to order the other settings: the median gap between two of the other "
            f"settings ({typical:.3f}) would take about {needed} seeds per task") in text
    # far-apart settings in little noise: 4 seeds are enough, and the text says so instead
    apart = rank_uncertainty(scores([100, 70, 40, 10], noise=1.0, seeds=4), reps=300, last_fixed=None)
    typical, needed = median_gap_seeds(apart, None)
    assert needed <= 4 and "too few" not in plain_words(apart, None)
    assert (f"The median gap between two settings ({typical:.3f}) is large against the runs' spread: about {needed} "
            "seeds per task would resolve it.") in plain_words(apart, None)
