"""Closed forms for the diagonal Gaussian policy, in two faces: torch (the autograd paths;
`mean` [B, A], `log_std` [A] or [B, A], `actions` [B, A]) and numpy (the engine's stacked
paths, members along a leading axis). Every result is per state, summed over action
dimensions. The two faces compute the same formulas; they are kept apart because each
path's records depend on its own float arithmetic.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log N(actions; mean, exp(log_std)^2), summed over action dimensions."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - _HALF_LOG_2PI).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    """Entropy of the diagonal Gaussian, summed over action dimensions."""
    return (log_std + 0.5 + _HALF_LOG_2PI).sum(-1)


def gaussian_kl(mean_p: torch.Tensor, log_std_p: torch.Tensor,
                mean_q: torch.Tensor, log_std_q: torch.Tensor) -> torch.Tensor:
    """KL[p || q] per state, summed over action dimensions.

    With p = pi_old and q = pi_new this is the paper's KL[pi_old(.|s), pi_new(.|s)].
    """
    var_ratio = torch.exp(2.0 * (log_std_p - log_std_q))
    mean_term = ((mean_p - mean_q) * torch.exp(-log_std_q)).pow(2)
    return (log_std_q - log_std_p + 0.5 * (var_ratio + mean_term) - 0.5).sum(-1)


# -- the same closed forms in numpy, stacked ([N, B, A]; log_std [N, 1, A]), for the engine ----
# Each returns the pieces its derivative needs, so that the closed-form gradients
# (algorithms/objectives.py) reuse them instead of recomputing.

def gaussian_log_prob_np(mean: np.ndarray, log_std: np.ndarray, actions: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log N(actions; mean, exp(log_std)^2) [N, B], with the standardized residuals
    z = (a - mean) / std [N, B, A] and 1 / std [N, 1, A]."""
    inv_std = np.exp(-log_std)
    z = (actions - mean) * inv_std
    logp = (-0.5 * z * z - log_std - np.float32(_HALF_LOG_2PI)).sum(-1)
    return logp, z, inv_std


def gaussian_log_prob_backward(d_logp: np.ndarray, z: np.ndarray, inv_std: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray]:
    """d loss / d mean [N, B, A] and d loss / d log_std [N, 1, A] from d loss / d log pi
    [N, B, 1]. With log pi = sum(-z^2 / 2 - log_std) + const and z = (a - mean) / std:
    d log pi / d mean = z / std, d log pi / d log_std = z^2 - 1 (summed over the batch, the
    log std being shared by every state)."""
    return d_logp * z * inv_std, (d_logp * (z * z - 1.0)).sum(1, keepdims=True)


def gaussian_entropy_np(log_std: np.ndarray) -> np.ndarray:
    """Entropy summed over action dimensions, [...] for log_std [..., A]. Its derivative in
    each log std is 1."""
    return (log_std + np.float32(0.5 + 0.5 * np.log(2 * np.pi))).sum(-1)


def gaussian_kl_np(old_mean, old_log_std, mean, log_std) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KL[old || new] per state [N, B], with the pieces of its derivative:
    var_ratio = old var / new var and diff = (old mean - mean) / std, so that
    d KL / d mean = -diff / std and d KL / d log_std = 1 - var_ratio - diff^2."""
    var_ratio = np.exp(2.0 * (old_log_std - log_std))
    diff = (old_mean - mean) * np.exp(-log_std)
    kl = (log_std - old_log_std + 0.5 * (var_ratio + diff * diff) - 0.5).sum(-1)
    return kl, var_ratio, diff
