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
import sys
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from .config import ROLLOUT, BaseConfig, group_values
from .fast_step import fast_step
from .nets import StackedActor
from .normalize import ObsNormalizer, RewardScaler, clip, merge_moments, scale_rewards, standardize


def make_env(env_id: str) -> gym.Env:
    """The task as `gym.make` builds it (time limit included), without the env checker.
    MuJoCo's warnings (HalfCheetah's model prints a deprecation at every load) are shown
    once per process each, on stderr."""
    _warn_once_per_message()
    return gym.make(env_id, disable_env_checker=True)


_seen_warnings: set[str] | None = None


def _warn_once_per_message() -> None:
    global _seen_warnings
    if _seen_warnings is not None:
        return
    _seen_warnings = set()
    try:
        import mujoco
    except ImportError:  # no MuJoCo: nothing to quiet
        return

    def once(message: str) -> None:
        if message not in _seen_warnings:
            _seen_warnings.add(message)
            print(f"MuJoCo warning (shown once): {message}", file=sys.stderr, flush=True)

    mujoco.set_mju_user_warning(once)


class ActionAdapter:
    """A policy's action vector ([dim] float32) as the env takes it: clipped to a Box's
    bounds (unless `clip` is off: then as sampled), or the index of a Discrete action."""

    def __init__(self, space: gym.Space, clip: bool = True, scale: bool = False):
        self.clip, self.scale = clip, scale
        if isinstance(space, gym.spaces.Discrete):
            self.dim, self.discrete = 1, True
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            self.dim, self.discrete = space.shape[0], False
            self.low, self.high = space.low, space.high
        else:
            raise ValueError(f"only 1-D Box and Discrete action spaces are supported, not {space}")

    def to_env(self, action: np.ndarray):
        if self.discrete:
            return int(action[0])
        if self.scale:  # [-1, 1] onto [low, high] (Tianshou BasePolicy.map_action, bound method 'clip')
            return self.low + (clip(action, -1.0, 1.0) + 1.0) * 0.5 * (self.high - self.low)
        return clip(action, self.low, self.high) if self.clip else action


@dataclass
class Episode:
    global_step: int  # env steps taken by the run when the episode ended
    ret: float  # undiscounted sum of the environment's own rewards
    length: int


@dataclass
class RawBatch:
    """One iteration's transitions in numpy, time first: [T, E, ...]."""

    obs: np.ndarray  # normalized observations the actions were taken in [T, E, obs_dim]
    actions: np.ndarray  # actions as sampled (before clipping to the action space) [T, E, act_dim]
    rewards: np.ndarray  # scaled rewards [T, E]
    terminated: np.ndarray  # [T, E] bool
    truncated: np.ndarray  # [T, E] bool
    last_obs: np.ndarray  # normalized observation after the last step [E, obs_dim]
    final_obs: list[tuple[int, int, np.ndarray]] = field(default_factory=list)
    """(t, env, normalized final observation) for every truncated step."""
    acted_obs: np.ndarray | None = None
    """With `obs_norm_update="batch"`: the observations as the actor saw them (the previous
    statistics), [T, E, obs_dim], and after the last step [E, obs_dim] (`acted_last_obs`);
    `obs` and `last_obs` hold them under the statistics updated with this batch."""
    acted_last_obs: np.ndarray | None = None


class RolloutCollector:
    def __init__(self, envs: list[gym.Env], config: BaseConfig, seeds: list[int]):
        self.envs = envs
        # each env's step as (obs, reward, terminated, truncated): the paper's MuJoCo tasks
        # through fast_step (gymnasium's transitions bit for bit, less Python), others env.step
        self.steps = [fast_step(env) or gym_step(env) for env in envs]
        self.config = config
        self.adapter = ActionAdapter(envs[0].action_space, config.action_clip, config.action_scaling)
        obs_shape = envs[0].observation_space.shape
        self.obs_normalizer = ObsNormalizer(obs_shape, config.obs_clip, config.obs_norm, std_floor=config.obs_std_floor,
                                            prior_count=config.obs_prior_count)
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
        if config.obs_norm_update == "step":  # "batch": the statistics first see the first batch
            self.obs_normalizer.update(first)
        self.raw_obs = first  # the current observations, before normalization [E, obs_dim]
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
        """T steps of every env with `actor`; a group of one (`collect_group`)."""
        return collect_group([self], [actor], [rng], [global_step])[0]

    def group_key(self) -> tuple:
        """Collectors with equal keys can step in lockstep with one stacked actor."""
        if not hasattr(self, "_group_key"):  # asked every iteration; none of it changes
            self._group_key = (len(self.envs), self.obs.shape[1], self.adapter.dim, self.adapter.discrete,
                               group_values(self.config, ROLLOUT))
        return self._group_key

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
        self.raw_obs = np.stack(raw)
        self.obs = self.obs_normalizer(self.raw_obs)


