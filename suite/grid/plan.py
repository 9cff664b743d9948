"""Planning a grid: every input checked and every run listed before anything touches the disk.

A run is one (task, arm, seed, step budget): a `RunSpec`, whose `key` is its directory under
the runs dir (`<task>/<arm>-<run hash>/seed<k>`). `plan` and `resolve_grid` raise SuiteError
with one line for any bad input; `make_groups` groups the runs trained together in one
process (grid mode).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algorithms import Arm, ConfigError, make_arm
from algorithms.toggles import ablation_specs
from suite.errors import SuiteError
from suite.paper import PAPER_SEEDS, PAPER_STEPS, PAPER_TASKS, resolve_tasks
from suite.paper import preset as get_preset
from suite.records.files import run_hash

DEFAULT_SEEDS, DEFAULT_STEPS = PAPER_SEEDS, PAPER_STEPS  # as the paper ran (suite/paper.py)
# Grid mode's default group: up to 11 runs per process (Table 1's 11 settings of a task, or
# 11 seeds): the more runs stacked, the larger each run's fraction of raw stepping (measured per
# stack size in suite/data/speed.json's fraction_of_raw, and by benchmarks/throughput.py into
# benchmarks/results/; `suite run --preset paper --dry-run` shows the estimate against the
# floors). A group only ever holds runs of one task and algorithm.
DEFAULT_GROUP_SIZE = 11


@dataclass(frozen=True)
class RunSpec:
    task: str
    arm: Arm
    seed: int
    steps: int

    @property
    def run_hash(self) -> str:
        return run_hash(self.arm.config_hash, self.steps)

    @property
    def key(self) -> str:
        return f"{self.task}/{self.arm.record_name}-{self.run_hash}/seed{self.seed}"

    @property
    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this run records about whose it is (with its step)."""
        return {"task": self.task, "config_hash": self.run_hash, "seed": self.seed}

    @property
    def result_identity(self) -> dict[str, Any]:
        """Whose a result is, as result.json names it."""
        return {"task": self.task, "arm": self.arm.record_name, "arm_label": self.arm.label,
                "config_hash": self.run_hash, "seed": self.seed}


MAX_STEPS = 10**12  # far past any budget a run could train; above it a typo, not a plan


def parse_steps(value: str | int | float) -> int:
    """A positive whole number of steps up to MAX_STEPS; accepts 1000000, 1e6 and 1_000_000.
    Whole numbers written out are read exactly (not through a float)."""
    text = str(value).replace("_", "").strip()
    try:
        number = int(text) if text.lstrip("+").isdigit() else float(text)
    except ValueError:
        raise SuiteError(f"steps {value!r} is not a number") from None
    if isinstance(number, float) and (not math.isfinite(number) or not number.is_integer()):
        raise SuiteError(f"steps {value!r} must be a positive whole number")
    if number <= 0:
        raise SuiteError(f"steps {value!r} must be a positive whole number")
    if number > MAX_STEPS:
        raise SuiteError(f"steps {value!r} is more than {MAX_STEPS:.0e} steps per run")
    return int(number)


