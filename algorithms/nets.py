"""Policy and value networks: tanh MLPs, a Gaussian policy with a state-independent log std.

Initialization draws only from the torch.Generator passed in, never from the global RNG.
The rollout uses `NumpyActor`, a weight snapshot evaluated in numpy: acting needs no
autograd and no per-step tensor allocation, and log-probs for the update are computed
afterwards in one batched torch forward.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .bridge import mlp_weights
from .distributions import gaussian_entropy, gaussian_kl, gaussian_log_prob
from .engine import mlp_forward


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given widths with tanh between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def init_mlp(net: nn.Sequential, head_gain: float, ortho: bool | str, generator: torch.Generator) -> None:
    """Initialize a tanh MLP from `generator`, by scheme (`BaseConfig.init_scheme`; a bool
    means orthogonal or not):
    - "orthogonal" (True): orthogonal, hidden gain sqrt(2), the given head gain, zero biases;
    - "torch" (False): torch's default Linear init (Kaiming-uniform weights and biases);
    - "normc": openai/baselines' normc_initializer (tf_util.py at d9f194f, as ppo1 uses it):
      Gaussian weights with each unit's incoming weights scaled to norm 1 (hidden layers) or
      the head gain (the last layer), zero biases."""
    scheme = ("orthogonal" if ortho else "torch") if isinstance(ortho, bool) else ortho
    if scheme not in ("orthogonal", "torch", "normc"):
        raise ValueError(f"unknown initialization {scheme!r}")
    linears = [m for m in net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            head = i == len(linears) - 1
            if scheme == "orthogonal":
                nn.init.orthogonal_(layer.weight, gain=head_gain if head else math.sqrt(2.0), generator=generator)
                layer.bias.zero_()
            elif scheme == "normc":
                # torch's weight is [out, in]: a unit's incoming weights are a row
                weight = torch.randn(layer.weight.shape, generator=generator)
                weight *= (head_gain if head else 1.0) / weight.square().sum(dim=1, keepdim=True).sqrt()
                layer.weight.copy_(weight)
                layer.bias.zero_()
            else:
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5.0), generator=generator)
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


class GaussianPolicy(nn.Module):
    """pi(a|s) = N(mean_net(s), diag(exp(log_std))^2), log std a free parameter vector."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], init_log_std: float,
                 ortho_init: bool | str, generator: torch.Generator, head_gain: float = 0.01):
        super().__init__()
        self.mean_net = mlp([obs_dim, *hidden, act_dim])
        init_mlp(self.mean_net, head_gain=head_gain, ortho=ortho_init, generator=generator)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(init_log_std)))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.dist_params(obs)

    def dist_params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log_std), both [B, act_dim], so that every parameter indexes by state."""
        mean = self.mean_net(obs)
        return mean, self.log_std.expand_as(mean)

    @staticmethod
    def log_prob(params: tuple[torch.Tensor, torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        return gaussian_log_prob(params[0], params[1], actions)

    @staticmethod
    def entropy(params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return gaussian_entropy(params[1])

    @staticmethod
    def kl(old: tuple[torch.Tensor, torch.Tensor], new: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """KL[old || new] per state."""
        return gaussian_kl(old[0], old[1], new[0], new[1])

    def numpy_actor(self) -> GaussianActor:
        return GaussianActor(mlp_weights(self.mean_net), self.log_std.detach().numpy().copy())


class CategoricalPolicy(nn.Module):
    """pi(a|s) = Categorical(softmax(logits_net(s))) for Discrete action spaces. Actions are
    carried as float vectors of length 1 (the index), like the Gaussian policy's vectors."""

    def __init__(self, obs_dim: int, num_actions: int, hidden: tuple[int, ...], ortho_init: bool | str,
                 generator: torch.Generator, head_gain: float = 0.01):
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden, num_actions])
        init_mlp(self.logits_net, head_gain=head_gain, ortho=ortho_init, generator=generator)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor]:
        return self.dist_params(obs)

    def dist_params(self, obs: torch.Tensor) -> tuple[torch.Tensor]:
        """(log-probabilities [B, num_actions],)."""
        return (torch.log_softmax(self.logits_net(obs), dim=-1),)

    @staticmethod
    def log_prob(params: tuple[torch.Tensor], actions: torch.Tensor) -> torch.Tensor:
        return params[0].gather(-1, actions.long().reshape(-1, 1)).squeeze(-1)

    @staticmethod
    def entropy(params: tuple[torch.Tensor]) -> torch.Tensor:
        return -(params[0].exp() * params[0]).sum(-1)

    @staticmethod
    def kl(old: tuple[torch.Tensor], new: tuple[torch.Tensor]) -> torch.Tensor:
        """KL[old || new] per state."""
        return (old[0].exp() * (old[0] - new[0])).sum(-1)

    def numpy_actor(self) -> CategoricalActor:
        return CategoricalActor(mlp_weights(self.logits_net))


