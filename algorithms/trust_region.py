"""Trust-region numerics as free functions: flat parameters and gradients, the
Fisher-vector product, conjugate gradient, and the backtracking line search.
Used by TRPO and NPG; each is tested on its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def flat_params(params: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def set_flat_params(params: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def flat_grad(output: torch.Tensor, params: Sequence[torch.Tensor], **kwargs) -> torch.Tensor:
    grads = torch.autograd.grad(output, params, **kwargs)
    return torch.cat([g.reshape(-1) for g in grads])


def fisher_vector_product(mean_kl: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                          damping: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """v -> (H + damping I) v, H the Hessian of `mean_kl()` in `params`, by double
    backpropagation. With mean_kl = mean over states of KL[pi_old || pi_theta] at
    theta = theta_old (pi_old detached), H is the Fisher information matrix."""
    kl_grad = flat_grad(mean_kl(), params, create_graph=True)

    def product(v: torch.Tensor) -> torch.Tensor:
        return flat_grad(kl_grad @ v, params, retain_graph=True) + damping * v

    return product


def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor,
                       iters: int = 10, residual_tol: float = 1e-10) -> torch.Tensor:
    """Approximately solve A x = b for symmetric positive-definite A given as `matvec`."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    for _ in range(iters):
        if rr < residual_tol:
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def backtracking_line_search(evaluate: Callable[[torch.Tensor], tuple[float, float]], old: torch.Tensor,
                             full_step: torch.Tensor, max_kl: float, max_backtracks: int = 10,
                             shrink: float = 0.5) -> tuple[torch.Tensor, float]:
    """Try old + f * full_step for f = 1, shrink, shrink^2, ...; accept the first whose
    `evaluate(params) -> (surrogate improvement, mean KL)` has a finite, positive
    improvement and KL <= max_kl. Returns (accepted params, f), or (old, 0.0) when no step
    qualifies. `evaluate` may leave the parameters anywhere: the caller sets the result."""
    fraction = 1.0
    for _ in range(max_backtracks):
        candidate = old + fraction * full_step
        improvement, kl = evaluate(candidate)
        finite = torch.isfinite(torch.tensor([improvement, kl])).all()
        if finite and improvement > 0 and kl <= max_kl:
            return candidate, fraction
        fraction *= shrink
    return old.clone(), 0.0


def linear_kl_projection(g: torch.Tensor, k: torch.Tensor, delta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ACER's efficient trust-region step (Wang et al. 2016, eq. 12-13), per row of [B, D]:
    z = argmin_z 1/2 |g - z|^2 subject to k . z <= delta, in closed form
    z = g - max(0, (k . g - delta) / |k|^2) k, with g the gradient of a sample's objective in
    its policy's distribution statistics and k that of KL[average policy || policy]. A row
    whose constraint is slack (k . g <= delta, k = 0 included) keeps g. Returns (z, the
    multipliers max(0, ...) per row)."""
    knorm2 = (k * k).sum(-1)
    excess = (k * g).sum(-1) - delta
    scale = torch.where(knorm2 > 0, torch.clamp(excess, min=0.0) / torch.where(knorm2 > 0, knorm2, 1.0), 0.0)
    return g - scale[:, None] * k, scale
