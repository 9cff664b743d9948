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

from dataclasses import dataclass, replace

import numpy as np
import torch

from .base import Batch
from .bridge import EngineState, release_engine
from .config import PPO1, PPO2, PPO_T3, UPDATE, BaseConfig, ConfigError, hp, require, require_positive
from .distributions import gaussian_entropy_np, gaussian_kl_np
from .engine import ActorCritic, Adam, clip_global_norm
from .group import GroupUpdate, engine_owner
from .nets import GaussianPolicy
from .objectives import (
    OBJECTIVES,
    adaptive_beta,
    clip_fraction,
    gaussian_policy_grad,
    normalize_advantages,
    normalize_advantages_np,
)
from .optimize import gradient_step, set_lr

# clip, kl_adaptive, kl_fixed, none
PPO_OBJECTIVES = tuple(name for name, o in OBJECTIVES.items() if o.kind == "policy")


@dataclass(frozen=True)
class PPOConfig(BaseConfig):
    objective: str = hp("clip", "PPO paper, sections 3-4",
                        "Policy loss: clip | kl_adaptive | kl_fixed | none.", shared=(UPDATE,))
    clip_eps: float = hp(0.2, "PPO paper Table 1 (best: eps = 0.2)",
                         "Clip range of the probability ratio (also the clip_fraction diagnostic).")
    kl_target: float = hp(0.01, "PPO paper Table 1 (adaptive KL, d_targ = 0.01)",
                          "d_targ of the adaptive KL rule.")
    beta: float = hp(1.0, "PPO paper section 4 (beta starts at 1); Table 1 fixed KL, beta = 1",
                     "KL penalty coefficient: fixed, or the adaptive rule's start.")
    num_epochs: int = hp(10, PPO_T3, "Passes over each batch.", shared=(UPDATE,))
    minibatch_size: int = hp(64, PPO_T3, "Transitions per gradient step.", shared=(UPDATE,))
    vf_coef: float = hp(0.5, PPO2, "Weight of the value loss in the joint loss.")
    value_clip: bool = hp(True, PPO2, "Clip the value prediction's change, as ppo2 does.", shared=(UPDATE,))
    value_clip_eps: float = hp(0.2, PPO2 + " (shares cliprange 0.2)",
                               "Value clip range, apart from clip_eps: Table 1's eps moves the policy only.")
    # Added for the `ppo1` profile; at these defaults, left out of config.json and the hash.
    clip_anneal: bool = hp(False, PPO2 + " (cliprange 0.2, constant)",
                           "Anneal clip_eps linearly to 0 with the step size (ppo1 pposgd_simple.py: "
                           "clip_param * lrmult).", added=False)
    adv_norm_scope: str = hp("minibatch", PPO2 + " (advantages standardized per minibatch)",
                             "Where adv_norm standardizes: 'minibatch' or 'batch' (once per iteration, before "
                             "the epochs, as " + PPO1 + ").", shared=(UPDATE,), added="minibatch")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective not in PPO_OBJECTIVES:
            raise ConfigError(f"objective={self.objective!r} is not one of {', '.join(PPO_OBJECTIVES)}")
        require_positive(self, "clip_eps", "kl_target", "value_clip_eps", "vf_coef", "num_epochs")
        require(self, "beta", self.beta >= 0, "must be >= 0")
        require(self, "adv_norm_scope", self.adv_norm_scope in ("minibatch", "batch"),
                "must be 'minibatch' or 'batch'")
        require(self, "minibatch_size", 1 <= self.minibatch_size <= self.batch_size,
                f"must be in [1, batch size {self.batch_size}]")


