"""Every run's records as one long table, and the score matrices rliable takes.

`python -m suite export RUNS_DIR OUT` writes into the directory OUT:

- `episodes.csv` (or `episodes.parquet` with `--parquet`, which needs pyarrow): one row per
  training episode of every complete or diverged run. Columns: task (gymnasium id, e.g.
  Hopper-v5), arm_label (the arm as typed, e.g. ppo_clip:clip_eps=0.1), config_hash (the run
  directory's hash: arm config and step budget), seed (int), global_step (the run's env steps
  when the episode ended, int), return (undiscounted sum of the env's rewards, float), length
  (env steps, int).
- `runs.csv`: one row per run: task, arm_label, config_hash, seed, status, score (mean return
  of the last 100 training episodes; empty unless complete), budget (steps), mujoco.
- `<comparison>.npz` for each of the paper's comparisons with runs here (table1,
  table1_ppo1, figure3): one array per row (setting) named by the row, the paper-normalized
  scores [runs, tasks] (seeds sorted, tasks in `tasks`), ready for
  `rliable.library.get_interval_estimates`; `tasks` and `rows` hold the names. Rows whose
  runs are not all scored are left out (`excluded`: 'row: why'). With `--algos A,B`, instead
  `arms.npz`: the same for the comparison of those arms (rows named by their specs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from suite.errors import SuiteError
from suite.paper import COMPARISONS, Comparison
from suite.records.files import atomic_write_text, make_dirs
from suite.records.result import Status
from suite.results.comparisons import comparison_runs
from suite.results.readers import load_episodes, load_runs
from suite.results.scores import run_table
from suite.results.stats import score_matrices

EPISODE_COLUMNS = ["task", "arm_label", "config_hash", "seed", "global_step", "return", "length"]
RUN_COLUMNS = ["task", "arm_label", "config_hash", "seed", "status", "score", "budget", "mujoco"]


def export(runs_dir: str | Path, out: str | Path, parquet: bool = False, runs: pd.DataFrame | None = None,
           comparisons: tuple[Comparison, ...] | None = None) -> list[Path]:
    """Write the files described above; returns their paths. `runs`: `load_runs(runs_dir)` as
    the caller read it (the CLI names the damaged runs it leaves out). `comparisons`: whose
    score matrices to write (default the paper's; `suite.paper.arms_comparison` for any arms,
    written as arms.npz)."""

    runs = load_runs(runs_dir) if runs is None else runs
    final = runs[runs["status"].isin([Status.COMPLETE, Status.DIVERGED])] if not runs.empty else runs
    if final.empty:
        raise SuiteError(f"no complete or diverged runs under {runs_dir}")
    out = Path(out)
    make_dirs(out)
    parts = []
    for r in final.itertuples():
        episodes = load_episodes(r.path)
        parts.append(episodes.assign(task=r.task, arm_label=r.arm_label, config_hash=r.config_hash, seed=int(r.seed)))
    episodes = pd.concat(parts, ignore_index=True)[EPISODE_COLUMNS]
    written = []
    if parquet:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise SuiteError("--parquet needs pyarrow: pip install pyarrow") from None
        target = out / "episodes.parquet"
        tmp = target.with_name(f".{target.name}.tmp")
        episodes.to_parquet(tmp, index=False)
        tmp.replace(target)
    else:
        target = out / "episodes.csv"
        atomic_write_text(target, episodes.to_csv(index=False))
    written.append(target)
    table = final.reindex(columns=RUN_COLUMNS)
    atomic_write_text(out / "runs.csv", table.to_csv(index=False))
    written.append(out / "runs.csv")

    frame = run_table(runs, None)
    for comparison in comparisons or COMPARISONS:
        normalized, _ = comparison_runs(frame, comparison)
        if normalized.empty:
            continue
        matrices, excluded = score_matrices(normalized, label="row")
        if not matrices:
            continue
        target = out / f"{comparison.name}.npz"
        tmp = target.with_name(f".{target.name}.tmp.npz")
        np.savez(tmp, tasks=np.array(sorted(normalized["task"].unique())), rows=np.array(list(matrices)),
                 excluded=np.array([f"{k}: {v}" for k, v in excluded.items()]),
                 **{name: m for name, m in matrices.items()})
        tmp.replace(target)
        written.append(target)
    return written
