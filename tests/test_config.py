import dataclasses

import pytest

from algorithms import ARMS, ConfigError, make_arm
from algorithms.config import describe


def test_every_default_names_its_source_and_meaning():
    for name, (_, config) in ARMS.items():
        for item in describe(config):
            assert item["source"] and item["doc"], f"{name}.{item['name']} lacks a source or doc"


def test_overrides_are_typed_and_change_the_hash():
    base = make_arm("ppo_clip")
    arm = make_arm("ppo_clip:clip_eps=0.1:num_steps=1e3:obs_norm=false:hidden_sizes=32x32")
    assert arm.config.clip_eps == 0.1 and arm.config.num_steps == 1000
    assert arm.config.obs_norm is False and arm.config.hidden_sizes == (32, 32)
    assert arm.label == "ppo_clip:clip_eps=0.1:num_steps=1000:obs_norm=false:hidden_sizes=32x32"
    assert arm.config_hash != base.config_hash
    assert make_arm("ppo_clip:clip_eps=0.2").config_hash == base.config_hash  # same resolved config
    with pytest.raises(dataclasses.FrozenInstanceError):
        arm.config.clip_eps = 0.3


def test_arm_defaults_match_the_paper():
    assert make_arm("ppo_clip").config.objective == "clip"
    assert make_arm("ppo_clip").config.clip_eps == 0.2
    klpen = make_arm("ppo_klpen").config
    assert (klpen.objective, klpen.kl_target, klpen.beta) == ("kl_adaptive", 0.01, 1.0)
    assert make_arm("ppo_kl_fixed").config.beta == 1.0
    assert make_arm("ppo_noclip").config.objective == "none"
    c = make_arm("ppo_clip").config
    assert (c.num_steps, c.lr, c.num_epochs, c.minibatch_size, c.gamma, c.gae_lambda) == (
        2048, 3e-4, 10, 64, 0.99, 0.95)


@pytest.mark.parametrize("spec, message", [
    ("nosuch", "unknown arm 'nosuch'; valid arms: ppo_clip"),
    ("ppo_clip:clip_eps=abc", "is not a finite number"),
    ("ppo_clip:nosuch=1", "unknown override 'nosuch' for arm ppo_clip; valid keys: num_steps"),
    ("ppo_clip:clip_eps", "malformed override 'clip_eps'"),
    ("ppo_clip:clip_eps=-1", "clip_eps=-1.0 must be > 0"),
    ("ppo_clip:num_steps=2.5", "is not an integer"),
    ("ppo_clip:objective=bogus", "is not one of clip, kl_adaptive, kl_fixed, none"),
    ("ppo_clip:obs_norm=maybe", "is not true/false"),
    ("ppo_clip:minibatch_size=4096", "must be in [1, batch size 2048]"),
])
def test_bad_arm_specs_are_refused_with_one_line(spec, message):
    with pytest.raises(ConfigError) as info:
        make_arm(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_group_keys_come_from_the_fields_metadata():
    """A group's members must agree on the fields declared shared (config.hp), and only on them."""
    from dataclasses import replace

    from algorithms import Trainer, make_arm
    from algorithms.a2c import A2CConfig
    from algorithms.config import ROLLOUT, UPDATE, group_values, shared_fields

    cfg = make_arm("ppo_clip").config
    base = group_values(cfg, UPDATE)
    for per_member in ("clip_eps", "beta", "lr", "vf_coef", "max_grad_norm", "ent_coef", "gamma"):
        changed = replace(cfg, **{per_member: getattr(cfg, per_member) / 2})
        assert group_values(changed, UPDATE) == base, per_member
    for shared, value in (("minibatch_size", 128), ("objective", "none"), ("value_clip", False), ("num_steps", 1024)):
        assert group_values(replace(cfg, **{shared: value}), UPDATE) != base, shared
    assert group_values(replace(cfg, gamma=0.9), ROLLOUT) != group_values(cfg, ROLLOUT)
    # A2C redeclares hidden_sizes, num_steps and adv_norm with its own defaults: still shared
    assert {"hidden_sizes", "num_steps", "adv_norm", "rmsprop_alpha"} <= set(shared_fields(A2CConfig, UPDATE))

    def key(label, seed=0):
        arm = make_arm(label)
        return Trainer("Hopper-v5", arm.algorithm, arm.config, seed=seed, total_steps=2048).algorithm.group_key()

    assert key("ppo_clip") == key("ppo_clip:clip_eps=0.1", seed=1) == key("ppo_clip:lr=1e-4") is not None
    assert key("ppo_clip") != key("ppo_klpen") and key("ppo_clip") != key("a2c")
    assert key("trpo") is None and key("a2c:optimizer=adam") is None
