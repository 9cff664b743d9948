"""Run records on disk, every write atomic (temp file in the same directory, fsync, rename).

One directory per (task, arm with its config hash, seed):
    config.json    resolved config, versions, commit, seed, host
    progress.csv   one row per iteration
    episodes.csv   one row per training episode: global_step, return, length
    result.json    status (complete / diverged / failed), scores, timing
    checkpoint.pt  trainer state (git-ignored), read with torch.load(weights_only=True)

progress.csv, episodes.csv and checkpoint.pt are written together at each checkpoint,
the checkpoint last; on resume the CSVs are cut back to the checkpoint's step, so a kill
between the writes loses nothing and duplicates nothing.

Once a run is final (complete or diverged) its two CSVs are stored gzip-compressed
(`progress.csv.gz`, `episodes.csv.gz`: the same text, a third of the bytes, and pandas
reads them as they are); `read_csv(run / "progress.csv")` finds either form.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import platform
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

from .errors import SuiteError
from .faults import failpoint

CONFIG, PROGRESS, EPISODES, RESULT, CHECKPOINT = (
    "config.json", "progress.csv", "episodes.csv", "result.json", "checkpoint.pt")
EPISODE_COLUMNS = ["global_step", "return", "length"]
# Result fields that measure the machine, not the learning: excluded when runs are compared.
TIMING_KEYS = ("steps_per_second", "wall_seconds")
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; records get the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data[: len(data) // 2])
            failpoint("write:half")  # a crash in the middle of writing the temp file
            handle.write(data[len(data) // 2:])
            handle.flush()
            os.fsync(handle.fileno())
        failpoint("write:before_rename")
        os.replace(tmp, path)
        failpoint("write:after_rename")
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """Floats are written with repr, which reads back to the identical float."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, "")) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def csv_file(path: Path) -> Path:
    """Where a record CSV is: `NAME.csv.gz` once its run is final, else `NAME.csv`."""
    path = Path(path)
    compressed = path.with_name(path.name + ".gz")
    return compressed if compressed.exists() else path


