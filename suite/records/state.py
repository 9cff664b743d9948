"""A run's state, decided in one place from its whole record set: complete, diverged,
failed, partial, damaged, or missing. `run`, `status`, `table`, `leaderboard`, `report` and
the speed estimate all ask `run_state`.

- complete / diverged: a result that says so, with every field a table reads, whose identity
  (task, config hash, seed) matches config.json and the directory's name, and both record
  CSVs present and reaching the result's step (episode count and last progress step).
- failed: a result recording an exception (the run is retried by `run`).
- partial: config.json and no result yet (`run` resumes it after verifying its checkpoint).
- damaged: anything else with files in it: unreadable or missing config.json, a directory
  name that is not its config's, a config hash that is not the hash of config.json's own
  resolved config (an edited setting), a result missing fields or holding values of the
  wrong type or not finite, a score that is not the mean of the last 100 returns in
  episodes.csv, a missing or short CSV, a record file that is not a file or cannot be read.
  Readers leave damaged runs out (nothing is counted twice) and list them by path; `run`
  redoes them.
- missing: no records at all (a run of a given grid not started yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from algorithms import RECORD_NAMES, arm_config_hash
from suite.errors import SuiteError
from suite.paper import SCORE_EPISODES, paper_score
from suite.records.files import (
    CONFIG,
    EPISODES,
    PROGRESS,
    RESULT,
    RunRecord,
    csv_file,
    csv_last_rows,
    csv_tail,
    run_hash,
)
from suite.records.result import FINAL, IDENTITY, ResultError, RunResult, Status

# The states a run directory can be in, in the order tables show them.
STATES = tuple(s.value for s in (Status.COMPLETE, Status.DIVERGED, Status.FAILED, Status.PARTIAL, Status.DAMAGED,
                                 Status.MISSING))
_RECORD_FILES = (CONFIG, RESULT, PROGRESS, EPISODES, PROGRESS + ".gz", EPISODES + ".gz", "checkpoint.pt")


@dataclass(frozen=True)
class RunState:
    """What a run directory holds, read once: its state, why it is damaged, its config and
    its result (None where there is none, or where it is not a result)."""

    state: Status
    path: Path
    reason: str = ""  # why a run is damaged
    config: dict[str, Any] | None = field(default=None, repr=False)
    result: RunResult | None = field(default=None, repr=False)

    @property
    def final(self) -> bool:
        return self.state in FINAL


def run_state(path: str | Path) -> RunState:
    """The state of the run directory at `path` (`<task>/<arm>-<hash>/seed<k>`)."""
    record = RunRecord(Path(path))

    def damaged(reason: str, config=None, result=None) -> RunState:
        return RunState(Status.DAMAGED, record.path, reason, config, result)

    try:
        present = [name for name in _RECORD_FILES if record.file(name).exists()]
    except OSError as err:  # an unreadable run directory is this run's damage alone
        return damaged(f"cannot be read ({err.strerror or err})")
    if not present:
        return RunState(Status.MISSING, record.path)
    not_files = [name for name in present if not record.file(name).is_file()]
    if not_files:
        return damaged(f"{record.file(not_files[0])} is not a file")
    try:
        config = record.config()
    except SuiteError as err:
        return damaged(str(err))
    except OSError as err:
        return damaged(f"{CONFIG} cannot be read ({err.strerror or err})")
    if config is None:
        return damaged(f"{CONFIG} is missing")
    named = _named_identity(record.path)
    recorded = {"task": config.get("task"), "arm": config.get("arm"), "config_hash": config.get("config_hash"),
                "seed": config.get("seed")}
    if named != recorded:
        return damaged(f"the directory's name says {_show(named)} but {CONFIG} says {_show(recorded)}", config)
    problem = _hash_problem(config) or _label_problem(config)
    if problem:
        return damaged(problem, config)
    try:
        raw = record.result()
    except SuiteError as err:
        return damaged(str(err), config)
    except OSError as err:
        return damaged(f"{RESULT} cannot be read ({err.strerror or err})", config)
    if raw is None:
        return RunState(Status.PARTIAL, record.path, "", config)
    try:
        result = RunResult.from_record(raw)
    except ResultError as err:
        return damaged(f"{RESULT} {err}", config)
    problem = _types_problem(raw)
    if problem:
        return damaged(problem, config, result)
    if result.final:
        problem = _identity_problem(raw, config) or _records_problem(record, raw, config)
        if problem:
            return damaged(problem, config, result)
    return RunState(result.status, record.path, "", config, result)


def split_label(label: str) -> tuple[str, list[str]]:
    """An arm label's (name, ["key=value", ...]): the name may be a plug-in's module:NAME."""
    parts = label.split(":")
    return ":".join(p for p in parts if "=" not in p), [p for p in parts if "=" in p]


def _label_problem(config: dict[str, Any]) -> str:
    """config.json's arm_label is shown in tables, so it must say what the record's data says:
    its arm (as named in run directories, RECORD_NAMES) and exactly its overrides."""
    label = config.get("arm_label")
    overrides = config.get("overrides", {})
    if not isinstance(label, str) or not isinstance(overrides, dict):
        return f"{CONFIG} lacks its arm_label or overrides"
    head, named = split_label(label)
    if RECORD_NAMES.get(head, head.replace(":", ".")) != config.get("arm") or \
            sorted(named) != sorted(f"{k}={v}" for k, v in overrides.items()):
        return (f"{CONFIG}'s arm_label {label!r} is not its arm {config.get('arm')!r} with its overrides "
                f"{overrides}: the label was edited")
    return ""


def _hash_problem(config: dict[str, Any]) -> str:
    """The config hash recomputed from config.json's own resolved config (data only: nothing
    is imported) must be the one it records, which the directory's name carries."""

    settings, algorithm = config.get("config"), config.get("algorithm")
    if not isinstance(settings, dict) or not isinstance(algorithm, str):
        return f"{CONFIG} lacks its resolved config or algorithm"
    try:
        digest = run_hash(arm_config_hash(config.get("arm"), algorithm, settings, config.get("plugin")),
                          int(config.get("steps")))
    except (TypeError, ValueError):
        return f"{CONFIG} has no whole step budget"
    if digest != config.get("config_hash"):
        return (f"{CONFIG}'s resolved config hashes to {digest}, not to its config_hash "
                f"{config.get('config_hash')}: a setting was changed after the run was recorded")
    return ""


