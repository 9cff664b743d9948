"""On-policy policy-gradient algorithms behind one trainer.

ARMS maps an arm name (the name the CLI uses) to its algorithm class and default
config. `make_arm("ppo_clip:clip_eps=0.1")` resolves an arm with overrides.
"""

from __future__ import annotations

from dataclasses import dataclass

from .a2c import A2C, A2CConfig, TunedA2CConfig
from .config import BaseConfig, ConfigError, config_dict, config_hash, with_overrides
from .ppo import PPO, PPOConfig
from .task_defaults import task_defaults
from .toggles import TOGGLES, apply_preset, preset_name, set_toggles
from .trainer import Algorithm, Batch, Trainer, train_group
from .trpo import TRPO, TRPOConfig
from .vpg import VPG, VPGConfig

ARMS: dict[str, tuple[type[Algorithm], BaseConfig]] = {
    "ppo_clip": (PPO, PPOConfig(objective="clip")),
    "ppo_klpen": (PPO, PPOConfig(objective="kl_adaptive")),
    "ppo_kl_fixed": (PPO, PPOConfig(objective="kl_fixed")),
    "ppo_noclip": (PPO, PPOConfig(objective="none")),
    "vpg": (VPG, VPGConfig()),
    "vpg_section4": (VPG, VPGConfig(lr_rule="section4", lr=3e-4, kl_target=0.01)),
    "a2c": (A2C, TunedA2CConfig()),
    "a2c_sb3": (A2C, A2CConfig()),
    "trpo": (TRPO, TRPOConfig()),
    "npg": (TRPO, TRPOConfig(line_search=False)),
}
# Arms whose runs were recorded under another name before the name moved to another
# configuration: their run directories and config hashes keep that name, so their committed
# records stay theirs. `vpg_section4` was `vpg` (the section 4 rule, issue 22); `a2c_sb3`
# was `a2c` (SB3's defaults with rl-zoo's `normalize: true`, issue 17).
RECORD_NAMES = {"vpg_section4": "vpg", "a2c_sb3": "a2c"}


@dataclass(frozen=True)
class Arm:
    """An arm: a named algorithm with its fully resolved config."""

    name: str
    algorithm: type[Algorithm]
    config: BaseConfig
    overrides: tuple[tuple[str, str], ...] = ()
    task_defaults: str = ""  # the source of the task's own defaults, where it has them

    @property
    def label(self) -> str:
        """The arm as one would type it: name[:key=value...]."""
        return ":".join([self.name, *(f"{k}={v}" for k, v in self.overrides)])

    @property
    def optimizations(self) -> str:
        """The code-level preset the resolved config matches: minimal, baselines, all or custom."""
        return preset_name(self.config, ARMS[self.name][1])

    @property
    def record_name(self) -> str:
        """The name in its run directories and config hash (RECORD_NAMES; else its own)."""
        return RECORD_NAMES.get(self.name, self.name)

    @property
    def config_hash(self) -> str:
        return config_hash({"arm": self.record_name, "algorithm": self.algorithm.__name__,
                            "config": config_dict(self.config)})


def make_arm(spec: str, task: str | None = None) -> Arm:
    """Resolve `name[:key=value[:key=value...]]`, on `task` if given (a task with its own
    defaults, `task_defaults.py`, changes them before the spec's overrides); raises
    ConfigError with the valid choices."""
    name, *parts = spec.strip().split(":")
    if name not in ARMS:
        raise ConfigError(f"unknown arm {name!r}; valid arms: {', '.join(ARMS)}")
    algorithm, default = ARMS[name]
    for_task = task_defaults(task, algorithm.__name__)
    if for_task is not None:
        default = with_overrides(default, for_task[0], owner=f"{task} defaults")
    overrides: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"malformed override {part!r} in {spec!r}; expected key=value")
        if key.strip() in overrides:
            raise ConfigError(f"{key.strip()!r} is given twice in {spec!r}")
        overrides[key.strip()] = value.strip()
    # preset= and on=/off= (code-level toggles) first, then plain field overrides
    preset = overrides.pop("preset", None)
    config = apply_preset(default, preset) if preset else default
    switches = {k: overrides.pop(k).split("+") for k in ("on", "off") if k in overrides}
    _refuse_contradictions(spec, switches, overrides)
    config = set_toggles(config, on=switches.get("on", []), off=switches.get("off", []))
    config = with_overrides(config, overrides, owner=f"arm {name}")
    shown = tuple(([("preset", preset)] if preset else []) + [(k, "+".join(v)) for k, v in switches.items()]
                  + [(k, _show(getattr(config, k))) for k in overrides])
    return Arm(name, algorithm, config, shown, for_task[1] if for_task else "")


def _refuse_contradictions(spec: str, switches: dict[str, list[str]], overrides: dict[str, str]) -> None:
    """A toggle both on and off, or a field both toggled and set, has no one meaning."""
    both = sorted(set(switches.get("on", [])) & set(switches.get("off", [])))
    if both:
        raise ConfigError(f"toggle {both[0]!r} is both on and off in {spec!r}")
    for name in switches.get("on", []) + switches.get("off", []):
        clash = sorted(set(TOGGLES.get(name, {})) & set(overrides))
        if clash:
            raise ConfigError(f"{clash[0]!r} is set by toggle {name!r} and by {clash[0]}= in {spec!r}; give one")


def _show(value) -> str:
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


__all__ = ["A2C", "ARMS", "A2CConfig", "Algorithm", "Arm", "ConfigError", "PPO", "PPOConfig", "Batch",
           "TRPO", "TRPOConfig", "Trainer", "VPG", "VPGConfig", "make_arm", "train_group"]
