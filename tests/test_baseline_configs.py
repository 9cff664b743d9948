"""Figure 3's baselines are configured as their sources say.

a2c_sb3 (the `a2c` of issue 17, kept beside Tianshou's tuned `a2c`) cites rl-baselines3-zoo's
MuJoCo entry, `normalize: true`, which the zoo turns into Stable-Baselines3's VecNormalize
with its defaults: observations AND rewards are normalized (clip 10, epsilon 1e-8, the
return's discount = gamma). The test below re-derives, independently of
algorithms/normalize.py, what VecNormalize would hand the learner for the same trajectory,
and compares it with the batches our a2c_sb3 collects.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from algorithms import Trainer, make_arm


class _VecNormalizeReference:
    """SB3 VecNormalize's documented arithmetic for one env, written out plainly: running
    mean/var (parallel merge, prior count 1e-4), observations standardized and clipped,
    rewards divided by the running std of the discounted return, which restarts at dones."""

    def __init__(self, obs_dim: int, gamma: float, clip: float = 10.0, eps: float = 1e-8):
        self.obs = [np.zeros(obs_dim), np.ones(obs_dim), 1e-4]
        self.ret = [0.0, 1.0, 1e-4]
        self.returns, self.gamma, self.clip, self.eps = 0.0, gamma, clip, eps

    @staticmethod
    def _merge(stats, x):
        mean, var, count = stats
        delta = x - mean
        total = count + 1
        new_mean = mean + delta / total
        new_var = (var * count + delta**2 * count / total) / total
        stats[:] = [new_mean, new_var, total]

    def observe(self, obs: np.ndarray) -> np.ndarray:
        self._merge(self.obs, obs)
        mean, var, _ = self.obs
        return np.clip((obs - mean) / np.sqrt(var + self.eps), -self.clip, self.clip)

    def reward(self, reward: float, done: bool) -> float:
        self.returns = self.returns * self.gamma + reward
        self._merge(self.ret, self.returns)
        scaled = float(np.clip(reward / np.sqrt(self.ret[1] + self.eps), -self.clip, self.clip))
        if done:
            self.returns = 0.0
        return scaled


def test_a2c_normalizes_observations_and_rewards_as_vecnormalize_does():
    arm = make_arm("a2c_sb3")
    cfg = arm.config
    assert (cfg.obs_norm, cfg.reward_scale, cfg.obs_clip, cfg.reward_clip) == (True, True, 10.0, 10.0)
    trainer = Trainer("Hopper-v5", arm.algorithm, cfg, seed=0, total_steps=1000)
    batches = [trainer.collector.collect(trainer.policy.numpy_actor(), trainer.action_rng, 0)[0]
               for _ in range(60)]  # 300 steps: several Hopper episodes end (dones reset the return)
    obs = np.concatenate([b.obs[:, 0] for b in batches])
    actions = np.concatenate([b.actions[:, 0] for b in batches])
    rewards = np.concatenate([b.rewards[:, 0] for b in batches])
    done = np.concatenate([(b.terminated | b.truncated)[:, 0] for b in batches])
    assert done.sum() >= 3

    env = gym.make("Hopper-v5", disable_env_checker=True)
    env.reset(seed=trainer.env_seeds[0])
    first, _ = env.reset()
    reference = _VecNormalizeReference(first.shape[0], cfg.gamma)
    expected_obs, expected_rewards = [reference.observe(first)], []
    for action in actions:
        raw, reward, terminated, truncated, _ = env.step(np.clip(action, env.action_space.low,
                                                                 env.action_space.high))
        if terminated or truncated:
            raw, _ = env.reset()
        expected_obs.append(reference.observe(raw))  # the next step's input (after a reset at a done)
        expected_rewards.append(reference.reward(reward, terminated or truncated))
    np.testing.assert_allclose(obs, np.stack(expected_obs[:-1]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards, expected_rewards, rtol=1e-9)
    # rewards really are rescaled: Hopper pays about 1 per step alive, the scaled ones are far from it
    assert abs(float(np.mean(rewards)) - 1.0) > 0.5
