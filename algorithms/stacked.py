"""Stacked networks with hand-written gradients: the fast path of the PPO update.

A PPO minibatch step on two 2x64 MLPs costs ~1 ms through autograd, almost all of it
per-op overhead (graph building, dispatch, small-tensor allocation), not arithmetic.
Here the same step is written out by hand in numpy float32: forward, the loss's gradient
in closed form, backprop through the tanh layers, the global-norm clip and Adam, ~60
array operations in all. The networks of N runs (seeds or settings of one task) are
stacked along a leading axis, so one set of operations steps all N members; a single run
is a stack of one.

Per member, every parameter lives in one flat float32 row (`Stack.flat[i]`), and the
weight matrices are views into it, so the clip's norm and Adam work on one array.
Weights are stored [in, out] (x @ W), the transpose of torch's nn.Linear.

The arithmetic matches torch's autograd + clip_grad_norm_ + Adam to float32 rounding, not
bit for bit: sums run in another order (tests/test_stacked.py compares gradients, one
update and short training runs against the autograd path, to a stated tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class Stack:
    """Named parameter arrays of N members as views into one flat [N, P] float32 array."""

    def __init__(self, n: int, shapes: dict[str, tuple[int, ...]]):
        self.n, self.shapes = n, shapes
        self.size = sum(math.prod(s) for s in shapes.values())
        self.flat = np.zeros((n, self.size), dtype=np.float32)
        self.views = self.view(self.flat)

    def view(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Views of a [N, P] array with this stack's layout, each [N, *shape]."""
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


def mlp_shapes(prefix: str, sizes: Sequence[int]) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for i in range(len(sizes) - 1):
        shapes[f"{prefix}W{i}"] = (sizes[i], sizes[i + 1])
        shapes[f"{prefix}b{i}"] = (1, sizes[i + 1])
    return shapes


