"""Learning tests: train for real on a small budget and earn a threshold."""

import numpy as np
import pytest

from suite.runner import execute, plan
from suite.store import read_csv


def crossing_step(episodes, threshold, window=100):
    """First global step at which the mean of the last `window` episode returns >= threshold."""
    returns = [e["return"] for e in episodes]
    for k in range(window, len(returns) + 1):
        if np.mean(returns[k - window:k]) >= threshold:
            return episodes[k - 1]["global_step"]
    return None


@pytest.mark.slow
def test_ppo_clip_learns_inverted_pendulum(tmp_path):
    spec = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=1, steps=150_000)[0]
    result = execute(spec, tmp_path)
    episodes = read_csv(tmp_path / spec.key / "episodes.csv")
    crossed = crossing_step(episodes, 900.0)
    print(f"ppo_clip InvertedPendulum-v5 seed 0: score {result['score']:.1f}, "
          f"eval {result['eval_score']:.1f}, crossed 900 at step {crossed}")
    assert result["steps"] <= 150_000
    assert result["score"] >= 900.0
    assert crossed is not None and crossed <= 150_000
