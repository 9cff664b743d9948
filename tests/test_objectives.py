import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from algorithms.distributions import (
    gaussian_entropy,
    gaussian_entropy_np,
    gaussian_kl,
    gaussian_kl_np,
    gaussian_log_prob,
    gaussian_log_prob_np,
)
from algorithms.objectives import (
    OBJECTIVES,
    adaptive_beta,
    clipped_surrogate_loss,
    clipped_value_loss,
    explained_variance,
    gaussian_policy_grad,
    kl_penalty_loss,
    normalize_advantages,
    normalize_advantages_np,
    value_loss,
)


def test_clipped_objective_gradient_zero_outside_clip_region_on_the_min_side():
    eps = 0.2
    ratio = torch.tensor([0.5, 0.79, 0.9, 1.1, 1.21, 1.5, 0.5, 1.5], requires_grad=True)
    adv = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0])
    loss, info = clipped_surrogate_loss(ratio, adv, eps)
    loss.backward()
    grad = ratio.grad * len(ratio)  # d loss / d ratio_i = -A_i where the unclipped term is picked
    # A > 0: clipped (zero gradient) only above 1+eps; below 1-eps the min picks r*A.
    # A < 0: clipped only below 1-eps; above 1+eps the min picks r*A.
    expected = torch.tensor([-1.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 1.0])
    torch.testing.assert_close(grad, expected)
    assert float(info["clip_fraction"]) == pytest.approx(6 / 8)


def test_adaptive_beta_rule():
    target = 0.01
    assert adaptive_beta(1.0, 0.001, target) == 0.5      # d < d_targ / 1.5: halve
    assert adaptive_beta(1.0, 0.0066, target) == 0.5
    assert adaptive_beta(1.0, 0.0067, target) == 1.0     # inside [d_targ/1.5, 1.5 d_targ]
    assert adaptive_beta(1.0, 0.01, target) == 1.0
    assert adaptive_beta(1.0, 0.015, target) == 1.0
    assert adaptive_beta(1.0, 0.0151, target) == 2.0     # d > 1.5 d_targ: double
    beta = 1.0
    for kl in [0.1, 0.1, 0.0, 0.01]:
        beta = adaptive_beta(beta, kl, target)
    assert beta == 2.0


def test_gaussian_kl_log_prob_entropy_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mp, mq = torch.randn(32, 3, generator=g), torch.randn(32, 3, generator=g)
    sp, sq = torch.randn(3, generator=g) * 0.5, torch.randn(32, 3, generator=g) * 0.5
    p = Independent(Normal(mp, sp.exp().expand(32, 3)), 1)
    q = Independent(Normal(mq, sq.exp()), 1)
    torch.testing.assert_close(gaussian_kl(mp, sp, mq, sq), kl_divergence(p, q))
    a = torch.randn(32, 3, generator=g)
    torch.testing.assert_close(gaussian_log_prob(mp, sp, a), p.log_prob(a))
    torch.testing.assert_close(gaussian_entropy(sp).expand(32), p.entropy())
    assert torch.all(gaussian_kl(mp, sp, mp, sp.expand(32, 3)).abs() < 1e-6)


def test_kl_penalty_loss_value():
    ratio = torch.tensor([1.0, 2.0])
    adv = torch.tensor([1.0, 3.0])
    kl = torch.tensor([0.1, 0.3])
    loss, info = kl_penalty_loss(ratio, adv, kl, beta=2.0)
    assert float(loss) == pytest.approx(-(1.0 + 6.0) / 2 + 2.0 * 0.2)
    assert float(info["kl"]) == pytest.approx(0.2)


def test_value_loss_clipped_takes_the_larger_error():
    v = torch.tensor([1.0, 1.0])
    old = torch.tensor([0.0, 0.0])
    ret = torch.tensor([1.0, 0.0])
    plain, _ = value_loss(v, ret)
    assert float(plain) == pytest.approx(0.5 * (0.0 + 1.0) / 2)
    clipped, _ = clipped_value_loss(v, ret, old, clip_eps=0.2)
    # sample 0: max(0, (0.2-1)^2=0.64); sample 1: max(1, 0.04) -> 0.5 * (0.64 + 1) / 2
    assert float(clipped) == pytest.approx(0.5 * (0.64 + 1.0) / 2)


def test_advantage_normalization_and_explained_variance():
    adv = normalize_advantages(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert float(adv.mean()) == pytest.approx(0.0, abs=1e-7)
    assert float(adv.std(unbiased=False)) == pytest.approx(1.0, abs=1e-6)
    targets = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(targets, targets) == 1.0
    assert explained_variance(0.5 * targets, targets) == pytest.approx(0.75)
    assert np.isnan(explained_variance(targets, torch.ones(4)))
    assert explained_variance(torch.full((4,), 2.5), targets) == pytest.approx(0.0)


def test_advantage_normalization_faces_agree():
    adv = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32) * 5 + 2
    expected = np.stack([normalize_advantages(torch.from_numpy(row)).numpy() for row in adv])
    np.testing.assert_allclose(normalize_advantages_np(adv), expected, rtol=1e-5, atol=1e-6)


