"""The algorithm contract: what every algorithm is given and what it gives back.

An algorithm is its frozen config plus `update(batch) -> metrics`; the trainer
(algorithms/trainer.py) owns everything else. `Batch` is what `update` is given;
`TrainLogger` is where the trainer's records go (the suite's record files, or nothing).
Updating several runs in one stacked step is an optional extension: algorithms/group.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from .config import BaseConfig
from .nets import CategoricalPolicy, GaussianPolicy, ValueNet
from .rollout import Episode


@dataclass
class Batch:
    """One iteration's batch for `update`. Flat tensors are [B] = [T * E] (time-major);
    the numpy fields keep the [T, E] layout for algorithms that compute their own returns."""

    obs: torch.Tensor  # [B, obs_dim] normalized
    actions: torch.Tensor  # [B, act_dim] as sampled
    log_probs: torch.Tensor  # [B] log pi_old(a|s)
    old_params: tuple[torch.Tensor, ...]  # pi_old's distribution parameters, each [B, ...]
    values: torch.Tensor  # [B] V(s) before the update
    advantages: torch.Tensor  # [B] GAE(gamma, lambda), not normalized
    returns: torch.Tensor  # [B] value targets: advantages + values
    rewards: np.ndarray  # [T, E] scaled rewards
    terminated: np.ndarray  # [T, E]
    truncated: np.ndarray  # [T, E]
    next_values: np.ndarray  # [T, E] V of the observation each step returned (final obs at ends)
    progress: float  # fraction of the run's iterations done before this one, in [0, 1)


class Algorithm:
    """Base for the algorithms: holds the networks; subclasses implement `update`."""

    def __init__(self, config: BaseConfig, policy: GaussianPolicy | CategoricalPolicy, value_fn: ValueNet,
                 rng: np.random.Generator):
        self.config, self.policy, self.value_fn, self.rng = config, policy, value_fn, rng

    def update(self, batch: Batch) -> dict[str, float]:
        raise NotImplementedError

    def group_key(self) -> tuple | None:
        """None: this algorithm updates alone. Algorithms with a stacked update for several
        runs at once derive from `algorithms.group.GroupUpdate` instead."""
        return None

    def numpy_actor(self):
        """The policy as a numpy actor for the next rollout."""
        return self.policy.numpy_actor()

    def sync(self) -> None:
        """Bring the torch modules up to date where the algorithm keeps its parameters
        elsewhere between iterations (A2C: in the numpy engine). Called before anything
        reads them: the parameter check, evaluation, checkpoints."""

    def release(self) -> None:
        """Before the torch modules or optimizers are written from outside (a checkpoint
        loaded): hand back whatever the algorithm keeps elsewhere (bridge.EngineState) and stop
        keeping it."""
        self.sync()

    def current_lr(self, progress: float) -> float:
        """The configured step size, annealed linearly to 0 over the run if asked."""
        cfg = self.config
        return cfg.lr * (1.0 - progress / cfg.lr_anneal_over) if cfg.lr_anneal else cfg.lr

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class TrainLogger(Protocol):
    def log_iteration(self, row: dict[str, float]) -> None: ...
    def log_episodes(self, episodes: list[Episode]) -> None: ...
    def save_checkpoint(self, state: dict) -> None: ...


class NullLogger:
    def log_iteration(self, row: dict[str, float]) -> None:
        pass

    def log_episodes(self, episodes: list[Episode]) -> None:
        pass

    def save_checkpoint(self, state: dict) -> None:
        pass
