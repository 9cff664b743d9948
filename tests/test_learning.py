"""Learning tests: train for real on a small budget and earn a threshold.

Each test trains seeds 0, 1 and 2 together (grid mode) and checks the MEDIAN over the three
seeds, so that one seed whose float path differs on another CPU class (and with it the whole
trajectory) cannot decide the test: a2c_sb3's seed 0 scores 719 on the AMD EPYC that made the
records and 2.0 on an Intel Xeon with AVX-512, its seeds 1-4 there 637, 795, 884 and 577.
InvertedPendulum-v5's random policy returns about 5. Thresholds for ppo_clip and trpo come
from the issue; for the others they are about half of the lowest median measured (the
medians on the Intel Xeon, 200k steps, seeds 0-2, are in each case's comment), so that a real
regression fails while floating-point differences between machines do not.
"""

import numpy as np
import pytest

import suite
from suite.records.files import read_csv

TASK = "InvertedPendulum-v5"
SEEDS = 3


def crossing_step(episodes, threshold, window=100):
    """First global step at which the mean of the last `window` episode returns >= threshold."""
    returns = [e["return"] for e in episodes]
    for k in range(window, len(returns) + 1):
        if np.mean(returns[k - window:k]) >= threshold:
            return episodes[k - 1]["global_step"]
    return None


def train(tmp_path, arm, steps):
    """Seeds 0-2 trained together: [(result, episodes, progress rows)] in seed order."""
    specs = suite.plan(arm, [TASK], seeds=SEEDS, steps=steps)
    suite.run(arm, tasks=[TASK], seeds=SEEDS, steps=steps, runs_dir=tmp_path, workers=1, display="none")
    found = []
    for spec in specs:
        state = suite.run_state(tmp_path / spec.key)
        assert state.state == "complete" and state.result.steps <= steps
        found.append((state.result, read_csv(tmp_path / spec.key / "episodes.csv"),
                      read_csv(tmp_path / spec.key / "progress.csv")))
        print(f"{arm} {TASK} seed {spec.seed}, {state.result.steps} steps: score {state.result.score:.1f}, "
              f"crossed 900 at {crossing_step(found[-1][1], 900.0)}")
    return found


def median(values):
    return float(np.median([np.inf if v is None else v for v in values]))


@pytest.mark.slow
def test_ppo_clip_reaches_900_within_150k(tmp_path):
    # seeds 0-2 on the Intel Xeon: scores 1000.0 each, crossing 900 at 108518, 107507, 106413
    runs = train(tmp_path, "ppo_clip", 150_000)
    assert median(r.score for r, _, _ in runs) >= 900.0
    assert median(crossing_step(episodes, 900.0) for _, episodes, _ in runs) <= 150_000


@pytest.mark.slow
def test_trpo_reaches_900_within_200k_and_respects_the_trust_region(tmp_path):
    # seeds 0-2 on the Intel Xeon: scores 990.4, 1000.0, 911.9, crossing 900 at 110847, 110153, 109415
    runs = train(tmp_path, "trpo", 200_000)
    assert median(r.score for r, _, _ in runs) >= 900.0
    assert median(crossing_step(episodes, 900.0) for _, episodes, _ in runs) <= 200_000
    for result, _, progress in runs:  # the trust region holds on every seed: not a matter of luck
        kls = [row["approx_kl"] for row in progress]
        assert len(kls) == result.iterations  # one iteration per row at T = 2048
        assert max(kls) <= 0.01
        assert sum(row["step_fraction"] > 0 for row in progress) > len(progress) // 2


@pytest.mark.slow
@pytest.mark.parametrize("arm, threshold", [
    ("a2c_sb3", 300.0),             # median 636.7 (seeds: 2.0, 636.7, 795.0)
    ("vpg", 500.0),                 # median 985.2 (985.2, 963.8, 1000.0)
    ("npg", 500.0),                 # median 1000.0 (980.9, 1000.0, 1000.0)
    ("vpg:baseline=false", 450.0),  # REINFORCE: median 916.1 (979.8, 916.1, 845.4)
])
def test_clearly_beats_random(tmp_path, arm, threshold):
    runs = train(tmp_path, arm, 200_000)
    assert median(r.score for r, _, _ in runs) >= threshold
