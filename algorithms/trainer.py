"""The one training loop every algorithm shares.

The trainer owns everything that is not an algorithm's maths: environments, seeding,
rollouts, normalization, advantages, episode bookkeeping, divergence checks,
checkpoint state and resume. An algorithm is a config plus `update(batch) -> metrics`
(algorithms/base.py); the stacked update of several runs at once is its optional extension
(algorithms/group.py). `Trainer` is one run's state; `train_group` is the loop.
Where records go is the caller's business: the trainer talks to a `TrainLogger`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from .advantages import gae
from .advantages import next_values as next_values_of
from .base import Algorithm, Batch, NullLogger, TrainLogger
from .config import BaseConfig, ConfigError
from .nets import CategoricalPolicy, GaussianPolicy, ValueNet
from .objectives import explained_variance
from .rollout import Episode, RawBatch, RolloutCollector, collect_group, evaluate, make_env

CHECKPOINT_FORMAT = 1
LOG_EVERY_STEPS = 2048  # a progress row covers at least this many env steps


class Diverged(RuntimeError):
    """A loss, a parameter or an observation stopped being finite."""


class Trainer:
    def __init__(self, env_id: str, algorithm: type[Algorithm], config: BaseConfig, seed: int,
                 total_steps: int):
        if total_steps < config.batch_size:
            raise ConfigError(f"steps={total_steps} is less than one iteration "
                              f"({config.batch_size} = num_steps x num_envs)")
        self.env_id, self.config, self.seed = env_id, config, seed
        self.num_iterations = total_steps // config.batch_size
        self.iterations_per_row = max(1, math.ceil(LOG_EVERY_STEPS / config.batch_size))
        init_seq, act_seq, update_seq, env_seq, eval_seq = np.random.SeedSequence(seed).spawn(5)
        generator = torch.Generator().manual_seed(int(init_seq.generate_state(1, np.uint64)[0] >> 1))
        self.action_rng = np.random.default_rng(act_seq)
        self.update_rng = np.random.default_rng(update_seq)
        self.eval_seed = int(eval_seq.generate_state(1)[0])
        self.env_seeds = [int(s) for s in env_seq.generate_state(config.num_envs)]  # each env's first reset
        env_seeds = self.env_seeds

        envs = [make_env(env_id) for _ in range(config.num_envs)]
        space = envs[0].action_space
        obs_dim = envs[0].observation_space.shape[0]
        if isinstance(space, gym.spaces.Discrete):
            self.policy = CategoricalPolicy(obs_dim, int(space.n), config.hidden_sizes, config.init_scheme, generator,
                                            config.policy_head_gain)
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            self.policy = GaussianPolicy(obs_dim, space.shape[0], config.hidden_sizes, config.init_log_std,
                                         config.init_scheme, generator, config.policy_head_gain)
        else:
            raise ConfigError(f"{env_id}: only 1-D Box and Discrete action spaces are supported, not {space}")
        self.value_fn = ValueNet(obs_dim, config.hidden_sizes, config.init_scheme, generator, config.value_head_gain)
        self.algorithm = algorithm(config, self.policy, self.value_fn, self.update_rng)
        self.collector = RolloutCollector(envs, config, env_seeds)
        self.iteration = 0
        self.global_step = 0
        self.wall_seconds = 0.0
        self.divergence = ""  # why training stopped as diverged, if it did
        self._pending: list[dict[str, float]] = []  # metrics of the progress row being filled
        self._row_seconds = 0.0

    # -- one iteration's bookkeeping (the loop is train_group) --------------------------
    def finish_iteration(self, raw: RawBatch, batch: Batch, metrics: dict[str, float], episodes: list[Episode],
                         elapsed: float, logger: TrainLogger, checkpoint_every: int) -> bool:
        """Book one iteration: counters, episodes, divergence check, the progress row and
        checkpoint when due. False when training diverged (`self.divergence` says why)."""
        metrics["explained_variance"] = explained_variance(batch.values, batch.returns)
        self.iteration += 1
        self.global_step += self.config.batch_size
        self.wall_seconds += elapsed
        logger.log_episodes(episodes)
        last = self.iteration == self.num_iterations
        row_due = self.iteration % self.iterations_per_row == 0 or last
        try:
            # parameters are checked once per progress row (every iteration for PPO, TRPO, VPG);
            # a non-finite parameter shows in the very next loss anyway
            self.check_finite(metrics, raw, parameters=row_due)
        except Diverged as err:
            self.divergence = str(err)
            return False
        self._pending.append(metrics)
        self._row_seconds += elapsed
        if not row_due:
            return True
        pending = self._pending
        logger.log_iteration({
            "iteration": self.iteration, "global_step": self.global_step,
            "time_elapsed": self.wall_seconds,
            "steps_per_second": len(pending) * self.config.batch_size / self._row_seconds,
            **{k: float(np.mean([m[k] for m in pending])) for k in pending[0]}})
        self._pending, self._row_seconds = [], 0.0
        if (self.iteration // self.iterations_per_row) % checkpoint_every == 0 or last:
            logger.save_checkpoint(self.state_dict())
        return True

    @property
    def at_row_boundary(self) -> bool:
        """No iteration waits for its progress row: a checkpoint here loses nothing."""
        return not self._pending

    def prepare(self, raw: RawBatch) -> Batch:
        """Values, old log-probs and GAE for a collected batch, in batched forwards. Where the
        observation statistics were updated after the rollout (`obs_norm_update="batch"`), the
        values for GAE are taken at the observations as the actor saw them, as ppo1 takes
        them during its rollout; the update sees the batch under the new statistics."""
        T, E = raw.rewards.shape
        obs = torch.from_numpy(raw.obs.reshape(T * E, -1))
        actions = torch.from_numpy(raw.actions.reshape(T * E, -1))
        acted = raw.acted_obs is not None
        with torch.no_grad():
            values = self.value_fn(torch.from_numpy(raw.acted_obs.reshape(T * E, -1)) if acted else obs)
            last = raw.acted_last_obs if acted else raw.last_obs
            tail = [torch.from_numpy(last)] + [torch.from_numpy(o[None]) for _, _, o in raw.final_obs]
            tail_values = self.value_fn(torch.cat(tail)).double().numpy()
            params = self.policy.dist_params(obs)
            log_probs = self.policy.log_prob(params, actions)
        values_tn = values.double().numpy().reshape(T, E)
        next_values = next_values_of(values_tn, tail_values[:E],
                                     ((t, i, tail_values[E + k]) for k, (t, i, _) in enumerate(raw.final_obs)))
        advantages, returns = gae(raw.rewards, values_tn, next_values, raw.terminated, raw.truncated,
                                  self.config.gamma, self.config.gae_lambda)
        return Batch(
            obs=obs, actions=actions, log_probs=log_probs, old_params=_snapshot(params),
            values=values, advantages=torch.from_numpy(advantages.reshape(-1)).float(),
            returns=torch.from_numpy(returns.reshape(-1)).float(), rewards=raw.rewards,
            terminated=raw.terminated, truncated=raw.truncated, next_values=next_values,
            progress=self.iteration / self.num_iterations)

    def check_finite(self, metrics: dict[str, float], raw: RawBatch, parameters: bool = True) -> None:
        bad = [k for k, v in metrics.items() if not math.isfinite(v) and k != "explained_variance"]
        if bad:
            raise Diverged(f"non-finite {', '.join(bad)} at iteration {self.iteration}")
        if parameters:
            self.algorithm.sync()
        for name, module in (("policy", self.policy), ("value", self.value_fn)) if parameters else ():
            if not all(torch.isfinite(p).all() for p in module.parameters()):
                raise Diverged(f"non-finite {name} parameters at iteration {self.iteration}")
        if not np.isfinite(raw.obs).all():
            raise Diverged(f"non-finite observations at iteration {self.iteration}")

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, episodes: int = 10, stochastic: bool = False, env: gym.Env | None = None,
                 on_step=None) -> list[float]:
        """Mean-action (or, `stochastic`, sampled-action) returns on a separately seeded env
        (`env`: the task built another way, e.g. to render), normalizer statistics frozen."""
        self.algorithm.sync()
        return evaluate(env if env is not None else make_env(self.env_id), self.policy.numpy_actor(),
                        self.collector.obs_normalizer, episodes, self.eval_seed, stochastic, on_step,
                        self.config.action_clip, self.config.action_scaling)

    # -- checkpoint state ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        self.algorithm.sync()
        return _tensorize({
            "format": CHECKPOINT_FORMAT,
            "env_id": self.env_id,
            "iteration": self.iteration,
            "global_step": self.global_step,
            "wall_seconds": self.wall_seconds,
            "policy": self.policy.state_dict(),
            "value_fn": self.value_fn.state_dict(),
            "algorithm": self.algorithm.state_dict(),
            "collector": self.collector.state_dict(),
            "action_rng": self.action_rng.bit_generator.state,
            "update_rng": self.update_rng.bit_generator.state,
        })

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != CHECKPOINT_FORMAT or state.get("env_id") != self.env_id:
            raise ValueError(f"checkpoint is not a format-{CHECKPOINT_FORMAT} checkpoint of {self.env_id}")
        self.iteration = int(state["iteration"])
        self.global_step = int(state["global_step"])
        self.wall_seconds = float(state["wall_seconds"])
        self.algorithm.release()  # first: a kept engine state must not overwrite what is loaded
        self.policy.load_state_dict(state["policy"])
        self.value_fn.load_state_dict(state["value_fn"])
        self.algorithm.load_state_dict(state["algorithm"])
        self.collector.load_state_dict(state["collector"])
        self.action_rng.bit_generator.state = state["action_rng"]
        self.update_rng.bit_generator.state = state["update_rng"]


def train_group(trainers: list[Trainer], loggers: list[TrainLogger | None], checkpoint_every: int = 10,
                stop_after: int | None = None, should_stop: Callable[[], bool] | None = None) -> list[str]:
    """Train several runs in one process, in lockstep (grid mode): each iteration every
    active member collects its own rollout with its own env and RNGs; then members whose
    algorithms share a group key take one stacked update (PPO, A2C: algorithms/engine.py), the
    others their own. A single run is a group of one, through this same loop.

    `should_stop()` (an interrupt, say) is asked before every iteration; once it says yes,
    each member trains on to the end of its current progress row, saves a checkpoint there
    and stops, so that nothing trained is lost.

    Returns each member's status: "complete", "diverged" or "stopped". A member's
    wall_seconds are its share of the group's time (the iteration's time / active members)."""
    loggers = [logger or NullLogger() for logger in loggers]
    status: list[str | None] = [None] * len(trainers)
    done_here = 0
    stopping = False
    while True:
        for i, t in enumerate(trainers):
            if status[i] is None and t.iteration >= t.num_iterations:
                status[i] = "complete"
        active = [i for i, s in enumerate(status) if s is None]
        if stop_after is not None and done_here >= stop_after:
            for i in active:
                status[i] = "stopped"
            break
        stopping = stopping or (bool(active) and should_stop is not None and should_stop())
        for i in active if stopping else ():
            if trainers[i].at_row_boundary:
                loggers[i].save_checkpoint(trainers[i].state_dict())
                status[i] = "stopped"
        active = [i for i in active if status[i] is None]
        if not active:
            break
        started = time.perf_counter()
        members = [trainers[i] for i in active]
        raws, episodes = zip(*collect_members(members), strict=True)
        batches = prepare_members(members, list(raws))
        collected = list(zip(raws, batches, episodes, strict=True))
        metrics = update_members([t.algorithm for t in members], batches)
        elapsed = (time.perf_counter() - started) / len(active)
        done_here += 1
        for i, (raw, batch, episodes), m in zip(active, collected, metrics, strict=True):
            if not trainers[i].finish_iteration(raw, batch, m, episodes, elapsed, loggers[i], checkpoint_every):
                status[i] = "diverged"
    return [str(s) for s in status]


def in_groups(keys: list, run) -> list:
    """Partition items 0..n-1 by key, call `run(indices)` once per group (it returns one
    output per index), and give the outputs back in item order."""
    groups: dict = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    results: list = [None] * len(keys)
    for members in groups.values():
        for i, out in zip(members, run(members), strict=True):
            results[i] = out
    return results


def collect_members(trainers: list[Trainer]) -> list[tuple[RawBatch, list[Episode]]]:
    """Each trainer's rollout; trainers whose collectors share a group key step in lockstep."""
    return in_groups([t.collector.group_key() for t in trainers], lambda members: collect_group(
        [trainers[i].collector for i in members], [trainers[i].algorithm.numpy_actor() for i in members],
        [trainers[i].action_rng for i in members], [trainers[i].global_step for i in members]))