def parse_positive_int(what: str, value: str | int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise SuiteError(f"{what} {value!r} is not a whole number") from None
    if number < 1:
        raise SuiteError(f"{what} {value!r} must be >= 1")
    return number


def parse_seeds(value: int | str | Iterable[int]) -> list[int]:
    """Seeds as a count (3: seeds 0, 1, 2) or an explicit list ("0,3,7", [0, 3, 7]; "4,"
    is seed 4 alone)."""
    if isinstance(value, str) and "," in value:
        items = split_list("seeds", value.strip()[:-1] if value.strip().endswith(",") else value)
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
        if not items:
            raise SuiteError("no seeds given")
    else:
        return list(range(parse_positive_int("seeds", value)))
    bad = [item for item in items if not item.strip().isdigit()]
    if bad:
        raise SuiteError(f"seed {bad[0]!r} is not a whole number >= 0")
    seeds = [int(item) for item in items]
    if len(set(seeds)) != len(seeds):
        raise SuiteError(f"a seed is given twice in {value!r}")
    return seeds


def split_list(what: str, text: str) -> list[str]:
    """A comma-separated list with no empty items ("Hopper,Walker2d"); an empty list is refused."""
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise SuiteError(f"no {what} given in {text!r}")
    if not all(items):
        raise SuiteError(f"empty item in the {what} list {text!r}")
    return items


def split_arm_specs(text: str) -> list[str]:
    """`ppo_clip:clip_eps=0.1,lr=1e-4,trpo` -> ["ppo_clip:clip_eps=0.1:lr=1e-4", "trpo"]:
    a comma-separated item with '=' and no ':' continues the previous arm's overrides."""
    specs: list[str] = []
    for item in split_list("arms", text):
        if "=" in item and ":" not in item and specs:
            specs[-1] += ":" + item
        else:
            specs.append(item)
    return specs


def plan(algos: Iterable[str] | str, tasks: Iterable[str] | str = PAPER_TASKS, seeds: int | str | list = DEFAULT_SEEDS,
         steps: int | str = DEFAULT_STEPS) -> list[RunSpec]:
    """Validate every input and list the runs, without touching the disk."""
    specs = split_arm_specs(algos) if isinstance(algos, str) else list(algos)
    if not specs:
        raise SuiteError("no arms given")
    try:
        _refuse_same_config([make_arm(spec) for spec in specs])
        names = split_list("tasks", tasks) if isinstance(tasks, str) else list(tasks)
        if not names:
            raise SuiteError("no tasks given")
        task_list = resolve_tasks(names)
        arms = {task: [make_arm(spec, task) for spec in specs] for task in task_list}  # with the task's defaults
    except ConfigError as err:
        raise SuiteError(str(err)) from None
    seed_list = parse_seeds(seeds)
    steps = parse_steps(steps)
    for task in task_list:
        for arm in arms[task]:
            if steps < arm.config.batch_size:
                raise SuiteError(f"steps={steps} is less than one iteration of {arm.label} on {task} "
                                 f"({arm.config.batch_size} transitions)")
    return [RunSpec(task, arm, seed, steps) for task in task_list for arm in arms[task] for seed in seed_list]


def _refuse_same_config(arms: list[Arm]) -> None:
    """Two labels of one config would share one run directory (the first label would win)."""
    seen: dict[str, Arm] = {}
    for arm in arms:
        other = seen.setdefault(arm.config_hash, arm)
        if other is not arm:
            same = "is given twice" if other.label == arm.label else f"and {other.label!r} are the same config"
            raise SuiteError(f"arm {arm.label!r} {same} (hash {arm.config_hash}); give it once")


def resolve_grid(algos=None, tasks=None, seeds=None, steps=None, preset: str | None = None,
                 ablate: str | list[str] | None = None) -> list[RunSpec]:
    """The runs of a grid; a preset fills what is not given. `ablate` (toggle names) expands
    every arm into the 2^k combinations of those toggles on and off."""
    base = get_preset(preset) if preset else {}
    algos = algos if algos is not None else base.get("algos", "ppo_clip")
    if ablate:
        names = split_list("toggles", ablate) if isinstance(ablate, str) else list(ablate)
        specs = split_arm_specs(algos) if isinstance(algos, str) else list(algos)
        algos = [expanded for spec in specs for expanded in ablation_specs(spec, names)]
    return plan(algos,
                tasks if tasks is not None else base.get("tasks", PAPER_TASKS),
                seeds if seeds is not None else base.get("seeds", DEFAULT_SEEDS),
                steps if steps is not None else base.get("steps", DEFAULT_STEPS))


def make_groups(specs: list[RunSpec], group_size: int) -> list[list[RunSpec]]:
    """The groups: runs trained together in one process, up to `group_size` runs of one task and one
    algorithm with one batch size (their iterations keep step; PPO members of any setting
    share the stacked update), seed by seed: a group holds the lowest seeds still to train, and
    the groups go in the order of their lowest seed, then in plan order. So a grid finishes a
    seed in every cell before it starts the next, and a table that takes a seed once it is final
    in every cell (the leaderboard's) grows while the grid runs. Where runs train never moves
    their numbers."""
    alike: dict[tuple, list[RunSpec]] = {}
    for spec in sorted(specs, key=lambda spec: spec.seed):  # stable: plan order within a seed
        key = (spec.task, spec.arm.algorithm.__name__, spec.arm.config.batch_size)
        alike.setdefault(key, []).append(spec)
    groups = [runs[i:i + group_size] for runs in alike.values() for i in range(0, len(runs), group_size)]
    return sorted(groups, key=lambda group: group[0].seed)


def check_runs_dir(runs_dir: str | Path, write: bool = True) -> Path:
    """The runs dir as a Path, refused with one line where it cannot serve: a file, a
    dangling symlink, under a file, or (for writers) not writable. Readers (`write=False`)
    accept a read-only directory."""
    path = Path(runs_dir)
    if path.is_symlink() and not path.exists():
        raise SuiteError(f"runs dir {str(path)!r} is a dangling symlink (to {os.readlink(path)!r})")
    if path.exists() and not path.is_dir():
        raise SuiteError(f"runs dir {str(path)!r} is a file, not a directory")
    probe = path if path.exists() else next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not probe.is_dir():
        raise SuiteError(f"runs dir {str(path)!r} is inside {str(probe)!r}, which is a file, not a directory")
    if write and not os.access(probe, os.W_OK):
        raise SuiteError(f"runs dir {str(path)!r} is not writable")
    return path
