"""A plug-in arm, complete: PPO that stops its epochs early on KL, written against the algorithm
contract alone (no base class but `Algorithm`, no fast path).

The clipped surrogate of the PPO paper, with OpenAI Spinning Up's early stopping
(spinup/algos/pytorch/ppo/ppo.py: stop the policy's updates on a batch once the mean KL
between the old and the new policy passes 1.5 x target_kl, target_kl 0.01), checked here
after each epoch. From the repository's root:

    python -m suite check-arm examples.kl_stop:ARM
    python -m suite run --algos examples.kl_stop:ARM,ppo_clip --tasks InvertedPendulum,Hopper --runs-dir my-runs
    python -m suite compare examples.kl_stop:ARM ppo_clip --runs-dir my-runs
"""

from dataclasses import dataclass

import torch

from algorithms import Algorithm, Batch
from algorithms.config import PPO2, PPO_T3, BaseConfig, hp
from algorithms.objectives import normalize_advantages

SPINUP = "OpenAI Spinning Up, spinup/algos/pytorch/ppo/ppo.py (target_kl 0.01, stop at 1.5 x target_kl)"


@dataclass(frozen=True)
class KLStopConfig(BaseConfig):
    clip_eps: float = hp(0.2, "PPO paper Table 1 (eps = 0.2)", "Clip range of the probability ratio.")
    target_kl: float = hp(0.01, SPINUP, "Epochs stop once mean KL[old || new] > 1.5 x target_kl.")
    num_epochs: int = hp(10, PPO_T3, "Most passes over each batch.")
    minibatch_size: int = hp(64, PPO_T3, "Transitions per gradient step.")
    vf_coef: float = hp(0.5, PPO2, "Weight of the value loss 0.5 E[(V - R)^2].")


class KLStopPPO(Algorithm):
    config: KLStopConfig

    def __init__(self, config, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = [*policy.parameters(), *value_fn.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps)

    def update(self, batch: Batch) -> dict[str, float]:
        cfg, size = self.config, batch.obs.shape[0]
        for group in self.optimizer.param_groups:
            group["lr"] = self.current_lr(batch.progress)
        epochs, kl = 0, 0.0
        while epochs < cfg.num_epochs and kl <= 1.5 * cfg.target_kl:
            order = torch.from_numpy(self.rng.permutation(size))  # the run's own RNG: same seed, same numbers
            for start in range(0, size, cfg.minibatch_size):
                idx = order[start:start + cfg.minibatch_size]
                params = self.policy.dist_params(batch.obs[idx])
                ratio = torch.exp(self.policy.log_prob(params, batch.actions[idx]) - batch.log_probs[idx])
                adv = normalize_advantages(batch.advantages[idx]) if cfg.adv_norm else batch.advantages[idx]
                clipped = torch.clamp(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps)
                policy_loss = -torch.minimum(ratio * adv, clipped * adv).mean()
                value_loss = 0.5 * (self.value_fn(batch.obs[idx]) - batch.returns[idx]).pow(2).mean()
                self.optimizer.zero_grad()
                (policy_loss + cfg.vf_coef * value_loss).backward()
                if cfg.max_grad_norm:
                    torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.optimizer.step()
            epochs += 1
            with torch.no_grad():
                kl = self.policy.kl(batch.old_params, self.policy.dist_params(batch.obs)).mean().item()
        return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "approx_kl": kl,
                "epochs": float(epochs), "lr": self.optimizer.param_groups[0]["lr"]}

    def state_dict(self) -> dict:  # what a checkpoint needs to resume this algorithm exactly
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


ARM = (KLStopPPO, KLStopConfig())
