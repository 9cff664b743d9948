"""The fast paths against the straightforward ones.

- Stacked closed-form PPO (algorithms/engine.py, ppo.update_group) vs torch autograd
  (PPO.update_autograd): to float32 tolerance, since sums run in another order. Gradients
  of one minibatch agree to 1e-6 relative; one whole update (320 Adam steps) to 1e-5.
- Grid mode (train_group with N members) vs the same runs alone: EXACTLY, bit for bit.
  A member's rows of the stacked arrays go through the same kernels whatever N is.
"""

import copy

import numpy as np
import pytest
import torch

from algorithms import Trainer, make_arm, train_group
from algorithms.bridge import TorchBridge
from algorithms.engine import Adam, clip_global_norm
from algorithms.ppo import StackedBatch, minibatch_gradient, update_group


def first_batch(arm_label: str, task: str = "Hopper-v5", seed: int = 0):
    arm = make_arm(arm_label)
    trainer = Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=4 * 2048)
    raw, _ = trainer.collector.collect(trainer.policy.numpy_actor(), trainer.action_rng, 0)
    return trainer, trainer.prepare(raw)


@pytest.mark.parametrize("arm_label", ["ppo_clip", "ppo_klpen", "ppo_kl_fixed:beta=3", "ppo_noclip",
                                       "ppo_clip:ent_coef=0.01:value_clip=false:adv_norm=false"])
def test_minibatch_gradient_equals_autograd(arm_label):
    trainer, batch = first_batch(arm_label)
    with torch.no_grad():  # move away from pi_old, so that ratios, clipping and KL are not trivial
        g = torch.Generator().manual_seed(1)
        for p in [*trainer.policy.parameters(), *trainer.value_fn.parameters()]:
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    idx = np.random.default_rng(0).permutation(2048)[:64]
    bridge = TorchBridge([trainer.policy], [trainer.value_fn])
    bridge.load()
    minibatch_gradient(trainer.algorithm.config, bridge.net, StackedBatch([trainer.algorithm], [batch]), idx[None])
    trainer.algorithm.minibatch_loss(batch, torch.from_numpy(idx))[0].backward()  # the autograd path's loss
    for (name, transposed), param in zip(bridge.order, bridge.torch_params(0), strict=True):
        expected = param.grad.numpy()
        expected = expected.T if transposed else expected.reshape(1, -1)
        np.testing.assert_allclose(bridge.net.grads[name][0], expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max(),
                                   err_msg=f"{arm_label}: {name}")
        assert np.abs(expected).max() > 0, name


