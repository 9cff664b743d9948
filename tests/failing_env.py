"""An environment that raises partway through training, to test failure accounting.
Used as the task "tests.failing_env:FailingPendulum-v0" (gymnasium imports this module)."""

import gymnasium as gym
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv

FAIL_AFTER_STEPS = 3000


class FailingPendulum(InvertedPendulumEnv):
    steps = 0

    def step(self, action):
        FailingPendulum.steps += 1
        if FailingPendulum.steps > FAIL_AFTER_STEPS:
            raise RuntimeError("injected failure: the simulator broke")
        return super().step(action)


if "FailingPendulum-v0" not in gym.registry:
    gym.register("FailingPendulum-v0", entry_point=FailingPendulum, max_episode_steps=1000)


class NaNPendulum(InvertedPendulumEnv):
    """Returns a NaN observation from its 3000th step on: training must stop as diverged."""

    steps = 0

    def step(self, action):
        NaNPendulum.steps += 1
        obs, reward, terminated, truncated, info = super().step(action)
        if NaNPendulum.steps >= FAIL_AFTER_STEPS:
            obs = obs * float("nan")
        return obs, reward, terminated, truncated, info


if "NaNPendulum-v0" not in gym.registry:
    gym.register("NaNPendulum-v0", entry_point=NaNPendulum, max_episode_steps=1000)
