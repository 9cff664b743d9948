"""Running statistics for observation normalization and reward scaling (numpy, float64)."""

from __future__ import annotations

import numpy as np


def merge_moments(mean: np.ndarray, var: np.ndarray, count: np.ndarray, batch: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge running moments with a batch (Chan et al.), for M independent statistics at
    once: mean and var [M, *shape], count [M], batch [M, B, *shape]. Returns the new
    (mean, var, count); every member's arithmetic is the same whatever M is."""
    batch = np.asarray(batch, dtype=np.float64)
    c = count.reshape(count.shape + (1,) * (mean.ndim - 1))
    if batch.shape[1] == 1:
        # One sample (every rollout step with one env): the general formula with batch
        # mean = the sample, batch variance = 0 and count 1, term by term in the same
        # order, so the result is bit-identical, without the reductions' cost.
        delta = batch[:, 0] - mean
        total = c + 1
        return mean + delta / total, (var * c + delta**2 * c / total) / total, count + 1
    n = batch.shape[1]
    delta = batch.mean(axis=1) - mean
    total = c + n
    m2 = var * c + batch.var(axis=1) * n + delta**2 * c * n / total
    return mean + delta * n / total, m2 / total, count + n


def clip(x: np.ndarray, low, high) -> np.ndarray:
    """np.clip's values (min(max(x, low), high), NaN kept) without its Python-level
    dispatch, ~3 us a call: it runs several times per env step."""
    return np.minimum(np.maximum(x, low), high)


def standardize(obs: np.ndarray, mean: np.ndarray, var: np.ndarray, clip_to: float, eps: float,
                std_floor: float = 0.0) -> np.ndarray:
    """(obs - mean) / sqrt(var + eps), clipped to [-clip_to, clip_to], as float32; with a
    `std_floor`, (obs - mean) / sqrt(max(var, std_floor^2)) instead (openai/baselines'
    mpi_running_mean_std.py, which ppo1 uses with a floor of 0.1)."""
    std = np.sqrt(np.maximum(var, std_floor * std_floor)) if std_floor else np.sqrt(var + eps)
    return clip((obs - mean) / std, -clip_to, clip_to).astype(np.float32)


def scale_rewards(returns: np.ndarray, mean: np.ndarray, var: np.ndarray, count: np.ndarray, rewards: np.ndarray,
                  done: np.ndarray, gamma: float, clip_to: float, eps: float):
    """One step of reward scaling for M members x E envs ([M, E] returns, rewards, done;
    the return statistics [M]): the discounted return accumulates, its statistics merge it,
    the reward is divided by its std and clipped, and the return restarts where episodes
    ended. Returns (scaled rewards, returns, mean, var, count)."""
    returns = returns * gamma + rewards
    mean, var, count = merge_moments(mean, var, count, returns)
    scaled = clip(rewards / np.sqrt(var[:, None] + eps), -clip_to, clip_to)
    returns[done] = 0.0
    return scaled, returns, mean, var, count


class RunningMeanStd:
    """Mean and variance of everything seen so far, merged batch by batch."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        # A tiny prior count, as openai/baselines does, so the first update is well defined.
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        """`batch` is [B, *shape]."""
        mean, var, count = merge_moments(self.mean[None], self.var[None], np.array([self.count]),
                                         np.asarray(batch)[None])
        self.mean, self.var, self.count = mean[0], var[0], float(count[0])

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state: dict) -> None:
        self.mean = _array(state["mean"])
        self.var = _array(state["var"])
        self.count = float(state["count"])


class ObsNormalizer:
    """(obs - mean) / sqrt(var + eps) (or over the floored std), clipped; statistics updated
    only while training."""

    def __init__(self, shape: tuple[int, ...], clip: float, enabled: bool, eps: float = 1e-8,
                 std_floor: float = 0.0, prior_count: float = 1e-4):
        self.rms = RunningMeanStd(shape, prior_count)
        self.clip, self.enabled, self.eps, self.std_floor = clip, enabled, eps, std_floor

    def update(self, obs: np.ndarray) -> None:
        if self.enabled:
            self.rms.update(obs)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return np.asarray(obs, dtype=np.float32)
        return standardize(obs, self.rms.mean, self.rms.var, self.clip, self.eps, self.std_floor)


class RewardScaler:
    """The state of reward scaling: the running discounted return of each env and its
    statistics. The step itself (divide by the running std, no mean shift, clip; the return
    restarts at every episode end) is `scale_rewards`, which collect_group takes for every
    member at once."""

    def __init__(self, num_envs: int, gamma: float, clip: float, enabled: bool, eps: float = 1e-8):
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.gamma, self.clip, self.enabled, self.eps = gamma, clip, enabled, eps

    def state_dict(self) -> dict:
        return {"rms": self.rms.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.rms.load_state_dict(state["rms"])
        self.returns = _array(state["returns"])


def _array(value) -> np.ndarray:
    """float64 numpy copy of an array or a tensor from a checkpoint."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.array(value, dtype=np.float64)
