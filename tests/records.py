"""Reading a runs dir back for comparisons between grids."""

import json
from pathlib import Path

from suite.records.files import TIMING_KEYS, read_csv


def outcome(runs: Path, progress_rows: bool = False) -> dict:
    """Every run's result (less timing) and episode rows, by run key; with `progress_rows`,
    also how many progress rows it kept."""
    found = {}
    for path in sorted(runs.glob("*/*/seed*/result.json")):
        result = {k: v for k, v in json.loads(path.read_text()).items() if k not in TIMING_KEYS}
        entry = (result, read_csv(path.parent / "episodes.csv"))
        if progress_rows:
            entry += (len(read_csv(path.parent / "progress.csv")),)
        found[str(path.parent.relative_to(runs))] = entry
    return found
