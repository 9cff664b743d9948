"""Rollout collection: step the environments for T steps with a numpy actor.

`terminated` and `truncated` are kept apart: a time-limit truncation keeps the final
observation so that GAE can bootstrap from V(final observation).

Exact resume without pickling environments: at each episode start the collector saves
the environment's RNG state just before `reset()`, and it keeps the actions of the
episode in progress. Restoring means: put that RNG state back, reset, replay the actions.
This works for any deterministic gymnasium environment and keeps checkpoints loadable
with `weights_only=True`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from .config import BaseConfig
from .normalize import ObsNormalizer, RewardScaler


def make_env(env_id: str) -> gym.Env:
    """The task as `gym.make` builds it (time limit included), without the env checker."""
    return gym.make(env_id, disable_env_checker=True)


class ActionAdapter:
    """A policy's action vector ([dim] float32) as the env takes it: clipped to a Box's
    bounds, or the index of a Discrete action."""

    def __init__(self, space: gym.Space):
        if isinstance(space, gym.spaces.Discrete):
            self.dim, self.discrete = 1, True
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            self.dim, self.discrete = space.shape[0], False
            self.low, self.high = space.low, space.high
        else:
            raise ValueError(f"only 1-D Box and Discrete action spaces are supported, not {space}")

    def to_env(self, action: np.ndarray):
        return int(action[0]) if self.discrete else np.clip(action, self.low, self.high)


@dataclass
class Episode:
    global_step: int  # env steps taken by the run when the episode ended
    ret: float  # undiscounted sum of the environment's own rewards
    length: int


@dataclass
class RawBatch:
    """One iteration's transitions in numpy, time first: [T, N, ...]."""

    obs: np.ndarray  # normalized observations the actions were taken in [T, N, obs_dim]
    actions: np.ndarray  # actions as sampled (before clipping to the action space) [T, N, act_dim]
    rewards: np.ndarray  # scaled rewards [T, N]
    terminated: np.ndarray  # [T, N] bool
    truncated: np.ndarray  # [T, N] bool
    last_obs: np.ndarray  # normalized observation after the last step [N, obs_dim]
    final_obs: list[tuple[int, int, np.ndarray]] = field(default_factory=list)
    """(t, env, normalized final observation) for every truncated step."""


