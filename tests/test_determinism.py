"""Same seed, same numbers; interrupted + resumed equals uninterrupted."""

import json
import math
from pathlib import Path

import pytest
import torch

from algorithms.trainer import LOG_EVERY_STEPS
from suite.grid.plan import plan
from suite.grid.runner import execute
from suite.records.files import TIMING_KEYS, read_csv

WALL_CLOCK_COLUMNS = {"time_elapsed", "steps_per_second"}


def records(run_path: Path) -> dict:
    """Everything a run recorded except what measures the machine's speed."""
    result = json.loads((run_path / "result.json").read_text())
    config = json.loads((run_path / "config.json").read_text())
    progress = [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS}
                for row in read_csv(run_path / "progress.csv")]
    return {"result": {k: v for k, v in result.items() if k not in TIMING_KEYS},
            "config": {k: v for k, v in config.items() if k != "environment"},
            "progress": progress, "episodes": read_csv(run_path / "episodes.csv")}


def test_same_seed_same_records(tmp_path):
    spec = plan("ppo_clip", ["Hopper-v5"], seeds=1, steps=3 * 2048)[0]
    a = execute(spec, tmp_path / "a", checkpoint_every=1)
    b = execute(spec, tmp_path / "b", checkpoint_every=1)
    assert a.status == b.status == "complete" and a.episodes > 20
    ra, rb = records(tmp_path / "a" / spec.key), records(tmp_path / "b" / spec.key)
    assert ra == rb
    assert len(ra["progress"]) == 3
    other = plan("ppo_clip", ["Hopper-v5"], seeds=2, steps=3 * 2048)[1]
    execute(other, tmp_path / "a", checkpoint_every=1)
    assert records(tmp_path / "a" / other.key)["episodes"] != ra["episodes"]  # the seed matters


@pytest.mark.parametrize("arm, task", [("ppo_clip", "HalfCheetah-v5"), ("ppo_klpen", "Hopper-v5"),
                                       ("trpo", "Walker2d-v5"), ("vpg", "Swimmer-v5"),
                                       ("a2c", "InvertedDoublePendulum-v5")])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, arm, task):
    spec = plan(arm, [task], seeds=1, steps=5 * 2048)[0]
    rows = math.ceil(LOG_EVERY_STEPS / spec.arm.config.batch_size)  # iterations per progress row
    execute(spec, tmp_path / "straight", checkpoint_every=3)
    # Stop after 4 rows: the checkpoint is at row 3, the 4th row is lost and redone.
    partial = execute(spec, tmp_path / "resumed", checkpoint_every=3, stop_after=4 * rows)
    batch = spec.arm.config.batch_size
    assert (partial.status, partial.iterations, partial.steps) == ("partial", 4 * rows, 4 * rows * batch)
    run_path = tmp_path / "resumed" / spec.key
    assert not (run_path / "result.json").exists()
    state = torch.load(run_path / "checkpoint.pt", weights_only=True)
    assert state["iteration"] == 3 * rows
    checkpoint_step = 3 * rows * spec.arm.config.batch_size
    assert max(r["global_step"] for r in read_csv(run_path / "progress.csv")) == checkpoint_step
    # an episode is in progress at the checkpoint, so the replay path is exercised
    assert any(len(a) for a in state["collector"]["episode_actions"])
    resumed = execute(spec, tmp_path / "resumed", checkpoint_every=3)
    assert resumed.status == "complete"
    assert records(run_path) == records(tmp_path / "straight" / spec.key)


def test_complete_run_is_not_trained_again(tmp_path):
    spec = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=1, steps=2048)[0]
    first = execute(spec, tmp_path)
    stamp = (tmp_path / spec.key / "result.json").stat().st_mtime_ns
    assert execute(spec, tmp_path) == first
    assert (tmp_path / spec.key / "result.json").stat().st_mtime_ns == stamp
