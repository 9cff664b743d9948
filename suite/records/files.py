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
import hashlib
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import gymnasium
import numpy
import torch

from algorithms.config import config_hash
from suite.errors import SuiteError
from suite.records.faults import failpoint

CONFIG, PROGRESS, EPISODES, RESULT, CHECKPOINT = (
    "config.json", "progress.csv", "episodes.csv", "result.json", "checkpoint.pt")
EPISODE_COLUMNS = ["global_step", "return", "length"]
# Result fields that measure the machine, not the learning: excluded when runs are compared.
TIMING_KEYS = ("steps_per_second", "wall_seconds")  # result.json's wall-clock fields
WALL_CLOCK_COLUMNS = frozenset({"time_elapsed", "steps_per_second"})  # progress.csv's


def run_hash(arm_hash: str, steps: int) -> str:
    """A run directory's hash: the arm's config hash with the step budget (lr annealing
    depends on it)."""
    return config_hash({"arm": arm_hash, "steps": steps})


def records_digest(run_path: Path, config_keys_left_out: set[str] | None = None,
                   result_keys_left_out: frozenset[str] = frozenset()) -> str:
    """SHA-256 of what a run recorded, wall-clock measurements left out: result.json,
    progress.csv, episodes.csv and, unless `config_keys_left_out` is None, config.json less
    those keys. Two runs with the same digest recorded the same numbers."""

    run_path = Path(run_path)
    result = read_json(run_path / RESULT)
    progress = [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS} for row in read_csv(run_path / PROGRESS)]
    payload = {"result": {k: v for k, v in result.items() if k not in {*TIMING_KEYS, *result_keys_left_out}},
               "progress": progress, "episodes": read_csv(run_path / EPISODES)}
    if config_keys_left_out is not None:
        config = read_json(run_path / CONFIG)
        payload["config"] = {k: v for k, v in config.items() if k not in config_keys_left_out}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
_UMASK = os.umask(0)
os.umask(_UMASK)


def make_dirs(path: Path) -> Path:
    """mkdir -p, where a file in the way is named as such (mkdir says "File exists")."""
    path = Path(path)
    for ancestor in (path, *path.parents):
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                what = "a dangling symlink" if not ancestor.exists() else "a file"
                raise NotADirectoryError(20, f"Not a directory ({what} is in the way)", str(ancestor))
            break
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    make_dirs(path.parent)
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
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.filename is None:  # a failed write names no file: name it
            raise OSError(err.errno, err.strerror, str(path)) from err
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
    except (ValueError, TypeError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, zlib.error) as err:
        raise SuiteError(f"{path}: corrupt record ({type(err).__name__}: {err})") from None


def csv_tail(path: Path) -> tuple[int, dict[str, str]]:
    """A record CSV's number of data rows and its last row (text values), read without
    parsing the rest; FileNotFoundError where neither form exists."""
    count, rows = csv_last_rows(path, 1)
    return count, rows[-1] if rows else {}


def csv_last_rows(path: Path, keep: int) -> tuple[int, list[dict[str, str]]]:
    """A record CSV's number of data rows and its last `keep` rows (text values)."""
    path = csv_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as handle:
            lines = handle.read().splitlines()
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError, zlib.error) as err:
        raise SuiteError(f"{path}: corrupt record ({type(err).__name__}: {err})") from None
    if not lines:
        raise SuiteError(f"{path}: corrupt record (no header)")
    header = next(csv.reader([lines[0]]))
    tail = [dict(zip(header, row, strict=False)) for row in csv.reader(lines[max(1, len(lines) - keep):])]
    return len(lines) - 1, tail


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
            if not csv_file(self.file(name)).exists():
                raise FileNotFoundError(2, "No such file", str(self.file(name)))
            rows.append([r for r in read_csv(self.file(name)) if r["global_step"] <= global_step])
        return rows[0], rows[1]

    def clear(self) -> None:
        """Remove a previous attempt's files (the run starts over), and any record name that
        damage turned into a directory (config.json included: it is written anew)."""
        for name in (CONFIG, PROGRESS, EPISODES, PROGRESS + ".gz", EPISODES + ".gz", RESULT, CHECKPOINT):
            path = self.file(name)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif name != CONFIG:
                path.unlink(missing_ok=True)

    def compress(self) -> None:
        """Store a final run's CSVs gzip-compressed (same text; gzip header without a time,
        so the same records give the same bytes). Idempotent; a kill at any point leaves a
        whole file of each (the compressed copy is renamed into place before the plain one goes)."""
        for name in (PROGRESS, EPISODES):
            plain = self.file(name)
            if plain.exists():
                atomic_write_bytes(self.file(name + ".gz"), gzip.compress(plain.read_bytes(), 9, mtime=0))
                plain.unlink()

    def finish_final(self) -> None:
        """A final run's leftovers of a kill during its last writes: temp files, and CSVs not
        yet (or half) compressed. Idempotent; nothing a table reads changes."""
        self.remove_stale_temp_files()
        self.compress()

    def remove_stale_temp_files(self) -> None:
        """Temp files a killed writer left behind (never read: records are renamed into place)."""
        for stale in self.path.glob(".*.tmp"):
            stale.unlink(missing_ok=True)