class RolloutCollector:
    def __init__(self, envs: list[gym.Env], config: BaseConfig, seeds: list[int]):
        self.envs = envs
        self.config = config
        self.adapter = ActionAdapter(envs[0].action_space)
        obs_shape = envs[0].observation_space.shape
        self.obs_normalizer = ObsNormalizer(obs_shape, config.obs_clip, config.obs_norm)
        self.reward_scaler = RewardScaler(len(envs), config.gamma, config.reward_clip, config.reward_scale)
        n = len(envs)
        self.episode_rng_state: list[dict] = [{}] * n
        self.episode_actions: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.episode_return = np.zeros(n)
        self.episode_length = np.zeros(n, dtype=np.int64)
        first = []
        for i, env in enumerate(envs):
            env.reset(seed=int(seeds[i]))  # seeds the env's RNG; episodes start below
            first.append(self._start_episode(i))
        first = np.stack(first)
        self.obs_normalizer.update(first)
        self.obs = self.obs_normalizer(first)

    def _start_episode(self, i: int) -> np.ndarray:
        env = self.envs[i]
        self.episode_rng_state[i] = copy.deepcopy(env.unwrapped.np_random.bit_generator.state)
        obs, _ = env.reset()
        self.episode_actions[i] = []
        self.episode_return[i] = 0.0
        self.episode_length[i] = 0
        return obs

    def collect(self, actor, rng: np.random.Generator, global_step: int) -> tuple[RawBatch, list[Episode]]:
        T, N = self.config.num_steps, len(self.envs)
        obs_dim = self.obs.shape[1]
        act_dim = self.adapter.dim
        obs_buf = np.empty((T, N, obs_dim), dtype=np.float32)
        act_buf = np.empty((T, N, act_dim), dtype=np.float32)
        rew_buf = np.empty((T, N), dtype=np.float64)
        term_buf = np.zeros((T, N), dtype=bool)
        trunc_buf = np.zeros((T, N), dtype=bool)
        raw_rewards = np.empty(N, dtype=np.float64)
        next_raw = np.empty((N, obs_dim), dtype=np.float64)
        final_raw: list[tuple[int, int, np.ndarray]] = []
        episodes: list[Episode] = []
        for t in range(T):
            obs_buf[t] = self.obs
            actions = actor.sample(self.obs, rng)
            act_buf[t] = actions
            global_step += N
            for i, env in enumerate(self.envs):
                obs, reward, terminated, truncated, _ = env.step(self.adapter.to_env(actions[i]))
                self.episode_actions[i].append(actions[i])
                self.episode_return[i] += reward
                self.episode_length[i] += 1
                raw_rewards[i] = reward
                if terminated or truncated:
                    term_buf[t, i], trunc_buf[t, i] = terminated, truncated and not terminated
                    episodes.append(Episode(global_step, float(self.episode_return[i]),
                                            int(self.episode_length[i])))
                    if trunc_buf[t, i]:
                        final_raw.append((t, i, obs))
                    obs = self._start_episode(i)
                next_raw[i] = obs
            rew_buf[t] = self.reward_scaler(raw_rewards, term_buf[t] | trunc_buf[t])
            self.obs_normalizer.update(next_raw)
            self.obs = self.obs_normalizer(next_raw)
        final_obs = [(t, i, self.obs_normalizer(o)) for t, i, o in final_raw]
        batch = RawBatch(obs_buf, act_buf, rew_buf, term_buf, trunc_buf, self.obs.copy(), final_obs)
        return batch, episodes

    # -- checkpointing ---------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "obs_normalizer": self.obs_normalizer.rms.state_dict(),
            "reward_scaler": self.reward_scaler.state_dict(),
            "episode_rng_state": copy.deepcopy(self.episode_rng_state),
            "episode_actions": [np.array(a, dtype=np.float32).reshape(len(a), self.adapter.dim)
                                for a in self.episode_actions],
        }

    def load_state_dict(self, state: dict) -> None:
        self.obs_normalizer.rms.load_state_dict(state["obs_normalizer"])
        self.reward_scaler.load_state_dict(state["reward_scaler"])
        raw = []
        for i, env in enumerate(self.envs):
            env.unwrapped.np_random.bit_generator.state = copy.deepcopy(state["episode_rng_state"][i])
            obs = self._start_episode(i)
            actions = state["episode_actions"][i]
            for action in (actions.numpy() if hasattr(actions, "numpy") else np.asarray(actions, np.float32)):
                obs, reward, terminated, truncated, _ = env.step(self.adapter.to_env(action))
                if terminated or truncated:
                    raise RuntimeError("checkpoint replay ended an episode early: the environment "
                                       "is not deterministic, or the checkpoint is from another task")
                self.episode_actions[i].append(action)
                self.episode_return[i] += reward
                self.episode_length[i] += 1
            raw.append(obs)
        self.obs = self.obs_normalizer(np.stack(raw))


def evaluate(env: gym.Env, actor, obs_normalizer: ObsNormalizer, episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` episodes taking the policy's deterministic action (Gaussian: the
    mean; categorical: the most probable), with the observation statistics frozen as they
    are; the env is seeded once with `seed`."""
    adapter = ActionAdapter(env.action_space)
    returns = []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        total, done = 0.0, False
        while not done:
            action = actor.deterministic(obs_normalizer(np.asarray(obs, dtype=np.float64)[None]))[0]
            obs, reward, terminated, truncated, _ = env.step(adapter.to_env(action))
            total += reward
            done = terminated or truncated
        returns.append(total)
        obs, _ = env.reset()
    return returns
