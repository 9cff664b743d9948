"""Records that verify: every file of a recorded run checked, and its first iterations rerun
with today's code and compared with what the records say.

For each run directory (under a runs dir, or a task, arm or run directory given directly):
its whole record set is read by `run_state` (a damaged run, such as a result whose score is
not the mean of its last 100 episodes, is reported as damaged); the arm is rebuilt from its
label and task by the code (a label or task that names a module is not imported: no code runs
because a record says so), its config hash must be the directory's and its resolved config
the one config.json records; then the run trains again, from scratch, for its first K
progress rows (in a temporary directory, runs of one task stacked in groups as the grid
trains them: a member's numbers do not depend on its group), and its progress rows
(wall-clock columns aside) and the episodes they cover are compared with the recorded ones.

On the CPU class that made the record, the comparison is exact:
- identical: every compared value is the same;
- differs from row R: the first row (1-based) or episode where a value differs, with the
  column and both values: today's code does not produce this record.

On another CPU class, floats legitimately part in their last bits (numpy's SIMD paths,
OpenBLAS's and MKL's kernels are chosen per CPU; README, "Across CPUs"), and training
amplifies that. The comparison is then a test against the spread that last-bit differences
produce on this very run: the run is trained again PERTURBATIONS more times here, each with
every initial network parameter moved by a relative PERTURBATION (about 8 float32 ulps) in a
seeded random direction. For every compared value (each progress column of each row, the
compared episodes' count and mean return), z = |recorded - today's| / (the standard deviation
of today's run and its perturbed reruns); the statistic is the largest z:
- consistent (another CPU class): largest z <= Z_THRESHOLD;
- inconsistent (another CPU class): a value further from today's rerun than last-bit
  differences move it (exit status 1). A value the perturbations never move must be equal.

Also:
- damaged: the record set is damaged (exit status 1);
- not checked: why (a partial or failed run, fewer rows recorded than asked, a record that
  names a module).
Every verdict names the versions (torch, numpy, gymnasium, mujoco, Python) in which the
record differs from this machine.

`verify` returns a DataFrame (one row per run); `python -m suite verify --runs-dir DIR`
prints it with the counts, names this machine's CPU, and exits 1 when a run differs, is
inconsistent or is damaged.
"""

from __future__ import annotations

import math
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from algorithms import RECORD_NAMES, ConfigError, make_arm
from algorithms.config import config_dict
from suite.errors import SuiteError
from suite.grid.plan import DEFAULT_GROUP_SIZE, RunSpec
from suite.grid.runner import execute_group, modules_named
from suite.records.files import EPISODES, PROGRESS, environment_info, read_csv, same_cpu_class, version_differences
from suite.records.files import WALL_CLOCK_COLUMNS as WALL_CLOCK
from suite.records.result import Status
from suite.records.state import RunState, run_state

STATES = ("identical", "differs", "consistent", "inconsistent", "damaged", "not checked")
FAILING = ("differs", "inconsistent", "damaged")  # the verdicts that make `suite verify` exit 1
PERTURBATIONS = 6  # perturbed reruns that measure the spread of last-bit differences
PERTURBATION = 1e-6  # relative size of each initial parameter's move (float32's ulp is 1.2e-7)
Z_THRESHOLD = 10.0  # calibrated on the committed AMD EPYC records on an Intel Xeon (README)


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


def _compare(recorded: list[dict], now: list[dict], what: str) -> str | None:
    """Where the first difference is, or None if equal."""
    if len(recorded) != len(now):
        return f"{what}: {len(recorded)} recorded, {len(now)} now"
    for i, (a, b) in enumerate(zip(recorded, now, strict=True)):
        for key in sorted(set(a) | set(b)):
            if key not in WALL_CLOCK and a.get(key) != b.get(key):
                return f"{what} {i + 1}, {key}: recorded {a.get(key)}, now {b.get(key)}"
    return None


def run_directories(path: str | Path) -> tuple[Path, list[Path]]:
    """(the runs dir, the run directories) for a runs dir, a task directory
    (`<task>`), an arm directory (`<task>/<arm>-<hash>`) or one run directory (`.../seed<k>`)."""
    path = Path(path)
    if not path.is_dir():
        raise SuiteError(f"runs dir {str(path)!r} does not exist")
    for depth, pattern in ((3, None), (2, "seed*"), (1, "*/seed*"), (0, "*/*/seed*")):
        if depth == 3 and path.name.startswith("seed") and any(path.iterdir()):
            return path.parents[2], [path]
        if pattern is not None:
            found = sorted(p for p in path.glob(pattern) if p.is_dir())
            if found:
                return (path.parents[depth - 1] if depth else path), found
    return path, []


def _selected(config: dict, algos: list[str] | None) -> bool:
    """A bare arm name selects every config of that arm; a spec with overrides, its config."""
    if algos is None:
        return True
    for spec in algos:
        if ":" not in spec and spec in (config.get("arm"), str(config.get("arm_label", "")).split(":", 1)[0]):
            return True
        if ":" in spec:
            try:
                arm = make_arm(spec, config.get("task"))
                if RunSpec(str(config.get("task")), arm, 0, int(config.get("steps", 0))).run_hash == \
                        config.get("config_hash"):
                    return True
            except (ConfigError, ImportError, TypeError, ValueError):
                continue
    return False


def perturb(seed: int, size: float = PERTURBATION) -> Callable:
    """A trainer adjustment: every network parameter times (1 +- size), signs drawn from `seed`."""

    def adjust(trainer) -> None:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in [*trainer.policy.parameters(), *trainer.value_fn.parameters()]:
                signs = torch.randint(0, 2, p.shape, generator=generator, dtype=p.dtype) * 2 - 1
                p.mul_(1 + size * signs)

    return adjust


