"""Every arm runs two iterations on every one of the paper's seven tasks."""

import math

import pytest

from algorithms import ARMS, make_arm
from algorithms.trainer import Trainer, train_group
from suite.paper import PAPER_TASKS


class Rows:
    def __init__(self):
        self.rows, self.episodes = [], []

    def log_iteration(self, row):
        self.rows.append(row)

    def log_episodes(self, episodes):
        self.episodes.extend(episodes)

    def save_checkpoint(self, state):
        self.state = state


@pytest.mark.parametrize("task", PAPER_TASKS)
@pytest.mark.parametrize("arm_name", list(ARMS))
def test_two_iterations(arm_name, task):
    arm = make_arm(arm_name)
    trainer = Trainer(task, arm.algorithm, arm.config, seed=0, total_steps=2 * arm.config.batch_size)
    log = Rows()
    assert train_group([trainer], [log], checkpoint_every=1)[0] == "complete"
    assert trainer.iteration == 2 and trainer.global_step == 2 * arm.config.batch_size
    assert log.rows[-1]["global_step"] == 2 * arm.config.batch_size
    # one row per iteration, or one row for both where iterations are short (A2C's 5 steps)
    assert len(log.rows) == (2 if arm.config.batch_size >= 2048 else 1)
    # CEM has no gradient step: it reports its search instead
    keys = (("generation", "candidate_return_mean", "elite_return_mean", "sample_std") if arm_name == "cem"
            else ("approx_kl", "policy_loss", "value_loss", "entropy", "lr"))
    for row in log.rows:
        for key in keys:
            assert math.isfinite(row[key]), (key, row)
        assert row.get("approx_kl", 0.0) >= 0
    assert log.state["iteration"] == 2
