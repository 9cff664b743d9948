"""What the runs dir holds, per task and arm: complete / diverged / failed / partial /
corrupt, and missing when the expected grid is given."""

from __future__ import annotations

from pathlib import Path

from .errors import SuiteError
from .store import CHECKPOINT, RunRecord

STATES = ("complete", "diverged", "failed", "partial", "corrupt", "missing")


def run_state(record: RunRecord) -> str:
    """The state of one run directory; unreadable records make it "corrupt"."""
    try:
        config = record.config()
        result = record.result()
        if result is not None:
            return result.get("status", "corrupt") if result.get("status") in STATES else "corrupt"
        if record.file(CHECKPOINT).exists():
            record.load_checkpoint()
        return "partial" if config is not None else "missing"
    except SuiteError:
        return "corrupt"


def status_table(runs_dir: str | Path, grid: dict | None = None):
    """DataFrame indexed by (task, arm), one column per state, counts of runs."""
    import pandas as pd

    rows = []
    seen = set()
    if grid is not None:
        from .grid import resolve_grid

        for spec in resolve_grid(**grid):
            record = RunRecord(Path(runs_dir) / spec.key)
            rows.append({"task": spec.task, "arm": spec.arm.label, "state": run_state(record)})
            seen.add(record.path.resolve())
    else:
        for path in sorted(Path(runs_dir).glob("*/*/seed*")):
            if not path.is_dir() or path.resolve() in seen:
                continue
            record = RunRecord(path)
            try:
                config = record.config() or {}
            except SuiteError:
                config = {}
            task = config.get("task", path.parent.parent.name)
            arm = config.get("arm_label", path.parent.name)
            rows.append({"task": task, "arm": arm, "state": run_state(record)})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    table = frame.groupby(["task", "arm", "state"]).size().unstack(fill_value=0)
    return table[[s for s in STATES if s in table.columns]]
