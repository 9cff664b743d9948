"""The noisy cross-entropy method (Szita & Lorincz 2006), the PPO paper's Figure 3 baseline,
as joschu/modular_rl runs it (`modular_rl/cem.py` and `experiments/battery-cem.yaml` at
6970cde; rllab's `algos/cem.py` is the other public one, but modular_rl is Schulman's own
and cites the same paper, so its settings are the ones taken here).

Over the flat parameter vector theta of a deterministic policy (the policy's mean network;
its log std is not used): sample a population theta_k ~ N(mean, var + extra_std^2 max(1 -
g / decay, 0)), evaluate each on ONE episode (its undiscounted return), keep the elite
fraction with the highest returns, and refit mean and (diagonal) variance to them.

In the suite's loop: each rollout step acts with the candidate assigned to its environment;
when an episode ends (the collector calls the actor's `episode_ended`), its return is that
candidate's score and the environment takes the next candidate; a full population refits the
distribution and samples the next one. So CEM spends the same env-step budget and writes the
same records as every arm: `update(batch)` only reports. At 1M steps that is few generations
where episodes are long: about 1000 episodes (5 generations of 200) on HalfCheetah or Swimmer,
more where early episodes end fast (Hopper, the pendulums): modular_rl ran 300 generations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .base import Algorithm, Batch
from .config import BaseConfig, ConfigError, hp, require, require_positive
from .engine import mlp_forward
from .nets import GaussianPolicy

MRL = "joschu/modular_rl experiments/battery-cem.yaml (cfg cem10-5) and modular_rl/cem.py at 6970cde"
MRL_DEFAULT = "joschu/modular_rl modular_rl/cem.py CEM_OPTIONS at 6970cde"
OURS = "our reading (modular_rl does not say)"


@dataclass(frozen=True)
class CEMConfig(BaseConfig):
    num_steps: int = hp(2048, "the PPO paper's T, as every arm: one progress row per 2048 env steps; CEM's own "
                        "unit is the episode (population)", "Env steps per iteration (a progress row).")
    hidden_sizes: tuple[int, ...] = hp((10, 5), MRL + " (hid_sizes 10,5, tanh)",
                                       "Hidden layer widths of the deterministic tanh MLP.")
    population: int = hp(200, MRL + " (batch_size 200: episodes per batch)",
                         "Candidates per generation, each scored on one episode.")
    elite_frac: float = hp(0.2, MRL_DEFAULT + " (elite_frac 0.2)", "Share of the population refit to.")
    initial_std: float = hp(1.0, MRL_DEFAULT + " (initial_std 1.0)", "Initial std of every parameter.")
    extra_std: float = hp(0.01, MRL + " (extra_std 0.01)", "Extra noise std added to the elite's.")
    extra_std_decay: int = hp(150, MRL_DEFAULT + " (std_decay_time n_iter / 2, n_iter 300 in the battery)",
                              "Generations over which the extra noise decays linearly to 0.")
    obs_norm: bool = hp(True, "joschu/modular_rl agentzoo.py DeterministicAgent (ZFilter, filter=1)",
                        "Normalize observations by a running mean/std.")
    obs_clip: float = hp(5.0, "joschu/modular_rl agentzoo.py make_filters (ZFilter clip=5)",
                         "Clip normalized observations.")
    reward_scale: bool = hp(False, MRL + " (candidates are scored on the raw episode return)",
                            "Unused by CEM: the score is the raw return.")
    ortho_init: bool = hp(False, OURS + ": the initial mean is torch's default Linear init (modular_rl: Keras "
                          "glorot-uniform with the last layer x 0.1); initial_std 1 dominates it",
                          "Orthogonal init of the initial mean.")
    lr: float = hp(3e-4, "unused by CEM (no gradient step)", "Unused.")
    lr_anneal: bool = hp(False, "unused by CEM", "Unused.")
    adv_norm: bool = hp(False, "unused by CEM", "Unused.")

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self, "population", "initial_std", "extra_std_decay")
        require(self, "elite_frac", 0 < self.elite_frac <= 1, "must be in (0, 1]")
        require(self, "extra_std", self.extra_std >= 0, "must be >= 0")
        require(self, "num_envs", self.num_envs == 1, "must be 1: each episode scores the candidate that ran it")
        if round(self.population * self.elite_frac) < 1:
            raise ConfigError(f"CEMConfig: population x elite_frac = {self.population * self.elite_frac} "
                              "rounds to no elite")

    @property
    def elites(self) -> int:
        return int(np.round(self.population * self.elite_frac))


def sample_population(rng: np.random.Generator, mean: np.ndarray, var: np.ndarray, extra_std: float,
                      generation: int, decay: int, size: int) -> np.ndarray:
    """[size, P] candidates ~ N(mean, var + extra_std^2 max(1 - generation / decay, 0))
    (modular_rl cem.py: sample_std = sqrt(th_var + extra_std^2 x multiplier))."""
    std = np.sqrt(var + extra_std**2 * max(1.0 - generation / decay, 0.0))
    return mean + std * rng.standard_normal((size, mean.size))


def refit(candidates: np.ndarray, returns: np.ndarray, elites: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, var) of the `elites` candidates with the highest returns (ties: the later
    candidate, as numpy's argsort()[-n:])."""
    best = candidates[np.argsort(returns, kind="stable")[-elites:]]
    return best.mean(axis=0), best.var(axis=0)


