"""A plug-in arm, complete: PPO with a soft clip, written against the algorithm contract alone.

The surrogate replaces PPO's hard clip of the probability ratio r with a smooth saturation,
L = -E[A (1 + eps tanh((r - 1) / eps))]: near r = 1 it is PPO's r A, and the ratio's effect
levels off at 1 +- eps instead of stopping dead. A demonstration of the contract, not a
published method. From the repository's root:

    python -m suite check-arm examples.soft_clip:ARM
    python -m suite run --algos examples.soft_clip:ARM --tasks InvertedPendulum,Hopper
    python -m suite compare examples.soft_clip:ARM ppo_clip --tasks InvertedPendulum,Hopper
"""

from dataclasses import dataclass

import torch

from algorithms import Algorithm, Batch
from algorithms.config import PPO2, PPO_T3, BaseConfig, hp
from algorithms.objectives import normalize_advantages

EXAMPLE = "examples/soft_clip.py (a demonstration, not a published setting)"


@dataclass(frozen=True)
class SoftClipConfig(BaseConfig):
    softness: float = hp(0.2, EXAMPLE + "; PPO's clip range, Table 1", "eps: the ratio's effect saturates at 1 +- eps.")
    num_epochs: int = hp(10, PPO_T3, "Passes over each batch.")
    minibatch_size: int = hp(64, PPO_T3, "Transitions per gradient step.")
    vf_coef: float = hp(0.5, PPO2, "Weight of the value loss 0.5 E[(V - R)^2].")


class SoftClipPPO(Algorithm):
    config: SoftClipConfig

    def __init__(self, config, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = [*policy.parameters(), *value_fn.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps)

    def update(self, batch: Batch) -> dict[str, float]:
        cfg, size = self.config, batch.obs.shape[0]
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr(batch.progress)
        totals = torch.zeros(2)
        for _ in range(cfg.num_epochs):
            order = torch.from_numpy(self.rng.permutation(size))  # the run's own RNG: same seed, same numbers
            for start in range(0, size, cfg.minibatch_size):
                idx = order[start:start + cfg.minibatch_size]
                params = self.policy.dist_params(batch.obs[idx])
                ratio = torch.exp(self.policy.log_prob(params, batch.actions[idx]) - batch.log_probs[idx])
                adv = normalize_advantages(batch.advantages[idx]) if cfg.adv_norm else batch.advantages[idx]
                policy_loss = -(adv * (1 + cfg.softness * torch.tanh((ratio - 1) / cfg.softness))).mean()
                value_loss = 0.5 * (self.value_fn(batch.obs[idx]) - batch.returns[idx]).pow(2).mean()
                self.optimizer.zero_grad()
                (policy_loss + cfg.vf_coef * value_loss).backward()
                if cfg.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.optimizer.step()
                totals += torch.stack([policy_loss.detach(), value_loss.detach()])
        steps = cfg.num_epochs * -(-size // cfg.minibatch_size)
        with torch.no_grad():
            approx_kl = self.policy.kl(batch.old_params, self.policy.dist_params(batch.obs)).mean().item()
        return {"policy_loss": totals[0].item() / steps, "value_loss": totals[1].item() / steps,
                "approx_kl": approx_kl, "lr": self.optimizer.param_groups[0]["lr"]}

    def state_dict(self) -> dict:  # what a checkpoint needs to resume this algorithm exactly
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


ARM = (SoftClipPPO, SoftClipConfig())
