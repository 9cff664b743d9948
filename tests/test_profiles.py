"""The cited configurations added after records existed: the `ppo1` profile (openai/baselines
ppo1 at d9f194f), Tianshou's tuned A2C (`a2c`), hw4's adaptive-step vanilla PG (`vpg`), and
the fields they brought, each against a number known by hand."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from algorithms import RECORD_NAMES, Trainer, make_arm
from algorithms.config import config_dict
from algorithms.nets import GaussianActor, GaussianPolicy, ValueNet
from algorithms.normalize import standardize
from algorithms.rollout import ActionAdapter, RolloutCollector
from algorithms.toggles import PPO1_FIELDS
from algorithms.vpg import adaptive_lr


def test_added_fields_stay_out_of_records_at_their_earlier_value():
    """A field added later shows in config.json (and the hash) only when set otherwise."""
    plain = config_dict(make_arm("ppo_clip").config)
    assert not {"normc_init", "obs_norm_update", "action_clip", "clip_anneal", "adv_norm_scope"} & set(plain)
    ppo1 = config_dict(make_arm("ppo_clip:preset=ppo1").config)
    assert ppo1["normc_init"] is True and ppo1["obs_norm_update"] == "batch" and ppo1["action_clip"] is False
    assert make_arm("ppo_clip:action_clip=false").config_hash != make_arm("ppo_clip").config_hash
    assert make_arm("ppo_clip:action_clip=true").config_hash == make_arm("ppo_clip").config_hash


def test_ppo1_preset_sets_exactly_its_fields():
    arm = make_arm("ppo_noclip:preset=ppo1")
    assert arm.optimizations == "ppo1" and arm.config.objective == "none"
    assert {k: getattr(arm.config, k) for k in PPO1_FIELDS} == PPO1_FIELDS
    with pytest.raises(ValueError, match="not PPO"):
        make_arm("trpo:preset=ppo1")
    with pytest.raises(ValueError, match="two initializations"):
        make_arm("ppo_clip:normc_init=true")  # ortho_init is on by default


def test_normc_init_norms():
    """Each unit's incoming weights have norm 1 (hidden, value head) or 0.01 (policy head)."""
    g = torch.Generator().manual_seed(0)
    policy = GaussianPolicy(11, 3, (64, 64), 0.0, "normc", g)
    value = ValueNet(11, (64, 64), "normc", g)
    layers = [m for m in policy.mean_net if isinstance(m, torch.nn.Linear)]
    for layer, norm in zip(layers, (1.0, 1.0, 0.01), strict=True):
        np.testing.assert_allclose(layer.weight.detach().norm(dim=1).numpy(), norm, rtol=1e-5)
        assert float(layer.bias.abs().max()) == 0.0
    np.testing.assert_allclose(list(value.net)[-1].weight.detach().norm(dim=1).numpy(), 1.0, rtol=1e-5)


def _collector(spec: str, task: str, num_steps: int):
    config = make_arm(f"{spec}:num_steps={num_steps}:minibatch_size=1").config
    env = gym.make(task, disable_env_checker=True)
    return config, RolloutCollector([env], config, [7])


def _constant(obs_dim: int, action) -> GaussianActor:
    """A Gaussian actor whose every action is `action`: zero weights, the action as bias,
    a std (e^-30) below float32 resolution."""
    action = np.asarray(action, dtype=np.float32)
    return GaussianActor([(np.zeros((obs_dim, len(action)), np.float32), action)], np.full(len(action), -30.0,
                                                                                            np.float32))