def gym_step(env: gym.Env):
    """`env.step` as (observation, reward, terminated, truncated): the reference, and the step
    of every env fast_step does not cover."""
    def step(action):
        observation, reward, terminated, truncated, _ = env.step(action)
        return observation, reward, terminated, truncated
    return step


def collect_group(collectors: list[RolloutCollector], actors: list, rngs: list[np.random.Generator],
                  global_steps: list[int]) -> list[tuple[RawBatch, list[Episode]]]:
    """One rollout for each of M runs, stepped in lockstep: each step, one batched forward of
    the M actors (nets.StackedActor), each member's env(s) stepped with its own actions, and
    the observation and reward statistics of all members updated in one stacked operation
    each (normalize.merge_moments). Per member, the arithmetic is that of a run alone.
    Members must share `group_key()`; their statistics are written back at the end.

    With `obs_norm_update="batch"` (ppo1) the observation statistics stay fixed during the
    rollout, then merge the batch's raw observations (those the actions were taken in), and
    the batch is normalized again with the new statistics for the update. With
    `bootstrap_truncation` off, a time-limit end is recorded as terminated."""
    first = collectors[0]
    if len({c.group_key() for c in collectors}) != 1:
        raise ValueError("collect_group needs collectors with one group key")
    cfg = first.config
    M, E, T = len(collectors), len(first.envs), cfg.num_steps
    obs_dim, act_dim = first.obs.shape[1], first.adapter.dim
    # actors with one network shape step as one stacked actor; others (CEM's: a network per
    # environment) act member by member
    stacked = all(getattr(a, "stackable", True) for a in actors)
    actor = StackedActor(actors) if stacked else None
    on_episode_end = [getattr(a, "episode_ended", None) for a in actors]
    obs_buf = np.empty((M, T, E, obs_dim), dtype=np.float32)
    act_buf = np.empty((M, T, E, act_dim), dtype=np.float32)
    rew_buf = np.empty((M, T, E), dtype=np.float64)
    term_buf = np.zeros((M, T, E), dtype=bool)
    trunc_buf = np.zeros((M, T, E), dtype=bool)
    raw_rewards = np.empty((M, E), dtype=np.float64)
    next_raw = np.empty((M, E, obs_dim), dtype=np.float64)
    final_raw: list[list[tuple[int, int, np.ndarray]]] = [[] for _ in range(M)]
    episodes: list[list[Episode]] = [[] for _ in range(M)]
    (o_mean, o_var, o_count), (r_returns, r_mean, r_var, r_count) = _stacked_statistics(collectors)
    obs_norm, scaler = first.obs_normalizer, first.reward_scaler
    per_batch = obs_norm.enabled and cfg.obs_norm_update == "batch"
    raw_buf = np.empty((M, T, E, obs_dim), dtype=np.float64) if per_batch else None
    raw = np.stack([c.raw_obs for c in collectors])
    obs = np.stack([c.obs for c in collectors])
    for t in range(T):
        obs_buf[:, t] = obs
        if per_batch:
            raw_buf[:, t] = raw
        actions = actor.sample(obs, rngs) if stacked else np.stack(
            [a.sample(obs[m], rngs[m]) for m, a in enumerate(actors)]).astype(np.float32, copy=False)
        act_buf[:, t] = actions
        for m, c in enumerate(collectors):
            step = global_steps[m] + (t + 1) * E
            for i, env_step in enumerate(c.steps):
                o, reward, terminated, truncated = env_step(c.adapter.to_env(actions[m, i]))
                c.episode_actions[i].append(actions[m, i])
                c.episode_return[i] += reward
                c.episode_length[i] += 1
                raw_rewards[m, i] = reward
                if terminated or truncated:
                    terminal = terminated or not cfg.bootstrap_truncation
                    term_buf[m, t, i], trunc_buf[m, t, i] = terminal, truncated and not terminal
                    episodes[m].append(Episode(step, float(c.episode_return[i]), int(c.episode_length[i])))
                    if on_episode_end[m] is not None:  # CEM: the episode's return scores its candidate
                        on_episode_end[m](i, float(c.episode_return[i]))
                    if trunc_buf[m, t, i]:
                        final_raw[m].append((t, i, o))
                    o = c._start_episode(i)
                next_raw[m, i] = o
        if scaler.enabled:
            rew_buf[:, t], r_returns, r_mean, r_var, r_count = scale_rewards(
                r_returns, r_mean, r_var, r_count, raw_rewards, term_buf[:, t] | trunc_buf[:, t],
                scaler.gamma, scaler.clip, scaler.eps)
        else:
            rew_buf[:, t] = raw_rewards
        if obs_norm.enabled and not per_batch:
            o_mean, o_var, o_count = merge_moments(o_mean, o_var, o_count, next_raw)
        if obs_norm.enabled:
            obs = standardize(next_raw, o_mean[:, None], o_var[:, None], obs_norm.clip, obs_norm.eps,
                              obs_norm.std_floor)
        else:
            obs = next_raw.astype(np.float32)
        raw = next_raw
    acted_buf, acted_last = (obs_buf, obs) if per_batch else (None, None)
    if per_batch:  # the update's view of the batch: under the statistics that include it
        o_mean, o_var, o_count = merge_moments(o_mean, o_var, o_count, raw_buf.reshape(M, T * E, obs_dim))
        obs_buf = standardize(raw_buf, o_mean[:, None, None], o_var[:, None, None], obs_norm.clip,
                              obs_norm.eps, obs_norm.std_floor)
        obs = standardize(next_raw, o_mean[:, None], o_var[:, None], obs_norm.clip, obs_norm.eps, obs_norm.std_floor)
    _write_back(collectors, (o_mean, o_var, o_count), (r_returns, r_mean, r_var, r_count), obs, next_raw)
    results = []
    for m, c in enumerate(collectors):
        final_obs = [(t, i, c.obs_normalizer(o)) for t, i, o in final_raw[m]]
        batch = RawBatch(obs_buf[m], act_buf[m], rew_buf[m], term_buf[m], trunc_buf[m], c.obs.copy(), final_obs,
                         *((acted_buf[m], acted_last[m].copy()) if per_batch else ()))
        results.append((batch, episodes[m]))
    return results


