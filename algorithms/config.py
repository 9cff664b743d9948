"""Frozen configuration dataclasses and the parsing of `key=value` overrides.

Every hyperparameter is declared with `hp(default, source, doc)`: the default, where it
comes from (a paper table or a reference implementation), and what it means. The source
and doc travel in the field's metadata, so tools can list them (`python -m suite arms`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

PPO_T3 = "PPO paper (Schulman et al. 2017), Table 3 (MuJoCo)"
PPO_PAPER = "PPO paper (Schulman et al. 2017), section 6.1"
PPO2 = "openai/baselines ppo2, MuJoCo defaults with VecNormalize (as CleanRL ppo_continuous_action)"
PPO1 = "openai/baselines ppo1 at d9f194f (2017-08-27), the code released with the PPO paper"


class ConfigError(ValueError):
    """A configuration value or override that cannot be used. The message is one line."""


ROLLOUT, UPDATE = "rollout", "update"
BOTH = (ROLLOUT, UPDATE)


_UNSET = object()


def hp(default: Any, source: str, doc: str, shared: tuple[str, ...] = (), added: Any = _UNSET) -> Any:
    """Declare a hyperparameter: its default, the default's source, and its meaning.

    `shared` names the group steps (ROLLOUT: collecting in lockstep with one stacked actor;
    UPDATE: one stacked update) whose members must agree on this field, because it sets
    an array's shape or a branch of the arithmetic. Other fields may differ between the
    members of a group (they are per-member columns, or used outside the group step). A
    subclass that redeclares a field keeps its base class's `shared`.

    `added` marks a field added after records existed: the value every earlier record had
    (its default). At that value the field is left out of `config_dict`, so of config.json
    and of the config hash: adding a field moves no committed run's hash or record."""
    meta = {"source": source, "doc": doc, "shared": tuple(shared)}
    if added is not _UNSET:
        meta["added"] = added
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class BaseConfig:
    """What every algorithm shares: rollout, networks, normalization, optimizer basics."""

    num_steps: int = hp(2048, PPO_T3, "Horizon T: env steps collected per env per iteration.", shared=BOTH)
    num_envs: int = hp(1, PPO_PAPER + " (one actor per MuJoCo run)", "Environments stepped in lockstep.", shared=BOTH)
    gamma: float = hp(0.99, PPO_T3, "Discount factor.", shared=(ROLLOUT,))
    gae_lambda: float = hp(0.95, PPO_T3, "GAE lambda (1 gives Monte-Carlo advantages).")
    hidden_sizes: tuple[int, ...] = hp((64, 64), PPO_PAPER,
                                       "Hidden layer widths, tanh, for policy and value MLPs.", shared=BOTH)
    init_log_std: float = hp(0.0, "openai/baselines policies (log std initialised at 0)",
                             "Initial state-independent log standard deviation of the Gaussian policy.")
    ortho_init: bool = hp(True, PPO2, "Orthogonal init: hidden gain sqrt(2), policy head 0.01, value head 1.")
    obs_norm: bool = hp(True, PPO2, "Normalize observations by a running mean/std.", shared=(ROLLOUT,))
    obs_clip: float = hp(10.0, PPO2, "Clip normalized observations to [-obs_clip, obs_clip].", shared=(ROLLOUT,))
    reward_scale: bool = hp(True, PPO2,
                            "Divide rewards by the running std of the discounted return.", shared=(ROLLOUT,))
    reward_clip: float = hp(10.0, PPO2, "Clip scaled rewards to [-reward_clip, reward_clip].", shared=(ROLLOUT,))
    adv_norm: bool = hp(True, PPO2,
                        "Standardize advantages (per minibatch where there are minibatches).", shared=(UPDATE,))
    lr: float = hp(3e-4, PPO_T3, "Adam step size.")
    lr_anneal: bool = hp(True, PPO2 + " (lr = 3e-4 * fraction remaining)", "Anneal lr linearly to 0.")
    adam_eps: float = hp(1e-5, PPO2, "Adam epsilon.", shared=(UPDATE,))
    max_grad_norm: float = hp(0.5, PPO2, "Global gradient-norm clip; 0 disables.")
    ent_coef: float = hp(0.0, PPO2 + "; the paper uses no entropy bonus on MuJoCo", "Entropy bonus weight.")
    # Added for the `ppo1` profile (the paper's own code); each default is what every earlier
    # record did, so these fields appear in config.json and the hash only when set otherwise.
    normc_init: bool = hp(False, PPO2 + " (orthogonal init, `ortho_init`)",
                          "openai/baselines' normc init instead (ppo1 mlp_policy.py, tf_util.normc_initializer): "
                          "each unit's incoming weights Gaussian scaled to norm 1 (hidden layers, value head) or "
                          "0.01 (policy head), zero biases. Excludes ortho_init.", added=False)
    obs_norm_update: str = hp("step", PPO2 + " (VecNormalize updates its statistics at every env step)",
                              "When the observation statistics take new data: 'step' (each step, before "
                              "normalizing the next observation) or 'batch' (once per iteration from the "
                              "observations the batch's actions were taken in; the rollout uses the previous "
                              "statistics and the update the new ones, as ppo1's ob_rms.update(ob))",
                              shared=(ROLLOUT,), added="step")
    obs_std_floor: float = hp(0.0, PPO2 + " (std = sqrt(var + 1e-8))",
                              "Lower bound on the observation std (ppo1's RunningMeanStd: sqrt(max(var, 1e-2)), "
                              "a floor of 0.1); 0 uses sqrt(var + 1e-8).", shared=(ROLLOUT,), added=0.0)
    obs_prior_count: float = hp(1e-4, PPO2 + " (RunningMeanStd epsilon=1e-4)",
                                "Prior count of the observation statistics (mean 0, var 1) before any data; "
                                "ppo1's RunningMeanStd starts at epsilon=1e-2.", shared=(ROLLOUT,), added=1e-4)
    action_clip: bool = hp(True, PPO2 + " (clips actions to the Box bounds before env.step)",
                           "Clip sampled actions to the action space's bounds before the env sees them. "
                           "Off (ppo1): the env gets the sampled action; MuJoCo clamps the control, but the "
                           "control cost is paid on the action as given.", shared=(ROLLOUT,), added=True)
    lr_anneal_over: float = hp(1.0, PPO2 + " (annealed to 0 over the run)",
                               "With lr_anneal, the schedule's length in run budgets: lr x (1 - progress / "
                               "lr_anneal_over); 3 keeps a 3M-step schedule's step sizes over a 1M-step run.",
                               added=1.0)
    policy_head_gain: float = hp(0.01, PPO2 + " (policy head gain 0.01)",
                                 "Init gain (orthogonal) or norm (normc) of the policy's last layer.", added=0.01)
    value_head_gain: float = hp(1.0, PPO2 + " (value head gain 1)",
                                "Init gain (orthogonal) or norm (normc) of the value net's last layer.", added=1.0)
    action_scaling: bool = hp(False, PPO2 + " (actions in the env's own units)",
                              "The policy acts in [-1, 1] (clipped there), mapped linearly onto the Box's "
                              "bounds (Tianshou's action_scaling with action_bound_method='clip').",
                              shared=(ROLLOUT,), added=False)
    bootstrap_truncation: bool = hp(True, "Pardo et al. 2018, 'Time limits in RL'; gymnasium's truncated flag",
                                    "A time-limit end bootstraps from V(final observation); off (ppo1, whose "
                                    "gym had one `done` flag): it is treated as terminal.",
                                    shared=(ROLLOUT,), added=True)

    def __post_init__(self) -> None:
        require_positive(self, "num_steps", "num_envs", "obs_clip", "reward_clip", "lr", "adam_eps")
        require(self, "gamma", 0.0 < self.gamma <= 1.0, "must be in (0, 1]")
        require(self, "gae_lambda", 0.0 <= self.gae_lambda <= 1.0, "must be in [0, 1]")
        require(self, "hidden_sizes", all(h >= 1 for h in self.hidden_sizes), "widths must be >= 1")
        for name in ("max_grad_norm", "ent_coef", "obs_std_floor"):
            require(self, name, getattr(self, name) >= 0, "must be >= 0")
        require_positive(self, "obs_prior_count", "lr_anneal_over", "policy_head_gain", "value_head_gain")
        require(self, "obs_norm_update", self.obs_norm_update in ("step", "batch"), "must be 'step' or 'batch'")
        require(self, "normc_init", not (self.normc_init and self.ortho_init),
                "and ortho_init=True name two initializations; switch one off")

    @property
    def init_scheme(self) -> str:
        """The networks' initialization: 'normc', 'orthogonal' or 'torch' (nn.Linear's own)."""
        return "normc" if self.normc_init else "orthogonal" if self.ortho_init else "torch"

    @property
    def batch_size(self) -> int:
        """Transitions per iteration."""
        return self.num_steps * self.num_envs


