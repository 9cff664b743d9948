import numpy as np
import pytest
import torch
from torch.func import functional_call

from algorithms.nets import GaussianPolicy
from algorithms.trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
    flat_params,
    set_flat_params,
)


@pytest.mark.parametrize("n, seed", [(2, 0), (5, 1), (20, 2), (50, 3)])
def test_conjugate_gradient_matches_numpy_solve(n, seed):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a = m @ m.T + n * np.eye(n)  # symmetric positive definite
    b = rng.normal(size=n)
    A = torch.from_numpy(a)
    x = conjugate_gradient(lambda v: A @ v, torch.from_numpy(b), iters=2 * n, residual_tol=1e-30)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=0, atol=1e-6)


def tiny_policy():
    torch.manual_seed(0)
    policy = GaussianPolicy(3, 2, (4,), init_log_std=-0.3, ortho_init=True,
                            generator=torch.Generator().manual_seed(0)).double()
    obs = torch.randn(16, 3, dtype=torch.float64)
    return policy, obs


@pytest.mark.parametrize("perturb", [0.0, 0.05])
def test_fisher_vector_product_equals_explicit_hessian_of_mean_kl(perturb):
    policy, obs = tiny_policy()
    with torch.no_grad():
        old = tuple(p.detach() for p in policy.dist_params(obs))
    params = list(policy.parameters())
    names = [n for n, _ in policy.named_parameters()]
    if perturb:  # the Hessian of the mean KL anywhere, not only at theta_old (where it is the Fisher)
        set_flat_params(params, flat_params(params) + perturb * torch.randn(sum(p.numel() for p in params),
                                                                            dtype=torch.float64))
    theta = flat_params(params)

    def mean_kl_of(flat):
        chunks, offset = {}, 0
        for name, p in zip(names, params, strict=True):
            chunks[name] = flat[offset:offset + p.numel()].view_as(p)
            offset += p.numel()
        new = functional_call(policy, chunks, (obs,))
        return policy.kl(old, new).mean()

    hessian = torch.autograd.functional.hessian(mean_kl_of, theta)
    damping = 0.1
    fvp = fisher_vector_product(lambda: policy.kl(old, policy.dist_params(obs)).mean(), params, damping)
    for seed in range(3):
        v = torch.randn(theta.numel(), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(fvp(v), hessian @ v + damping * v, rtol=1e-9, atol=1e-10)
    if not perturb:  # at theta_old the Hessian is the Fisher matrix: positive semi-definite
        assert torch.linalg.eigvalsh(hessian).min() > -1e-8


def test_line_search_keeps_old_params_when_no_step_qualifies():
    old = torch.tensor([1.0, 2.0])
    step = torch.tensor([1.0, 1.0])
    params, fraction = backtracking_line_search(lambda c: (-1.0, 0.0), old, step, max_kl=0.01)
    assert fraction == 0.0 and torch.equal(params, old)
    params, fraction = backtracking_line_search(lambda c: (1.0, 0.5), old, step, max_kl=0.01)
    assert fraction == 0.0 and torch.equal(params, old)
    params, fraction = backtracking_line_search(lambda c: (float("nan"), 0.0), old, step, max_kl=0.01)
    assert fraction == 0.0 and torch.equal(params, old)


def test_line_search_accepts_first_step_within_kl_that_improves():
    old, step = torch.zeros(1), torch.ones(1)
    seen = []

    def evaluate(candidate):
        f = float(candidate[0])
        seen.append(f)
        return f, 0.04 * f * f  # KL grows with the step; max_kl 0.01 allows f <= 0.5

    params, fraction = backtracking_line_search(evaluate, old, step, max_kl=0.01, shrink=0.5)
    assert seen == [1.0, 0.5] and fraction == 0.5 and float(params[0]) == 0.5


def test_line_search_accepts_the_first_qualifying_step_and_never_kl_above_max():
    """Random improvements and KLs: the search must return exactly the first candidate (in the
    order tried) with a positive improvement and KL <= max_kl, or the old parameters with
    fraction 0 when there is none; both outcomes occur, so a search that always rejects (or
    always accepts) fails here."""
    rng = np.random.default_rng(0)
    outcomes = {"accepted": 0, "rejected": 0}
    for _ in range(200):
        scale, max_kl = rng.uniform(0.001, 1.0), rng.uniform(0.001, 0.05)
        tried = []  # (fraction, improvement, kl) in the order evaluated

        def evaluate(candidate, scale=scale, tried=tried):
            f = float(candidate[0])
            improvement, kl = rng.normal(), scale * f * f * rng.uniform(0.5, 1.5)
            tried.append((f, improvement, kl))
            return improvement, kl

        params, fraction = backtracking_line_search(evaluate, torch.zeros(1), torch.ones(1), max_kl, shrink=0.8)
        first = next(((f, kl) for f, improvement, kl in tried if improvement > 0 and kl <= max_kl), None)
        if first is None:
            assert fraction == 0.0 and float(params[0]) == 0.0 and len(tried) == 10
            outcomes["rejected"] += 1
        else:
            assert fraction == pytest.approx(first[0]) and float(params[0]) == pytest.approx(first[0])
            assert first[1] <= max_kl and tried[-1][0] == pytest.approx(first[0])  # no candidate after it
            outcomes["accepted"] += 1
    assert outcomes["accepted"] > 20 and outcomes["rejected"] > 0, outcomes
