"""The optional group fast path: several runs of one task updated in one stacked step.

An algorithm that has one derives from `GroupUpdate` and says, per instance, whether it can
take that path now (`has_group_update`: PPO with a Gaussian policy, A2C with RMSprop); the
loop (`algorithms.trainer.train_group`) then hands every member with the same `group_key`
to one `update_group` call, and, where the algorithm builds its batches itself
(`prepare_group`: A2C, for its 5-step iterations), to one `prepare_group` call. A simple
algorithm never sees any of this: it derives from `Algorithm` and writes `update`.
"""

from __future__ import annotations

from .base import Algorithm, Batch
from .bridge import EngineState, release_engine
from .config import UPDATE, group_values
from .rollout import RawBatch


class GroupUpdate(Algorithm):
    """An algorithm with a stacked update for several members at once. Its numpy state kept
    between updates (bridge.EngineState) is `engine`; the torch modules get it back through
    `sync` (parameters), `flush_engine` (optimizer state, before a checkpoint reads it) and
    `release` (everything, before torch-side writes)."""

    engine: EngineState | None = None  # set by EngineState while this member is on the fast path

    def sync(self) -> None:
        if self.engine is not None:
            self.engine.sync()

    def flush_engine(self) -> None:
        if self.engine is not None:
            self.engine.flush()

    def release(self) -> None:
        release_engine(self)

    def has_group_update(self) -> bool:
        """Whether this instance takes the stacked path (a config the engine covers)."""
        return True

    def group_key(self) -> tuple | None:  # cached: asked every iteration
        """Algorithms with equal keys (not None) can take one joint `update_group` step: the
        same algorithm, and equal values of the config fields shared for UPDATE (their
        metadata, config.hp); None where the algorithm has no group update."""
        if not hasattr(self, "_group_key"):  # asked every iteration; the config never changes
            grouped = self.has_group_update()
            self._group_key = (type(self).__name__, group_values(self.config, UPDATE)) if grouped else None
        return self._group_key

    @classmethod
    def update_group(cls, members: list[Algorithm], batches: list[Batch]) -> list[dict[str, float]]:
        """Update several members (one group key) at once."""
        return [m.update(b) for m, b in zip(members, batches, strict=True)]

    @classmethod
    def prepare_group(cls, members: list[Algorithm], raws: list[RawBatch], progress: list[float]
                      ) -> list[Batch] | None:
        """The batches of several members from their raw rollouts, where the algorithm has its
        own way (A2C: numpy, for its 5-step iterations); None: the trainer's `prepare`."""
        return None
