"""Every objective the algorithms minimize, once, in two faces side by side:

- the reference: torch, differentiated by autograd. It is the specification, and what the
  autograd paths run (discrete policies, TRPO's and VPG's policy step);
- the closed form: numpy, stacked over the N members of a group ([N, B] arrays, settings
  as [N, 1] columns), returning the value and the derivative in closed form (derived in
  its docstring). It is what the engine paths run (PPO and A2C on Gaussian policies, every
  critic fit).

`OBJECTIVES` maps each objective's name to its pair; the update paths look objectives up
there, and tests/test_objectives.py checks every pair against autograd. Losses are
minimized: surrogate objectives appear with a minus sign.

Conventions of the closed forms. A policy objective gets the probability ratio r (or,
for "pg", log pi) and returns the loss per member [N] and d loss / d r [N, B] (the batch
mean's 1/B included), plus, for the KL penalty, its direct derivatives in the policy's mean
and log std. A value objective returns the loss per member and the residual g [N, B]
with d loss / d V_b = k g_b / B (k = 1 for the halved squares, 2 for "value_mse"): the
callers fold 1/B into the loss weight, as their arithmetic always has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .distributions import gaussian_kl_np, gaussian_log_prob_backward, gaussian_log_prob_np


# -- policy objectives: reference (torch) -----------------------------------------------------
def surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor, **_) -> tuple[torch.Tensor, dict]:
    """-E[r_t A_t], the unclipped surrogate (the paper's 'no clipping or penalty')."""
    return -(ratio * advantages).mean(), {}


def clipped_surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float,
                           **_) -> tuple[torch.Tensor, dict]:
    """-E[min(r_t A_t, clip(r_t, 1-eps, 1+eps) A_t)] (PPO paper, eq. 7)."""
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -torch.minimum(unclipped, clipped).mean()
    return loss, {"clip_fraction": clip_fraction(ratio, clip_eps)}


def kl_penalty_loss(ratio: torch.Tensor, advantages: torch.Tensor, kl: torch.Tensor, beta: float,
                    **_) -> tuple[torch.Tensor, dict]:
    """-E[r_t A_t - beta KL[pi_old(.|s_t), pi_new(.|s_t)]] (PPO paper, eq. 8).
    `kl` is per state, KL[old || new], differentiable in the new policy."""
    mean_kl = kl.mean()
    return -(ratio * advantages).mean() + beta * mean_kl, {"kl": mean_kl.detach()}


def pg_loss(log_probs: torch.Tensor, advantages: torch.Tensor, **_) -> tuple[torch.Tensor, dict]:
    """-E[log pi(a_t|s_t) A_t], the policy-gradient loss of A2C and vanilla PG."""
    return -(log_probs * advantages).mean(), {}


def clip_fraction(ratio: torch.Tensor, clip_eps: float) -> torch.Tensor:
    """Share of samples whose ratio lies outside [1-eps, 1+eps]."""
    return ((ratio - 1.0).abs() > clip_eps).float().mean().detach()


# -- policy objectives: closed form (numpy, stacked) -----------------------------------------
@dataclass
class PolicyGrad:
    """A policy objective's value [N] and derivatives: in its input (r, or log pi for "pg")
    [N, B], and, where the objective depends on the policy directly (the KL penalty), in
    the mean [N, B, A] and the log std [N, 1, A] (to add to what flows through the input)."""

    loss: np.ndarray
    d_input: np.ndarray
    d_mean: np.ndarray | None = None
    d_log_std: np.ndarray | None = None


def surrogate_grad(ratio, adv, **_) -> PolicyGrad:
    """L = -(1/B) sum_b r_b A_b, so dL/dr_b = -A_b / B."""
    B = ratio.shape[1]
    return PolicyGrad(-(ratio * adv).mean(1), -adv / B)


