"""Trust Region Policy Optimization (Schulman et al. 2015), and natural policy gradient
as TRPO without the line search (`line_search=False`).

Per iteration: the surrogate's gradient g; the Fisher-vector product of the mean
KL[pi_old || pi_theta] over the batch's states (double backprop, plus damping); step
direction s = F^-1 g by conjugate gradient; full step scaled so that the quadratic KL
model 0.5 s^T F s equals max_kl; then (TRPO) a backtracking line search that accepts the
first step whose measured mean KL <= max_kl and whose surrogate improves, else keeps
the old parameters. The value function is fitted separately with Adam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import Algorithm, Batch
from .bridge import release_engine
from .config import BaseConfig, hp, require, require_positive
from .objectives import OBJECTIVES, normalize_advantages
from .optimize import ValueFitter, set_lr
from .trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_grad,
    flat_params,
    set_flat_params,
)

SB3C = "sb3-contrib TRPO defaults (with rl-baselines3-zoo's normalize: true for MuJoCo)"
# `normalize: true` in rl-baselines3-zoo = SB3 VecNormalize with its defaults: observations
# and rewards, clip 10 (see algorithms/a2c.py). The zoo's own tuned MuJoCo TRPO entry differs
# from the library defaults (2 envs x 1024 steps, 25 CG steps, 20 critic updates, per-task
# target_kl and gamma): we take sb3-contrib's defaults, one setting for every task.
ZOO_NORMALIZE = "rl-baselines3-zoo `normalize: true` = SB3 VecNormalize defaults (observations and rewards, clip 10)"


@dataclass(frozen=True)
class TRPOConfig(BaseConfig):
    obs_norm: bool = hp(True, ZOO_NORMALIZE, "Normalize observations by a running mean/std.")
    obs_clip: float = hp(10.0, ZOO_NORMALIZE, "Clip normalized observations to [-obs_clip, obs_clip].")
    reward_scale: bool = hp(True, ZOO_NORMALIZE, "Divide rewards by the running std of the discounted return.")
    reward_clip: float = hp(10.0, ZOO_NORMALIZE, "Clip scaled rewards to [-reward_clip, reward_clip].")
    adv_norm: bool = hp(True, SB3C + " (normalize_advantage=True)", "Standardize advantages per batch.")
    ortho_init: bool = hp(True, SB3C + " (SB3 ActorCriticPolicy ortho_init=True)",
                          "Orthogonal init: hidden gain sqrt(2), policy head 0.01, value head 1.")
    gae_lambda: float = hp(0.95, SB3C, "GAE lambda.")
    lr: float = hp(1e-3, SB3C, "Adam step size of the value function (the policy steps by the trust region).")
    lr_anneal: bool = hp(False, SB3C + " (constant)", "Anneal the value function's step size linearly to 0.")
    max_grad_norm: float = hp(0.0, SB3C + " (the critic is not clipped)",
                              "Gradient-norm clip of the value function; 0 disables.")
    max_kl: float = hp(0.01, SB3C + " (target_kl); openai/baselines trpo_mpi agrees",
                       "Trust region: bound on the mean KL[pi_old || pi_new].")
    damping: float = hp(0.1, SB3C + " (cg_damping)", "Added to the Fisher matrix: F + damping I.")
    cg_iters: int = hp(15, SB3C + " (cg_max_steps)", "Conjugate-gradient iterations.")
    line_search: bool = hp(True, "Schulman et al. 2015, appendix C (false gives NPG)",
                           "Backtrack until the KL bound holds and the surrogate improves.")
    max_backtracks: int = hp(10, SB3C + " (line_search_max_iter)",
                             "Line-search steps before keeping the old policy.")
    backtrack_coef: float = hp(0.8, SB3C + " (line_search_shrinking_factor)",
                               "Step fraction multiplier per backtrack.")
    vf_epochs: int = hp(10, SB3C + " (n_critic_updates)", "Value-function passes over each batch.")
    vf_minibatch_size: int = hp(128, SB3C + " (batch_size)", "Value-function minibatch size.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "max_kl", "damping", "cg_iters", "max_backtracks", "vf_epochs",
                         "vf_minibatch_size")
        require(self, "backtrack_coef", 0 < self.backtrack_coef < 1, "must be in (0, 1)")


class TRPO(Algorithm):
    config: TRPOConfig

    def __init__(self, config: TRPOConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = list(policy.parameters())
        self.value_fitter = ValueFitter(value_fn, config.lr, config.vf_epochs, config.vf_minibatch_size,
                                        config.adam_eps, config.max_grad_norm, rng)

    def update(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        obs, actions, old = batch.obs, batch.actions, batch.old_params
        advantages = normalize_advantages(batch.advantages) if cfg.adv_norm else batch.advantages

        def surrogate() -> torch.Tensor:
            params = self.policy.dist_params(obs)
            ratio = torch.exp(self.policy.log_prob(params, actions) - batch.log_probs)
            objective = -OBJECTIVES["none"].reference(ratio, advantages)[0]  # maximized
            if cfg.ent_coef:
                objective = objective + cfg.ent_coef * self.policy.entropy(params).mean()
            return objective

        def mean_kl() -> torch.Tensor:
            return self.policy.kl(old, self.policy.dist_params(obs)).mean()

        surrogate_before = surrogate()
        gradient = flat_grad(surrogate_before, self.params)
        fvp = fisher_vector_product(mean_kl, self.params, cfg.damping)
        direction = conjugate_gradient(fvp, gradient, cfg.cg_iters)
        quadratic_kl = 0.5 * (direction @ fvp(direction))
        full_step = direction * torch.sqrt(cfg.max_kl / quadratic_kl)
        old_flat = flat_params(self.params)
        before = surrogate_before.item()

        if cfg.line_search:
            def evaluate(candidate: torch.Tensor) -> tuple[float, float]:
                set_flat_params(self.params, candidate)
                with torch.no_grad():
                    return surrogate().item() - before, mean_kl().item()

            new_flat, fraction = backtracking_line_search(evaluate, old_flat, full_step, cfg.max_kl,
                                                          cfg.max_backtracks, cfg.backtrack_coef)
        else:
            new_flat, fraction = old_flat + full_step, 1.0
        set_flat_params(self.params, new_flat)

        with torch.no_grad():
            approx_kl = mean_kl().item()
            improvement = surrogate().item() - before
            entropy = self.policy.entropy(self.policy.dist_params(obs)).mean().item()
        lr = self.current_lr(batch.progress)
        set_lr(self.value_fitter.optimizer, lr)
        v_loss = self.value_fitter.fit(obs, batch.returns)
        return {"policy_loss": -before, "surrogate_improvement": improvement, "step_fraction": fraction,
                "quadratic_kl": float(quadratic_kl) if math.isfinite(quadratic_kl) else float("nan"),
                "approx_kl": approx_kl, "entropy": entropy, "value_loss": v_loss, "lr": lr}

    def release(self) -> None:
        release_engine(self.value_fitter)

    def state_dict(self) -> dict:
        self.value_fitter.flush()
        return {"value_optimizer": self.value_fitter.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.value_fitter.optimizer.load_state_dict(state["value_optimizer"])
