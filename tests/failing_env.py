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
