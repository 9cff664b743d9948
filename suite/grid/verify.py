"""Records that verify: rerun the first iterations of committed runs with today's code and
compare them with what the records say.

For each run directory: the arm is rebuilt from its label and task by the code (a label or
task that names a module is not imported: no code runs because a record says so), its
config hash must be the directory's and its resolved config the one config.json records;
then the run trains again, from scratch, for its first K progress rows (in a temporary
directory, runs of one task stacked in groups as the grid trains them: a member's numbers
do not depend on its group), and its progress rows (wall-clock columns aside) and the
episodes they cover are compared with the recorded ones:

- identical: every compared value is the same;
- differs from row R: the first row (1-based) or episode where a value differs, with the
  column and both values: today's code does not produce this record;
- another CPU class, compared statistically: the record was made on a CPU with other
  vector extensions (or another model), where floats legitimately differ in their last
  bits; the largest relative difference over the compared rows is reported instead;
- not checked: why (fewer rows recorded than asked, a record that names a module).

`verify` returns a DataFrame (one row per run); `python -m suite verify RUNS_DIR` prints it
with the counts and exits 1 when a run differs on this CPU class.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from algorithms import RECORD_NAMES, ConfigError, make_arm
from algorithms.config import config_dict
from suite.errors import SuiteError
from suite.grid.plan import DEFAULT_GROUP_SIZE, RunSpec
from suite.grid.runner import execute_group, modules_named
from suite.records.files import CONFIG, EPISODES, PROGRESS, environment_info, read_csv
from suite.records.files import WALL_CLOCK_COLUMNS as WALL_CLOCK
from suite.records.state import find_runs

STATES = ("identical", "differs", "another CPU class", "not checked")


def _same_cpu(recorded: dict, here: dict) -> bool:
    """One CPU class: the same model name and, where the record has them, the same vector
    extensions (older records carry no flags: the model name decides)."""
    if recorded.get("cpu") != here.get("cpu"):
        return False
    flags = recorded.get("cpu_flags")
    return flags is None or flags == here.get("cpu_flags")


def _spec_of(path: Path, config: dict, allow_import: tuple[str, ...] = ()) -> tuple[RunSpec | None, str]:
    """The run as today's code resolves it from its record's data, or (None, why not). A
    module the record names is imported only if it is in `allow_import`."""

    task, label = str(config.get("task", "")), str(config.get("arm_label", ""))
    refused = [m for m in modules_named(config) if m not in allow_import]
    if refused:
        return None, (f"its record names module {refused[0]!r}; not imported because a record says so "
                      f"(--allow-import {refused[0]} to run it)")
    name = label.split(":", 1)[0]
    # a label recorded before its arm's name moved (algorithms.RECORD_NAMES) is the renamed arm's now
    labels = [label] + [alias + label[len(name):] for alias, old in RECORD_NAMES.items() if old == name]
    try:
        specs = [RunSpec(task, make_arm(text, task), int(config["seed"]), int(config["steps"])) for text in labels]
    except (ConfigError, KeyError, TypeError, ValueError) as err:
        return None, f"config.json cannot be resolved: {err}"
    spec = next((s for s in specs if s.run_hash == config.get("config_hash")), specs[0])
    if spec.run_hash != config.get("config_hash") or path.parent.name != f"{spec.arm.record_name}-{spec.run_hash}":
        return None, (f"differs: today's code resolves {label!r} to config hash {spec.run_hash}, the record says "
                      f"{config.get('config_hash')} (directory {path.parent.name})")
    if config_dict(spec.arm.config) != config.get("config"):
        return None, "differs: config.json's resolved config is not what today's code resolves for its label"
    return spec, ""


def _compare(recorded: list[dict], now: list[dict], what: str) -> tuple[str, float] | None:
    """(where the first difference is, the largest relative difference) or None if equal."""
    first, largest = None, 0.0
    if len(recorded) != len(now):
        first = f"{what}: {len(recorded)} recorded, {len(now)} now"
    for i, (a, b) in enumerate(zip(recorded, now, strict=False)):
        for key in sorted(set(a) | set(b)):
            if key in WALL_CLOCK:
                continue
            x, y = a.get(key), b.get(key)
            if x == y:
                continue
            if first is None:
                first = f"{what} {i + 1}, {key}: recorded {x}, now {y}"
            if isinstance(x, int | float) and isinstance(y, int | float) and math.isfinite(x) and math.isfinite(y):
                largest = max(largest, abs(x - y) / max(abs(x), abs(y), 1e-12))
            else:
                largest = math.inf
    return None if first is None else (first, largest)


def verify(runs_dir: str | Path = "runs", rows: int = 1, tasks: list[str] | None = None,
           group_size: int = DEFAULT_GROUP_SIZE, allow_import: tuple[str, ...] = ()):
    """Verify every run directory under `runs_dir` (of `tasks`, if given) over its first
    `rows` progress rows. Returns a DataFrame: key, state, detail."""

    if rows < 1:
        raise SuiteError(f"rows {rows} must be >= 1")
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise SuiteError(f"runs dir {str(runs_dir)!r} does not exist")
    here = environment_info()
    verdicts: dict[str, tuple[str, str]] = {}
    todo: dict[str, list[tuple[Path, RunSpec, dict]]] = defaultdict(list)
    for found in find_runs(runs_dir):
        path = found.path
        key = str(path.relative_to(runs_dir))
        if tasks is not None and path.parent.parent.name not in tasks:
            continue
        try:
            config = json.loads((path / CONFIG).read_text())
            recorded = read_csv(path / PROGRESS)
        except (OSError, ValueError) as err:
            verdicts[key] = ("not checked", f"its records cannot be read: {err}")
            continue
        spec, why = _spec_of(path, config, allow_import)
        if spec is None:
            verdicts[key] = ("differs" if why.startswith("differs") else "not checked", why)
            continue
        if len(recorded) < rows:
            verdicts[key] = ("not checked", f"{len(recorded)} progress rows recorded, {rows} asked")
            continue
        todo[spec.task].append((path, spec, config))
    with tempfile.TemporaryDirectory(prefix="pgsuite-verify-") as tmp:
        for entries in todo.values():
            for start in range(0, len(entries), group_size):
                chunk = entries[start:start + group_size]
                per_row = {id(s): max(1, math.ceil(2048 / s.arm.config.batch_size)) for _, s, _ in chunk}
                # members with one batch size stop together; others are grouped apart by the runner
                for size in sorted({per_row[id(s)] for _, s, _ in chunk}):
                    part = [(p, s, c) for p, s, c in chunk if per_row[id(s)] == size]
                    execute_group([s for _, s, _ in part], tmp, checkpoint_every=1, stop_after=rows * size)
                    for path, spec, config in part:
                        verdicts[str(path.relative_to(runs_dir))] = _verdict(path, Path(tmp) / spec.key, spec,
                                                                             config, rows, here)
    frame = pd.DataFrame([{"key": k, "state": s, "detail": d} for k, (s, d) in sorted(verdicts.items())],
                         columns=["key", "state", "detail"])
    return frame


def _verdict(recorded_path: Path, new_path: Path, spec: RunSpec, config: dict, rows: int,
             here: dict) -> tuple[str, str]:
    recorded_rows = read_csv(recorded_path / PROGRESS)[:rows]
    new_rows = read_csv(new_path / PROGRESS)[:rows]
    last_step = recorded_rows[-1]["global_step"]
    episodes = [[e for e in read_csv(p / EPISODES) if e["global_step"] <= last_step]
                for p in (recorded_path, new_path)]
    found = _compare(recorded_rows, new_rows, "row") or _compare(*episodes, "episode")
    if found is None:
        return "identical", f"{rows} rows, {len(episodes[0])} episodes"
    where, largest = found
    if _same_cpu(config.get("environment", {}), here):
        return "differs", where
    return "another CPU class", (f"compared statistically: largest relative difference {largest:.2g} over "
                                 f"{rows} rows (first: {where}); recorded on {config['environment'].get('cpu')}")
