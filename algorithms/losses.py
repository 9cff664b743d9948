"""Losses as pure functions of tensors. Each returns (loss, info); info holds detached
tensors for logging (the trainer decides what to log). Losses are minimized, so the
surrogate objectives appear with a minus sign."""

from __future__ import annotations

import torch


def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit std (population std; eps guards a constant batch)."""
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + eps)


def surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """-E[r_t A_t], the unclipped surrogate (the paper's 'no clipping or penalty')."""
    return -(ratio * advantages).mean(), {}


def clipped_surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor,
                           clip_eps: float) -> tuple[torch.Tensor, dict]:
    """-E[min(r_t A_t, clip(r_t, 1-eps, 1+eps) A_t)] (PPO paper, eq. 7)."""
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -torch.minimum(unclipped, clipped).mean()
    return loss, {"clip_fraction": clip_fraction(ratio, clip_eps)}


def clip_fraction(ratio: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """Share of samples whose ratio lies outside [1-eps, 1+eps]."""
    return ((ratio - 1.0).abs() > clip_eps).float().mean().detach()


def kl_penalty_loss(ratio: torch.Tensor, advantages: torch.Tensor, kl: torch.Tensor,
                    beta: float) -> tuple[torch.Tensor, dict]:
    """-E[r_t A_t - beta KL[pi_old(.|s_t), pi_new(.|s_t)]] (PPO paper, eq. 8).
    `kl` is per state, KL[old || new], differentiable in the new policy."""
    mean_kl = kl.mean()
    return -(ratio * advantages).mean() + beta * mean_kl, {"kl": mean_kl.detach()}


def value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor | None = None,
               clip_eps: float | None = None) -> tuple[torch.Tensor, dict]:
    """0.5 E[(V - R)^2]; with clip_eps, openai/baselines ppo2's clipped form
    0.5 E[max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)]."""
    squared = (values - returns).pow(2)
    if clip_eps is not None:
        assert old_values is not None, "clipped value loss needs the old values"
        clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
        squared = torch.maximum(squared, (clipped - returns).pow(2))
    return 0.5 * squared.mean(), {}


def adaptive_beta(beta: float, kl: float, kl_target: float) -> float:
    """The PPO paper's rule (section 4), applied after each policy update:
    d < d_targ / 1.5 -> beta / 2;  d > d_targ * 1.5 -> beta * 2;  otherwise unchanged."""
    if kl < kl_target / 1.5:
        return beta / 2.0
    if kl > kl_target * 1.5:
        return beta * 2.0
    return beta


def explained_variance(predicted, targets) -> float:
    """1 - Var[targets - predicted] / Var[targets]; nan when the targets are constant."""
    var_targets = float(targets.var())
    if var_targets == 0.0:
        return float("nan")
    return 1.0 - float((targets - predicted).var()) / var_targets