def _stacked_statistics(collectors: list[RolloutCollector]):
    """The members' observation statistics (mean, var, count) and reward-scaling state
    (returns, mean, var, count), stacked along a leading member axis."""
    obs_norms = [c.obs_normalizer for c in collectors]
    scalers = [c.reward_scaler for c in collectors]
    o_mean, o_var = np.stack([n.rms.mean for n in obs_norms]), np.stack([n.rms.var for n in obs_norms])
    o_count = np.array([n.rms.count for n in obs_norms])
    r_returns = np.stack([sc.returns for sc in scalers])
    r_mean, r_var = np.array([sc.rms.mean for sc in scalers]), np.array([sc.rms.var for sc in scalers])
    r_count = np.array([sc.rms.count for sc in scalers])
    return (o_mean, o_var, o_count), (r_returns, r_mean, r_var, r_count)


def _write_back(collectors: list[RolloutCollector], obs_stats, reward_stats, obs: np.ndarray,
                raw: np.ndarray) -> None:
    """Each member's statistics, reward-scaling state and current observations, from the
    stacked arrays back into its collector."""
    (o_mean, o_var, o_count), (r_returns, r_mean, r_var, r_count) = obs_stats, reward_stats
    for m, c in enumerate(collectors):
        c.obs_normalizer.rms.mean, c.obs_normalizer.rms.var = o_mean[m].copy(), o_var[m].copy()
        c.obs_normalizer.rms.count = float(o_count[m])
        c.reward_scaler.returns = r_returns[m].copy()
        c.reward_scaler.rms.mean, c.reward_scaler.rms.var = np.array(r_mean[m]), np.array(r_var[m])
        c.reward_scaler.rms.count = float(r_count[m])
        c.obs = obs[m].copy()
        c.raw_obs = raw[m].copy()


def evaluate(env: gym.Env, actor, obs_normalizer: ObsNormalizer, episodes: int, seed: int,
             stochastic: bool = False, on_step=None, action_clip: bool = True,
             action_scaling: bool = False) -> list[float]:
    """Returns of `episodes` episodes taking the policy's deterministic action (Gaussian: the
    mean; categorical: the most probable), or with `stochastic` an action sampled from the
    policy (its own RNG, seeded from `seed`), with the observation statistics frozen as they
    are; the env is seeded once with `seed`. `on_step(env)` is called after the reset and
    after every step (to render frames)."""
    adapter = ActionAdapter(env.action_space, action_clip, action_scaling)
    rng = np.random.default_rng(seed)
    returns = []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        total, done = 0.0, False
        if on_step is not None:
            on_step(env)
        while not done:
            normalized = obs_normalizer(np.asarray(obs, dtype=np.float64)[None])
            action = (actor.sample(normalized, rng) if stochastic else actor.deterministic(normalized))[0]
            obs, reward, terminated, truncated, _ = env.step(adapter.to_env(action))
            total += reward
            done = terminated or truncated
            if on_step is not None:
                on_step(env)
        returns.append(total)
        obs, _ = env.reset()
    return returns
