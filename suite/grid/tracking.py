"""Live experiment tracking, optional: wandb (`--wandb`) and TensorBoard (`--tensorboard DIR`).
Neither is imported unless asked for.

Each run's progress rows are logged as they are written (by the driver, which receives
them from the workers), at their global_step, with the mean return of the training
episodes that ended in the row's span (`episode_return`). A run whose rows were not seen
live (trained on Ray, or finished before) is logged from its records when it finishes.
A resumed run continues the same wandb run: its id is derived from the run directory, and
rows it already has are not logged again.

wandb: config = the run's config.json, group = arm label, job_type = task, tags = the
preset and the arm, summary = the result. Offline (WANDB_MODE=offline) unless the user has
set WANDB_MODE or has an API key configured; it never prompts for a login, and says where
offline runs go. TensorBoard: one event directory per run, `DIR/<task>/<arm>-<hash>/seed<k>`,
every numeric column as a scalar.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from pathlib import Path
from typing import Any

from suite.errors import SuiteError
from suite.grid.run import Run
from suite.records.files import CONFIG, EPISODES, PROGRESS, csv_file, make_dirs, read_csv, read_json


def wandb_mode() -> str:
    """offline unless WANDB_MODE says otherwise or an API key is configured."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    netrc = Path.home() / ".netrc"
    if netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore"):
        return "online"
    return "offline"


def rows_with_returns(progress: list[dict], episodes: list[dict]) -> list[dict]:
    """Each progress row with the mean return of the episodes that ended in its span."""
    out, lo = [], 0
    for row in progress:
        hi = lo
        while hi < len(episodes) and episodes[hi]["global_step"] <= row["global_step"]:
            hi += 1
        metrics = dict(row)
        if hi > lo:
            metrics["episode_return"] = sum(e["return"] for e in episodes[lo:hi]) / (hi - lo)
        out.append(metrics)
        lo = hi
    return out


def rows_from_records(run_path: Path) -> list[dict]:
    progress = read_csv(run_path / PROGRESS) if csv_file(run_path / PROGRESS).exists() else []
    episodes = read_csv(run_path / EPISODES) if csv_file(run_path / EPISODES).exists() else []
    return rows_with_returns(progress, episodes)


class Tracker:
    """The common shape: `row` for every progress row seen live, `finish` when a run ends
    (logging from its records what was not seen live), `close` at the grid's end."""

    def __init__(self, runs_dir: Path):
        self.runs_dir = Path(runs_dir)
        self.last_step: dict[str, int] = {}  # run key -> last global_step logged

    def row(self, spec, row: dict[str, Any]) -> None:
        """A live row; the first of a run here is preceded by the rows its records already
        hold (a resumed run's history before its checkpoint)."""
        step = int(row["global_step"])
        if spec.key not in self.last_step:
            self.last_step[spec.key] = -1
            for earlier in rows_from_records(Run(spec, self.runs_dir).path):
                if int(earlier["global_step"]) < step:
                    self._log_once(spec, earlier)
        self._log_once(spec, row)

    def _log_once(self, spec, row: dict[str, Any]) -> None:
        step = int(row["global_step"])
        if step > self.last_step.get(spec.key, -1):
            self.log(spec, row, step)
            self.last_step[spec.key] = step

    def finish(self, spec, run_path: Path, result: dict[str, Any]) -> None:
        for row in rows_from_records(run_path):  # what was not seen live (Ray; a finished run)
            self._log_once(spec, row)
        self.end(spec, run_path, result)
        self.last_step.pop(spec.key, None)

    def log(self, spec, row: dict[str, Any], step: int) -> None:
        raise NotImplementedError

    def end(self, spec, run_path: Path, result: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _scalars(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items() if isinstance(v, (int, float)) and math.isfinite(float(v))}


class WandbLogger(Tracker):
    def __init__(self, project: str, entity: str | None, preset: str | None, runs_dir: Path):
        super().__init__(runs_dir)
        try:
            import wandb
        except ImportError:
            raise SuiteError("--wandb needs wandb: pip install -e '.[wandb]'") from None
        self.wandb = wandb
        self.project, self.entity, self.preset = project, entity, preset
        self.dir = Path(os.environ.get("WANDB_DIR", runs_dir))
        self.mode = wandb_mode()
        self.runs: dict[str, Any] = {}
        if self.mode == "offline":
            print(f"wandb: offline; runs are written under {self.dir / 'wandb'} "
                  f"(upload later with: wandb sync {self.dir / 'wandb'}/offline-run-*)", file=sys.stderr, flush=True)

    def run_id(self, spec) -> str:
        return hashlib.sha256(f"{self.project}/{spec.key}".encode()).hexdigest()[:16]

    def _open(self, spec, run_path: Path):
        if spec.key not in self.runs:
            config = read_json(run_path / CONFIG)
            config.pop("environment", None)
            make_dirs(self.dir)
            self.runs[spec.key] = self.wandb.init(
                project=self.project, entity=self.entity, dir=str(self.dir), mode=self.mode, id=self.run_id(spec),
                name=spec.key, group=spec.arm.label, job_type=spec.task,
                tags=[t for t in (self.preset, spec.arm.name) if t], config=config, resume="allow",
                reinit="create_new", settings=self.wandb.Settings(silent=True, console="off"))
        return self.runs[spec.key]

    def log(self, spec, row, step) -> None:
        self._open(spec, Run(spec, self.runs_dir).path).log(_scalars(row), step=step)

    def end(self, spec, run_path, result) -> None:
        run = self._open(spec, run_path)
        for key in ("status", "score", "eval_score", "steps", "steps_per_second", "wall_seconds"):
            if key in result:
                run.summary[key] = result[key]
        run.finish()
        del self.runs[spec.key]

    def close(self) -> None:
        """Finish the runs still open (a stopped grid) and wait for wandb's service to write
        everything out (offline files complete on disk when `run` returns)."""
        for run in self.runs.values():
            run.finish()
        self.runs.clear()
        self.wandb.teardown()


class TensorboardLogger(Tracker):
    def __init__(self, log_dir: str | Path, runs_dir: Path):
        super().__init__(runs_dir)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise SuiteError("--tensorboard needs tensorboard: pip install -e '.[tensorboard]'") from None
        self.SummaryWriter = SummaryWriter
        self.dir = make_dirs(Path(log_dir))
        self.writers: dict[str, Any] = {}

    def _writer(self, spec):
        if spec.key not in self.writers:
            self.writers[spec.key] = self.SummaryWriter(log_dir=str(self.dir / spec.key))
        return self.writers[spec.key]

    def log(self, spec, row, step) -> None:
        writer = self._writer(spec)
        for name, value in _scalars(row).items():
            if name not in ("global_step", "iteration"):
                writer.add_scalar(name, value, step)

    def end(self, spec, run_path, result) -> None:
        writer = self._writer(spec)
        for key in ("score", "eval_score"):
            if isinstance(result.get(key), float):
                writer.add_scalar(f"result/{key}", result[key], int(result.get("steps", 0)))
        writer.close()
        del self.writers[spec.key]

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
