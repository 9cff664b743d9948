"""The numpy engine: stacked parameters, tanh-MLP forward and backward, Adam, RMSprop and
the global-norm clip, for N runs at once. No torch here; `bridge.py` alone moves
parameters and optimizer state between these arrays and the torch modules.

Why numpy: a PPO minibatch step on two 2x64 MLPs costs ~1 ms through autograd, almost all
of it per-op overhead (graph building, dispatch, small-tensor allocation), not arithmetic.
Written out by hand in float32 the same step is ~60 array operations, and the networks of
N runs (seeds or settings of one task, a group) are stacked along a leading axis, so one
set of operations steps all N members; a run alone is a group of one.

Shapes: parameters [N, *shape]; batches [N, B, features]. A member's rows go through the
same kernels whatever N is, so a member's numbers do not depend on its group.

Per member, every parameter lives in one flat float32 row (`Layout.flat[i]`), and the
weight matrices are views into it, so the clip's norm and the optimizers work on one
array. Weights are stored [in, out] (x @ W), the transpose of torch's nn.Linear.

The arithmetic matches torch's autograd + clip_grad_norm_ + Adam/RMSprop to float32
rounding, not bit for bit: sums run in another order (tests/test_engine.py compares
gradients, one update and short training runs against the autograd path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class Layout:
    """Named parameter arrays of N members as views into one flat [N, P] float32 array."""

    def __init__(self, n: int, shapes: dict[str, tuple[int, ...]]):
        self.n, self.shapes = n, shapes
        self.size = sum(math.prod(s) for s in shapes.values())
        self.flat = np.zeros((n, self.size), dtype=np.float32)
        self.views = self.view(self.flat)

    def view(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Views of a [N, P] array with this layout, each [N, *shape]."""
        views, offset = {}, 0
        for name, shape in self.shapes.items():
            size = math.prod(shape)
            part = flat[:, offset:offset + size].reshape(self.n, *shape)
            assert np.shares_memory(part, flat), "the layout must give views, not copies"
            views[name], offset = part, offset + size
        return views

    def zeros(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        flat = np.zeros_like(self.flat)
        return flat, self.view(flat)


# -- tanh MLPs: a list of layers (W [in, out], b [1, out]) ------------------------------------
def mlp_shapes(prefix: str, sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for i in range(len(sizes) - 1):
        shapes[f"{prefix}W{i}"] = (sizes[i], sizes[i + 1])
        shapes[f"{prefix}b{i}"] = (1, sizes[i + 1])
    return shapes


def mlp_layers(p: dict[str, np.ndarray], prefix: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (W, b) pairs of the MLP named `prefix` in a parameter dict, in order."""
    return [(p[f"{prefix}W{i}"], p[f"{prefix}b{i}"]) for i in range(sum(k.startswith(f"{prefix}W") for k in p))]


def mlp_forward(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Output and the layer inputs kept for the backward pass. Stacked ([N, B, in] with
    parameters [N, ...]) or one network ([B, in] with W [in, out], b [out]) alike:
    x @ W + b, tanh between layers, none after the last."""
    inputs = [x]
    h = x
    last = len(layers) - 1
    for i, (w, b) in enumerate(layers):
        h = np.matmul(h, w)
        h += b
        if i < last:
            np.tanh(h, out=h)
            inputs.append(h)
    return h, inputs


def mlp_backward(layers: Sequence[tuple[np.ndarray, np.ndarray]], grads: Sequence[tuple[np.ndarray, np.ndarray]],
                 inputs: list[np.ndarray], d_out: np.ndarray) -> None:
    """Write the stacked MLP's parameter gradients into the (dW, db) views `grads`, given
    d loss / d output [N, B, out]: dW = h^T d, db = sum_b d, and through the tanh before
    layer i, d h = (d W^T) * (1 - h^2)."""
    d = d_out
    for i in range(len(layers) - 1, -1, -1):
        np.matmul(inputs[i].transpose(0, 2, 1), d, out=grads[i][0])
        np.sum(d, axis=1, keepdims=True, out=grads[i][1])
        if i:
            d = np.matmul(d, layers[i][0].transpose(0, 2, 1))
            h = inputs[i]
            d *= 1.0 - h * h


# -- optimizers: each member's step count and learning rate ---------------------------------
class Adam:
    """torch.optim.Adam's arithmetic (no weight decay, no amsgrad) on stacked flat rows.
    Its state in torch's names: `slots()` (exp_avg, exp_avg_sq) and `step` [N, 1]."""

    def __init__(self, n: int, size: int, betas: tuple[float, float], eps: float):
        self.m = np.zeros((n, size), dtype=np.float32)
        self.v = np.zeros((n, size), dtype=np.float32)
        self._scratch = (np.empty_like(self.m), np.empty_like(self.m))  # update's temporaries
        self.step = np.zeros((n, 1), dtype=np.float64)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def update(self, flat: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        """One step for every member; `lr` is [N, 1]. Written into two scratch rows rather
        than fresh temporaries: the same operations in the same order, so the same floats."""
        b1, b2 = self.beta1, self.beta2
        t, u = self._scratch
        self.step += 1.0
        np.subtract(grad, self.m, out=t)  # m += (1 - b1) (g - m); torch: exp_avg.lerp_(grad, 1 - beta1)
        t *= 1.0 - b1
        self.m += t
        self.v *= b2
        np.multiply(grad, 1.0 - b2, out=t)  # v = b2 v + ((1 - b2) g) g
        t *= grad
        self.v += t
        step_size = (lr / (1.0 - b1 ** self.step)).astype(np.float32)
        bias2_sqrt = np.sqrt(1.0 - b2 ** self.step).astype(np.float32)
        np.sqrt(self.v, out=t)  # denom = sqrt(v) / sqrt(1 - b2^t) + eps
        t /= bias2_sqrt
        t += np.float32(self.eps)
        np.multiply(step_size, self.m, out=u)  # flat -= (step_size m) / denom
        u /= t
        flat -= u

    def slots(self) -> dict[str, np.ndarray]:
        return {"exp_avg": self.m, "exp_avg_sq": self.v}


class RMSprop:
    """torch.optim.RMSprop's arithmetic (no momentum, not centered, no weight decay) on
    stacked flat rows. Its state in torch's names: `slots()` (square_avg) and `step`."""

    def __init__(self, n: int, size: int, alpha: float, eps: float):
        self.square_avg = np.zeros((n, size), dtype=np.float32)
        self.step = np.zeros((n, 1), dtype=np.float64)
        self.alpha, self.eps = alpha, eps

    def update(self, flat: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        """One step for every member; `lr` is [N, 1]."""
        self.step += 1.0
        self.square_avg *= np.float32(self.alpha)  # torch: square_avg.mul_(alpha).addcmul_(g, g, 1 - alpha)
        self.square_avg += np.float32(1.0 - self.alpha) * grad * grad
        avg = np.sqrt(self.square_avg) + np.float32(self.eps)
        flat -= lr.astype(np.float32) * (grad / avg)  # torch: param.addcdiv_(grad, avg, value=-lr)

    def slots(self) -> dict[str, np.ndarray]:
        return {"square_avg": self.square_avg}


def clip_global_norm(grad: np.ndarray, max_norm: np.ndarray) -> np.ndarray:
    """torch.nn.utils.clip_grad_norm_ per member row: scale by min(1, max / (norm + 1e-6)).
    `max_norm` is [N, 1] (inf: no clip). Returns the norms before clipping."""
    norms = np.sqrt((grad * grad).sum(1, keepdims=True))  # row by row: the same whatever N
    grad *= np.minimum(max_norm / (norms + np.float32(1e-6)), np.float32(1.0))
    return norms[:, 0]


# -- the networks of a group -------------------------------------------------------------------
class ActorCritic:
    """N Gaussian MLP policies (mean net and a state-independent log std) and N value MLPs of
    one shape, stacked: parameters, gradients, forward and backward. `pol_sizes=None`: value
    networks only (TRPO's and VPG's critic fit)."""

    def __init__(self, n: int, pol_sizes: Sequence[int] | None, val_sizes: Sequence[int]):
        shapes: dict[str, tuple[int, ...]] = {}
        if pol_sizes:
            shapes.update(mlp_shapes("p", pol_sizes))
            shapes["log_std"] = (1, pol_sizes[-1])
        shapes.update(mlp_shapes("v", val_sizes))
        self.layout = Layout(n, shapes)
        self.params = self.layout.views
        self.grad_flat, self.grads = self.layout.zeros()
        self.pol, self.val = mlp_layers(self.params, "p"), mlp_layers(self.params, "v")
        self.pol_grads, self.val_grads = mlp_layers(self.grads, "p"), mlp_layers(self.grads, "v")

    def policy_mean(self, obs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The Gaussian means [N, B, A] and the layer inputs for `backward`."""
        return mlp_forward(self.pol, obs)

    @property
    def log_std(self) -> np.ndarray:
        """[N, 1, A]."""
        return self.params["log_std"]

    def value(self, obs: np.ndarray, rows: slice | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """V [N, B] for observations [N, B, obs] (with `rows`, of those members only)."""
        layers = self.val if rows is None else [(w[rows], b[rows]) for w, b in self.val]
        out, inputs = mlp_forward(layers, obs)
        return out[..., 0], inputs

    def backward(self, pol_inputs, d_mean: np.ndarray, d_log_std: np.ndarray,
                 val_inputs, d_value: np.ndarray) -> None:
        """Gradients into `grad_flat` from d loss / d mean [N, B, A], d loss / d log std
        [N, 1, A] and d loss / d V [N, B]."""
        mlp_backward(self.pol, self.pol_grads, pol_inputs, d_mean)
        self.grads["log_std"][...] = d_log_std
        self.backward_value(val_inputs, d_value)

    def backward_value(self, val_inputs, d_value: np.ndarray) -> None:
        mlp_backward(self.val, self.val_grads, val_inputs, d_value[..., None])