def prepare_members(trainers: list[Trainer], raws: list[RawBatch]) -> list[Batch]:
    """Each trainer's batch: members with one group key through their algorithm's
    `prepare_group` where it has one, otherwise the trainer's own `prepare`."""
    algorithms = [t.algorithm for t in trainers]

    def run(members: list[int]) -> list[Batch]:
        first = algorithms[members[0]]
        batches = None
        if first.group_key() is not None:
            batches = type(first).prepare_group([algorithms[i] for i in members], [raws[i] for i in members],
                                                [trainers[i].iteration / trainers[i].num_iterations for i in members])
        return batches if batches is not None else [trainers[i].prepare(raws[i]) for i in members]

    return in_groups([alg.group_key() or ("alone", i) for i, alg in enumerate(algorithms)], run)


def update_members(algorithms: list[Algorithm], batches: list[Batch]) -> list[dict[str, float]]:
    """Each algorithm's update, members with one group key (not None) together."""
    keys = [alg.group_key() or ("alone", i) for i, alg in enumerate(algorithms)]

    def run(members: list[int]) -> list[dict[str, float]]:
        first = algorithms[members[0]]
        if first.group_key() is None:
            return [first.update(batches[members[0]])]
        return type(first).update_group([algorithms[i] for i in members], [batches[i] for i in members])

    return in_groups(keys, run)


def _snapshot(params: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """pi_old's parameters as copies. A Gaussian's log std comes out of dist_params as an
    expanded view of the live parameter: without the copy, every in-place optimizer step
    (and TRPO's line search) would move "old" along with "new", and each KL would miss the
    change of the standard deviation."""
    return tuple(p.detach().clone() for p in params)


def _tensorize(obj: Any) -> Any:
    """numpy arrays become tensors, so that torch.load(weights_only=True) reads the state."""
    if isinstance(obj, np.ndarray | np.generic):
        return torch.from_numpy(np.array(obj))
    if isinstance(obj, dict):
        return {k: _tensorize(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_tensorize(v) for v in obj)
    return obj