def _is_number(value, finite: bool = True) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and (not finite or math.isfinite(value))


def _types_problem(result: dict[str, Any]) -> str:
    """A final result's fields hold what a table reads: whole counts, finite scores."""
    status = result["status"]
    if status not in FINAL:
        return ""
    for key in ("steps", "iterations", "episodes", "seed"):
        if not (isinstance(result[key], int) and not isinstance(result[key], bool) and result[key] >= 0):
            return f"{RESULT}: {key} = {result[key]!r} is not a whole number >= 0"
    if status == Status.COMPLETE:
        for key in ("score", "eval_score"):
            if not _is_number(result[key]):
                return f"{RESULT}: {key} = {result[key]!r} is not a finite number"
    return ""


def _named_identity(path: Path) -> dict[str, Any]:
    arm, _, config_hash = path.parent.name.rpartition("-")
    seed = path.name.removeprefix("seed")
    return {"task": path.parent.parent.name, "arm": arm, "config_hash": config_hash,
            "seed": int(seed) if seed.isdigit() else path.name}


def _show(identity: dict[str, Any]) -> str:
    return f"{identity['task']}/{identity['arm']}-{identity['config_hash']}/seed{identity['seed']}"


def _identity_problem(result: dict[str, Any], config: dict[str, Any]) -> str:
    differ = [key for key in IDENTITY if result.get(key) != config.get(key)]
    return f"{RESULT} and {CONFIG} differ in {', '.join(differ)}" if differ else ""


def _records_problem(record: RunRecord, result: dict[str, Any], config: dict[str, Any]) -> str:
    """Whether the CSVs hold the history the result claims: the episode count, and progress
    rows up to the result's step (a complete run's step is its budget)."""
    if result["status"] == Status.COMPLETE and result["steps"] != _trained_steps(config):
        return f"{RESULT} says {result['steps']} steps of a {config.get('steps')}-step budget"
    try:
        rows, last = csv_tail(record.file(PROGRESS))
        reached = int(last.get("global_step", 0)) if rows else 0
        # a diverged run's progress stops at its last finite row, before the result's step
        if reached != result["steps"] and not (result["status"] == Status.DIVERGED and reached <= result["steps"]):
            name = csv_file(record.file(PROGRESS)).name
            return f"{name} ends at step {reached}, not at the result's {result['steps']}"
        episodes, last = csv_last_rows(record.file(EPISODES), SCORE_EPISODES)
        returns = [float(row["return"]) for row in last]
    except FileNotFoundError as err:
        return f"{Path(err.filename).name} is missing"
    except (SuiteError, ValueError, KeyError) as err:
        return str(err) if not isinstance(err, KeyError) else f"{EPISODES} has no {err} column"
    except OSError as err:
        return f"a record CSV cannot be read ({err.strerror or err})"
    name = csv_file(record.file(EPISODES)).name
    if episodes != result["episodes"]:
        return f"{name} has {episodes} episodes, {RESULT} says {result['episodes']}"
    if result["status"] == Status.COMPLETE and returns:
        score = paper_score(returns)
        if score != result["score"]:  # exact: the runner wrote paper_score of these returns
            return f"{RESULT} says score {result['score']!r}, the mean of the last {len(returns)} returns in {name} " \
                   f"is {score!r}"
    return ""


def _trained_steps(config: dict[str, Any]) -> int | None:
    """The steps a complete run trains: whole iterations of its batch within the budget."""
    settings = config.get("config", {})
    batch = int(settings.get("num_steps", 1)) * int(settings.get("num_envs", 1))
    return None if config.get("steps") is None else int(config["steps"]) // batch * batch


def find_runs(runs_dir: str | Path) -> list[RunState]:
    """The state of every run directory under `runs_dir` (read only)."""
    return [run_state(path) for path in sorted(Path(runs_dir).glob("*/*/seed*")) if path.is_dir()]



def damaged_runs(runs_dir: str | Path) -> list[RunState]:
    return [found for found in find_runs(runs_dir) if found.state == Status.DAMAGED]