def require(config: Any, name: str, ok: bool, what: str) -> None:
    """Raise ConfigError naming the field and its value unless `ok`."""
    if not ok:
        raise ConfigError(f"{type(config).__name__}.{name}={getattr(config, name)!r} {what}")


def require_positive(config: Any, *names: str) -> None:
    for name in names:
        require(config, name, getattr(config, name) > 0, "must be > 0")


def field_names(config: BaseConfig) -> list[str]:
    return [f.name for f in fields(config)]


@functools.cache
def shared_fields(config_type: type, step: str) -> tuple[str, ...]:
    """The fields the members of a group must agree on for `step` (ROLLOUT or UPDATE), from
    the `shared` metadata of the field's declarations along the class hierarchy."""
    names = []
    for f in fields(config_type):
        declared = [c.__dataclass_fields__[f.name].metadata.get("shared", ())
                    for c in config_type.__mro__ if f.name in getattr(c, "__dataclass_fields__", {})]
        if any(step in tags for tags in declared):
            names.append(f.name)
    return tuple(names)


def group_values(config: BaseConfig, step: str) -> tuple:
    """(name, value) of every field `shared_fields` names: a part of a group key."""
    return tuple((name, getattr(config, name)) for name in shared_fields(type(config), step))


def describe(config: BaseConfig) -> list[dict[str, Any]]:
    """One dict per field: name, value, source of the default, meaning."""
    return [
        {"name": f.name, "value": getattr(config, f.name),
         "source": f.metadata.get("source", ""), "doc": f.metadata.get("doc", "")}
        for f in fields(config)
    ]


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_value(name: str, text: str, current: Any) -> Any:
    """Convert override text to the type of the field's current value."""
    text = text.strip()
    try:
        if isinstance(current, bool):
            low = text.lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError
        if isinstance(current, int):
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if isinstance(current, float):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError
            return number
        if isinstance(current, tuple):
            parts = text.lower().split("x")
            if not all(part.isdigit() and int(part) >= 1 for part in parts):
                raise ValueError
            return tuple(int(part) for part in parts)
    except ValueError:
        kind = {bool: "true/false", int: "an integer", float: "a finite number",
                tuple: "positive widths like 64x64"}[type(current)]
        raise ConfigError(f"override {name}={text!r} is not {kind}") from None
    return text


