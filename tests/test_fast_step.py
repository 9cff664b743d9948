"""algorithms/fast_step.py: every transition of the paper's seven -v5 tasks bit for bit what
gymnasium's own env.step gives (issue 37), and gymnasium's step wherever the fast one is not
proven (another task, a subclass, other wrappers, rendering)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from algorithms.fast_step import fast_step
from algorithms.rollout import ActionAdapter, make_env
from suite.paper import PAPER_TASKS


def bits(x) -> bytes:
    """A value's exact bytes (so -0.0 differs from 0.0, and NaN payloads count) and its type."""
    return np.asarray(x).tobytes() + str(np.asarray(x).dtype).encode()


def state_bits(env: gym.Env) -> bytes:
    data = env.unwrapped.data
    return b"".join(bits(a) for a in (data.time, data.qpos, data.qvel, data.act, data.qacc_warmstart, data.ctrl))


def compare(task: str, actions: str, steps: int, seed: int, max_episode_steps: int | None = None,
            **task_kwargs) -> dict:
    """Two copies of `task` seeded alike, one stepped by gymnasium and one by fast_step, with the
    same float32 actions (random ones, partly out of bounds, or a fixed linear policy's of the
    observation, clipped as the collector clips them); asserts every transition and every reset
    equal bit for bit and returns what was exercised."""
    kwargs = task_kwargs if max_episode_steps is None else {"max_episode_steps": max_episode_steps, **task_kwargs}
    reference, fast = (gym.make(task, disable_env_checker=True, **kwargs) for _ in range(2))
    step = fast_step(fast)
    assert step is not None, f"{task}: the fast path does not cover it"
    adapter = ActionAdapter(reference.action_space)
    rng = np.random.default_rng(seed)
    dim, obs_dim = reference.action_space.shape[0], reference.observation_space.shape[0]
    weights = rng.normal(0.0, 0.3, (obs_dim, dim))
    obs, _ = reference.reset(seed=seed)
    obs_fast, _ = fast.reset(seed=seed)
    assert bits(obs) == bits(obs_fast)
    seen = {"terminated": 0, "truncated": 0, "steps": steps}
    for _ in range(steps):
        if actions == "random":
            action = (1.5 * rng.standard_normal(dim)).astype(np.float32)
        else:
            action = np.tanh(obs @ weights).astype(np.float32)
        action = adapter.to_env(action)
        obs, reward, terminated, truncated, _ = reference.step(action)
        obs_fast, reward_fast, terminated_fast, truncated_fast = step(action)
        assert bits(obs) == bits(obs_fast) and bits(reward) == bits(reward_fast)
        assert type(reward) is type(reward_fast)
        assert (terminated, truncated) == (terminated_fast, truncated_fast)
        assert state_bits(reference) == state_bits(fast)
        if terminated or truncated:
            seen["terminated"] += bool(terminated)
            seen["truncated"] += bool(truncated)
            obs, _ = reference.reset()
            obs_fast, _ = fast.reset()
            assert bits(obs) == bits(obs_fast) and state_bits(reference) == state_bits(fast)
    return seen


@pytest.mark.parametrize("task", PAPER_TASKS)
@pytest.mark.parametrize("actions", ["random", "policy"])
def test_every_transition_is_gymnasiums_bit_for_bit(task, actions):
    seen = compare(task, actions, 2500, seed=3)
    # time-limit ends exercised on every task: a short limit where episodes otherwise end early
    short = compare(task, actions, 400, seed=4, max_episode_steps=4)
    assert seen["terminated"] + seen["truncated"] + short["truncated"] > 0
    assert short["truncated"] > 0


def test_the_paper_tasks_reach_both_kinds_of_episode_end():
    """The comparisons above saw what they are meant to: terminations where a task has them,
    time limits (1000 steps, Reacher's 50) where it does not."""
    ends = {task: compare(task, "random", 2100, seed=5) for task in PAPER_TASKS}
    for task in ("Hopper-v5", "Walker2d-v5", "InvertedPendulum-v5", "InvertedDoublePendulum-v5"):
        assert ends[task]["terminated"] > 0, task
    for task in ("HalfCheetah-v5", "Swimmer-v5", "Reacher-v5"):
        assert ends[task]["truncated"] >= 2 and ends[task]["terminated"] == 0, task


def test_the_constants_are_read_from_the_task_as_made():
    """gym.make's keyword arguments (weights, ranges) reach the fast step as they reach
    gymnasium's: Hopper ended by its state range, Walker2d and HalfCheetah reweighted."""
    narrow = compare("Hopper-v5", "random", 600, seed=6, healthy_state_range=(-0.8, 0.8), healthy_z_range=(0.0, 9.0),
                     healthy_angle_range=(-9.0, 9.0))
    assert narrow["terminated"] > 0
    compare("Walker2d-v5", "policy", 600, seed=6, forward_reward_weight=0.5, ctrl_cost_weight=0.1, healthy_reward=2.0)
    compare("HalfCheetah-v5", "random", 300, seed=6, exclude_current_positions_from_observation=False)
    compare("InvertedDoublePendulum-v5", "random", 300, seed=6, healthy_reward=3.0)


def test_gymnasium_steps_whatever_the_fast_path_does_not_cover():
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

    class Hopper(HopperEnv):
        pass

    assert fast_step(make_env("Hopper-v5")) is not None
    assert fast_step(gym.wrappers.TimeLimit(Hopper(), 100)) is None  # a subclass
    assert fast_step(gym.make("CartPole-v1", disable_env_checker=True)) is None  # another task
    assert fast_step(gym.make("Hopper-v5")) is None  # the env checker's wrapper on top
    assert fast_step(gym.wrappers.ClipAction(make_env("Hopper-v5"))) is None
    assert fast_step(gym.make("Hopper-v5", disable_env_checker=True, render_mode="rgb_array")) is None


def test_a_wrong_action_shape_is_refused_as_gymnasium_refuses_it():
    env = make_env("Hopper-v5")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Action dimension mismatch"):
        fast_step(env)(np.zeros(2, dtype=np.float32))


def test_the_collector_steps_the_paper_tasks_fast_and_others_through_gymnasium():
    from algorithms.config import BaseConfig
    from algorithms.rollout import RolloutCollector

    fast = RolloutCollector([make_env("Reacher-v5")], BaseConfig(), [0])
    slow = RolloutCollector([gym.make("CartPole-v1", disable_env_checker=True)], BaseConfig(), [0])
    assert fast.steps[0].__qualname__.startswith("fast_step")
    assert slow.steps[0].__qualname__.startswith("gym_step")