def test_clip_and_adam_equal_torch():
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3,)]
    params = [torch.tensor(rng.standard_normal(s), dtype=torch.float32, requires_grad=True) for s in shapes]
    flat = torch.cat([p.detach().reshape(-1) for p in params]).numpy()[None].copy()
    optimizer = torch.optim.Adam(params, lr=3e-4, eps=1e-5, foreach=True)
    adam = Adam(1, flat.shape[1], betas=(0.9, 0.999), eps=1e-5)
    for step in range(20):
        grads = [torch.tensor(rng.standard_normal(s) * (step + 1), dtype=torch.float32) for s in shapes]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, 0.5, foreach=True)
        optimizer.step()
        grad = torch.cat([g.reshape(-1) for g in grads]).numpy()[None].copy()
        clip_global_norm(grad, np.array([[0.5]], dtype=np.float32))
        adam.update(flat, grad, np.array([[3e-4]]))
    expected = torch.cat([p.detach().reshape(-1) for p in params]).numpy()
    np.testing.assert_allclose(flat[0], expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("arm_label", ["ppo_clip", "ppo_klpen", "ppo_noclip"])
def test_one_update_equals_autograd(arm_label):
    trainer, batch = first_batch(arm_label, "HalfCheetah-v5")
    twin = copy.deepcopy(trainer)
    reference = trainer.algorithm.update_autograd(batch)
    fast = update_group([twin.algorithm], [batch])[0]
    assert reference.keys() == fast.keys()
    for key in reference:
        assert fast[key] == pytest.approx(reference[key], rel=1e-4, abs=1e-6), key
    for a, b in zip([*trainer.policy.parameters(), *trainer.value_fn.parameters()],
                    [*twin.policy.parameters(), *twin.value_fn.parameters()], strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=0, atol=1e-5)
    # the Adam state stays in numpy until asked for (a checkpoint, the autograd path): then it
    # comes back in torch's layout, and the next autograd step continues it
    assert twin.algorithm.engine is not None
    twin.algorithm.release()
    assert twin.algorithm.engine is None
    for p_ref, p_fast in zip(trainer.algorithm.params, twin.algorithm.params, strict=True):
        s_ref, s_fast = trainer.algorithm.optimizer.state[p_ref], twin.algorithm.optimizer.state[p_fast]
        assert float(s_ref["step"]) == float(s_fast["step"]) == 320
        np.testing.assert_allclose(s_fast["exp_avg_sq"].numpy(), s_ref["exp_avg_sq"].numpy(), rtol=1e-3, atol=1e-10)


def test_old_policy_is_a_snapshot():
    """pi_old's log std must not follow the live parameter (it is an expanded view of it)."""
    trainer, batch = first_batch("ppo_klpen")
    before = batch.old_params[1].clone()
    with torch.no_grad():
        trainer.policy.log_std.add_(0.5)
    assert torch.equal(batch.old_params[1], before)


@pytest.mark.parametrize("arm_label", ["a2c", "a2c:ent_coef=0.01:adv_norm=true"])
def test_a2c_numpy_step_equals_autograd(arm_label):
    """A2C's closed-form step (prepare_group + update_group) against autograd + torch's
    RMSprop, over 30 consecutive 5-step iterations from the same start."""
    arm = make_arm(arm_label)
    fast, reference = (Trainer("Hopper-v5", arm.algorithm, arm.config, seed=0, total_steps=1000) for _ in range(2))
    for _ in range(30):
        raw, _ = reference.collector.collect(reference.policy.numpy_actor(), reference.action_rng, 0)
        batch = reference.prepare(raw)
        [fast_batch] = type(fast.algorithm).prepare_group([fast.algorithm], [raw], [batch.progress])
        for name in ("values", "advantages", "returns", "log_probs"):
            np.testing.assert_allclose(getattr(fast_batch, name).numpy(), getattr(batch, name).numpy(),
                                       rtol=1e-4, atol=1e-5)
        expected = reference.algorithm.update_autograd(batch)
        got = fast.algorithm.update(batch)
        for key in expected:
            assert got[key] == pytest.approx(expected[key], rel=1e-3, abs=1e-6), key
    fast.algorithm.sync()  # the engine holds the parameters; the torch modules get them here
    for a, b in zip([*reference.policy.parameters(), *reference.value_fn.parameters()],
                    [*fast.policy.parameters(), *fast.value_fn.parameters()], strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=0, atol=1e-5)
    # the RMSprop state reaches torch's layout at a checkpoint and continues there
    state = fast.algorithm.state_dict()["optimizer"]["state"]
    ref_state = reference.algorithm.optimizer.state_dict()["state"]
    assert state.keys() == ref_state.keys() and all(float(s["step"]) == 30 for s in state.values())
    for k in state:
        np.testing.assert_allclose(state[k]["square_avg"].numpy(), ref_state[k]["square_avg"].numpy(),
                                   rtol=1e-3, atol=1e-10)


@pytest.mark.parametrize("arm_label", ["ppo_clip", "ppo_klpen", "a2c"])
def test_grid_members_equal_single_runs_exactly(arm_label):
    arm = make_arm(arm_label)
    steps = 3 * 2048

    def trainers():  # seed 1 stops a batch early: the group shrinks for the last iteration(s)
        return [Trainer("Hopper-v5", arm.algorithm, arm.config, seed=s, total_steps=steps - (s == 1) * 2048)
                for s in range(3)]

    alone = trainers()
    for t in alone:
        assert train_group([t], [None], checkpoint_every=10**9)[0] == "complete"
    together = trainers()
    assert train_group(together, [None] * 3, checkpoint_every=10**9) == ["complete"] * 3
    for a, b in zip(alone, together, strict=True):
        for p, q in zip(a.state_dict()["policy"].values(), b.state_dict()["policy"].values(), strict=True):
            assert torch.equal(p, q)
        assert getattr(a.algorithm, "beta", None) == getattr(b.algorithm, "beta", None)
        for p, q in zip(a.state_dict()["algorithm"]["optimizer"]["state"].values(),
                        b.state_dict()["algorithm"]["optimizer"]["state"].values(), strict=True):
            assert all(torch.equal(p[k], q[k]) for k in p)
    seeds_differ = alone[0].state_dict()["policy"]["log_std"] != alone[1].state_dict()["policy"]["log_std"]
    assert seeds_differ.any()


def test_grid_mixes_settings_and_algorithms():
    """Members with different clip_eps share one stacked update; members of another arm
    take their own update; every member still equals its run alone."""
    labels = ["ppo_clip", "ppo_clip:clip_eps=0.1", "trpo"]
    steps = 2 * 2048

    def trainers():
        arms = [make_arm(label) for label in labels]
        return [Trainer("Swimmer-v5", a.algorithm, a.config, seed=0, total_steps=steps) for a in arms]

    alone = trainers()
    for t in alone:
        train_group([t], [None], checkpoint_every=10**9)[0]
    together = trainers()
    train_group(together, [None] * 3, checkpoint_every=10**9)
    for a, b in zip(alone, together, strict=True):
        for p, q in zip(a.policy.parameters(), b.policy.parameters(), strict=True):
            assert torch.equal(p, q)
    assert not torch.equal(together[0].policy.log_std, together[1].policy.log_std)  # clip_eps matters


def test_suite_grid_mode_records_equal_runs_alone(tmp_path):
    """`suite run --group-size 3` (one process, three seeds stacked) writes the same records as
    `--group-size 1`, except wall-clock columns; and it resumes a half-done member."""
    from suite import run
    from suite.grid.plan import plan
    from suite.grid.runner import execute

    from .test_determinism import records

    common = dict(algos="ppo_clip,ppo_klpen", tasks=["Hopper-v5"], seeds=3, steps=3 * 2048, workers=1, display="none")
    specs = plan(["ppo_clip", "ppo_klpen"], ["Hopper-v5"], seeds=3, steps=3 * 2048)
    execute(specs[1], tmp_path / "stacked", checkpoint_every=1, stop_after=2)  # seed 1 left half done
    alone = run(runs_dir=tmp_path / "alone", group_size=1, **common)
    stacked = run(runs_dir=tmp_path / "stacked", group_size=3, **common)
    assert list(alone["status"]) == list(stacked["status"]) == ["complete"] * 6
    for spec in specs:
        assert records(tmp_path / "alone" / spec.key) == records(tmp_path / "stacked" / spec.key), spec.key


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.5])
def test_value_fit_equals_autograd(max_grad_norm):
    """TRPO's / VPG's critic fit (10 epochs x 16 minibatches, Adam): stacked vs autograd."""
    from algorithms.optimize import ValueFitter

    trainer, batch = first_batch("trpo")
    twin = copy.deepcopy(trainer)
    fitters = [ValueFitter(t.value_fn, 1e-3, 10, 128, 1e-5, max_grad_norm, np.random.default_rng(5))
               for t in (trainer, twin)]
    reference = fitters[0].fit_autograd(batch.obs, batch.returns)
    fast = fitters[1].fit(batch.obs, batch.returns)
    assert fast == pytest.approx(reference, rel=1e-4)
    for a, b in zip(trainer.value_fn.parameters(), twin.value_fn.parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=0, atol=1e-5)
    assert not torch.equal(trainer.value_fn.net[0].weight, first_batch("trpo")[0].value_fn.net[0].weight)