@engine_owner
class PPO(GroupUpdate):
    config: PPOConfig

    def __init__(self, config: PPOConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        # One Adam over both networks, as ppo2 (separate networks, joint loss).
        self.params = [*policy.parameters(), *value_fn.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=config.lr, eps=config.adam_eps, foreach=True)
        self.beta = config.beta

    def clip_eps_at(self, progress: float) -> float:
        """The clip range for an iteration `progress` of the way through the run."""
        return self.config.clip_eps * (1.0 - progress) if self.config.clip_anneal else self.config.clip_eps

    def update(self, batch: Batch) -> dict[str, float]:
        """Gaussian policies take the stacked closed-form path as a group of one; other
        policies (Discrete), and subclasses that change PPO's maths, the autograd path."""
        if self.group_key() is not None:
            return update_group([self], [batch])[0]
        return self.update_autograd(batch)

    @classmethod
    def update_group(cls, members, batches):
        return update_group(members, batches)

    def has_group_update(self) -> bool:
        return isinstance(self.policy, GaussianPolicy)

    def update_autograd(self, batch: Batch) -> dict[str, float]:
        """The straightforward path: torch autograd, one minibatch loss at a time. The
        reference the engine path is tested against (tests/test_engine.py)."""
        release_engine(self)
        cfg = self.config
        lr = self.current_lr(batch.progress)
        set_lr(self.optimizer, lr)
        clip_eps = self.clip_eps_at(batch.progress)
        if cfg.adv_norm and cfg.adv_norm_scope == "batch":
            batch = replace(batch, advantages=normalize_advantages(batch.advantages))
        beta_used = self.beta
        size = batch.obs.shape[0]
        totals = {"policy_loss": 0.0, "value_loss": 0.0, "clip_fraction": 0.0}
        steps = 0
        for _ in range(cfg.num_epochs):
            order = torch.from_numpy(self.rng.permutation(size))
            for start in range(0, size, cfg.minibatch_size):
                idx = order[start:start + cfg.minibatch_size]
                loss, policy_loss, v_loss, ratio = self.minibatch_loss(batch, idx, clip_eps)
                gradient_step(self.optimizer, self.params, loss, cfg.max_grad_norm)
                totals["policy_loss"] += policy_loss.item()
                totals["value_loss"] += v_loss.item()
                totals["clip_fraction"] += clip_fraction(ratio, clip_eps).item()
                steps += 1

        with torch.no_grad():
            new_params = self.policy.dist_params(batch.obs)
            approx_kl = self.policy.kl(batch.old_params, new_params).mean().item()
            entropy = self.policy.entropy(new_params).mean().item()
        if cfg.objective == "kl_adaptive":
            self.beta = adaptive_beta(self.beta, approx_kl, cfg.kl_target)
        metrics = {k: v / steps for k, v in totals.items()}
        metrics.update(approx_kl=approx_kl, entropy=entropy, lr=lr)
        if OBJECTIVES[cfg.objective].needs_kl:
            metrics["beta"] = beta_used
        if cfg.clip_anneal:
            metrics["clip_eps"] = clip_eps
        return metrics

    def minibatch_loss(self, batch: Batch, idx: torch.Tensor, clip_eps: float | None = None):
        """The joint loss of minibatch `idx` through autograd: (loss, policy loss, value loss, ratio);
        `clip_eps` defaults to the configured (not annealed) one."""
        cfg = self.config
        clip_eps = cfg.clip_eps if clip_eps is None else clip_eps
        obs = batch.obs[idx]
        params = self.policy.dist_params(obs)
        ratio = torch.exp(self.policy.log_prob(params, batch.actions[idx]) - batch.log_probs[idx])
        advantages = batch.advantages[idx]
        if cfg.adv_norm and cfg.adv_norm_scope == "minibatch":
            advantages = normalize_advantages(advantages)
        objective = OBJECTIVES[cfg.objective]
        kl = self.policy.kl(tuple(p[idx] for p in batch.old_params), params) if objective.needs_kl else None
        policy_loss, _ = objective.reference(ratio, advantages, clip_eps=clip_eps, beta=self.beta, kl=kl)
        loss = policy_loss
        if cfg.ent_coef:
            loss = loss - cfg.ent_coef * self.policy.entropy(params).mean()
        v_loss, _ = OBJECTIVES[value_objective(cfg)].reference(
            self.value_fn(obs), batch.returns[idx], old_values=batch.values[idx], clip_eps=cfg.value_clip_eps)
        return loss + cfg.vf_coef * v_loss, policy_loss, v_loss, ratio

    def state_dict(self) -> dict:
        self.flush_engine()  # the Adam state lives in numpy between checkpoints
        return {"optimizer": self.optimizer.state_dict(), "beta": self.beta}

    def load_state_dict(self, state: dict) -> None:
        release_engine(self)
        self.optimizer.load_state_dict(state["optimizer"])
        self.beta = float(state["beta"])


def _column(members: list[PPO], get) -> np.ndarray:
    """A per-member number as an [N, 1] float32 column."""
    return np.array([[get(m)] for m in members], dtype=np.float32)


class StackedBatch:
    """N members' batches and per-member settings as stacked arrays ([N, B, ...], [N, 1])."""

    def __init__(self, members: list[PPO], batches: list[Batch]):
        def stacked(get) -> np.ndarray:
            return np.stack([get(b).numpy() for b in batches]).astype(np.float32, copy=False)

        self.obs, self.actions = stacked(lambda b: b.obs), stacked(lambda b: b.actions)
        self.old_logp, self.old_mean = stacked(lambda b: b.log_probs), stacked(lambda b: b.old_params[0])
        self.old_log_std = stacked(lambda b: b.old_params[1])
        self.advantages, self.returns = stacked(lambda b: b.advantages), stacked(lambda b: b.returns)
        if members[0].config.adv_norm and members[0].config.adv_norm_scope == "batch":  # shared for UPDATE
            self.advantages = normalize_advantages_np(self.advantages)
        self.old_values = stacked(lambda b: b.values)
        self.clip_eps = np.array([[m.clip_eps_at(b.progress)] for m, b in zip(members, batches, strict=True)],
                                 dtype=np.float32)
        self.beta = _column(members, lambda m: m.beta)[:, :, None]
        self.vf_coef = _column(members, lambda m: m.config.vf_coef)
        self.ent_coef = _column(members, lambda m: m.config.ent_coef)[:, :, None]
        self.value_eps = _column(members, lambda m: m.config.value_clip_eps)
        self.max_norm = _column(members, lambda m: m.config.max_grad_norm or np.inf)


def value_objective(cfg: PPOConfig) -> str:
    return "value_clipped" if cfg.value_clip else "value"


def minibatch_gradient(cfg: PPOConfig, net: ActorCritic, data: StackedBatch, idx: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joint loss's gradient for minibatch `idx` ([N, B] indices, one row per member),
    written to net.grad_flat (not clipped): the objectives' closed forms (objectives.py)
    backpropagated through the stacked networks. Returns per-member policy loss, value loss
    and clip fraction, as `update_autograd` logs them."""
    n, size = data.obs.shape[:2]
    flat = np.arange(n)[:, None] * size + idx  # member m's row idx[m, b] in the [N * T] rows

    def rows(a: np.ndarray) -> np.ndarray:
        """a[m, idx[m, b]] as [N, B, ...]: one np.take over the members' flattened rows, the
        same values as a[arange(N)[:, None], idx] at a third of its cost (issue 37)."""
        return np.take(a.reshape(n * size, *a.shape[2:]), flat, axis=0)

    B = idx.shape[1]
    x, adv = rows(data.obs), rows(data.advantages)
    if cfg.adv_norm and cfg.adv_norm_scope == "minibatch":
        adv = normalize_advantages_np(adv)
    mean, pol_inputs = net.policy_mean(x)
    pol, ratio = gaussian_policy_grad(
        cfg.objective, mean, net.log_std, rows(data.actions), adv, old_logp=rows(data.old_logp),
        old_mean=rows(data.old_mean), old_log_std=rows(data.old_log_std), clip_eps=data.clip_eps,
        beta=data.beta, ent_coef=data.ent_coef)
    values, val_inputs = net.value(x)
    v_loss, residual = OBJECTIVES[value_objective(cfg)].closed_form(
        values, rows(data.returns), old_values=rows(data.old_values), clip_eps=data.value_eps)
    net.backward(pol_inputs, pol.d_mean, pol.d_log_std, val_inputs, residual * (data.vf_coef / B))
    return pol.loss, v_loss, (np.abs(ratio - 1.0) > data.clip_eps).mean(1)


def update_group(members: list[PPO], batches: list[Batch]) -> list[dict[str, float]]:
    """One PPO update of N members in one pass of stacked arithmetic (algorithms/engine.py):
    the same epochs, minibatch shuffles (each member's own RNG), losses, clip and Adam as
    `update_autograd`, to float32 rounding. Members must share `group_key()`."""
    keys = {m.group_key() for m in members}
    if len(keys) != 1 or None in keys:
        raise ValueError("update_group needs members with one group key")
    cfg = members[0].config
    n = len(members)
    engine = EngineState.of(members, lambda: EngineState(
        members, [m.policy for m in members], [m.value_fn for m in members], [m.optimizer for m in members],
        lambda n, size: Adam(n, size, betas=(0.9, 0.999), eps=cfg.adam_eps)))
    net, adam = engine.net, engine.optimizer
    lrs = [m.current_lr(b.progress) for m, b in zip(members, batches, strict=True)]
    for m, lr in zip(members, lrs, strict=True):
        set_lr(m.optimizer, lr)
    lr_col = np.array([[lr] for lr in lrs], dtype=np.float64)
    data = StackedBatch(members, batches)
    size = data.obs.shape[1]
    totals = np.zeros((3, n))
    steps = 0
    for _ in range(cfg.num_epochs):
        orders = np.stack([m.rng.permutation(size) for m in members])
        for start in range(0, size, cfg.minibatch_size):
            losses = minibatch_gradient(cfg, net, data, orders[:, start:start + cfg.minibatch_size])
            clip_global_norm(net.grad_flat, data.max_norm)
            adam.update(net.layout.flat, net.grad_flat, lr_col)
            totals += losses
            steps += 1
    engine.stored()
    engine.sync()  # the rollout's actor reads the torch policy; the Adam state stays in numpy

    mean, _ = net.policy_mean(data.obs)
    kl, *_ = gaussian_kl_np(data.old_mean, data.old_log_std, mean, net.log_std)
    entropy = gaussian_entropy_np(net.log_std[:, 0])
    results = []
    for i, m in enumerate(members):
        metrics = {"policy_loss": totals[0, i] / steps, "value_loss": totals[1, i] / steps,
                   "clip_fraction": totals[2, i] / steps, "approx_kl": kl[i].mean(), "entropy": entropy[i],
                   "lr": lrs[i]}
        if OBJECTIVES[cfg.objective].needs_kl:
            metrics["beta"] = m.beta
        if m.config.clip_anneal:
            metrics["clip_eps"] = data.clip_eps[i, 0]
        if cfg.objective == "kl_adaptive":
            m.beta = adaptive_beta(m.beta, float(metrics["approx_kl"]), m.config.kl_target)
        results.append({k: float(v) for k, v in metrics.items()})
    return results
