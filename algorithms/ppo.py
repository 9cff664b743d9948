"""Proximal Policy Optimization (Schulman et al. 2017) with the paper's four surrogates.

`objective` picks the policy loss (the paper's Table 1 rows):
- "clip":        L^CLIP, eq. 7
- "kl_adaptive": L^KLPEN, eq. 8, beta adapted after each update by the section 4 rule
- "kl_fixed":    L^KLPEN with a constant beta
- "none":        the plain surrogate r_t A_t

KL everywhere is KL[pi_old || pi_new] averaged over the batch's states: as a penalty it
is taken per minibatch against pi_old of the rollout; as the logged `approx_kl` (and the
adaptive rule's d) it is measured once, after the update, over the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import PPO2, PPO_T3, BaseConfig, ConfigError, hp, require, require_positive
from .losses import (
    adaptive_beta,
    clip_fraction,
    clipped_surrogate_loss,
    kl_penalty_loss,
    normalize_advantages,
    surrogate_loss,
    value_loss,
)
from .optimize import gradient_step, set_lr
from .trainer import Algorithm, Rollout

OBJECTIVES = ("clip", "kl_adaptive", "kl_fixed", "none")


@dataclass(frozen=True)
class PPOConfig(BaseConfig):
    objective: str = hp("clip", "PPO paper, sections 3-4",
                        "Policy loss: clip | kl_adaptive | kl_fixed | none.")
    clip_eps: float = hp(0.2, "PPO paper Table 1 (best: eps = 0.2)",
                         "Clip range of the probability ratio (also the clip_fraction diagnostic).")
    kl_target: float = hp(0.01, "PPO paper Table 1 (adaptive KL, d_targ = 0.01)",
                          "d_targ of the adaptive KL rule.")
    beta: float = hp(1.0, "PPO paper section 4 (beta starts at 1); Table 1 fixed KL, beta = 1",
                     "KL penalty coefficient: fixed, or the adaptive rule's start.")
    num_epochs: int = hp(10, PPO_T3, "Passes over each batch.")
    minibatch_size: int = hp(64, PPO_T3, "Transitions per gradient step.")
    vf_coef: float = hp(0.5, PPO2, "Weight of the value loss in the joint loss.")
    value_clip: bool = hp(True, PPO2, "Clip the value prediction's change, as ppo2 does.")
    value_clip_eps: float = hp(0.2, PPO2 + " (shares cliprange 0.2)",
                               "Value clip range, apart from clip_eps: Table 1's eps moves the policy only.")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective={self.objective!r} is not one of {', '.join(OBJECTIVES)}")
        require_positive(self, "clip_eps", "kl_target", "value_clip_eps", "vf_coef", "num_epochs")
        require(self, "beta", self.beta >= 0, "must be >= 0")
        require(self, "minibatch_size", 1 <= self.minibatch_size <= self.batch_size,
                f"must be in [1, batch size {self.batch_size}]")


class PPO(Algorithm):
    config: PPOConfig

    def __init__(self, config: PPOConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        # One Adam over both networks, as ppo2 (separate networks, joint loss).
        self.params = [*policy.parameters(), *value_fn.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps, foreach=True)
        self.beta = config.beta

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg = self.config
        lr = self.current_lr(batch.progress)
        set_lr(self.optimizer, lr)
        beta_used = self.beta
        size = batch.obs.shape[0]
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0}
        steps = 0
        for _ in range(cfg.num_epochs):
            order = torch.from_numpy(self.rng.permutation(size))
            for start in range(0, size, cfg.minibatch_size):
                idx = order[start:start + cfg.minibatch_size]
                obs = batch.obs[idx]
                params = self.policy.dist_params(obs)
                ratio = torch.exp(self.policy.log_prob(params, batch.actions[idx]) - batch.log_probs[idx])
                advantages = batch.advantages[idx]
                if cfg.adv_norm:
                    advantages = normalize_advantages(advantages)
                if cfg.objective == "clip":
                    policy_loss, _ = clipped_surrogate_loss(ratio, advantages, cfg.clip_eps)
                elif cfg.objective == "none":
                    policy_loss, _ = surrogate_loss(ratio, advantages)
                else:
                    old = tuple(p[idx] for p in batch.old_params)
                    kl = self.policy.kl(old, params)
                    policy_loss, _ = kl_penalty_loss(ratio, advantages, kl, self.beta)
                loss = policy_loss
                if cfg.ent_coef:
                    loss = loss - cfg.ent_coef * self.policy.entropy(params).mean()
                v_loss, _ = value_loss(self.value_fn(obs), batch.returns[idx], batch.values[idx],
                                       cfg.value_clip_eps if cfg.value_clip else None)
                loss = loss + cfg.vf_coef * v_loss
                gradient_step(self.optimizer, self.params, loss, cfg.max_grad_norm)
                totals["policy_loss"] += policy_loss.item()
                totals["value_loss"] += v_loss.item()
                totals["clip_fraction"] += clip_fraction(ratio, cfg.clip_eps).item()
                steps += 1

        with torch.no_grad():
            new_params = self.policy.dist_params(batch.obs)
            approx_kl = self.policy.kl(batch.old_params, new_params).mean().item()
            entropy = self.policy.entropy(new_params).mean().item()
        if cfg.objective == "kl_adaptive":
            self.beta = adaptive_beta(self.beta, approx_kl, cfg.kl_target)
        metrics = {k: v / steps for k, v in totals.items()}
        metrics.update(approx_kl=approx_kl, entropy=entropy, lr=lr)
        if cfg.objective in ("kl_adaptive", "kl_fixed"):
            metrics["beta"] = beta_used
        return metrics

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "beta": self.beta}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.beta = float(state["beta"])