def test_a2c_engine_hands_its_parameters_over_when_its_group_changes():
    """A2C keeps a group's parameters in the engine between iterations; a member that leaves
    the group (another diverged, say) must take the newest ones into the next engine."""
    from algorithms.a2c import _engine

    arm = make_arm("a2c")
    trainers = [Trainer("Hopper-v5", arm.algorithm, arm.config, seed=s, total_steps=10_000) for s in range(2)]
    train_group(trainers, [None, None], stop_after=3)
    engine = trainers[0].algorithm.engine
    newest = engine.net.params["pW0"][0].copy()
    assert not np.array_equal(newest, trainers[0].policy.mean_net[0].weight.detach().numpy().T)  # torch lags
    alone = _engine([trainers[0].algorithm])
    assert alone is not engine and trainers[1].algorithm.engine is None  # the old group's state was released
    np.testing.assert_array_equal(alone.net.params["pW0"][0], newest)


@pytest.mark.parametrize("arm", ["ppo_clip", "a2c", "trpo"])
def test_kept_engine_state_is_released_before_a_checkpoint_loads(arm):
    """PPO, A2C and the value fitter keep their numpy state between updates; loading a
    checkpoint releases it first, so the loaded parameters and optimizer state are the ones
    the next update starts from (not the kept, newer ones), and the run goes on exactly as
    the run that was checkpointed."""
    spec = make_arm(arm)
    a, b = (Trainer("Hopper-v5", spec.algorithm, spec.config, seed=0, total_steps=8 * spec.config.batch_size)
            for _ in range(2))
    train_group([a], [None], stop_after=2)
    saved = copy.deepcopy(a.state_dict())
    owner = a.algorithm.value_fitter if arm == "trpo" else a.algorithm
    assert owner.engine is not None  # kept between updates
    train_group([b], [None], stop_after=4)  # b runs ahead: its kept state is newer than `saved`
    b.load_state_dict(saved)
    kept = b.algorithm.value_fitter if arm == "trpo" else b.algorithm
    assert kept.engine is None
    train_group([a], [None], stop_after=2)
    train_group([b], [None], stop_after=2)
    for x, y in zip(a.state_dict()["policy"].values(), b.state_dict()["policy"].values(), strict=True):
        assert torch.equal(x, y)
    for x, y in zip(a.state_dict()["value_fn"].values(), b.state_dict()["value_fn"].values(), strict=True):
        assert torch.equal(x, y)


def test_the_numpy_engine_needs_no_torch():
    """algorithms/engine.py loads and steps alone, in a process without torch."""
    import subprocess
    import sys
    from pathlib import Path

    engine = Path(__file__).resolve().parents[1] / "algorithms" / "engine.py"
    code = f"""
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("engine", {str(engine)!r})
engine = importlib.util.module_from_spec(spec); spec.loader.exec_module(engine)
net = engine.ActorCritic(2, [3, 8, 2], [3, 8, 1])
mean, inputs = net.policy_mean(np.ones((2, 5, 3), np.float32))
assert mean.shape == (2, 5, 2) and "torch" not in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
