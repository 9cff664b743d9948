"""A2C + Trust Region: ACER's projection against a numeric constrained solve, and the arm."""

import copy

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from algorithms import Trainer, make_arm
from algorithms.trust_region import linear_kl_projection
from suite.grid.plan import plan
from suite.grid.runner import execute
from tests.records import outcome


def test_projection_equals_a_numeric_constrained_solve():
    rng = np.random.default_rng(0)
    g, k = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    delta = 0.1
    z, scale = linear_kl_projection(torch.from_numpy(g), torch.from_numpy(k), delta)
    for b in range(5):
        gb, kb = g[b], k[b]
        solved = minimize(lambda x, gb=gb: 0.5 * ((gb - x) ** 2).sum(), gb, method="SLSQP",
                          constraints=[{"type": "ineq", "fun": lambda x, kb=kb: delta - kb @ x}], tol=1e-12)
        np.testing.assert_allclose(z[b].numpy(), solved.x, atol=1e-6)
        assert (scale[b] > 0) == (k[b] @ g[b] > delta)


def test_a_slack_constraint_changes_nothing():
    g = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    k = torch.tensor([[0.01, 0.0], [0.0, 0.0]], dtype=torch.float64)  # k.g = 0.01 <= delta; k = 0
    z, scale = linear_kl_projection(g, k, 0.5)
    assert torch.equal(z, g) and torch.equal(scale, torch.zeros(2, dtype=torch.float64))


def test_with_an_unbounded_trust_region_it_is_a2c():
    """delta far above any KL: the projected step is A2C's own step (the `a2c` arm's autograd
    path, same config otherwise)."""
    tr = make_arm("a2c_tr:trust_region_delta=1e9")
    plain = make_arm("a2c")
    a = Trainer("Hopper-v5", tr.algorithm, tr.config, seed=0, total_steps=1000)
    b = Trainer("Hopper-v5", plain.algorithm, plain.config, seed=0, total_steps=1000)
    raw, _ = a.collector.collect(a.policy.numpy_actor(), a.action_rng, 0)
    for _ in range(3):  # a few steps, so the average policy has moved away from the policy
        batch = a.prepare(raw)
        twin = copy.deepcopy(batch)
        metrics = a.algorithm.update_autograd(batch)
        b.algorithm.update_autograd(twin)
        assert metrics["trust_region_active"] == 0.0
    for p, q in zip([*a.policy.parameters(), *a.value_fn.parameters()],
                    [*b.policy.parameters(), *b.value_fn.parameters()], strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_a_tight_trust_region_binds_and_the_average_follows():
    arm = make_arm("a2c_tr:trust_region_delta=1e-8")
    t = Trainer("Hopper-v5", arm.algorithm, arm.config, seed=0, total_steps=1000)
    raw, _ = t.collector.collect(t.policy.numpy_actor(), t.action_rng, 0)
    t.algorithm.update_autograd(t.prepare(raw))
    metrics = t.algorithm.update_autograd(t.prepare(raw))  # now KL[average || policy] > 0
    assert metrics["trust_region_active"] > 0.5 and metrics["kl_to_average"] > 0


def test_a2c_tr_resumes_exactly(tmp_path):
    spec = plan("a2c_tr", ["InvertedPendulum-v5"], seeds=1, steps=80 * 26 * 4)[0]
    assert execute(spec, tmp_path / "straight").status == "complete"
    execute(spec, tmp_path / "resumed", checkpoint_every=1, stop_after=2 * 26)
    assert execute(spec, tmp_path / "resumed").status == "complete"
    assert outcome(tmp_path / "straight") == outcome(tmp_path / "resumed")


def test_defaults_cite_their_source():
    from dataclasses import fields

    config = make_arm("a2c_tr").config
    assert (config.trust_region_delta, config.average_decay) == (0.2, 0.995)
    sources = {f.name: f.metadata["source"] for f in fields(config)}
    assert "pfrl" in sources["trust_region_delta"] and "Tianshou" in sources["num_envs"]
    with pytest.raises(ValueError):
        make_arm("a2c_tr:average_decay=1.0")