def test_ppo1_observation_statistics_update_once_per_batch():
    """The rollout sees the previous statistics (at first the prior: mean 0, std 1, clipped
    to 5); then the batch's raw observations are merged (count 1e-2 + T) and the batch is
    normalized again with the floored std (ppo1: ob_rms.update(ob) before the epochs)."""
    config, collector = _collector("ppo_clip:preset=ppo1", "Hopper-v5", 16)
    first_raw = collector.raw_obs.copy()
    raw, _ = collector.collect(_constant(11, [0.1, -0.2, 0.3]), np.random.default_rng(0), 0)
    np.testing.assert_array_equal(raw.acted_obs[0, 0], np.clip(first_raw[0], -5, 5).astype(np.float32))
    rms = collector.obs_normalizer.rms
    assert rms.count == pytest.approx(16 + 1e-2)
    # the batch's raw observations, recovered where no clip bit: the prior normalizes to raw
    inside = np.abs(raw.acted_obs) < 5
    raw_obs = raw.acted_obs.astype(np.float64)
    expected = standardize(raw_obs, rms.mean, rms.var, 5.0, 1e-8, 0.1)
    np.testing.assert_allclose(raw.obs[inside], expected[inside], rtol=1e-5, atol=1e-5)
    std = np.sqrt(np.maximum(rms.var, 0.01))
    assert (std >= 0.1).all() and np.abs(raw.obs).max() <= 5.0
    # the second rollout acts with the statistics the first batch left
    raw2, _ = collector.collect(_constant(11, [0.1, -0.2, 0.3]), np.random.default_rng(0), 16)
    np.testing.assert_array_equal(raw2.acted_obs[0, 0], raw.last_obs[0])


@pytest.mark.parametrize("bootstrap", [True, False])
def test_time_limit_end_is_terminal_without_bootstrap(bootstrap):
    """Pendulum-v1 never terminates; its 200-step limit truncates."""
    _, collector = _collector(f"ppo_clip:bootstrap_truncation={str(bootstrap).lower()}", "Pendulum-v1", 256)
    raw, episodes = collector.collect(_constant(3, [0.5]), np.random.default_rng(0), 0)
    assert [e.length for e in episodes] == [200]
    assert (bool(raw.truncated[199, 0]), bool(raw.terminated[199, 0])) == (bootstrap, not bootstrap)
    assert len(raw.final_obs) == int(bootstrap)


def test_action_adapter_clip_and_scale():
    box = gym.spaces.Box(-3.0, 3.0, (2,), np.float32)
    action = np.array([5.0, -0.5], np.float32)
    np.testing.assert_array_equal(ActionAdapter(box).to_env(action), [3.0, -0.5])
    np.testing.assert_array_equal(ActionAdapter(box, clip=False).to_env(action), [5.0, -0.5])
    np.testing.assert_allclose(ActionAdapter(box, scale=True).to_env(action), [3.0, -1.5])
    np.testing.assert_allclose(ActionAdapter(box, scale=True).to_env(np.array([0.0, -1.0])), [0.0, -3.0])


def test_unclipped_actions_pay_their_control_cost():
    """HalfCheetah's control cost is 0.1 sum(a^2) on the action as given: an action of 2
    (the actuator clamps it to 1) costs 4x what the clipped action does."""
    rewards = {}
    for clip in (True, False):
        _, collector = _collector(f"ppo_clip:action_clip={str(clip).lower()}:obs_norm=false:reward_scale=false",
                                  "HalfCheetah-v5", 1)
        before = collector.envs[0].unwrapped.data.qpos.copy()
        raw, _ = collector.collect(_constant(17, [2.0] * 6), np.random.default_rng(0), 0)
        forward = (collector.envs[0].unwrapped.data.qpos[0] - before[0]) / collector.envs[0].unwrapped.dt
        rewards[clip] = raw.rewards[0, 0] - forward
    assert rewards[True] == pytest.approx(-0.1 * 6 * 1.0, rel=1e-6)
    assert rewards[False] == pytest.approx(-0.1 * 6 * 4.0, rel=1e-6)


def test_clip_range_anneals_with_the_step_size():
    trainer = Trainer("Hopper-v5", *(lambda a: (a.algorithm, a.config))(make_arm("ppo_clip:preset=ppo1")), 0, 2048)
    algorithm = trainer.algorithm
    assert [algorithm.clip_eps_at(p) for p in (0.0, 0.5, 0.75)] == pytest.approx([0.2, 0.1, 0.05])
    assert algorithm.current_lr(0.5) == pytest.approx(1.5e-4)