def verify(runs_dir: str | Path = "runs", rows: int = 1, tasks: list[str] | None = None,
           algos: list[str] | None = None, group_size: int = DEFAULT_GROUP_SIZE,
           allow_import: tuple[str, ...] = ()):
    """Verify every run directory under `runs_dir` (a runs, task, arm or run directory; of
    `tasks` and `algos`, if given: resolved task ids, arm names or specs) over its first `rows`
    progress rows. Returns a DataFrame: key, state, detail."""

    if rows < 1:
        raise SuiteError(f"rows {rows} must be >= 1")
    root, paths = run_directories(runs_dir)
    if not paths:
        raise SuiteError(f"no run directories under {str(runs_dir)!r}")
    here = environment_info()
    verdicts: dict[str, tuple[str, str]] = {}
    todo: dict[str, list[tuple[Path, RunSpec, dict]]] = defaultdict(list)
    for path in paths:
        key = str(path.relative_to(root))
        if tasks is not None and path.parent.parent.name not in tasks:
            continue
        found: RunState = run_state(path)
        config = found.config or {}
        if algos is not None and not _selected(config, algos):
            continue
        if found.state == Status.DAMAGED:
            verdicts[key] = ("damaged", found.reason)
            continue
        if not found.final:
            verdicts[key] = ("not checked", f"a {found.state} run (no final result to verify)")
            continue
        try:
            recorded = read_csv(path / PROGRESS)
        except (OSError, ValueError) as err:
            verdicts[key] = ("damaged", f"its records cannot be read: {err}")
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
                    specs = [s for _, s, _ in part]
                    execute_group(specs, Path(tmp) / "now", checkpoint_every=1, stop_after=rows * size)
                    other_cpu = [(p, s, c) for p, s, c in part if not same_cpu_class(c.get("environment", {}), here)]
                    for k in range(PERTURBATIONS if other_cpu else 0):
                        execute_group([s for _, s, _ in other_cpu], Path(tmp) / f"perturbed{k}", checkpoint_every=1,
                                      stop_after=rows * size, adjust=perturb(k + 1))
                    for path, spec, config in part:
                        verdicts[str(path.relative_to(root))] = _verdict(path, Path(tmp), spec, config, rows, here)
    if not verdicts:
        raise SuiteError(f"none of the {len(paths)} run directories under {str(runs_dir)!r} is of the tasks and arms "
                         "asked")
    return pd.DataFrame([{"key": k, "state": s, "detail": d} for k, (s, d) in sorted(verdicts.items())],
                        columns=["key", "state", "detail"])


def _rows_and_episodes(path: Path, rows: int, last_step: int | None = None) -> tuple[list[dict], list[dict]]:
    progress = read_csv(path / PROGRESS)[:rows]
    last = progress[-1]["global_step"] if last_step is None else last_step
    return progress, [e for e in read_csv(path / EPISODES) if e["global_step"] <= last]


def _values(progress: list[dict], episodes: list[dict]) -> dict[str, float]:
    """The compared values of a run's first rows: each numeric progress column of each row,
    and the count and mean return of the episodes they cover."""
    values = {f"row {i + 1}, {key}": float(v) for i, row in enumerate(progress) for key, v in row.items()
              if key not in WALL_CLOCK and isinstance(v, int | float)}
    values["episodes"] = float(len(episodes))
    values["mean episode return"] = float(np.mean([e["return"] for e in episodes])) if episodes else 0.0
    return values


def cross_cpu_statistic(recorded: dict[str, float], now: dict[str, float],
                        perturbed: list[dict[str, float]]) -> tuple[float, str]:
    """(largest z, the value it is at): z = |recorded - now| / sd(now and its perturbed reruns);
    a value the perturbations never move has z 0 if equal, inf if not."""
    largest, where = 0.0, ""
    for name, value in now.items():
        x = recorded.get(name, math.nan)
        spread = float(np.std([value] + [p.get(name, math.nan) for p in perturbed], ddof=1))
        if x == value:
            z = 0.0
        elif not (math.isfinite(x) and math.isfinite(spread)) or spread == 0.0:
            z = math.inf
        else:
            z = abs(x - value) / spread
        if z > largest or not where:
            largest, where = z, name
    return largest, where


def _verdict(recorded_path: Path, tmp: Path, spec: RunSpec, config: dict, rows: int,
             here: dict) -> tuple[str, str]:
    recorded_env = config.get("environment", {})
    versions = version_differences(recorded_env, here)
    versions = f" (versions: {versions})" if versions else ""
    recorded = _rows_and_episodes(recorded_path, rows)
    last_step = recorded[0][-1]["global_step"]
    now = _rows_and_episodes(tmp / "now" / spec.key, rows, last_step)
    if same_cpu_class(recorded_env, here):
        found = _compare(recorded[0], now[0], "row") or _compare(recorded[1], now[1], "episode")
        if found is None:
            return "identical", f"{rows} rows, {len(recorded[1])} episodes{versions}"
        return "differs", found + versions
    perturbed = [_values(*_rows_and_episodes(tmp / f"perturbed{k}" / spec.key, rows, last_step))
                 for k in range(PERTURBATIONS)]
    z, where = cross_cpu_statistic(_values(*recorded), _values(*now), perturbed)
    state = "consistent" if z <= Z_THRESHOLD else "inconsistent"
    return state, (f"recorded on {recorded_env.get('cpu')}: largest z {z:.3g} at {where} "
                   f"(threshold {Z_THRESHOLD:g}; {rows} rows, {len(recorded[1])} episodes){versions}")
