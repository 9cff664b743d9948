"""Generalized advantage estimation with termination and truncation kept apart."""

from __future__ import annotations

import numpy as np


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, terminated: np.ndarray,
        truncated: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and value targets (advantages + values).

    Shapes: every input is [T] or [T, E] (time first, E environments; N is the members of a
    group, in the stacked engine).
    - rewards[t]: reward of the step from s_t.
    - values[t]: V(s_t).
    - next_values[t]: V(s_{t+1}) where s_{t+1} is the observation the step returned: for a
      step that ended its episode, the final observation (not the next episode's first).
    - terminated[t]: the episode ended in a terminal state; nothing is bootstrapped.
    - truncated[t]: the episode was cut off (time limit); the step bootstraps from
      next_values[t], but the advantage recursion still stops there.

    delta_t = r_t + gamma * (1 - terminated_t) * next_values_t - values_t
    A_t     = delta_t + gamma * lam * (1 - (terminated_t or truncated_t)) * A_{t+1}
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    terminated = np.asarray(terminated, dtype=bool)
    truncated = np.asarray(truncated, dtype=bool)
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    carry = gamma * lam * ~(terminated | truncated)
    advantages = np.empty_like(deltas)
    running = np.zeros_like(deltas[0])
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values


def next_values(values: np.ndarray, last: np.ndarray, finals=()) -> np.ndarray:
    """V(s_{t+1}) for `gae` [T, E] (float64), from V(s_t) [T, E]: the next step's value; at
    the batch's end V of the observation after the last step (`last` [E]); where an episode was
    truncated inside the batch, V of its final observation (`finals`: (t, env, value))."""
    out = np.empty(values.shape)
    out[:-1] = values[1:]
    out[-1] = last
    for t, env, value in finals:
        out[t, env] = value
    return out


def discounted_returns(rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                       gamma: float) -> np.ndarray:
    """Discounted reward-to-go, restarting at every episode end: GAE with lambda = 1 and a
    zero baseline; the tails after truncations and at the batch's end count as zero."""
    zeros = np.zeros(np.shape(rewards))
    returns, _ = gae(rewards, zeros, zeros, terminated, truncated, gamma, 1.0)
    return returns
