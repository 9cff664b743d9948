"""The code-level optimizations (Engstrom et al. 2020, "Implementation Matters"; "The 37
implementation details of PPO") as named toggles over config fields.

Each toggle sets exactly its field(s): off = PPO-M's choice (none of the optimizations),
on = openai/baselines ppo2's choice. Presets: `minimal` (every toggle off, PPO-M),
`baselines` (the arm's own defaults, which cite their source), `ppo1` (PPO only: the code
released with the paper, openai/baselines ppo1 at d9f194f, field by field in PPO1_FIELDS),
`all` (every toggle on, including an entropy bonus). In an arm spec: `ppo_clip:preset=minimal`,
`ppo_clip:preset=ppo1`, `ppo_clip:on=value_clip+ortho_init:off=reward_scale`.
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
PRESETS = ("minimal", "baselines", "ppo1", "all")

# openai/baselines ppo1 at d9f194f (2017-08-27; the July-20 `pposgd` release with its value
# clipping fixed), MuJoCo: run_mujoco.py, pposgd_simple.py, mlp_policy.py,
# common/mpi_running_mean_std.py, common/tf_util.py. Each field with where ppo1 sets it; the
# fields not named here are already ppo1's in PPOConfig's defaults (T 2048, 10 epochs x 64,
# gamma 0.99, lambda 0.95, lr 3e-4, 2x64 tanh towers under one Adam, log std 0, no entropy).
PPO1_FIELDS: dict[str, object] = {
    "normc_init": True,         # mlp_policy.py: U.normc_initializer(1.0) hidden and vffinal, (0.01) polfinal
    "ortho_init": False,        # (normc instead)
    "lr_anneal": True,          # run_mujoco.py schedule='linear': lrmult = max(1 - t/T, 0)
    "clip_anneal": True,        # pposgd_simple.py: clip_param = clip_param * lrmult
    "value_clip": False,        # pposgd_simple.py: vf_loss = U.mean(tf.square(pi.vpred - ret))
    "vf_coef": 2.0,             # ... weight 1 on E[(V - R)^2]: 2 x our halved square
    "adv_norm": True,           # atarg = (atarg - atarg.mean()) / atarg.std(), once per batch
    "adv_norm_scope": "batch",  # ... before the epochs
    "max_grad_norm": 0.0,       # adam.update(g, ...) on the raw flat gradient
    "reward_scale": False,      # rewards enter add_vtarg_and_adv as the env gives them
    "obs_norm": True,           # mlp_policy.py: ob_rms, obz = clip((ob - mean) / std, -5, 5)
    "obs_clip": 5.0,
    "obs_std_floor": 0.1,       # mpi_running_mean_std.py: std = sqrt(max(E[x^2] - mean^2, 1e-2))
    "obs_prior_count": 1e-2,    # RunningMeanStd(epsilon=1e-2)
    "obs_norm_update": "batch",  # pi.ob_rms.update(ob) once per iteration, after the rollout
    "adam_eps": 1e-5,           # learn(adam_epsilon=1e-5); MpiAdam
    "action_clip": False,       # traj_segment_generator: env.step(ac) with the sampled action
    "bootstrap_truncation": False,  # one `new` flag: a time-limit end is terminal
    "ent_coef": 0.0,            # run_mujoco.py entcoeff=0.0
}


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
    if preset == "ppo1":
        if not {"clip_anneal", "adv_norm_scope"} <= {f.name for f in fields(config)}:
            raise ConfigError(f"preset 'ppo1' is openai/baselines ppo1's PPO; {type(config).__name__} is not PPO")
        return replace(config, **PPO1_FIELDS)
    names = toggles_of(config)
    return set_toggles(config, on=names) if preset == "all" else set_toggles(config, off=names)


def preset_name(config: BaseConfig, default: BaseConfig) -> str:
    """Which preset a resolved config matches: minimal, baselines, ppo1, all, or custom."""
    for preset in PRESETS:
        try:
            if apply_preset(default, preset) == config:
                return preset
        except ConfigError:  # ppo1 on an algorithm other than PPO
            continue
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
