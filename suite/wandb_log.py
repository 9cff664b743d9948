"""wandb logging of finished runs, from their records (imported only with --wandb).

Each finished run becomes one wandb run: config = the run's config.json, group = arm
label, job_type = task, tags = the preset; metrics = the progress rows at their
global_step, plus the mean training-episode return of each row's span; summary = the
result. Logged by the driver from the records, so both backends log the same way and a
resumed run logs its whole history once. Offline (WANDB_MODE=offline) unless the user
has set WANDB_MODE or has an API key configured; it never prompts for a login.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .store import EPISODES, PROGRESS, csv_file, read_csv, read_json


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


class WandbLogger:
    def __init__(self, project: str, entity: str | None, preset: str | None, runs_dir: Path):
        import wandb

        self.wandb = wandb
        self.project, self.entity, self.preset = project, entity, preset
        self.dir = Path(os.environ.get("WANDB_DIR", runs_dir))
        self.mode = wandb_mode()

    def log_run(self, spec, run_path: Path) -> None:
        config = read_json(run_path / "config.json")
        config.pop("environment", None)
        result = read_json(run_path / "result.json")
        run_id = hashlib.sha256(f"{self.project}/{spec.key}".encode()).hexdigest()[:16]
        self.dir.mkdir(parents=True, exist_ok=True)
        run = self.wandb.init(
            project=self.project, entity=self.entity, dir=str(self.dir), mode=self.mode, id=run_id,
            name=spec.key, group=spec.arm.label, job_type=spec.task,
            tags=[t for t in (self.preset, spec.arm.name) if t], config=config, resume="allow",
            reinit="create_new", settings=self.wandb.Settings(silent=True, console="off"))
        episodes = read_csv(run_path / EPISODES) if csv_file(run_path / EPISODES).exists() else []
        progress = read_csv(run_path / PROGRESS) if csv_file(run_path / PROGRESS).exists() else []
        lo = 0
        for row in progress:
            hi = lo
            while hi < len(episodes) and episodes[hi]["global_step"] <= row["global_step"]:
                hi += 1
            metrics = dict(row)
            if hi > lo:
                metrics["episode_return"] = sum(e["return"] for e in episodes[lo:hi]) / (hi - lo)
            run.log(metrics, step=int(row["global_step"]))
            lo = hi
        for key in ("status", "score", "eval_score", "steps", "steps_per_second", "wall_seconds"):
            if key in result:
                run.summary[key] = result[key]
        run.finish()
