"""Vanilla policy gradient with a learned value baseline and GAE: one gradient step on
-E[log pi(a|s) A] per batch, the Adam step size adapted from each update's KL.

The PPO paper's Figure 3 baseline is "vanilla PG with adaptive stepsize": after each
batch the Adam step size is adjusted from the KL divergence, "using a rule similar to the
one shown in Section 4", and its footnote points to the implementation,
berkeleydeeprlcourse/homework hw4 `main.py` (730ea46, 2017-03-18): KL > 2 x desired_kl
divides the step size by 1.5, KL < desired_kl / 2 multiplies it by 1.5; desired_kl 2e-3,
initial step size 1e-3 (`lr_rule="hw4"`, the default). `lr_rule="section4"` is our earlier
reading, the section 4 beta rule mirrored onto the step size (KL > 1.5 d_targ halves it,
KL < d_targ / 1.5 doubles it; arm `vpg_section4`). Either stays within [lr_min, lr_max]
(our bounds; hw4 has none). `baseline=false` gives REINFORCE: Monte-Carlo returns, no
value function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .advantages import discounted_returns
from .base import Algorithm, Batch
from .bridge import release_engine
from .config import BaseConfig, hp, require, require_positive
from .objectives import OBJECTIVES, adaptive_beta, normalize_advantages
from .optimize import ValueFitter, gradient_step, set_lr

FIG3 = "PPO paper, Figure 3 footnote (Adam step size adapted from the KL, rule of section 4)"
HW4 = "berkeleydeeprlcourse/homework hw4/main.py at 730ea46, the PPO paper's Figure 3 footnote's implementation"
LR_RULES = ("hw4", "section4")
SB3C_VF = "sb3-contrib TRPO's critic fitting, the same as our trpo arm's, for a like-for-like baseline"


def adaptive_lr(lr: float, kl: float, kl_target: float, lr_min: float, lr_max: float, rule: str = "section4"
                ) -> float:
    """The next step size from this update's KL, within [lr_min, lr_max]:
    - "hw4": KL > 2 kl_target -> lr / 1.5; KL < kl_target / 2 -> lr * 1.5 (hw4 main.py);
    - "section4": the section 4 beta rule applied to the step size (a larger beta = a smaller
      step): KL > 1.5 kl_target -> lr / 2; KL < kl_target / 1.5 -> lr * 2."""
    if rule == "hw4":
        factor = 1 / 1.5 if kl > 2 * kl_target else 1.5 if kl < kl_target / 2 else 1.0
        return float(np.clip(lr * factor, lr_min, lr_max))
    return float(np.clip(lr / adaptive_beta(1.0, kl, kl_target), lr_min, lr_max))


@dataclass(frozen=True)
class VPGConfig(BaseConfig):
    lr: float = hp(1e-3, HW4 + " (initial_stepsize=1e-3)", "Initial Adam step size of the policy.")
    lr_anneal: bool = hp(False, FIG3 + ": the step size follows the KL rule instead",
                         "Anneal the policy step size linearly (on top of the KL rule).")
    max_grad_norm: float = hp(0.0, "vanilla PG has no gradient clipping", "Policy grad-norm clip; 0 off.")
    baseline: bool = hp(True, "PPO paper Figure 3 (vanilla PG with a value baseline)",
                        "Use V(s) and GAE; false gives REINFORCE with Monte-Carlo returns.")
    kl_target: float = hp(2e-3, HW4 + " (desired_kl=2e-3)", "KL the step size aims at.")
    lr_rule: str = hp("hw4", HW4, "The step-size rule: hw4 (x or / 1.5 outside [target / 2, 2 x target]) | "
                      "section4 (x or / 2 outside [target / 1.5, 1.5 x target]).", added="section4")
    lr_min: float = hp(1e-6, "a floor so the step size cannot vanish", "Lower bound of the step size.")
    lr_max: float = hp(1e-2, "a ceiling so one batch cannot take a huge step",
                      "Upper bound of the step size.")
    vf_lr: float = hp(1e-3, SB3C_VF, "Adam step size of the value function.")
    vf_epochs: int = hp(10, SB3C_VF, "Value-function passes over each batch.")
    vf_minibatch_size: int = hp(128, SB3C_VF, "Value-function minibatch size.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "kl_target", "vf_lr", "vf_epochs", "vf_minibatch_size", "lr_min")
        require(self, "lr_rule", self.lr_rule in LR_RULES, f"is not one of {', '.join(LR_RULES)}")
        require(self, "lr", self.lr_min <= self.lr <= self.lr_max,
                f"must be in [lr_min, lr_max] = [{self.lr_min}, {self.lr_max}]")


class VPG(Algorithm):
    config: VPGConfig

    def __init__(self, config: VPGConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = list(policy.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps, foreach=True)
        self.value_fitter = ValueFitter(value_fn, config.vf_lr, config.vf_epochs, config.vf_minibatch_size,
                                        config.adam_eps, 0.0, rng)
        self.lr = config.lr

    def update(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        if cfg.baseline:
            advantages = batch.advantages
        else:
            returns = discounted_returns(batch.rewards, batch.terminated, batch.truncated, cfg.gamma)
            advantages = torch.from_numpy(returns.reshape(-1)).float()
        if cfg.adv_norm:
            advantages = normalize_advantages(advantages)
        lr = self.lr * (1.0 - batch.progress) if cfg.lr_anneal else self.lr
        set_lr(self.optimizer, lr)
        params = self.policy.dist_params(batch.obs)
        log_probs = self.policy.log_prob(params, batch.actions)
        loss, _ = OBJECTIVES["pg"].reference(log_probs, advantages)
        if cfg.ent_coef:
            loss = loss - cfg.ent_coef * self.policy.entropy(params).mean()
        gradient_step(self.optimizer, self.params, loss, cfg.max_grad_norm)
        with torch.no_grad():
            new_params = self.policy.dist_params(batch.obs)
            approx_kl = self.policy.kl(batch.old_params, new_params).mean().item()
            entropy = self.policy.entropy(new_params).mean().item()
        self.lr = adaptive_lr(self.lr, approx_kl, cfg.kl_target, cfg.lr_min, cfg.lr_max, cfg.lr_rule)
        metrics = {"policy_loss": loss.item(), "approx_kl": approx_kl, "entropy": entropy, "lr": lr}
        if cfg.baseline:
            metrics["value_loss"] = self.value_fitter.fit(batch.obs, batch.returns)
        return metrics

    def release(self) -> None:
        release_engine(self.value_fitter)

    def state_dict(self) -> dict:
        self.value_fitter.flush()
        return {"optimizer": self.optimizer.state_dict(), "lr": self.lr,
                "value_optimizer": self.value_fitter.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr = float(state["lr"])
        self.value_fitter.optimizer.load_state_dict(state["value_optimizer"])