class RecordLogger:
    """The trainer's logger for a run directory: buffers rows in memory and writes the CSVs
    and the checkpoint together at each checkpoint."""

    def __init__(self, record: RunRecord, progress: list[dict] | None = None,
                 episodes: list[dict] | None = None, on_row=None, identity: dict[str, Any] | None = None):
        self.record = record
        self.progress = list(progress or [])
        self.episodes = list(episodes or [])
        self.on_row = on_row
        self.identity = dict(identity or {})
        self._row_episodes = len(self.episodes)  # episodes before the current row's span

    def log_iteration(self, row: dict[str, float]) -> None:
        """A progress row; `on_row` also gets the mean return of the training episodes that
        ended in the row's span, as `episode_return` (not a progress.csv column)."""
        failpoint("row")
        self.progress.append(dict(row))
        span = self.episodes[self._row_episodes:]
        self._row_episodes = len(self.episodes)
        if self.on_row is not None:
            shown = dict(row)
            if span:
                shown["episode_return"] = sum(e["return"] for e in span) / len(span)
            self.on_row(shown)

    def log_episodes(self, episodes) -> None:
        self.episodes.extend({"global_step": e.global_step, "return": e.ret, "length": e.length}
                             for e in episodes)

    def flush(self) -> None:
        columns = list(self.progress[0]) if self.progress else ["iteration", "global_step"]
        atomic_write_text(self.record.file(PROGRESS), csv_text(columns, self.progress))
        atomic_write_text(self.record.file(EPISODES), csv_text(EPISODE_COLUMNS, self.episodes))

    def save_checkpoint(self, state: dict) -> None:
        """The CSVs, then the checkpoint, which records whose it is (the run's identity),
        its step and how many episodes the records hold up to it."""
        self.flush()
        identity = {**self.identity, "global_step": int(state["global_step"]), "episodes": len(self.episodes)}
        buffer = io.BytesIO()
        torch.save({**state, "identity": identity}, buffer)
        atomic_write_bytes(self.record.file(CHECKPOINT), buffer.getvalue())


def user_data_dir() -> Path:
    """Where `speed` and `random` write their measurements (never into the installed
    package): $PGSUITE_DATA, else $XDG_DATA_HOME/pgsuite, else ~/.local/share/pgsuite."""
    if os.environ.get("PGSUITE_DATA"):
        return Path(os.environ["PGSUITE_DATA"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pgsuite"


def git_commit() -> str:
    """The commit of the checkout the suite runs from, or "unknown"."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# The instruction-set extensions that change which BLAS and MuJoCo kernels run (and so the
# last bits of float results): recorded with every run.
CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")


def environment_info() -> dict[str, str]:
    """Versions and machine details recorded with every run."""
    import mujoco  # here, not at the top: its import reads MUJOCO_GL and fails where that GL is missing,
    # and the CLI must still load to say so in one line (suite evaluate --video)

    cpu, flags = platform.processor(), []
    try:
        with open("/proc/cpuinfo") as handle:
            lines = handle.read().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
        found = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
        flags = [f for f in CPU_FLAGS if f in found]
    except OSError:
        pass
    return {"python": platform.python_version(), "torch": torch.__version__,
            "gymnasium": gymnasium.__version__, "mujoco": mujoco.__version__, "numpy": numpy.__version__,
            "torch_threads": torch.get_num_threads(), "commit": git_commit(), "host": socket.gethostname(),
            "cpu": cpu, "cpu_flags": " ".join(flags)}


# The numeric stack whose versions can move a run's floats (environment_info records each).
VERSIONS = ("python", "torch", "numpy", "gymnasium", "mujoco")


def same_cpu_class(recorded: dict, here: dict) -> bool:
    """One CPU class: the same model name and, where the record has them, the same vector
    extensions (older records carry no flags: the model name decides)."""
    if recorded.get("cpu") != here.get("cpu"):
        return False
    flags = recorded.get("cpu_flags")
    return flags is None or flags == here.get("cpu_flags")


def version_differences(recorded: dict, here: dict) -> str:
    """"mujoco 4.0.0 recorded, 4.0.1 here; ..." for the numeric stack's versions that differ."""
    found = [f"{name} {recorded.get(name)} recorded, {here.get(name)} here" for name in VERSIONS
             if recorded.get(name) is not None and str(recorded.get(name)) != str(here.get(name))]
    return "; ".join(found)
