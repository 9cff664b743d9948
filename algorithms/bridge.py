"""The one bridge between the torch modules and the numpy engine (algorithms/engine.py).

Apart from nets.py, which defines them, only this module knows the networks' attribute
names (`GaussianPolicy.mean_net` and `.log_std`, `ValueNet.net`) and the layout of torch.optim's state
(a dict per parameter tensor with "step" and the optimizer's slots). Everything else in
the numpy paths speaks the engine's names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .engine import ActorCritic


def linears(net: nn.Module) -> list[nn.Linear]:
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def mlp_weights(net: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """A frozen numpy copy of a torch tanh MLP: (W [in, out], b [out]) per layer."""
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears(net)]


def _sizes(net: nn.Module) -> list[int]:
    layers = linears(net)
    return [layers[0].in_features] + [m.out_features for m in layers]


class TorchBridge:
    """An engine `ActorCritic` for N members' torch networks, and the copying between them:
    parameters (`load` / `store`) and an optimizer's state in torch.optim's layout
    (`load_optimizer` / `store_optimizer`)."""

    def __init__(self, policies: Sequence[nn.Module] | None, value_fns: Sequence[nn.Module]):
        """`policies=None`: value networks only."""
        self.policies, self.value_fns = list(policies or []), list(value_fns)
        pol_sizes = _sizes(self.policies[0].mean_net) if self.policies else None
        self.net = ActorCritic(len(self.value_fns), pol_sizes, _sizes(self.value_fns[0].net))
        # (engine name, stored transposed) in torch's parameter order: policy (mean net, log std), value
        self.order: list[tuple[str, bool]] = []
        if pol_sizes:
            self.order += _linear_order("p", len(pol_sizes) - 1) + [("log_std", False)]
        self.order += _linear_order("v", len(linears(self.value_fns[0].net)))
        self._torch_params = [self._collect(i) for i in range(self.net.layout.n)]

    def torch_params(self, member: int) -> list[torch.Tensor]:
        """The member's parameters in the engine's order: policy (mean net, log std), then value."""
        return self._torch_params[member]

    def _collect(self, member: int) -> list[torch.Tensor]:
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
        """Torch parameters -> engine."""
        params = self.net.params
        for i in range(self.net.layout.n):
            for (name, transposed), param in zip(self.order, self.torch_params(i), strict=True):
                value = param.detach().numpy()
                params[name][i] = (value.T if transposed else value.reshape(1, -1))

    def store(self) -> None:
        """Engine -> torch parameters."""
        params = self.net.params
        for i in range(self.net.layout.n):
            with torch.no_grad():
                for (name, transposed), param in zip(self.order, self.torch_params(i), strict=True):
                    value = params[name][i]
                    param.copy_(torch.from_numpy(np.ascontiguousarray(value.T if transposed
                                                                      else value.reshape(param.shape))))

    def load_optimizer(self, optimizer, states: Sequence[dict]) -> None:
        """Fill an engine optimizer (`slots()` in torch's state keys, `step` [N, 1]) from
        `states[i]`, member i's torch optimizer state (parameter -> dict); a member whose
        optimizer has not stepped yet starts from zeros."""
        views = {key: self.net.layout.view(array) for key, array in optimizer.slots().items()}
        for i, state in enumerate(states):
            params = self.torch_params(i)
            steps = {float(state[p]["step"]) for p in params if p in state}
            if not steps:
                for array in optimizer.slots().values():
                    array[i] = 0.0
                optimizer.step[i] = 0.0
                continue
            assert len(steps) == 1, "every parameter of a member has taken the same optimizer steps"
            optimizer.step[i] = steps.pop()
            for (name, transposed), p in zip(self.order, params, strict=True):
                for key, view in views.items():
                    value = state[p][key].numpy()
                    view[name][i] = value.T if transposed else value.reshape(1, -1)

    def store_optimizer(self, optimizer, states: Sequence[dict]) -> None:
        """The engine optimizer's state into each member's torch optimizer state."""
        views = {key: self.net.layout.view(array) for key, array in optimizer.slots().items()}
        for i, state in enumerate(states):
            for (name, transposed), p in zip(self.order, self.torch_params(i), strict=True):
                entry = {"step": torch.tensor(float(optimizer.step[i, 0]))}
                for key, view in views.items():
                    value = view[name][i]
                    entry[key] = torch.from_numpy(np.ascontiguousarray(value.T if transposed
                                                                       else value.reshape(p.shape)))
                state[p] = entry


def _linear_order(prefix: str, layers: int) -> list[tuple[str, bool]]:
    """nn.Linear's (weight, bias) per layer: weights are stored transposed in the engine."""
    return [(f"{prefix}{kind}{i}", kind == "W") for i in range(layers) for kind in "Wb"]


class EngineState:
    """The numpy engine's state for a fixed set of owners (algorithms, or a value fitter)
    between their updates: the owners' parameters stacked (a `TorchBridge` net) and their
    optimizer's state, kept instead of rebuilt from the torch modules at every update. PPO,
    A2C and the value fitter use it alike.

    Two explicit facts, no inspection of torch's internals: `torch_behind` (the engine's
    parameters are newer than the torch modules': set by `stored`, cleared by `sync`), and
    whether each owner's `engine` is still this one. Whoever changes an owner's torch
    parameters or optimizer state behind the engine's back (a checkpoint loaded, the autograd
    path) first calls `release`, which hands every owner's newest state to torch and detaches
    them all; the next fast update builds a fresh state."""

    def __init__(self, owners: Sequence, policies: Sequence[nn.Module] | None, value_fns: Sequence[nn.Module],
                 optimizers: Sequence[torch.optim.Optimizer], make_optimizer):
        self.owners = list(owners)
        self.optimizers = list(optimizers)
        self.bridge = TorchBridge(policies, value_fns)
        self.bridge.load()
        self.net = self.bridge.net
        self.optimizer = make_optimizer(len(self.owners), self.net.layout.size)
        self.bridge.load_optimizer(self.optimizer, [o.state for o in self.optimizers])
        self.torch_behind = False
        for owner in self.owners:
            owner.engine = self

    @classmethod
    def of(cls, owners: Sequence, build) -> EngineState:
        """The owners' current state if they share one, else `build()` after releasing the
        states they had (a group whose membership changed)."""
        engine = owners[0].engine
        if engine is not None and engine.owners == list(owners) and all(o.engine is engine for o in owners):
            return engine
        for old in {id(o.engine): o.engine for o in owners if o.engine is not None}.values():
            old.release()
        return build()

    def stored(self) -> None:
        """After an update: the engine's parameters are the newest."""
        self.torch_behind = True

    def sync(self) -> None:
        """The torch parameters take the engine's."""
        if self.torch_behind:
            self.bridge.store()
            self.torch_behind = False

    def flush(self) -> None:
        """The optimizer state into each owner's torch optimizer (checkpoints read it there)."""
        self.bridge.store_optimizer(self.optimizer, [o.state for o in self.optimizers])

    def release(self) -> None:
        """Everything to torch, and every owner detached."""
        self.sync()
        self.flush()
        for owner in self.owners:
            if owner.engine is self:
                owner.engine = None


def release_engine(owner) -> None:
    """Before torch-side changes to `owner`'s parameters or optimizer state."""
    if getattr(owner, "engine", None) is not None:
        owner.engine.release()