def clipped_surrogate_grad(ratio, adv, clip_eps, **_) -> PolicyGrad:
    """L = -(1/B) sum_b min(r_b A_b, clip(r_b, 1-eps, 1+eps) A_b). The min passes the
    derivative of its smaller side: -A_b / B where r_b A_b is the smaller (or equal) one,
    0 where the clipped constant is (r outside the range on the side that A favours)."""
    B = ratio.shape[1]
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv
    return PolicyGrad(-np.minimum(unclipped, clipped).mean(1), -(adv * (unclipped <= clipped)) / B)


def kl_penalty_grad(ratio, adv, beta, kl, inv_std, **_) -> PolicyGrad:
    """L = -(1/B) sum_b r_b A_b + beta (1/B) sum_b KL_b, with `kl` = gaussian_kl_np's
    (KL, var_ratio, diff) against pi_old. Through r: -A_b / B. Directly (the new policy is
    KL's second argument): d KL_b / d mean_b = -diff_b / std and
    d KL_b / d log_std = sum over the batch of (1 - var_ratio - diff^2), each times beta / B.
    `beta` is [N, 1, 1]."""
    B = ratio.shape[1]
    value, var_ratio, diff = kl
    out = surrogate_grad(ratio, adv)
    out.loss = out.loss + beta[:, 0, 0] * value.mean(1)
    out.d_mean = -((beta / B) * diff * inv_std)
    out.d_log_std = (beta / B) * (1.0 - var_ratio - diff * diff).sum(1, keepdims=True)
    return out


def pg_grad(log_probs, adv, **_) -> PolicyGrad:
    """L = -(1/B) sum_b log pi_b A_b, so dL/d log pi_b = -A_b / B."""
    return PolicyGrad(-(log_probs * adv).mean(1), -adv / np.float32(log_probs.shape[1]))


# -- value objectives ---------------------------------------------------------------------------
def value_loss(values: torch.Tensor, returns: torch.Tensor, **_) -> tuple[torch.Tensor, dict]:
    """0.5 E[(V - R)^2]."""
    return 0.5 * (values - returns).pow(2).mean(), {}


def clipped_value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor, clip_eps: float,
                       **_) -> tuple[torch.Tensor, dict]:
    """openai/baselines ppo2's clipped form:
    0.5 E[max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)]."""
    clipped = old_values + torch.clamp(values - old_values, -clip_eps, clip_eps)
    return 0.5 * torch.maximum((values - returns).pow(2), (clipped - returns).pow(2)).mean(), {}


def value_mse_loss(values: torch.Tensor, returns: torch.Tensor, **_) -> tuple[torch.Tensor, dict]:
    """E[(V - R)^2] (SB3 A2C's F.mse_loss: no 1/2)."""
    return (values - returns).pow(2).mean(), {}


def value_grad(values, returns, **_) -> tuple[np.ndarray, np.ndarray]:
    """L = 0.5 (1/B) sum_b (V_b - R_b)^2; residual V_b - R_b (dL/dV_b = residual / B)."""
    err = values - returns
    return 0.5 * (err * err).mean(1), err


def clipped_value_grad(values, returns, old_values, clip_eps, **_) -> tuple[np.ndarray, np.ndarray]:
    """L = 0.5 (1/B) sum_b max(e_b^2, c_b^2), e = V - R, c = V_old + clip(V - V_old, -eps, eps) - R.
    The max passes the derivative of its larger side: e_b where e^2 >= c^2; else c_b where
    the clip is inactive (|V - V_old| <= eps), 0 where it holds c constant."""
    err = values - returns
    moved = values - old_values
    err_clipped = old_values + np.clip(moved, -clip_eps, clip_eps) - returns
    square, square_clipped = err * err, err_clipped * err_clipped
    loss = 0.5 * np.maximum(square, square_clipped).mean(1)
    inside = np.abs(moved) <= clip_eps
    return loss, np.where(square >= square_clipped, err, np.where(inside, err_clipped, 0.0))


