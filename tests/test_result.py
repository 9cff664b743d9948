"""The typed result: every committed result.json reads into a RunResult and writes back the
same record; a record that lacks what its status needs, or has no known status, is refused."""

import json
from pathlib import Path

import pytest

from suite.records.result import REQUIRED, ResultError, RunResult, Status

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = {"task": "Hopper-v5", "arm": "ppo_clip", "arm_label": "ppo_clip", "config_hash": "0123abcd", "seed": 1}
MEASURED = {"steps": 4096, "iterations": 2, "episodes": 30, "score": 12.5, "score_episodes": 30,
            "steps_per_second": 900.0, "wall_seconds": 4.5}


def test_every_committed_result_round_trips():
    paths = sorted(ROOT.glob("runs/*/*/seed*/result.json"))
    assert len(paths) > 300
    statuses = set()
    for path in paths:
        raw = json.loads(path.read_text())
        result = RunResult.from_record(raw)
        assert result.to_record() == raw, path
        statuses.add(result.status)
    assert Status.COMPLETE in statuses


def test_made_results_hold_what_their_status_requires():
    complete = RunResult.complete(IDENTITY, MEASURED, eval_score=20.0, eval_episodes=10)
    diverged = RunResult.diverged(IDENTITY, MEASURED, "non-finite policy_loss at iteration 3")
    failed = RunResult.failed(IDENTITY, ValueError("boom"), "Traceback ...")
    for result in (complete, diverged, failed):
        record = result.to_record()
        assert all(key in record for key in REQUIRED[result.status])
        assert RunResult.from_record(json.loads(json.dumps(record))) == result
    assert diverged.to_record()["score"] is None and diverged.to_record()["eval_score"] is None
    assert failed.to_record()["error"] == "ValueError: boom" and not failed.final
    assert complete.final and diverged.final and complete.shown == "score 12.5"
    stopped = RunResult.stopped(iteration=3, steps=6144)
    assert stopped.row() == {"status": "partial", "iteration": 3, "steps": 6144}


@pytest.mark.parametrize("record, message", [
    ({"status": "finished"}, "has status 'finished'"),
    ({"status": "partial"}, "has status 'partial'"),  # never written: a run without a result is partial
    ({**IDENTITY, "status": "complete", "arm": "ppo_clip", "steps": 1, "iterations": 1, "episodes": 1,
      "score": 1.0}, "lacks eval_score"),
    ({"status": "failed"}, "lacks error"),
])
def test_records_that_are_not_results_are_refused(record, message):
    with pytest.raises(ResultError, match=message):
        RunResult.from_record(record)