class NumpyMLP:
    """A frozen copy of a tanh MLP for acting: numpy float32, no autograd."""

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]]):
        self.weights = weights

    def forward(self, obs: np.ndarray) -> np.ndarray:
        return mlp_forward(self.weights, obs)[0]


class GaussianActor(NumpyMLP):
    def __init__(self, weights, log_std: np.ndarray):
        super().__init__(weights)
        self.std = np.exp(log_std).astype(np.float32)

    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.sample_from(self.forward(obs), rng)

    def sample_from(self, mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Actions [B, A] given the network's output for B observations."""
        return mean + self.std * rng.standard_normal(mean.shape, dtype=np.float32)

    def deterministic(self, obs: np.ndarray) -> np.ndarray:
        """The mean action."""
        return self.forward(obs)


class CategoricalActor(NumpyMLP):
    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.sample_from(self.forward(obs), rng)

    def sample_from(self, logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Action indices [B, 1] given the network's output for B observations."""
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        cumulative = np.cumsum(probs / probs.sum(-1, keepdims=True), axis=-1)
        draws = rng.random((logits.shape[0], 1), dtype=np.float32)
        index = np.minimum((cumulative < draws).sum(-1), logits.shape[-1] - 1)
        return index.astype(np.float32)[:, None]

    def deterministic(self, obs: np.ndarray) -> np.ndarray:
        """The most probable action."""
        return self.forward(obs).argmax(-1).astype(np.float32)[:, None]


class StackedActor:
    """The numpy actors of M runs with one network shape, evaluated together: one batched
    matmul per layer for all members ([M, E, obs] -> [M, E, out]), then each member samples
    from its own output with its own RNG. Each member's slice goes through the same kernel
    whatever M is, so a member acts exactly as it would alone (a run alone is M = 1)."""

    def __init__(self, actors: list[GaussianActor] | list[CategoricalActor]):
        self.actors = actors
        self.weights = [(np.stack([a.weights[i][0] for a in actors]),
                         np.stack([a.weights[i][1] for a in actors])[:, None])
                        for i in range(len(actors[0].weights))]

    def forward(self, obs: np.ndarray) -> np.ndarray:
        return mlp_forward(self.weights, obs)[0]

    def sample(self, obs: np.ndarray, rngs: list[np.random.Generator]) -> np.ndarray:
        """Actions [M, E, dim] for observations [M, E, obs_dim]."""
        out = self.forward(obs)
        return np.stack([actor.sample_from(out[m], rngs[m]) for m, actor in enumerate(self.actors)])


class ValueNet(nn.Module):
    """V(s): a tanh MLP with a scalar head."""

    def __init__(self, obs_dim: int, hidden: tuple[int, ...], ortho_init: bool | str, generator: torch.Generator,
                 head_gain: float = 1.0):
        super().__init__()
        self.net = mlp([obs_dim, *hidden, 1])
        init_mlp(self.net, head_gain=head_gain, ortho=ortho_init, generator=generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)