def mlp_forward(p: dict[str, np.ndarray], prefix: str, layers: int, x: np.ndarray
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Output [N, B, out] and the layer inputs kept for the backward pass."""
    inputs = [x]
    h = x
    for i in range(layers):
        h = np.matmul(h, p[f"{prefix}W{i}"])
        h += p[f"{prefix}b{i}"]
        if i < layers - 1:
            np.tanh(h, out=h)
            inputs.append(h)
    return h, inputs


def mlp_backward(p: dict[str, np.ndarray], g: dict[str, np.ndarray], prefix: str, layers: int,
                 inputs: list[np.ndarray], d_out: np.ndarray) -> None:
    """Write the gradients of the stacked MLP's parameters into the views `g`."""
    d = d_out
    for i in range(layers - 1, -1, -1):
        np.matmul(inputs[i].transpose(0, 2, 1), d, out=g[f"{prefix}W{i}"])
        np.sum(d, axis=1, keepdims=True, out=g[f"{prefix}b{i}"])
        if i:
            d = np.matmul(d, p[f"{prefix}W{i}"].transpose(0, 2, 1))
            h = inputs[i]
            d *= 1.0 - h * h


def linears(net: nn.Module) -> list[nn.Linear]:
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


class Adam:
    """torch.optim.Adam's arithmetic (no weight decay, no amsgrad) on stacked flat rows,
    with each member's step count and learning rate; state travels in torch's layout."""

    def __init__(self, n: int, size: int, betas: tuple[float, float], eps: float):
        self.m = np.zeros((n, size), dtype=np.float32)
        self.v = np.zeros((n, size), dtype=np.float32)
        self.step = np.zeros((n, 1), dtype=np.float64)
        self.beta1, self.beta2 = betas
        self.eps = eps

    def update(self, flat: np.ndarray, grad: np.ndarray, lr: np.ndarray) -> None:
        """One step for every member; `lr` is [N, 1]."""
        b1, b2 = self.beta1, self.beta2
        self.step += 1.0
        self.m += (1.0 - b1) * (grad - self.m)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        self.v *= b2
        self.v += (1.0 - b2) * grad * grad
        step_size = (lr / (1.0 - b1 ** self.step)).astype(np.float32)
        bias2_sqrt = np.sqrt(1.0 - b2 ** self.step).astype(np.float32)
        denom = np.sqrt(self.v) / bias2_sqrt + np.float32(self.eps)
        flat -= step_size * self.m / denom


class RMSprop:
    """torch.optim.RMSprop's arithmetic (no momentum, not centered, no weight decay) on
    stacked flat rows, with each member's step count and learning rate; state travels in
    torch's layout ("square_avg", "step")."""

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


class StackedActorCritic:
    """N Gaussian MLP policies and N value MLPs of one shape, stacked, with the update's
    maths in closed form. Parameters are copied in from the members' torch modules before
    an update (`load`) and written back after it (`store`), with the Adam state."""

    def __init__(self, policies: Sequence[nn.Module] | None, value_fns: Sequence[nn.Module]):
        """`policies=None`: value networks only (TRPO's and VPG's critic fit)."""
        self.policies, self.value_fns = list(policies or []), list(value_fns)
        shapes: dict[str, tuple[int, ...]] = {}
        self.order: list[tuple[str, bool]] = []  # (stack name, stored transposed) in torch's order
        self.pol_layers = 0
        if self.policies:
            pol = linears(self.policies[0].mean_net)
            self.pol_layers = len(pol)
            shapes.update(mlp_shapes("p", [pol[0].in_features] + [m.out_features for m in pol]))
            shapes["log_std"] = (1, pol[-1].out_features)
            self.order += [(f"pW{i // 2}", True) if i % 2 == 0 else (f"pb{i // 2}", False)
                           for i in range(2 * len(pol))] + [("log_std", False)]
        val = linears(self.value_fns[0].net)
        self.val_layers = len(val)
        shapes.update(mlp_shapes("v", [val[0].in_features] + [m.out_features for m in val]))
        self.order += [(f"vW{i // 2}", True) if i % 2 == 0 else (f"vb{i // 2}", False) for i in range(2 * len(val))]
        self.stack = Stack(len(self.value_fns), shapes)
        self.params = self.stack.views
        self.grad_flat, self.grads = self.stack.zeros()
        self._torch_params = [self._collect_torch_params(i) for i in range(self.stack.n)]

    def torch_params(self, member: int) -> list[torch.Tensor]:
        """The member's parameters in the stack's order: policy (mean net, log std), then value."""
        return self._torch_params[member]

    def _collect_torch_params(self, member: int) -> list[torch.Tensor]:
        out: list[torch.Tensor] = []
        if self.policies:
            pol = self.policies[member]
            for m in linears(pol.mean_net):
                out += [m.weight, m.bias]
            out.append(pol.log_std)
        for m in linears(self.value_fns[member].net):
            out += [m.weight, m.bias]
        return out

    def load(self) -> None:
        for i in range(self.stack.n):
            for (name, transposed), param in zip(self.order, self.torch_params(i), strict=True):
                value = param.detach().numpy()
                self.params[name][i] = (value.T if transposed else value.reshape(1, -1))

    def store(self) -> None:
        for i in range(self.stack.n):
            with torch.no_grad():
                for (name, transposed), param in zip(self.order, self.torch_params(i), strict=True):
                    value = self.params[name][i]
                    param.copy_(torch.from_numpy(np.ascontiguousarray(value.T if transposed
                                                                      else value.reshape(param.shape))))

    # -- optimizer state in torch.optim's layout (Adam, RMSprop) ---------------------------
    def load_adam(self, adam: Adam, states: Sequence[dict]) -> None:
        """`states[i]` maps the member's torch parameters (stack order) to Adam's state."""
        self.load_optimizer({"exp_avg": adam.m, "exp_avg_sq": adam.v}, adam.step, states)

    def store_adam(self, adam: Adam, states: Sequence[dict]) -> None:
        self.store_optimizer({"exp_avg": adam.m, "exp_avg_sq": adam.v}, adam.step, states)

    def load_optimizer(self, slots: dict[str, np.ndarray], step: np.ndarray, states: Sequence[dict]) -> None:
        """Fill the stacked optimizer arrays `slots` (torch state key -> [N, P]) and `step`
        ([N, 1]) from `states[i]`, member i's torch optimizer state (parameter -> dict)."""
        views = {key: self.stack.view(array) for key, array in slots.items()}
        for i, state in enumerate(states):
            params = self.torch_params(i)
            steps = {float(state[p]["step"]) for p in params if p in state}
            if not steps:
                for array in slots.values():
                    array[i] = 0.0
                step[i] = 0.0
                continue
            assert len(steps) == 1, "every parameter of a member has taken the same optimizer steps"
            step[i] = steps.pop()
            for (name, transposed), p in zip(self.order, params, strict=True):
                for key, view in views.items():
                    value = state[p][key].numpy()
                    view[name][i] = value.T if transposed else value.reshape(1, -1)

    def store_optimizer(self, slots: dict[str, np.ndarray], step: np.ndarray, states: Sequence[dict]) -> None:
        views = {key: self.stack.view(array) for key, array in slots.items()}
        for i, state in enumerate(states):
            for (name, transposed), p in zip(self.order, self.torch_params(i), strict=True):
                entry = {"step": torch.tensor(float(step[i, 0]))}
                for key, view in views.items():
                    value = view[name][i]
                    entry[key] = torch.from_numpy(np.ascontiguousarray(value.T if transposed
                                                                       else value.reshape(p.shape)))
                state[p] = entry

    # -- forward passes ----------------------------------------------------------------
    def policy_mean(self, obs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        return mlp_forward(self.params, "p", self.pol_layers, obs)

    def value(self, obs: np.ndarray, rows: slice | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """V [N, B] for observations [N, B, obs] (with `rows`, of those members only)."""
        params = self.params if rows is None else {k: v[rows] for k, v in self.params.items()}
        out, inputs = mlp_forward(params, "v", self.val_layers, obs)
        return out[..., 0], inputs

    def log_prob(self, mean: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-sample log-probabilities [N, B], the standardized residuals z [N, B, A] and
        1 / std [N, 1, A]."""
        log_std = self.params["log_std"]  # [N, 1, A]
        inv_std = np.exp(-log_std)
        z = (actions - mean) * inv_std
        logp = (-0.5 * z * z - log_std - np.float32(_HALF_LOG_2PI)).sum(-1)
        return logp, z, inv_std

    def backward(self, pol_inputs, d_mean: np.ndarray, d_log_std: np.ndarray,
                 val_inputs, d_value: np.ndarray) -> None:
        mlp_backward(self.params, self.grads, "p", self.pol_layers, pol_inputs, d_mean)
        self.grads["log_std"][...] = d_log_std
        self.backward_value(val_inputs, d_value)

    def backward_value(self, val_inputs, d_value: np.ndarray) -> None:
        mlp_backward(self.params, self.grads, "v", self.val_layers, val_inputs, d_value[..., None])


def gaussian_kl(old_mean, old_log_std, mean, log_std):
    """KL[old || new] per sample [N, B] (distributions.gaussian_kl's arithmetic), with the
    pieces its gradient needs: var_ratio = old var / new var, diff = (old mean - mean) / std."""
    var_ratio = np.exp(2.0 * (old_log_std - log_std))
    diff = (old_mean - mean) * np.exp(-log_std)
    kl = (log_std - old_log_std + 0.5 * (var_ratio + diff * diff) - 0.5).sum(-1)
    return kl, var_ratio, diff
