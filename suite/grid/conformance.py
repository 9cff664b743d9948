"""The checks a plug-in arm must pass before its numbers mean anything:
`python -m suite check-arm SPEC`.

Each check trains for real on a small budget (three iterations), in a temporary directory,
through the suite's own runner, and prints one line:

- config: the default config is a frozen dataclass that round-trips through JSON to the same
  config and the same hash (the hash is what names its run directories);
- trains and records on a continuous task (InvertedPendulum-v5) and a discrete one
  (CartPole-v1): the run completes and its records are complete;
- metrics: every progress row has the same keys, and every value is finite;
- deterministic: the same seed twice gives the same records;
- resume: killed after two iterations and resumed gives the same records as uninterrupted;
- overrides run (a subclass of a built-in algorithm only): its records on each task differ from
  those of the built-in class it extends, trained with the same config and seed on the same
  (generic) path. Identical records mean the overridden methods never changed what ran.

`check_arm(spec)` returns [(check, passed, detail)]; the command exits 1 if any failed.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import replace
from pathlib import Path

from algorithms import ARMS, make_arm
from algorithms.config import added_values, config_dict
from algorithms.group import defined_over
from suite.grid.plan import plan
from suite.grid.runner import execute
from suite.records.files import PROGRESS, read_csv
from suite.records.files import WALL_CLOCK_COLUMNS as WALL_CLOCK
from suite.records.files import records_digest as _records
from suite.records.result import Status

CONTINUOUS, DISCRETE = "InvertedPendulum-v5", "CartPole-v1"


def check_arm(spec: str, tasks: tuple[str, ...] = (CONTINUOUS, DISCRETE)) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    arm = make_arm(spec)  # a ConfigError here is the one line the caller prints
    try:  # a record omits fields added later at their earlier value: those fill in (config.added_values)
        record = json.loads(json.dumps(config_dict(arm.config)))
        values = {**added_values(type(arm.config)), **record}
        rebuilt = type(arm.config)(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
        same = rebuilt == arm.config and make_arm(spec).config_hash == arm.config_hash
        checks.append(("config", same, f"JSON round trip and hash {arm.config_hash} stable" if same
                       else "the config does not come back the same from its JSON record"))
    except Exception as err:
        checks.append(("config", False, f"{type(err).__name__}: {err}"))
    with tempfile.TemporaryDirectory(prefix="pgsuite-check-") as tmp:
        root = Path(tmp)
        for task in tasks:
            try:
                run = plan([spec], [task], seeds=1, steps=3 * make_arm(spec, task).config.batch_size)[0]
                result = execute(run, root / "a")
                ok = result.status == Status.COMPLETE
                checks.append((f"trains on {task}", ok, f"score {result.score}" if ok else
                               f"status {result.status}: {str(result.error or '')[:200]}"))
                if not ok:
                    continue
                rows = read_csv(root / "a" / run.key / PROGRESS)
                keys = {tuple(row) for row in rows}
                bad = [f"{k}={v}" for row in rows for k, v in row.items()
                       if k not in WALL_CLOCK and not (isinstance(v, int | float) and math.isfinite(v))]
                checks.append((f"metrics on {task}", len(keys) == 1 and not bad,
                               f"{len(rows)} rows, keys {', '.join(next(iter(keys)))}" if len(keys) == 1 and not bad
                               else f"keys differ between rows or values not finite: {bad[:3]}"))
                execute(run, root / "b")
                same = _records(root / "a" / run.key) == _records(root / "b" / run.key)
                checks.append((f"deterministic on {task}", same, "same seed, same records" if same
                               else "the same seed gave different records"))
                execute(run, root / "c", checkpoint_every=1, stop_after=2)
                resumed = execute(run, root / "c", checkpoint_every=1)
                same = resumed.status == Status.COMPLETE and _records(root / "a" / run.key) == _records(
                    root / "c" / run.key)
                checks.append((f"resume on {task}", same, "killed after 2 iterations and resumed: same records"
                               if same else "a resumed run's records differ from an uninterrupted run's"))
                parent = builtin_parent(run.arm.algorithm)
                if parent is not None:
                    # the built-in on the path the subclass takes (a subclass never takes the engine)
                    generic = type(parent.__name__, (parent,), {"use_engine": False})
                    base = replace(run, arm=replace(run.arm, name=f"builtin-{parent.__name__}", algorithm=generic,
                                                    plugin=None))
                    execute(base, root / "parent")
                    same = _rows(root / "a" / run.key) == _rows(root / "parent" / base.key)
                    checks.append((f"overrides run on {task}", not same,
                                   f"records differ from the built-in {parent.__name__}'s with the same config"
                                   if not same else f"records identical to the built-in {parent.__name__}'s with "
                                   "the same config and seed: the overridden methods never changed what ran"))
            except Exception as err:
                checks.append((f"trains on {task}", False, f"{type(err).__name__}: {err}"))
    return checks


def builtin_parent(algorithm: type) -> type | None:
    """The built-in algorithm class a plug-in's class extends and defines something over (None
    for a built-in itself, a class that defines nothing over one, or a class written against
    `Algorithm` alone)."""
    parent, defined = defined_over(algorithm, {cls for cls, _ in ARMS.values()})
    return parent if defined else None


def _rows(path: Path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in read_csv(path / PROGRESS)]
