"""The optional group fast path: several runs of one task updated in one stacked step.

An algorithm that has one derives from `GroupUpdate` and says, per instance, whether it can
take that path now (`has_group_update`: PPO with a Gaussian policy, A2C with RMSprop); the
loop (`algorithms.trainer.train_group`) then hands every member with the same `group_key`
to one `update_group` call, and, where the algorithm builds its batches itself
(`prepare_group`: A2C, for its 5-step iterations), to one `prepare_group` call. A simple
algorithm never sees any of this: it derives from `Algorithm` and writes `update`.

The fast path is an engine the suite chooses, never a replacement for the user's code: it
runs the maths of the built-in class that owns it (`@engine_owner`: PPO, A2C, A2C + TR), in
closed form. A subclass written by a user takes it only if it changes nothing between itself
and that built-in: a class in between that defines any method or attribute (an overridden
`minibatch_loss`, a new `__init__`, ...) sends the instance through the built-in's generic
autograd path, which calls the overridden methods, with one line on stderr saying so (once per
class). `engine_overrides(cls)` names what keeps a class off the engine.
"""

from __future__ import annotations

import sys

from .base import Algorithm, Batch
from .bridge import EngineState, release_engine
from .config import UPDATE, group_values
from .rollout import RawBatch

_ENGINE_OWNERS: set[type] = set()
_SAID: set[type] = set()
# What a class body holds without defining behaviour.
_INERT = frozenset({"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__annotations__",
                    "__firstlineno__", "__static_attributes__", "__orig_bases__", "__parameters__",
                    "__annotate__", "__annotate_func__", "__annotations_cache__"})


def engine_owner(cls: type) -> type:
    """Marks a built-in class whose stacked engine computes exactly its own maths."""
    _ENGINE_OWNERS.add(cls)
    return cls


def defined_over(cls: type, bases: set[type]) -> tuple[type | None, list[str]]:
    """(the nearest of `bases` that `cls` is or extends, the "Class.name"s that the classes
    between them define: methods, attributes); (None, []) if it extends none of them."""
    found: list[str] = []
    for klass in cls.__mro__:
        if klass in bases:
            return klass, found
        found += [f"{klass.__name__}.{name}" for name in vars(klass) if name not in _INERT]
    return None, []


def engine_overrides(cls: type) -> tuple[str, list[str]]:
    """(the built-in engine owner `cls` extends, what classes between them define); ("", [])
    for a class that extends no engine owner."""
    owner, found = defined_over(cls, _ENGINE_OWNERS)
    return (owner.__name__, found) if owner is not None else ("", [])


class GroupUpdate(Algorithm):
    """An algorithm with a stacked update for several members at once. Its numpy state kept
    between updates (bridge.EngineState) is `engine`; the torch modules get it back through
    `sync` (parameters), `flush_engine` (optimizer state, before a checkpoint reads it) and
    `release` (everything, before torch-side writes)."""

    engine: EngineState | None = None  # set by EngineState while this member is on the fast path
    use_engine: bool = True  # False: always the generic path (check-arm's reference for a subclass)

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

    def on_engine(self) -> bool:
        """Whether this instance's updates take the engine: a config it covers, and a class
        whose maths is the built-in's (`engine_overrides`). Says once per class why not."""
        if not (self.use_engine and self.has_group_update()):
            return False
        owner, overrides = engine_overrides(type(self))
        if overrides:
            if type(self) not in _SAID:
                _SAID.add(type(self))
                print(f"{type(self).__name__} defines {', '.join(overrides)} over the built-in {owner}: it trains "
                      f"through {owner}'s generic autograd path, which runs them (the fast engine computes "
                      f"{owner}'s own maths only)", file=sys.stderr, flush=True)
            return False
        return True

    def group_key(self) -> tuple | None:  # cached: asked every iteration
        """Algorithms with equal keys (not None) can take one joint `update_group` step: the
        same algorithm, and equal values of the config fields shared for UPDATE (their
        metadata, config.hp); None where the algorithm has no group update or is off the
        engine (`on_engine`)."""
        if not hasattr(self, "_group_key"):  # asked every iteration; the config never changes
            grouped = self.on_engine()
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