@pytest.mark.parametrize("label", ["ppo_clip:preset=ppo1", "ppo_klpen:preset=ppo1"])
def test_ppo1_update_paths_agree(label):
    """Batch-level advantage standardization and the annealed clip range, in the stacked
    numpy update and the autograd one alike."""
    import copy

    from algorithms.ppo import update_group

    arm = make_arm(label)
    trainer = Trainer("Hopper-v5", arm.algorithm, arm.config, seed=0, total_steps=4 * 2048)
    raw, _ = trainer.collector.collect(trainer.policy.numpy_actor(), trainer.action_rng, 0)
    batch = trainer.prepare(raw)
    batch.progress = 0.5
    twin = copy.deepcopy(trainer)
    reference = trainer.algorithm.update_autograd(batch)
    fast = update_group([twin.algorithm], [batch])[0]
    assert reference.keys() == fast.keys() and reference["clip_eps"] == pytest.approx(0.1)
    for key in reference:
        assert fast[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-6), key


def test_hw4_step_size_rule():
    """hw4 main.py: KL > 2 x target -> / 1.5; KL < target / 2 -> x 1.5; else unchanged."""
    target, lo, hi = 2e-3, 1e-6, 1e-2
    assert adaptive_lr(1e-3, 5e-3, target, lo, hi, "hw4") == pytest.approx(1e-3 / 1.5)
    assert adaptive_lr(1e-3, 4e-3, target, lo, hi, "hw4") == pytest.approx(1e-3)  # at 2 x target: keep
    assert adaptive_lr(1e-3, 1e-3, target, lo, hi, "hw4") == pytest.approx(1e-3)  # at target / 2: keep
    assert adaptive_lr(1e-3, 9e-4, target, lo, hi, "hw4") == pytest.approx(1.5e-3)
    config = make_arm("vpg").config
    assert (config.lr, config.kl_target, config.lr_rule) == (1e-3, 2e-3, "hw4")


def test_renamed_arms_keep_their_record_names_and_hashes():
    """`a2c_sb3` and `vpg_section4` are the configurations `a2c` and `vpg` named before
    issue 22: their run directories (and committed records) stay theirs."""
    assert RECORD_NAMES == {"vpg_section4": "vpg", "a2c_sb3": "a2c"}
    assert make_arm("a2c_sb3").config_hash != make_arm("a2c").config_hash
    old_vpg = make_arm("vpg:lr_rule=section4:lr=0.0003:kl_target=0.01")
    assert old_vpg.config_hash == make_arm("vpg_section4").config_hash


def test_tianshou_a2c_return_normalization():
    """The critic's outputs are scaled by sigma of the returns seen so far for GAE, its
    targets divided by it; the statistics then take the returns (Tianshou A2CPolicy)."""
    arm = make_arm("a2c:num_envs=2")
    trainer = Trainer("Hopper-v5", arm.algorithm, arm.config, seed=0, total_steps=1000)
    algorithm = trainer.algorithm
    raw, _ = trainer.collector.collect(trainer.policy.numpy_actor(), trainer.action_rng, 0)
    batch = trainer.prepare(raw)
    algorithm.return_rms.var = np.float64(4.0)
    algorithm.return_rms.count = 1e6  # so the update barely moves it
    advantages, returns = algorithm.targets(batch)
    from algorithms.advantages import gae
    sigma = np.sqrt(4.0 + 1e-8)
    values = batch.values.double().numpy().reshape(5, 2)
    adv, ret = gae(batch.rewards, values * sigma, batch.next_values * sigma, batch.terminated, batch.truncated,
                   0.99, 0.95)
    np.testing.assert_allclose(advantages.numpy(), adv.reshape(-1), rtol=1e-5)
    np.testing.assert_allclose(returns.numpy(), ret.reshape(-1) / sigma, rtol=1e-5)
    assert algorithm.return_rms.count == pytest.approx(1e6 + 10)
