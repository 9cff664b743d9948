import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from algorithms.distributions import gaussian_entropy, gaussian_kl, gaussian_log_prob
from algorithms.losses import (
    adaptive_beta,
    clipped_surrogate_loss,
    explained_variance,
    kl_penalty_loss,
    normalize_advantages,
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
    clipped, _ = value_loss(v, ret, old, clip_eps=0.2)
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