def value_mse_grad(values, returns, **_) -> tuple[np.ndarray, np.ndarray]:
    """L = (1/B) sum_b (V_b - R_b)^2; residual V_b - R_b (dL/dV_b = 2 residual / B)."""
    err = values - returns
    return (err * err).mean(1), err


# -- the table ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    kind: str  # "policy": of the ratio r; "pg": of log pi; "value": of V
    reference: Callable  # torch, (input, advantages or returns, **settings) -> (loss, info)
    closed_form: Callable  # numpy, the same arguments stacked -> PolicyGrad | (loss, residual)
    needs_kl: bool = False
    residual_factor: float = 1.0  # value objectives: d loss / d V_b = residual_factor * residual_b / B


OBJECTIVES: dict[str, Objective] = {
    "clip": Objective("policy", clipped_surrogate_loss, clipped_surrogate_grad),  # ppo_clip
    "kl_adaptive": Objective("policy", kl_penalty_loss, kl_penalty_grad, needs_kl=True),  # ppo_klpen
    "kl_fixed": Objective("policy", kl_penalty_loss, kl_penalty_grad, needs_kl=True),  # ppo_kl_fixed
    "none": Objective("policy", surrogate_loss, surrogate_grad),  # ppo_noclip; trpo, npg (maximized)
    "pg": Objective("pg", pg_loss, pg_grad),  # a2c, vpg
    "value": Objective("value", value_loss, value_grad),  # ppo (value_clip=false); trpo, npg, vpg critic fit
    "value_clipped": Objective("value", clipped_value_loss, clipped_value_grad),  # ppo (value_clip=true)
    "value_mse": Objective("value", value_mse_loss, value_mse_grad, residual_factor=2.0),  # a2c (SB3's F.mse_loss)
}


def gaussian_policy_grad(objective: str, mean, log_std, actions, adv, *, old_logp=None, old_mean=None,
                         old_log_std=None, clip_eps=None, beta=None, ent_coef=None
                         ) -> tuple[PolicyGrad, np.ndarray | None]:
    """A policy objective of a stacked Gaussian policy, through log pi to its mean [N, B, A]
    and log std [N, 1, A], with the entropy bonus -ent_coef * entropy (d/d log std = -ent_coef).
    Returns the PolicyGrad with d_mean and d_log_std filled in, and the ratio (None for "pg")."""
    entry = OBJECTIVES[objective]
    logp, z, inv_std = gaussian_log_prob_np(mean, log_std, actions)
    if entry.kind == "pg":
        out, ratio = entry.closed_form(logp, adv), None
        d_logp = out.d_input[..., None]
    else:
        ratio = np.exp(logp - old_logp)
        kl = gaussian_kl_np(old_mean, old_log_std, mean, log_std) if entry.needs_kl else None
        out = entry.closed_form(ratio, adv, clip_eps=clip_eps, beta=beta, kl=kl, inv_std=inv_std)
        d_logp = (out.d_input * ratio)[..., None]
    d_mean, d_log_std = gaussian_log_prob_backward(d_logp, z, inv_std)
    if out.d_mean is not None:
        d_mean += out.d_mean
        d_log_std += out.d_log_std
    d_log_std -= ent_coef
    out.d_mean, out.d_log_std = d_mean, d_log_std
    return out, ratio


# -- advantage normalization, both faces --------------------------------------------------------
def normalize_advantages(advantages: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero mean, unit std (population std; eps guards a constant batch)."""
    return (advantages - advantages.mean()) / (advantages.std(unbiased=False) + eps)


def normalize_advantages_np(adv: np.ndarray) -> np.ndarray:
    """normalize_advantages per member row of [N, B]."""
    return (adv - adv.mean(1, keepdims=True)) / (adv.std(1, keepdims=True) + np.float32(1e-8))


# -- rules and diagnostics -----------------------------------------------------------------------
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