def read_csv(path: Path) -> list[dict[str, float | int]]:
    """The rows of a record CSV (plain or, once final, compressed), numbers parsed."""
    path = csv_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as handle:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    except (ValueError, TypeError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as err:
        raise SuiteError(f"{path}: corrupt record ({type(err).__name__}: {err})") from None


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SuiteError(f"{path}: corrupt record ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: corrupt record (not a JSON object)")
    return data


class RunRecord:
    """The files of one run."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def result(self) -> dict[str, Any] | None:
        return read_json(self.file(RESULT)) if self.file(RESULT).exists() else None

    def config(self) -> dict[str, Any] | None:
        return read_json(self.file(CONFIG)) if self.file(CONFIG).exists() else None

    def load_checkpoint(self) -> dict[str, Any] | None:
        if not self.file(CHECKPOINT).exists():
            return None
        try:
            return torch.load(self.file(CHECKPOINT), weights_only=True)
        except Exception as err:  # any unreadable checkpoint is reported the same way
            raise SuiteError(f"{self.file(CHECKPOINT)}: corrupt checkpoint ({type(err).__name__})") from None

    def records_until(self, global_step: int) -> tuple[list[dict], list[dict]]:
        """progress and episode rows up to and including `global_step` (the checkpoint's)."""
        rows = []
        for name in (PROGRESS, EPISODES):
            found = read_csv(self.file(name)) if csv_file(self.file(name)).exists() else []
            rows.append([r for r in found if r["global_step"] <= global_step])
        return rows[0], rows[1]

    def clear(self) -> None:
        """Remove a previous attempt's files (the run starts over)."""
        for name in (PROGRESS, EPISODES, PROGRESS + ".gz", EPISODES + ".gz", RESULT, CHECKPOINT):
            self.file(name).unlink(missing_ok=True)

    def compress(self) -> None:
        """Store a final run's CSVs gzip-compressed (same text; gzip header without a time,
        so the same records give the same bytes). Idempotent; a kill at any point leaves a
        whole file of each (the compressed copy is renamed into place before the plain one goes)."""
        for name in (PROGRESS, EPISODES):
            plain = self.file(name)
            if plain.exists():
                atomic_write_bytes(self.file(name + ".gz"), gzip.compress(plain.read_bytes(), 9, mtime=0))
                plain.unlink()

    def remove_stale_temp_files(self) -> None:
        """Temp files a killed writer left behind (never read: records are renamed into place)."""
        for stale in self.path.glob(".*.tmp"):
            stale.unlink(missing_ok=True)


class RecordLogger:
    """The trainer's logger for a run directory: buffers rows in memory and writes the CSVs
    and the checkpoint together at each checkpoint."""

    def __init__(self, record: RunRecord, progress: list[dict] | None = None,
                 episodes: list[dict] | None = None, on_row=None):
        self.record = record
        self.progress = list(progress or [])
        self.episodes = list(episodes or [])
        self.on_row = on_row

    def log_iteration(self, row: dict[str, float]) -> None:
        failpoint("row")
        self.progress.append(dict(row))
        if self.on_row is not None:
            self.on_row(row)

    def log_episodes(self, episodes) -> None:
        self.episodes.extend({"global_step": e.global_step, "return": e.ret, "length": e.length}
                             for e in episodes)

    def flush(self) -> None:
        columns = list(self.progress[0]) if self.progress else ["iteration", "global_step"]
        atomic_write_text(self.record.file(PROGRESS), csv_text(columns, self.progress))
        atomic_write_text(self.record.file(EPISODES), csv_text(EPISODE_COLUMNS, self.episodes))

    def save_checkpoint(self, state: dict) -> None:
        self.flush()
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.record.file(CHECKPOINT), buffer.getvalue())


def git_commit() -> str:
    """The commit of the checkout the suite runs from, or "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_info() -> dict[str, str]:
    """Versions and machine details recorded with every run."""
    import gymnasium
    import mujoco
    import numpy

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            names = (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
            cpu = next(names, cpu)
    except OSError:
        pass
    return {"python": platform.python_version(), "torch": torch.__version__,
            "gymnasium": gymnasium.__version__, "mujoco": mujoco.__version__, "numpy": numpy.__version__,
            "torch_threads": torch.get_num_threads(), "commit": git_commit(), "host": socket.gethostname(),
            "cpu": cpu}


def load_runs(runs_dir: str | Path = "runs"):
    """Every run record under `runs_dir` as a pandas DataFrame, one row per run directory:
    the result's fields where there is a result, else status "partial" (a checkpoint or a
    config without a result) with the config's task, arm and seed."""
    import pandas as pd

    rows = []
    for config_path in sorted(Path(runs_dir).glob(f"*/*/seed*/{CONFIG}")):
        record = RunRecord(config_path.parent)
        config = record.config() or {}
        result = record.result()
        env = config.get("environment", {})
        row = {"task": config.get("task"), "arm": config.get("arm"), "arm_label": config.get("arm_label"),
               "config_hash": config.get("config_hash"), "seed": config.get("seed"), "status": "partial",
               "overrides": config.get("overrides", {}), "budget": config.get("steps"),
               **{k: env.get(k) for k in ("mujoco", "gymnasium", "torch", "numpy", "commit", "cpu", "host")}}
        if result is not None:
            row.update({k: v for k, v in result.items() if k != "traceback"})
        row["path"] = str(record.path)
        rows.append(row)
    return pd.DataFrame(rows)


def load_progress(run_path: str | Path):
    """A run's progress.csv as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(read_csv(Path(run_path) / PROGRESS))


def load_episodes(run_path: str | Path):
    """A run's episodes.csv as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(read_csv(Path(run_path) / EPISODES), columns=EPISODE_COLUMNS)
