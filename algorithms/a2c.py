"""Advantage actor-critic, synchronous (A2C; Mnih et al. 2016, openai/baselines a2c):
every `num_steps` x `num_envs` transitions, one gradient step on
-E[log pi(a|s) A] + vf_coef * 0.5 E[(V - R)^2] - ent_coef * entropy, with n-step returns
(GAE lambda = 1, bootstrapped from V at the batch's end and after truncations)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import BaseConfig, hp, require, require_positive
from .losses import normalize_advantages, value_loss
from .optimize import gradient_step, set_lr
from .trainer import Algorithm, Rollout

SB3_A2C = "Stable-Baselines3 A2C defaults (= openai/baselines a2c), as rl-baselines3-zoo runs MuJoCo"
# rl-baselines3-zoo hyperparams/a2c.yml, MuJoCo entries (&mujoco-defaults): `normalize: true`
# and SB3's defaults otherwise. rl_zoo3/exp_manager.py turns `normalize: true` into
# VecNormalize(env) with no keyword arguments ("Normalizing input and reward"), and SB3's
# VecNormalize defaults are norm_obs=True, norm_reward=True, clip_obs=10, clip_reward=10,
# gamma=0.99, epsilon=1e-8: observations AND rewards. (Older zoo releases and their model
# cards used "{'norm_obs': True, 'norm_reward': False}" for A2C on MuJoCo; the current file
# does not.) The zoo's Swimmer entry also sets gamma 0.9999, a per-task tuning we do not
# apply: the paper's protocol uses one setting across its seven tasks.
ZOO_NORMALIZE = ("rl-baselines3-zoo a2c.yml MuJoCo `normalize: true` = SB3 VecNormalize defaults "
                 "(observations and rewards, clip 10, epsilon 1e-8)")


@dataclass(frozen=True)
class A2CConfig(BaseConfig):
    num_steps: int = hp(5, SB3_A2C, "Env steps per env per update (n of the n-step return).")
    gae_lambda: float = hp(1.0, SB3_A2C + " (n-step returns)", "GAE lambda; 1 gives n-step returns.")
    hidden_sizes: tuple[int, ...] = hp((64, 64), SB3_A2C + " (MlpPolicy: separate 64x64 tanh pi and vf)",
                                       "Hidden layer widths, tanh, for policy and value MLPs.")
    ortho_init: bool = hp(True, SB3_A2C + " (ActorCriticPolicy ortho_init=True)",
                          "Orthogonal init: hidden gain sqrt(2), policy head 0.01, value head 1.")
    obs_norm: bool = hp(True, ZOO_NORMALIZE, "Normalize observations by a running mean/std.")
    obs_clip: float = hp(10.0, ZOO_NORMALIZE, "Clip normalized observations to [-obs_clip, obs_clip].")
    reward_scale: bool = hp(True, ZOO_NORMALIZE, "Divide rewards by the running std of the discounted return.")
    reward_clip: float = hp(10.0, ZOO_NORMALIZE, "Clip scaled rewards to [-reward_clip, reward_clip].")
    max_grad_norm: float = hp(0.5, SB3_A2C, "Global gradient-norm clip; 0 disables.")
    ent_coef: float = hp(0.0, SB3_A2C, "Entropy bonus weight.")
    adv_norm: bool = hp(False, SB3_A2C, "Standardize advantages per batch.")
    lr: float = hp(7e-4, SB3_A2C, "Step size.")
    lr_anneal: bool = hp(False, SB3_A2C + " (constant)", "Anneal lr linearly to 0.")
    optimizer: str = hp("rmsprop", SB3_A2C, "rmsprop | adam.")
    rmsprop_alpha: float = hp(0.99, SB3_A2C, "RMSprop smoothing constant.")
    rmsprop_eps: float = hp(1e-5, SB3_A2C, "RMSprop epsilon.")
    vf_coef: float = hp(0.5, SB3_A2C, "Weight of the value loss.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "optimizer", self.optimizer in ("rmsprop", "adam"), "is not one of rmsprop, adam")
        require(self, "rmsprop_alpha", 0 < self.rmsprop_alpha < 1, "must be in (0, 1)")
        require_positive(self, "rmsprop_eps", "vf_coef")


class A2C(Algorithm):
    config: A2CConfig

    def __init__(self, config: A2CConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = [*policy.parameters(), *value_fn.parameters()]
        if config.optimizer == "rmsprop":
            self.optimizer = torch.optim.RMSprop(self.params, lr=config.lr, alpha=config.rmsprop_alpha,
                                                 eps=config.rmsprop_eps, foreach=True)
        else:
            self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps, foreach=True)

    def update(self, batch: Rollout) -> dict[str, float]:
        cfg = self.config
        lr = self.current_lr(batch.progress)
        set_lr(self.optimizer, lr)
        advantages = normalize_advantages(batch.advantages) if cfg.adv_norm else batch.advantages
        params = self.policy.dist_params(batch.obs)
        policy_loss = -(self.policy.log_prob(params, batch.actions) * advantages).mean()
        entropy = self.policy.entropy(params).mean()
        v_loss, _ = value_loss(self.value_fn(batch.obs), batch.returns)
        loss = policy_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
        gradient_step(self.optimizer, self.params, loss, cfg.max_grad_norm)
        with torch.no_grad():
            approx_kl = self.policy.kl(batch.old_params, self.policy.dist_params(batch.obs)).mean().item()
        return {"policy_loss": policy_loss.item(), "value_loss": v_loss.item(), "entropy": entropy.item(),
                "approx_kl": approx_kl, "lr": lr}

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
