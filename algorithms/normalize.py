"""Running statistics for observation normalization and reward scaling (numpy, float64)."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and variance of everything seen so far, merged batch by batch (Chan et al.)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        # A tiny prior count, as openai/baselines does, so the first update is well defined.
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        """`batch` is [B, *shape]."""
        batch = np.asarray(batch, dtype=np.float64)
        if batch.shape[0] == 1:
            # One sample (every rollout step with one env): the general formula with
            # batch mean = the sample, batch variance = 0 and count 1, term by term in the
            # same order, so the result is bit-identical, without the reductions' cost.
            delta = batch[0] - self.mean
            total = self.count + 1
            self.mean = self.mean + delta / total
            self.var = (self.var * self.count + delta**2 * self.count / total) / total
            self.count = total
            return
        batch_mean = batch.mean(axis=0)
        batch_var = batch.var(axis=0)
        batch_count = batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": float(self.count)}

    def load_state_dict(self, state: dict) -> None:
        self.mean = _array(state["mean"])
        self.var = _array(state["var"])
        self.count = float(state["count"])


class ObsNormalizer:
    """(obs - mean) / sqrt(var + eps), clipped; statistics updated only while training."""

    def __init__(self, shape: tuple[int, ...], clip: float, enabled: bool, eps: float = 1e-8):
        self.rms = RunningMeanStd(shape)
        self.clip, self.enabled, self.eps = clip, enabled, eps

    def update(self, obs: np.ndarray) -> None:
        if self.enabled:
            self.rms.update(obs)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if not self.enabled:
            return np.asarray(obs, dtype=np.float32)
        scaled = (obs - self.rms.mean) / np.sqrt(self.rms.var + self.eps)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)


class RewardScaler:
    """Divides rewards by the running std of the discounted return (no mean shift), then
    clips; the running return restarts at every episode end (terminated or truncated)."""

    def __init__(self, num_envs: int, gamma: float, clip: float, enabled: bool, eps: float = 1e-8):
        self.rms = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.gamma, self.clip, self.enabled, self.eps = gamma, clip, enabled, eps

    def __call__(self, rewards: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Scale one step's rewards ([N]) and update the statistics."""
        if not self.enabled:
            return np.asarray(rewards, dtype=np.float64)
        self.returns = self.returns * self.gamma + rewards
        self.rms.update(self.returns)
        scaled = np.clip(rewards / np.sqrt(self.rms.var + self.eps), -self.clip, self.clip)
        self.returns[done] = 0.0
        return scaled

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
