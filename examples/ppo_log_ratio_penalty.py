"""A plug-in arm that subclasses a built-in: PPO-clip with one extra loss term, a penalty on the
squared log probability ratio, coef/2 * E[(log r)^2] (the quadratic approximation of the KL
between the old and the new policy, "k2" in J. Schulman's note "Approximating KL divergence",
2020), added by overriding `PPO.minibatch_loss`.

Subclassing keeps everything else of the built-in PPO (rollouts, GAE, Adam, the epochs and
minibatches, the records). The built-in's fast path computes the built-in's own maths in closed
form, so a subclass that defines anything over PPO trains through PPO's generic autograd path,
which calls this `minibatch_loss`; the suite says so in one line when the run starts
(algorithms/group.py, `engine_overrides`). From the repository's root:

    python -m suite check-arm examples.ppo_log_ratio_penalty:ARM
    python -m suite run --algos examples.ppo_log_ratio_penalty:ARM,ppo_clip --tasks Hopper --runs-dir my-runs
    python -m suite compare examples.ppo_log_ratio_penalty:ARM ppo_clip --runs-dir my-runs
"""

from dataclasses import dataclass

import torch

from algorithms import PPO, Batch, PPOConfig
from algorithms.config import hp, require


@dataclass(frozen=True)
class LogRatioPenaltyConfig(PPOConfig):
    ratio_penalty: float = hp(1.0, "our choice for this example (not tuned)",
                              "Weight of the penalty coef/2 * E[(log r)^2] added to PPO's loss.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "ratio_penalty", self.ratio_penalty >= 0, "must be >= 0")


class LogRatioPenaltyPPO(PPO):
    config: LogRatioPenaltyConfig

    def minibatch_loss(self, batch: Batch, idx: torch.Tensor, clip_eps: float | None = None):
        loss, policy_loss, value_loss, ratio = super().minibatch_loss(batch, idx, clip_eps)
        penalty = 0.5 * self.config.ratio_penalty * torch.log(ratio).pow(2).mean()
        return loss + penalty, policy_loss, value_loss, ratio


ARM = (LogRatioPenaltyPPO, LogRatioPenaltyConfig())
