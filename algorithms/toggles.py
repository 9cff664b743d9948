"""The code-level optimizations (Engstrom et al. 2020, "Implementation Matters"; "The 37
implementation details of PPO") as named toggles over config fields.

Each toggle sets exactly its field(s): off = PPO-M's choice (none of the optimizations),
on = openai/baselines ppo2's choice. Presets: `minimal` (every toggle off, PPO-M),
`baselines` (the arm's own defaults, which cite their source), `all` (every toggle on,
including an entropy bonus). In an arm spec: `ppo_clip:preset=minimal`,
`ppo_clip:on=value_clip+ortho_init:off=reward_scale`.
"""

from __future__ import annotations

from dataclasses import fields, replace

from .config import BaseConfig, ConfigError

# toggle -> {field: (off value, on value)}
TOGGLES: dict[str, dict[str, tuple]] = {
    "obs_norm": {"obs_norm": (False, True)},
    "reward_scale": {"reward_scale": (False, True)},
    "ortho_init": {"ortho_init": (False, True)},
    "lr_anneal": {"lr_anneal": (False, True)},
    "grad_clip": {"max_grad_norm": (0.0, 0.5)},          # ppo2: global norm 0.5
    "value_clip": {"value_clip": (False, True)},         # PPO only
    "adv_norm": {"adv_norm": (False, True)},
    "adam_eps": {"adam_eps": (1e-8, 1e-5)},              # torch's default vs ppo2's
    "entropy": {"ent_coef": (0.0, 0.01)},                # ppo2's Atari coefficient
}
PRESETS = ("minimal", "baselines", "all")


def toggles_of(config: BaseConfig) -> list[str]:
    """The toggles that apply to this config (value_clip only where the field exists)."""
    names = {f.name for f in fields(config)}
    return [t for t, spec in TOGGLES.items() if set(spec) <= names]


def set_toggles(config: BaseConfig, on: list[str] = (), off: list[str] = ()) -> BaseConfig:
    valid = toggles_of(config)
    changes = {}
    for names, index in ((off, 0), (on, 1)):
        for name in names:
            if name not in valid:
                raise ConfigError(f"unknown toggle {name!r} for {type(config).__name__}; valid toggles: "
                                  f"{', '.join(valid)}")
            changes.update({field: values[index] for field, values in TOGGLES[name].items()})
    return replace(config, **changes)


def apply_preset(config: BaseConfig, preset: str) -> BaseConfig:
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if preset == "baselines":
        return config
    names = toggles_of(config)
    return set_toggles(config, on=names) if preset == "all" else set_toggles(config, off=names)


def preset_name(config: BaseConfig, default: BaseConfig) -> str:
    """Which preset a resolved config matches: minimal, baselines, all, or custom."""
    for preset in PRESETS:
        if apply_preset(default, preset) == config:
            return preset
    return "custom"


def ablation_specs(arm_spec: str, names: list[str]) -> list[str]:
    """The 2^k arm specs switching `names` on and off over `arm_spec`, named by what is on."""
    specs = []
    for mask in range(2 ** len(names)):
        on = [n for i, n in enumerate(names) if mask >> i & 1]
        off = [n for n in names if n not in on]
        parts = [arm_spec] + ([f"on={'+'.join(on)}"] if on else []) + ([f"off={'+'.join(off)}"] if off else [])
        specs.append(":".join(parts))
    return specs
