"""A2C + Trust Region, the PPO paper's Figure 3 baseline, which it cites to Wang et al. 2016
(ACER). Our reading, since the paper's configuration is not published: its legend names an
A2C, so this is the `a2c` arm (Tianshou's MuJoCo-tuned A2C) with ACER's efficient trust-region
update and no replay, like ACER's "Trust-A3C" baseline:

- an average policy network, theta_a <- alpha theta_a + (1 - alpha) theta after every update;
- per state, the gradient g of the sample's objective (log pi(a|s) A + entropy bonus) in the
  policy's distribution statistics (a Gaussian's mean and log std; a categorical's
  log-probabilities) is projected onto the
  linearized constraint KL[pi_average || pi] <= delta (trust_region.linear_kl_projection),
  and the projected statistics gradient is backpropagated into the network.

The value loss and every other setting are the `a2c` arm's. Hyperparameters: pfnet/pfrl's
ACER example for Gym MuJoCo ("A training script of ACER on OpenAI Gym Mujoco environments",
trust_region_alpha 0.995, trust_region_delta 0.2; its author calls it not tuned much). The
update runs through torch autograd, a run alone inside its group.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from .a2c import A2C, TunedA2CConfig
from .base import Batch
from .config import hp, require
from .group import engine_owner
from .trust_region import linear_kl_projection

PFRL = "pfnet/pfrl ACER example for Gym MuJoCo (ACER(trust_region_alpha=0.995, trust_region_delta=0.2))"


@dataclass(frozen=True)
class A2CTrustRegionConfig(TunedA2CConfig):
    trust_region_delta: float = hp(0.2, PFRL, "delta: the bound on each state's linearized KL[average || policy].")
    average_decay: float = hp(0.995, PFRL, "alpha: the average policy's decay per update.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "trust_region_delta", self.trust_region_delta > 0, "must be > 0")
        require(self, "average_decay", 0 <= self.average_decay < 1, "must be in [0, 1)")


@engine_owner
class A2CTrustRegion(A2C):
    config: A2CTrustRegionConfig

    def __init__(self, config: A2CTrustRegionConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.average = copy.deepcopy(policy).requires_grad_(False)

    def has_group_update(self) -> bool:
        return False  # the projection needs per-state statistics gradients: the autograd path

    def update_autograd(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        lr, advantages, returns, params = self.autograd_inputs(batch)
        stats = [p.detach().requires_grad_() for p in params]  # the distribution statistics, per state
        objective = self.policy.log_prob(stats, batch.actions) * advantages + cfg.ent_coef * self.policy.entropy(stats)
        g = torch.autograd.grad(objective.sum(), stats)  # each row: its own sample's gradient
        with torch.no_grad():
            average = self.average.dist_params(batch.obs)
        kl = self.policy.kl(average, stats)  # KL[average || policy] per state
        k = torch.autograd.grad(kl.sum(), stats)
        sizes = [s.shape[-1] for s in stats]
        z, scale = linear_kl_projection(torch.cat(g, -1), torch.cat(k, -1), cfg.trust_region_delta)
        v_loss = (self.value_fn(batch.obs) - returns).pow(2).mean()
        batch_size = batch.obs.shape[0]
        self.optimizer.zero_grad(set_to_none=True)
        # ascend (1/B) sum_b z_b through the statistics, descend vf_coef x the value loss
        torch.autograd.backward([*params, cfg.vf_coef * v_loss],
                                [*(-part / batch_size for part in torch.split(z, sizes, -1)), torch.ones(())])
        if cfg.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm, foreach=True)
        self.optimizer.step()
        with torch.no_grad():
            for a, p in zip(self.average.parameters(), self.policy.parameters(), strict=True):
                a.mul_(cfg.average_decay).add_(p, alpha=1 - cfg.average_decay)
            new = self.policy.dist_params(batch.obs)
            approx_kl = self.policy.kl(batch.old_params, new).mean().item()
        return {"policy_loss": -objective.mean().item(), "value_loss": v_loss.item(),
                "entropy": self.policy.entropy(params).mean().item(), "approx_kl": approx_kl, "lr": lr,
                "kl_to_average": kl.mean().item(), "trust_region_active": float((scale > 0).float().mean())}

    def state_dict(self) -> dict:
        return {**super().state_dict(), "average": self.average.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.average.load_state_dict(state["average"])