def with_overrides(config: BaseConfig, overrides: dict[str, str], owner: str = "") -> BaseConfig:
    """A copy of `config` with `overrides` (field name -> text) applied and validated."""
    valid = field_names(config)
    changes = {}
    for name, text in overrides.items():
        if name not in valid:
            where = f" for {owner}" if owner else ""
            raise ConfigError(f"unknown override {name!r}{where}; valid keys: {', '.join(valid)}")
        changes[name] = parse_value(name, text, getattr(config, name))
    return replace(config, **changes)


def config_dict(config: BaseConfig) -> dict[str, Any]:
    """JSON-ready dict of every field (tuples become lists), less the fields added later
    (`hp(..., added=...)`) that hold the value earlier records had: what config.json records
    and the config hash covers. A field missing from a record has its `added` value."""
    full = asdict(config)
    for name, added in added_values(type(config)).items():
        if full[name] == added:
            del full[name]
    return json.loads(json.dumps(full))


@functools.cache
def added_values(config_type: type) -> dict[str, Any]:
    """Field name -> its `added` value, for the fields any class along the hierarchy declared
    with one (a subclass that redeclares a field keeps it)."""
    found = {}
    for f in fields(config_type):
        for c in config_type.__mro__:
            declared = getattr(c, "__dataclass_fields__", {}).get(f.name)
            if declared is not None and "added" in declared.metadata:
                found[f.name] = declared.metadata["added"]
                break
    return found


def config_hash(payload: dict[str, Any]) -> str:
    """Short stable hash of a JSON-ready dict."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]
