"""The reliability battery: kills at many moments, bad input, divergence, corrupt and
partial records, credentials. (Two concurrent processes: tests/test_grid.py.)"""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import suite
from suite.__main__ import main
from suite.status import status_table
from suite.store import read_csv
from tests.records import outcome

ROOT = Path(__file__).resolve().parents[1]
GRID = {"algos": "ppo_clip", "tasks": ["InvertedPendulum-v5"], "seeds": 2, "steps": 3 * 2048}
GRID_ARGS = ["--algos", "ppo_clip", "--tasks", "InvertedPendulum-v5", "--seeds", "2", "--steps", str(3 * 2048),
             "--workers", "1", "--checkpoint-every", "1", "--display", "none"]


def assert_every_record_whole(runs: Path) -> int:
    """Every record file on disk parses completely; returns how many were checked."""
    checked = 0
    for path in runs.glob("*/*/seed*/*"):
        if path.name in ("config.json", "result.json"):
            json.loads(path.read_text())
        elif path.suffix == ".csv" or path.name.endswith(".csv.gz"):
            rows = read_csv(path.with_name(path.name.removesuffix(".gz")))
            header = list(rows[0]) if rows else []
            assert all(len(row) == len(header) and None not in row.values() for row in rows), path
        elif path.name == "checkpoint.pt":
            torch.load(path, weights_only=True)
        else:
            continue
        checked += 1
    return checked


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    runs = tmp_path_factory.mktemp("ref") / "runs"
    frame = suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    assert (frame["status"] == "complete").all()
    return outcome(runs, progress_rows=True)


