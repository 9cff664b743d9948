"""Learning tests: train for real on a small budget, seed 0, and earn a threshold.

InvertedPendulum-v5's random policy returns about 5. Thresholds for ppo_clip and trpo
come from the issue; for the others they are about half of what seed 0 measured when
the test was written (the measured value is in each case's comment), so that a real
regression fails while floating-point differences between machines do not.
"""

import numpy as np
import pytest

from suite.grid.plan import plan
from suite.grid.runner import execute
from suite.records.files import read_csv

TASK = "InvertedPendulum-v5"


def crossing_step(episodes, threshold, window=100):
    """First global step at which the mean of the last `window` episode returns >= threshold."""
    returns = [e["return"] for e in episodes]
    for k in range(window, len(returns) + 1):
        if np.mean(returns[k - window:k]) >= threshold:
            return episodes[k - 1]["global_step"]
    return None


def train(tmp_path, arm, steps):
    spec = plan(arm, [TASK], seeds=1, steps=steps)[0]
    result = execute(spec, tmp_path)
    run_path = tmp_path / spec.key
    episodes = read_csv(run_path / "episodes.csv")
    print(f"{arm} {TASK} seed 0, {result.steps} steps: score {result.score:.1f}, "
          f"eval {result.eval_score:.1f}, crossed 900 at {crossing_step(episodes, 900.0)}")
    assert result.status == "complete" and result.steps <= steps
    return result, episodes, read_csv(run_path / "progress.csv")


@pytest.mark.slow
def test_ppo_clip_reaches_900_within_150k(tmp_path):
    result, episodes, _ = train(tmp_path, "ppo_clip", 150_000)
    assert result.score >= 900.0
    assert crossing_step(episodes, 900.0) <= 150_000


@pytest.mark.slow
def test_trpo_reaches_900_within_200k_and_respects_the_trust_region(tmp_path):
    result, episodes, progress = train(tmp_path, "trpo", 200_000)
    assert result.score >= 900.0
    assert crossing_step(episodes, 900.0) <= 200_000
    kls = [row["approx_kl"] for row in progress]
    assert len(kls) == result.iterations  # one iteration per row at T = 2048
    assert max(kls) <= 0.01
    assert sum(row["step_fraction"] > 0 for row in progress) > len(progress) // 2


@pytest.mark.slow
@pytest.mark.parametrize("arm, threshold", [
    ("a2c_sb3", 300.0),             # measured 719 (numpy path, zoo normalization)
    ("vpg", 500.0),                 # measured 1000
    ("npg", 500.0),                 # measured 970 (969.9)
    ("vpg:baseline=false", 300.0),  # REINFORCE, measured 765
])
def test_clearly_beats_random(tmp_path, arm, threshold):
    result, _, _ = train(tmp_path, arm, 200_000)
    assert result.score >= threshold

