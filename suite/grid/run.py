"""A run as an object: its spec and its directory under a runs dir (`Run(spec, runs_dir)`).

The one place a run's directory is joined (`<task>/<arm>-<run hash>/seed<k>`), its state is
read (once: `state()` keeps what it read; `state(fresh=True)` reads again, as a caller that
has just taken the run's lock must), and its files are written: config.json, whose schema it
owns (`config_record`), result.json (`write_result`, the one writer), and a whole record set
trained elsewhere (`write_files`, a Ray task's). The file operations that do not need the
spec (checkpoint, CSVs, compression) are records.files.RunRecord's, reached as `run.record`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from algorithms.config import config_dict
from suite.grid.plan import RunSpec
from suite.records.files import (
    CHECKPOINT,
    CONFIG,
    RESULT,
    RunRecord,
    atomic_write_bytes,
    atomic_write_json,
    environment_info,
)
from suite.records.result import RunResult
from suite.records.state import RunState, run_state


class Run:
    def __init__(self, spec: RunSpec, runs_dir: str | Path, state: RunState | None = None):
        self.spec = spec
        self.runs_dir = Path(runs_dir)
        self.record = RunRecord(self.runs_dir / spec.key)
        self._state = state

    def __repr__(self) -> str:
        return f"Run({self.spec.key!r} in {str(self.runs_dir)!r})"

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def path(self) -> Path:
        return self.record.path

    def state(self, fresh: bool = False) -> RunState:
        """The run's state (records.state.run_state), read on first use and kept."""
        if self._state is None or fresh:
            self._state = run_state(self.path)
        return self._state

    def config_record(self) -> dict[str, Any]:
        """config.json's content (less the machine): what the run is, resolved."""
        spec, arm = self.spec, self.spec.arm
        return {"task": spec.task, "arm": arm.record_name, "arm_label": arm.label,
                "optimizations": arm.optimizations,
                "algorithm": arm.algorithm.__name__, "overrides": dict(arm.overrides),
                "config": config_dict(arm.config), "config_hash": spec.run_hash,
                "seed": spec.seed, "steps": spec.steps,
                **({"task_defaults": arm.task_defaults} if arm.task_defaults else {}),
                **({"plugin": arm.plugin.record()} if arm.plugin is not None else {})}

    def write_config(self) -> None:
        atomic_write_json(self.record.file(CONFIG), {**self.config_record(), "environment": environment_info()})
        self._state = None

    def write_result(self, result: RunResult) -> None:
        """result.json, the run's last file: the one place it is written."""
        atomic_write_json(self.record.file(RESULT), result.to_record())
        self._state = None

    def clear_result(self) -> None:
        """A failed attempt's result goes: the run is partial again."""
        self.record.file(RESULT).unlink(missing_ok=True)
        self._state = None

    def write_files(self, files: dict[str, bytes]) -> None:
        """A record set trained elsewhere (a Ray task's): the records first, then the
        checkpoint, the result last, so that a kill in between leaves a run that resumes,
        never a result without its records. A compressed CSV replaces the plain one this
        directory may still hold from an earlier, partial attempt."""
        for name in sorted(files, key=lambda n: (n == RESULT, n == CHECKPOINT)):
            atomic_write_bytes(self.record.file(name), files[name])
            if name.endswith(".csv.gz"):
                self.record.file(name.removesuffix(".gz")).unlink(missing_ok=True)
        if RESULT not in files:
            self.record.file(RESULT).unlink(missing_ok=True)
        self._state = None