def test_gaussian_faces_agree():
    rng = np.random.default_rng(1)
    mean, old_mean, actions = (rng.standard_normal((2, 16, 3)).astype(np.float32) for _ in range(3))
    log_std = (0.3 * rng.standard_normal((2, 1, 3))).astype(np.float32)
    old_log_std = np.broadcast_to(0.3 * rng.standard_normal((2, 1, 3)), (2, 16, 3)).astype(np.float32)
    for i in range(2):
        t = {k: torch.from_numpy(np.ascontiguousarray(v[i])) for k, v in
             dict(mean=mean, old_mean=old_mean, actions=actions, log_std=log_std[:, 0], old=old_log_std).items()}
        np.testing.assert_allclose(gaussian_log_prob_np(mean, log_std, actions)[0][i],
                                   gaussian_log_prob(t["mean"], t["log_std"], t["actions"]).numpy(), rtol=1e-5)
        np.testing.assert_allclose(gaussian_kl_np(old_mean, old_log_std, mean, log_std)[0][i],
                                   gaussian_kl(t["old_mean"], t["old"], t["mean"], t["log_std"]).numpy(), rtol=1e-5)
        np.testing.assert_allclose(gaussian_entropy_np(log_std[:, 0])[i], gaussian_entropy(t["log_std"]).numpy(),
                                   rtol=1e-6)


def _policy_case(rng, N=2, B=64, A=3):
    f32 = np.float32
    case = dict(mean=rng.standard_normal((N, B, A)).astype(f32),
                log_std=(0.3 * rng.standard_normal((N, 1, A))).astype(f32),
                actions=rng.standard_normal((N, B, A)).astype(f32),
                adv=rng.standard_normal((N, B)).astype(f32),
                old_mean=rng.standard_normal((N, B, A)).astype(f32))
    case["old_log_std"] = np.broadcast_to(case["log_std"] + f32(0.1), (N, B, A)).copy()
    # pi_old near the current policy, so that ratios fall on both sides of the clip range
    logp, _, _ = gaussian_log_prob_np(case["mean"], case["log_std"], case["actions"])
    case["old_logp"] = (logp + 0.3 * rng.standard_normal((N, B))).astype(f32)
    settings = dict(clip_eps=np.array([[0.2], [0.1]], f32)[:N], beta=np.array([[[1.0]], [[3.0]]], f32)[:N],
                    ent_coef=np.array([[[0.0]], [[0.01]]], f32)[:N])
    return case, settings


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_closed_form_equals_autograd_of_its_reference(name):
    """The one table, entry by entry: the numpy closed form's value and derivatives against
    autograd of the torch reference, member by member (two members, different settings)."""
    entry = OBJECTIVES[name]
    rng = np.random.default_rng(7)
    if entry.kind == "value":
        N, B = 2, 64
        values, returns = (rng.standard_normal((N, B)).astype(np.float32) for _ in range(2))
        old_values = (values + 0.3 * rng.standard_normal((N, B))).astype(np.float32)  # clip active on some
        eps = np.array([[0.2], [0.1]], np.float32)
        loss, residual = entry.closed_form(values, returns, old_values=old_values, clip_eps=eps)
        for i in range(N):
            v = torch.tensor(values[i], requires_grad=True)
            ref, _ = entry.reference(v, torch.from_numpy(returns[i]), old_values=torch.from_numpy(old_values[i]),
                                     clip_eps=float(eps[i, 0]))
            ref.backward()
            assert loss[i] == pytest.approx(ref.item(), rel=1e-5)
            np.testing.assert_allclose(entry.residual_factor * residual[i] / B, v.grad.numpy(), rtol=1e-5, atol=1e-8)
        return
    case, settings = _policy_case(rng)
    out, ratio = gaussian_policy_grad(name, case["mean"], case["log_std"], case["actions"], case["adv"],
                                      old_logp=case["old_logp"], old_mean=case["old_mean"],
                                      old_log_std=case["old_log_std"], **settings)
    if entry.kind == "policy":
        assert ((ratio < 0.8) | (ratio > 1.2)).mean() > 0.1  # the clip has work to do
    for i in range(2):
        mean = torch.tensor(case["mean"][i], requires_grad=True)
        log_std = torch.tensor(case["log_std"][i, 0], requires_grad=True)
        logp = gaussian_log_prob(mean, log_std, torch.from_numpy(case["actions"][i]))
        adv = torch.from_numpy(case["adv"][i])
        if entry.kind == "pg":
            ref, _ = entry.reference(logp, adv)
        else:
            r = torch.exp(logp - torch.from_numpy(case["old_logp"][i]))
            kl = gaussian_kl(torch.from_numpy(case["old_mean"][i]), torch.from_numpy(case["old_log_std"][i]),
                             mean, log_std)
            ref, _ = entry.reference(r, adv, clip_eps=float(settings["clip_eps"][i, 0]),
                                     beta=float(settings["beta"][i, 0, 0]), kl=kl)
        (ref - float(settings["ent_coef"][i, 0, 0]) * gaussian_entropy(log_std)).backward()
        assert out.loss[i] == pytest.approx(ref.item(), rel=1e-5), name
        np.testing.assert_allclose(out.d_mean[i], mean.grad.numpy(), rtol=1e-4, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(out.d_log_std[i, 0], log_std.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
        assert np.abs(mean.grad.numpy()).max() > 0