# Ten moments: each SIGKILLs the grid process the N-th time it reaches a point.
KILL_POINTS = [
    "run:start:1",            # before the first run wrote anything
    "write:half:1",           # mid-write of the first file (config.json)
    "row:2",                  # mid-training, after an iteration, before its records are written
    "write:half:3",           # mid-write of a progress.csv
    "write:before_rename:4",  # episodes.csv written to its temp file, not yet renamed
    "write:half:5",           # mid-write of a checkpoint
    "write:after_rename:5",   # checkpoint in place, before the next iteration
    "write:before_rename:11", # the first run's result.json about to be renamed
    "write:half:12",          # mid-write of the first run's compressed progress.csv.gz
    "run:end:1",              # between runs: the first finished, the second not started
    "write:half:15",          # mid-write inside the second run (its first progress.csv)
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_at_any_moment_nothing_is_lost(reference, tmp_path, point):
    runs = tmp_path / "runs"
    env = {**os.environ, "PGSUITE_FAILPOINT": point}
    killed = subprocess.run([sys.executable, "-m", "suite", "run", *GRID_ARGS, "--runs-dir", str(runs)], cwd=ROOT,
                            env=env, capture_output=True, timeout=300)
    assert killed.returncode == -9, (point, killed.stderr[-2000:])  # it really died there
    assert_every_record_whole(runs)  # no record is ever half-written
    frame = suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    assert (frame["status"] == "complete").all()
    assert outcome(runs, progress_rows=True) == reference
    assert not list(runs.glob("*/*/seed*/.*.tmp"))  # stale temp files are swept


def _corrupt_run(runs: Path, name: str, content: bytes) -> Path:
    [target] = sorted(runs.glob(f"*/*/seed0/{name}"))
    target.write_bytes(content)
    return target


def snapshot(path: Path) -> dict:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _complete_grid(tmp_path) -> Path:
    runs = tmp_path / "runs"
    suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    return runs


BAD_RUN_ARGS = [
    (["--algos", "nosuch"], "unknown arm 'nosuch'"),
    (["--algos", "ppo_clip:clip_eps=abc"], "is not a finite number"),
    (["--algos", "ppo_clip:nosuch=1"], "unknown override 'nosuch'"),
    (["--algos", "ppo_clip:=1"], "malformed override '=1'"),
    (["--algos", "ppo_clip:clip_eps"], "malformed override 'clip_eps'"),
    (["--algos", "ppo_clip,"], "empty arm"),
    (["--algos", "trpo:max_kl=-0.01"], "max_kl=-0.01 must be > 0"),
    (["--tasks", "NoSuchTask-v0"], "unknown task 'NoSuchTask-v0'"),
    (["--tasks", "nosuchmodule:Env-v0"], "cannot import module 'nosuchmodule'"),
    (["--tasks", "json:Nope-v0"], "unknown task 'json:Nope-v0'"),
    (["--preset", "nosuch"], "unknown preset 'nosuch'; valid presets: table1, figure3, paper, quick"),
    (["--backend", "nosuch"], "unknown backend 'nosuch'; valid backends: local, ray"),
    (["--steps", "0"], "must be a positive whole number"),
    (["--steps", "-100"], "must be a positive whole number"),
    (["--steps", "4096.5"], "must be a positive whole number"),
    (["--steps", "1.5e3"], "steps=1500 is less than one iteration of ppo_clip"),
    (["--steps", "lots"], "is not a number"),
    (["--seeds", "0"], "seeds '0' must be >= 1"),
    (["--seeds", "-1"], "seeds '-1' must be >= 1"),
    (["--seeds", "two"], "seeds 'two' is not a whole number"),
    (["--workers", "0"], "workers '0' must be >= 1"),
    (["--workers", "many"], "workers 'many' is not a whole number"),
    (["--checkpoint-every", "0"], "checkpoint-every '0' must be >= 1"),
    (["--display", "fancy"], "unknown display 'fancy'"),
    (["--nosuchoption"], "unrecognized arguments: --nosuchoption"),
]


@pytest.mark.parametrize("args, message", BAD_RUN_ARGS)
def test_bad_run_input_is_refused_in_one_line(tmp_path, capsys, args, message):
    runs = tmp_path / "runs"
    (runs / "keep").mkdir(parents=True)
    (runs / "keep" / "note.txt").write_text("already here")
    before = snapshot(runs)
    code = run_cli(["run", "--tasks", "InvertedPendulum-v5", "--steps", "4096", "--seeds", "1",
                    "--runs-dir", str(runs), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert snapshot(runs) == before


def run_cli(argv: list[str]) -> int:
    """main()'s exit status, including argparse's own (which exits)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("runs_dir_kind", ["file", "inside_a_file"])
def test_runs_dir_that_cannot_be_a_directory(tmp_path, capsys, runs_dir_kind):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    target = blocker if runs_dir_kind == "file" else blocker / "runs"
    assert main(["run", "--tasks", "InvertedPendulum-v5", "--steps", "4096", "--runs-dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("is a file" in err or "not writable" in err or "not a directory" in err), err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("name, content, command", [
    ("config.json", b'{"task": "Inverted', "table"),
    ("result.json", b"", "table"),
    ("result.json", b"[1, 2]", "leaderboard"),
    ("episodes.csv.gz", gzip.compress(b"global_step,return,length\n100,abc,3\n"), "leaderboard"),
    ("episodes.csv.gz", b"not gzip at all", "leaderboard"),
])
def test_corrupt_records_refused_by_readers(tmp_path, capsys, name, content, command):
    runs = _complete_grid(tmp_path)
    target = _corrupt_run(runs, name, content)
    before = snapshot(tmp_path)
    assert main([command, "--runs-dir", str(runs), *(["--out", str(tmp_path / "board")]
                                                     if command == "leaderboard" else [])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt record" in err and str(target) in err, err
    assert snapshot(tmp_path) == before


def test_config_hash_mismatch_is_refused_and_nothing_changes(tmp_path, capsys):
    runs = _complete_grid(tmp_path)
    [config] = sorted(runs.glob("*/*/seed0/config.json"))
    data = json.loads(config.read_text())
    data["config_hash"] = "deadbeef"
    config.write_text(json.dumps(data))
    (config.parent / "result.json").unlink()  # so that the run would otherwise be retrained
    before = snapshot(runs)
    assert main(["run", *GRID_ARGS, "--runs-dir", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has config_hash 'deadbeef', expected" in err, err
    assert snapshot(runs) == before


def test_status_finds_corrupt_and_partial_and_run_redoes_only_those(reference, tmp_path, capsys):
    runs = _complete_grid(tmp_path)
    [seed0, seed1] = sorted(p.parent for p in runs.glob("*/*/seed*/result.json"))
    (seed0 / "result.json").write_text('{"status": "compl')  # truncated
    (seed1 / "result.json").unlink()  # partial: records and checkpoint, no result
    table = status_table(runs)
    assert table.loc[("InvertedPendulum-v5", "ppo_clip"), "corrupt"] == 1
    assert table.loc[("InvertedPendulum-v5", "ppo_clip"), "partial"] == 1
    assert main(["status", "--runs-dir", str(runs)]) == 0
    assert "corrupt" in capsys.readouterr().out
    frame = suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    assert frame["trained"].sum() == 2 and (frame["status"] == "complete").all()
    assert outcome(runs, progress_rows=True) == reference
    # a third seed: only it is trained, the two complete runs are not touched
    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")}
    frame = suite.run(runs_dir=runs, workers=1, display="none", **{**GRID, "seeds": 3})
    assert frame["trained"].tolist() == [False, False, True]
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


def test_diverging_run_stops_as_diverged_and_the_grid_goes_on(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(["run", "--algos", "ppo_clip", "--tasks", "tests.failing_env:NaNPendulum-v0,InvertedPendulum",
                 "--seeds", "1", "--steps", str(4 * 2048), "--runs-dir", str(runs), "--workers", "1",
                 "--checkpoint-every", "1", "--display", "none"])
    assert code == 0  # divergence is a result, not a failure of the suite
    [diverged] = runs.glob("tests.failing_env:NaNPendulum-v0/*/seed0")
    result = json.loads((diverged / "result.json").read_text())
    assert result["status"] == "diverged" and result["score"] is None
    assert "non-finite" in result["reason"]
    rows = read_csv(diverged / "progress.csv")
    assert [r["iteration"] for r in rows] == [1]  # the good iteration before the NaNs (step 3000 in iteration 2)
    assert all(v == v for r in rows for v in r.values())  # no NaN kept
    [ok] = runs.glob("InvertedPendulum-v5/*/seed0/result.json")
    assert json.loads(ok.read_text())["status"] == "complete"
    # diverged is final: a rerun does not train the deterministic divergence again
    stamp = (diverged / "result.json").stat().st_mtime_ns
    frame = suite.run("ppo_clip", tasks=["tests.failing_env:NaNPendulum-v0"], seeds=1, steps=4 * 2048,
                      runs_dir=runs, display="none")
    assert frame["status"].tolist() == ["diverged"] and not frame["trained"].any()
    assert (diverged / "result.json").stat().st_mtime_ns == stamp
    # tables show it as diverged, never as a number
    from suite.scores import normalize, run_table
    from suite.store import load_runs
    from suite.tables import per_task, per_task_markdown

    frame = run_table(load_runs(runs))
    frame, _ = normalize(frame, "paper", randoms={t: 0.0 for t in frame["task"].unique()})
    text = per_task_markdown(per_task(frame))
    header, _, row = ([c.strip() for c in line.strip("|").split("|")] for line in text.splitlines())
    cells = dict(zip(header, row, strict=True))
    assert cells["tests.failing_env:NaNPendulum-v0"] == "1 diverged"
    assert cells["InvertedPendulum-v5"].endswith("(n=1)")


def test_no_credentials_in_records_or_logs(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    secret = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    monkeypatch.setenv("WANDB_MODE", "offline")
    runs = tmp_path / "runs"
    suite.run("ppo_clip", tasks=["InvertedPendulum-v5"], seeds=1, steps=2048, runs_dir=runs, wandb=True,
              display="none")
    files = [p for p in runs.rglob("*") if p.is_file()]
    assert any(p.suffix == ".wandb" for p in files) and any(p.name == "config.json" for p in files)
    leaks = [str(p) for p in files if secret.encode() in p.read_bytes()]
    assert leaks == []
    state = torch.load(next(runs.glob("*/*/seed0/checkpoint.pt")), weights_only=True)
    assert state["iteration"] == 1
