"""A run's outcome, typed: its `Status` and the `RunResult` that result.json holds.

A result is made only through this module: `RunResult.complete`, `.diverged`, `.failed`,
`.note` (a run busy elsewhere, an OS error: never written to disk), `.stopped`, and
`RunResult.from_record` for what a result.json holds, which checks that the fields its
status needs are there. `to_record()` writes the same keys in the same order as every
record written before the type existed, so records and config hashes are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """A run's state. A str: `Status.COMPLETE == "complete"`, and JSON writes the plain string."""

    COMPLETE = "complete"  # trained to its budget, scored
    DIVERGED = "diverged"  # stopped on a non-finite number: final (a deterministic rerun diverges again)
    FAILED = "failed"  # an exception: retried by the next `suite run`
    PARTIAL = "partial"  # config.json and a checkpoint, no result yet: resumed by the next `suite run`
    DAMAGED = "damaged"  # files that contradict each other: redone
    MISSING = "missing"  # no records at all
    BUSY = "busy"  # locked by another suite process (a note, never a record)
    NOT_STARTED = "not started"  # the grid stopped before it (a note, never a record)


FINAL = frozenset({Status.COMPLETE, Status.DIVERGED})
RECORDED = (Status.COMPLETE, Status.DIVERGED, Status.FAILED)  # the statuses a result.json holds
IDENTITY = ("task", "config_hash", "seed")
# The fields a result.json of each status must hold (`from_record` refuses one that lacks any).
REQUIRED = {Status.COMPLETE: IDENTITY + ("arm", "steps", "iterations", "episodes", "score", "eval_score"),
            Status.DIVERGED: IDENTITY + ("arm", "steps", "iterations", "episodes", "reason"),
            Status.FAILED: ("error",)}
_MEASURED = ("steps", "iterations", "episodes", "score", "score_episodes", "steps_per_second", "wall_seconds")


class ResultError(ValueError):
    """A result.json that is not a result: an unknown status or a missing field."""


@dataclass(frozen=True)
class RunResult:
    """One run's outcome. Identity (task, arm, config hash, seed) first, then what its
    status carries: the measured fields of a final run, the reason of a diverged one, the
    error of a failed one. `trained` says whether this process trained it (not recorded)."""

    status: Status
    task: str | None = None
    arm: str | None = None
    arm_label: str | None = None
    config_hash: str | None = None
    seed: int | None = None
    steps: int | None = None
    iterations: int | None = None
    episodes: int | None = None
    score: float | None = None
    score_episodes: int | None = None
    steps_per_second: float | None = None
    wall_seconds: float | None = None
    eval_score: float | None = None
    eval_episodes: int | None = None
    reason: str | None = None
    error: str | None = None
    traceback: str | None = field(default=None, repr=False)
    os_error: bool = False  # an OS error no retry mends (a full disk): the grid stops on it
    trained: bool | None = None
    extra: tuple[tuple[str, Any], ...] = ()  # fields a record holds beyond these, kept as they are

    # -- made by the runner ------------------------------------------------------------------
    @classmethod
    def complete(cls, identity: dict[str, Any], measured: dict[str, Any], eval_score: float,
                 eval_episodes: int) -> RunResult:
        return cls(Status.COMPLETE, **identity, **measured, eval_score=eval_score, eval_episodes=eval_episodes)

    @classmethod
    def diverged(cls, identity: dict[str, Any], measured: dict[str, Any], reason: str) -> RunResult:
        return cls(Status.DIVERGED, **identity, **{**measured, "score": None}, reason=reason)

    @classmethod
    def failed(cls, identity: dict[str, Any], err: BaseException, trace: str) -> RunResult:
        return cls(Status.FAILED, **identity, error=f"{type(err).__name__}: {err}", traceback=trace)

    @classmethod
    def note(cls, identity: dict[str, Any], status: Status, error: str, os_error: bool = False) -> RunResult:
        """Not a record: a run busy elsewhere, a worker lost, an OS error."""
        return cls(Status(status), **identity, error=error, os_error=os_error, trained=False)

    @classmethod
    def stopped(cls, iteration: int, steps: int) -> RunResult:
        """Stopped by an interrupt at a checkpoint: partial, resumed by the next run."""
        return cls(Status.PARTIAL, iterations=iteration, steps=steps)

    # -- read and written --------------------------------------------------------------------
    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RunResult:
        """The result a result.json holds; ResultError names what is wrong with it."""
        try:
            status = Status(record.get("status"))
        except ValueError:
            raise ResultError(f"has status {record.get('status')!r}") from None
        if status not in REQUIRED:
            raise ResultError(f"has status {status.value!r}")
        lacking = [key for key in REQUIRED[status] if key not in record]
        if lacking:
            raise ResultError(f"lacks {', '.join(lacking)}")
        known = {f for f in cls.__dataclass_fields__ if f not in ("status", "extra", "trained", "os_error")}
        return cls(status, **{k: v for k, v in record.items() if k in known},
                   extra=tuple((k, v) for k, v in record.items() if k not in known and k != "status"))

    def to_record(self) -> dict[str, Any]:
        """result.json's fields, in the order records have always had them."""
        identity = {"status": self.status.value, "task": self.task, "arm": self.arm, "arm_label": self.arm_label,
                    "config_hash": self.config_hash, "seed": self.seed}
        if self.status == Status.FAILED or self.status not in FINAL:
            out = {**identity, "error": self.error}
            if self.traceback is not None:
                out["traceback"] = self.traceback
        else:
            out = {**identity, **{k: getattr(self, k) for k in _MEASURED}}
            if self.status == Status.DIVERGED:
                out.update(eval_score=None, reason=self.reason)
            else:
                out.update(eval_score=self.eval_score, eval_episodes=self.eval_episodes)
        return {**out, **dict(self.extra)}

    def row(self) -> dict[str, Any]:
        """A row of `suite.run`'s DataFrame: the record's fields (no traceback), whether this
        process trained it, and whether an OS error stopped the grid."""
        if self.status == Status.PARTIAL:
            out = {"status": self.status.value, "iteration": self.iterations, "steps": self.steps}
        else:
            out = {k: v for k, v in self.to_record().items() if k != "traceback"}
        if self.os_error:
            out["os_error"] = True
        if self.trained is not None:
            out["trained"] = self.trained
        return out

    def with_trained(self, trained: bool) -> RunResult:
        return replace(self, trained=trained)

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def shown(self) -> str:
        """What a progress line says of it: the score, else why it stopped."""
        if isinstance(self.score, float) and self.status == Status.COMPLETE:
            return f"score {self.score:.1f}"
        return self.reason or self.error or ""
