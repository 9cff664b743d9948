"""Advantage actor-critic, synchronous (A2C; Mnih et al. 2016, openai/baselines a2c, SB3 A2C):
every `num_steps` x `num_envs` transitions, one gradient step on
-E[log pi(a|s) A] + vf_coef * E[(V - R)^2] - ent_coef * entropy, with n-step returns
(GAE lambda = 1, bootstrapped from V at the batch's end and after truncations).

Two paths compute the same step:
- `update_autograd`: torch autograd + torch.optim.RMSprop, the readable reference;
- `prepare_group` + `update_group`: numpy, the gradient in closed form (derived below),
  for N runs at once (grid mode; a run alone is N = 1). A2C's iterations are 5 steps long,
  so per-iteration overhead is everything: the stacked parameters and RMSprop state stay
  in numpy between iterations (`bridge.EngineState`, as for PPO and the value fitter); the
  rollout's actor reads the engine's arrays, and the torch modules get the parameters only
  when something reads them (`sync`: the parameter check, evaluation, checkpoints, a group
  change) and the optimizer state at checkpoints. The two paths agree to float32 rounding (tests/test_engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .advantages import gae
from .advantages import next_values as next_values_of
from .base import Batch
from .bridge import EngineState, release_engine
from .config import ROLLOUT, UPDATE, BaseConfig, hp, require, require_positive
from .distributions import gaussian_entropy_np, gaussian_kl_np, gaussian_log_prob_np
from .engine import RMSprop, clip_global_norm
from .group import GroupUpdate, engine_owner
from .nets import GaussianActor, GaussianPolicy
from .normalize import RunningMeanStd
from .objectives import OBJECTIVES, gaussian_policy_grad, normalize_advantages, normalize_advantages_np
from .optimize import gradient_step, set_lr

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
    optimizer: str = hp("rmsprop", SB3_A2C, "rmsprop | adam.", shared=(UPDATE,))
    rmsprop_alpha: float = hp(0.99, SB3_A2C, "RMSprop smoothing constant.", shared=(UPDATE,))
    rmsprop_eps: float = hp(1e-5, SB3_A2C, "RMSprop epsilon.", shared=(UPDATE,))
    vf_coef: float = hp(0.5, SB3_A2C + " (on the mean squared error, F.mse_loss: no 1/2)",
                        "Weight of the value loss E[(V - R)^2].")
    return_norm: bool = hp(False, SB3_A2C + " (returns as they come)",
                           "Tianshou's reward_normalization: the critic learns returns divided by the running "
                           "std of the batch's GAE returns (no mean shift); its values are scaled back before "
                           "GAE, and the statistics take each batch's returns after use.", added=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "optimizer", self.optimizer in ("rmsprop", "adam"), "is not one of rmsprop, adam")
        require(self, "rmsprop_alpha", 0 < self.rmsprop_alpha < 1, "must be in (0, 1)")
        require_positive(self, "rmsprop_eps", "vf_coef")


TIANSHOU = ("Tianshou examples/mujoco/mujoco_a2c.py at 1730a900 (tuned for MuJoCo over 800+ agents, its "
            "examples/mujoco/README.md)")


@dataclass(frozen=True)
class TunedA2CConfig(A2CConfig):
    """The `a2c` arm: the best-documented A2C tuned for MuJoCo, Tianshou's, value by value.
    Where our trainer differs from Tianshou's it says so in the field's source: observation
    statistics start from a count of 1e-4 (Tianshou: 0) with eps 1e-8 (float32 eps)."""

    num_envs: int = hp(16, TIANSHOU + " (--training-num 16)", "Environments stepped in lockstep.")
    num_steps: int = hp(5, TIANSHOU + " (--step-per-collect 80 over 16 envs)",
                        "Env steps per env per update.")
    gae_lambda: float = hp(0.95, TIANSHOU + " (--gae-lambda)", "GAE lambda.")
    gamma: float = hp(0.99, TIANSHOU + " (--gamma)", "Discount factor.")
    hidden_sizes: tuple[int, ...] = hp((64, 64), TIANSHOU + " (--hidden-sizes 64 64, nn.Tanh, separate actor and "
                                       "critic Nets)", "Hidden layer widths, tanh, for policy and value MLPs.")
    init_log_std: float = hp(-0.5, TIANSHOU + " (constant_(actor.sigma_param, -0.5))",
                             "Initial state-independent log std.")
    ortho_init: bool = hp(True, TIANSHOU + " (orthogonal_(weight, gain=sqrt(2)), zero biases, every Linear)",
                          "Orthogonal init.")
    policy_head_gain: float = hp(0.01 * 2 ** 0.5, TIANSHOU + " (the mu layer: orthogonal sqrt(2), then x 0.01)",
                                 "Init gain of the policy's last layer.")
    value_head_gain: float = hp(2 ** 0.5, TIANSHOU + " (the critic's last layer: orthogonal sqrt(2))",
                                "Init gain of the value net's last layer.")
    obs_norm: bool = hp(True, TIANSHOU + " (SubprocVectorEnv(norm_obs=True): updated every step)",
                        "Normalize observations by a running mean/std.")
    obs_clip: float = hp(10.0, TIANSHOU + " (venvs.py clip_max = 10.0)", "Clip normalized observations.")
    reward_scale: bool = hp(False, TIANSHOU + " (rewards as they come; returns normalized instead)",
                            "Divide rewards by the running std of the discounted return.")
    return_norm: bool = hp(True, TIANSHOU + " (--rew-norm True: A2CPolicy reward_normalization)",
                           "Critic targets divided by the running std of the GAE returns.")
    adv_norm: bool = hp(False, TIANSHOU + " (A2CPolicy does not standardize advantages)", "Standardize advantages.")
    lr: float = hp(7e-4, TIANSHOU + " (--lr)", "RMSprop step size.")
    lr_anneal: bool = hp(True, TIANSHOU + " (--lr-decay True: LambdaLR 1 - update / max_update_num)",
                         "Anneal lr linearly.")
    lr_anneal_over: float = hp(3.0, TIANSHOU + " (max_update_num = ceil(30000 / 80) x 100 epochs: a 3M-step "
                               "schedule; at the paper's 1M budget the step size ends at 2/3 of its start)",
                               "The schedule's length in run budgets.")
    optimizer: str = hp("rmsprop", TIANSHOU + " (torch.optim.RMSprop)", "rmsprop | adam.", shared=(UPDATE,))
    rmsprop_alpha: float = hp(0.99, TIANSHOU + " (alpha=0.99)", "RMSprop smoothing constant.", shared=(UPDATE,))
    rmsprop_eps: float = hp(1e-5, TIANSHOU + " (eps=1e-5)", "RMSprop epsilon.", shared=(UPDATE,))
    vf_coef: float = hp(0.5, TIANSHOU + " (--vf-coef, on F.mse_loss)", "Weight of the value loss E[(V - R)^2].")
    ent_coef: float = hp(0.01, TIANSHOU + " (--ent-coef)", "Entropy bonus weight.")
    max_grad_norm: float = hp(0.5, TIANSHOU + " (--max-grad-norm)", "Global gradient-norm clip.")
    action_scaling: bool = hp(True, TIANSHOU + " (action_scaling=True, --bound-action-method clip)",
                              "Actions clipped to [-1, 1], mapped onto the Box's bounds.", shared=(ROLLOUT,))
    bootstrap_truncation: bool = hp(False, TIANSHOU + " (BasePolicy.value_mask: no bootstrap after `done`, "
                                    "which includes the time limit)", "Bootstrap time-limit ends.",
                                    shared=(ROLLOUT,))


@engine_owner
class A2C(GroupUpdate):
    config: A2CConfig

    def __init__(self, config: A2CConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        self.params = [*policy.parameters(), *value_fn.parameters()]
        if config.optimizer == "rmsprop":
            self.optimizer = torch.optim.RMSprop(self.params, lr=config.lr, alpha=config.rmsprop_alpha,
                                                 eps=config.rmsprop_eps, foreach=True)
        else:
            self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps, foreach=True)
        # return_norm: running std of the GAE returns (Tianshou's ret_rms: a count of 0 before data)
        self.return_rms = RunningMeanStd((), epsilon=1e-12)

    def targets(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The advantages and the critic's targets ([B] each) the update uses: the batch's,
        or with return_norm (Tianshou A2CPolicy.process_fn at 1730a900) GAE again with the
        critic's outputs times sigma = sqrt(var + 1e-8) of the returns seen so far as values,
        the targets divided by sigma; then the statistics take these returns. Both update
        paths call this, once per update."""
        if not self.config.return_norm:
            return batch.advantages, batch.returns
        cfg = self.config
        T, E = batch.rewards.shape
        scale = float(np.sqrt(self.return_rms.var + 1e-8))
        values = batch.values.double().numpy().reshape(T, E)
        advantages, returns = gae(batch.rewards, values * scale, batch.next_values * scale, batch.terminated,
                                  batch.truncated, cfg.gamma, cfg.gae_lambda)
        self.return_rms.update(returns.reshape(-1))
        return (torch.from_numpy(x.reshape(-1).astype(np.float32)) for x in (advantages, returns / scale))

    def update(self, batch: Batch) -> dict[str, float]:
        if self.group_key() is not None:
            return self.update_group([self], [batch])[0]
        return self.update_autograd(batch)

    def has_group_update(self) -> bool:
        """Gaussian policies with RMSprop take the engine path."""
        return isinstance(self.policy, GaussianPolicy) and self.config.optimizer == "rmsprop"

    def autograd_inputs(self, batch: Batch):
        """What an autograd step starts from: (lr, set on the optimizer; advantages, normalized
        if asked; the critic's targets; the policy's distribution statistics of the batch)."""
        release_engine(self)  # torch is about to change: the kept state goes back first
        lr = self.current_lr(batch.progress)
        set_lr(self.optimizer, lr)
        advantages, returns = self.targets(batch)
        advantages = normalize_advantages(advantages) if self.config.adv_norm else advantages
        return lr, advantages, returns, self.policy.dist_params(batch.obs)

    def update_autograd(self, batch: Batch) -> dict[str, float]:
        """The reference: the loss as SB3's A2C.train writes it, torch autograd, one step."""
        cfg = self.config
        lr, advantages, returns, params = self.autograd_inputs(batch)
        policy_loss, _ = OBJECTIVES["pg"].reference(self.policy.log_prob(params, batch.actions), advantages)
        entropy = self.policy.entropy(params).mean()
        v_loss, _ = OBJECTIVES["value_mse"].reference(self.value_fn(batch.obs), returns)
        loss = policy_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
        gradient_step(self.optimizer, self.params, loss, cfg.max_grad_norm)
        with torch.no_grad():
            approx_kl = self.policy.kl(batch.old_params, self.policy.dist_params(batch.obs)).mean().item()
        return {"policy_loss": policy_loss.item(), "value_loss": v_loss.item(), "entropy": entropy.item(),
                "approx_kl": approx_kl, "lr": lr}

    @classmethod
    def prepare_group(cls, members: list[A2C], raws, progress: list[float]) -> list[Batch] | None:
        """The batches of N members from their raw rollouts, in numpy: V(s) of every step and
        of each bootstrap observation, pi_old's mean, log-probabilities, n-step advantages."""
        if members[0].group_key() is None or raws[0].acted_obs is not None:  # the latter: the trainer's prepare
            return None
        engine = _engine(members)
        net = engine.net
        T, E = raws[0].rewards.shape
        obs = np.stack([np.concatenate([r.obs.reshape(T * E, -1), r.last_obs]) for r in raws])  # [N, T*E+E, o]
        values, _ = net.value(obs)
        mean, _ = net.policy_mean(obs[:, :T * E])
        actions = np.stack([r.actions.reshape(T * E, -1) for r in raws])
        logp, _, _ = gaussian_log_prob_np(mean, net.log_std, actions)
        batches = []
        for i, raw in enumerate(raws):
            values_tn = values[i, :T * E].astype(np.float64).reshape(T, E)
            finals = ()
            if raw.final_obs:  # truncations inside the batch bootstrap from V(final observation)
                at_finals, _ = net.value(np.stack([o for _, _, o in raw.final_obs])[None], rows=slice(i, i + 1))
                finals = [(t, e, at_finals[0, k]) for k, (t, e, _) in enumerate(raw.final_obs)]
            next_values = next_values_of(values_tn, values[i, T * E:], finals)
            advantages, returns = gae(raw.rewards, values_tn, next_values, raw.terminated, raw.truncated,
                                      members[i].config.gamma, members[i].config.gae_lambda)
            log_std = np.broadcast_to(net.log_std[i], mean[i].shape).copy()
            batches.append(Batch(
                obs=torch.from_numpy(obs[i, :T * E]), actions=torch.from_numpy(actions[i]),
                log_probs=torch.from_numpy(logp[i]), old_params=(torch.from_numpy(mean[i]), torch.from_numpy(log_std)),
                values=torch.from_numpy(values[i, :T * E]),
                advantages=torch.from_numpy(advantages.reshape(-1).astype(np.float32)),
                returns=torch.from_numpy(returns.reshape(-1).astype(np.float32)), rewards=raw.rewards,
                terminated=raw.terminated, truncated=raw.truncated, next_values=next_values, progress=progress[i]))
        return batches

    @classmethod
    def update_group(cls, members: list[A2C], batches: list[Batch]) -> list[dict[str, float]]:
        """One A2C step of N members in stacked numpy arithmetic.

        The loss -E[log pi A] - ent_coef * entropy + vf_coef E[(V - R)^2], from the closed
        forms of "pg" and "value_mse" (objectives.py), backpropagated through the stacked
        networks, clipped to the global norm; then RMSprop steps."""
        if len({m.group_key() for m in members}) != 1 or members[0].group_key() is None:
            raise ValueError("update_group needs members with one group key")
        engine = _engine(members)
        net = engine.net
        cfg = members[0].config
        B = batches[0].obs.shape[0]
        obs = np.stack([b.obs.numpy() for b in batches])
        actions = np.stack([b.actions.numpy() for b in batches])
        adv, returns = (np.stack([t.numpy() for t in ts])
                        for ts in zip(*(m.targets(b) for m, b in zip(members, batches, strict=True)), strict=True))
        if cfg.adv_norm:
            adv = normalize_advantages_np(adv)
        lrs = [m.current_lr(b.progress) for m, b in zip(members, batches, strict=True)]
        vf_coef = np.array([[m.config.vf_coef] for m in members], dtype=np.float32)
        ent_coef = np.array([[[m.config.ent_coef]] for m in members], dtype=np.float32)
        max_norm = np.array([[m.config.max_grad_norm or np.inf] for m in members], dtype=np.float32)

        mean, pol_inputs = net.policy_mean(obs)
        pol, _ = gaussian_policy_grad("pg", mean, net.log_std, actions, adv, ent_coef=ent_coef)
        entropy = gaussian_entropy_np(net.log_std[:, 0])
        values, val_inputs = net.value(obs)
        value = OBJECTIVES["value_mse"]
        value_loss, residual = value.closed_form(values, returns)
        net.backward(pol_inputs, pol.d_mean, pol.d_log_std, val_inputs,
                     residual * (value.residual_factor * vf_coef / np.float32(B)))
        clip_global_norm(net.grad_flat, max_norm)
        engine.optimizer.update(net.layout.flat, net.grad_flat, np.array([[lr] for lr in lrs]))
        engine.stored()

        new_mean, _ = net.policy_mean(obs)
        old_mean = np.stack([b.old_params[0].numpy() for b in batches])
        old_log_std = np.stack([b.old_params[1].numpy() for b in batches])
        kl, _, _ = gaussian_kl_np(old_mean, old_log_std, new_mean, net.log_std)
        return [{"policy_loss": float(pol.loss[i]), "value_loss": float(value_loss[i]),
                 "entropy": float(entropy[i]), "approx_kl": float(kl[i].mean()), "lr": lrs[i]}
                for i in range(len(members))]

    def numpy_actor(self):
        """From the engine's arrays where the member has one (views, valid until the next
        update): the torch modules may lag behind it (`sync`)."""
        if self.engine is None:
            return super().numpy_actor()
        net, i = self.engine.net, self.engine.owners.index(self)
        return GaussianActor([(w[i], b[i, 0]) for w, b in net.pol], net.log_std[i, 0])

    def state_dict(self) -> dict:
        self.flush_engine()  # the RMSprop state lives in numpy between checkpoints
        state = {"optimizer": self.optimizer.state_dict()}
        if self.config.return_norm:
            state["return_rms"] = self.return_rms.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        release_engine(self)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.config.return_norm:
            self.return_rms.load_state_dict(state["return_rms"])


def _engine(members: list[A2C]) -> EngineState:
    """The group's kept numpy state (bridge.EngineState): parameters and RMSprop state. The
    rollout's actors read the parameters there; the torch modules get them when something
    reads those (`sync`: the parameter check once per progress row, evaluation, checkpoints),
    the torch optimizers their state at checkpoints and whenever the group changes."""
    cfg = members[0].config
    return EngineState.of(members, lambda: EngineState(
        members, [m.policy for m in members], [m.value_fn for m in members], [m.optimizer for m in members],
        lambda n, size: RMSprop(n, size, cfg.rmsprop_alpha, cfg.rmsprop_eps)))