class CEMActor:
    """Acts with each environment's candidate (deterministic: the network's output) and
    hands each finished episode's return back to the algorithm."""

    stackable = False  # one network per environment: not a member of a stacked actor

    def __init__(self, algorithm: CEM):
        self.algorithm = algorithm

    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Actions [E, act_dim] for observations [E, obs_dim]; `rng` is not drawn from."""
        cem = self.algorithm
        out = np.concatenate([mlp_forward(cem.layers(cem.assigned[i]), obs[i:i + 1])[0] for i in range(len(obs))])
        return out.argmax(-1).astype(np.float32)[:, None] if cem.discrete else out

    def deterministic(self, obs: np.ndarray) -> np.ndarray:
        out = mlp_forward(self.algorithm.layers(None), obs)[0]
        return out.argmax(-1).astype(np.float32)[:, None] if self.algorithm.discrete else out

    def episode_ended(self, env: int, episode_return: float) -> None:
        self.algorithm.scored(env, episode_return)


class CEM(Algorithm):
    config: CEMConfig

    def __init__(self, config: CEMConfig, policy, value_fn, rng):
        super().__init__(config, policy, value_fn, rng)
        # the network searched over: a Gaussian policy's mean (its action), a categorical's logits (argmax)
        self.discrete = not isinstance(policy, GaussianPolicy)
        self.net = policy.logits_net if self.discrete else policy.mean_net
        self.shapes = [tuple(p.shape) for p in self.net.parameters()]
        self.mean = torch.nn.utils.parameters_to_vector(self.net.parameters()).detach().double().numpy()
        self.var = np.full(self.mean.size, config.initial_std**2)
        self.generation = 0  # refits done
        self._cached: tuple = (None, None)  # ((generation, candidate), its layers)
        self.last = {"candidate_return_mean": 0.0, "elite_return_mean": 0.0}  # of the latest generation
        self._new_population()
        self.assigned = [self._next() for _ in range(config.num_envs)]  # candidate index per env

    def _new_population(self) -> None:
        cfg = self.config
        self.population = sample_population(self.rng, self.mean, self.var, cfg.extra_std, self.generation,
                                            cfg.extra_std_decay, cfg.population)
        self.returns = np.full(cfg.population, np.nan)
        self.handed_out = 0

    def _next(self) -> int:
        """The next candidate to evaluate (past the population's end: wait for the refit, at
        which point every environment holding an index past it is reassigned)."""
        index = self.handed_out
        self.handed_out += 1
        return index

    def layers(self, index: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
        """The candidate's (or, None, the mean's) network as (W [in, out], b) float32 pairs,
        built once per candidate (every rollout step asks)."""
        key = None if index is None or index >= len(self.population) else index
        if self._cached[0] != (self.generation, key):
            self._cached = ((self.generation, key), self._unflatten(self.mean if key is None else self.population[key]))
        return self._cached[1]

    def _unflatten(self, flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        layers, offset = [], 0
        for w_shape, b_shape in zip(self.shapes[::2], self.shapes[1::2], strict=True):
            w = flat[offset:offset + np.prod(w_shape)].reshape(w_shape)
            offset += w.size
            b = flat[offset:offset + b_shape[0]]
            offset += b.size
            layers.append((w.T.astype(np.float32), b.astype(np.float32)))
        return layers

    def scored(self, env: int, episode_return: float) -> None:
        index = self.assigned[env]
        if index < len(self.returns):
            self.returns[index] = episode_return
        if np.isfinite(self.returns).all():  # a generation is complete: refit, sample the next
            cfg = self.config
            elite_mean, self.var = refit(self.population, self.returns, cfg.elites)
            elites = np.sort(self.returns)[-cfg.elites:]
            self.last = {"candidate_return_mean": float(self.returns.mean()),
                         "elite_return_mean": float(elites.mean())}
            self.mean = elite_mean
            self.generation += 1
            self._new_population()
            self.assigned = [self._next() for _ in self.assigned]  # every env starts a new candidate
            return
        self.assigned[env] = self._next()

    def numpy_actor(self):
        return CEMActor(self)

    def sync(self) -> None:
        """The policy's mean network takes the distribution's mean (evaluation, checkpoints)."""
        vector = torch.from_numpy(self.mean.astype(np.float32))
        torch.nn.utils.vector_to_parameters(vector, self.net.parameters())

    def update(self, batch: Batch) -> dict[str, float]:
        """Nothing to learn from the batch: the candidates were scored as their episodes ended."""
        return {"generation": float(self.generation), **self.last,
                "sample_std": float(np.sqrt(self.var + self.config.extra_std**2 * max(
                    1.0 - self.generation / self.config.extra_std_decay, 0.0)).mean())}

    def state_dict(self) -> dict:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "generation": self.generation,
                "population": self.population.copy(), "returns": self.returns.copy(), "handed_out": self.handed_out,
                "assigned": np.array(self.assigned), "last": dict(self.last)}

    def load_state_dict(self, state: dict) -> None:
        def array(x):
            return np.array(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)

        self.mean, self.var = array(state["mean"]), array(state["var"])
        self.population, self.returns = array(state["population"]), array(state["returns"])
        self.generation, self.handed_out = int(state["generation"]), int(state["handed_out"])
        self.assigned = [int(i) for i in array(state["assigned"])]
        self.last = {k: float(v) for k, v in state["last"].items()}
