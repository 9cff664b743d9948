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
from suite.records.files import read_csv
from suite.results.readers import status_table
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
    (["--algos", "ppo_clip,"], "empty item in the arms list"),
    (["--algos", "ppo_clip:hidden_sizes=64x-1"], "hidden_sizes='64x-1' is not positive widths like 64x64"),
    (["--algos", "ppo_clip:hidden_sizes=64x0"], "is not positive widths"),
    (["--algos", "ppo_clip:clip_eps=0.1:clip_eps=0.3"], "'clip_eps' is given twice"),
    (["--algos", "ppo_clip:on=adv_norm:off=adv_norm"], "toggle 'adv_norm' is both on and off"),
    (["--algos", "ppo_clip:on=grad_clip:max_grad_norm=0.3"], "'max_grad_norm' is set by toggle 'grad_clip'"),
    (["--algos", "ppo_clip,ppo_clip:clip_eps=0.2"], "'ppo_clip:clip_eps=0.2' and 'ppo_clip' are the same config"),
    (["--algos", "trpo,trpo"], "arm 'trpo' is given twice"),
    (["--tasks", ","], "no tasks given"),
    (["--tasks", "Hopper,"], "empty item in the tasks list"),
    (["--tasks", "Hopper-v3"], "the suite runs Hopper-v5"),
    (["--tasks", "FrozenLake-v1"], "only 1-D Box observations are supported"),
    (["--ablate", ","], "no toggles given"),
    (["--algos", "trpo:max_kl=-0.01"], "max_kl=-0.01 must be > 0"),
    (["--tasks", "NoSuchTask-v0"], "unknown task 'NoSuchTask-v0'"),
    (["--tasks", "nosuchmodule:Env-v0"], "cannot import module 'nosuchmodule'"),
    (["--tasks", "json:Nope-v0"], "unknown task 'json:Nope-v0'"),
    (["--preset", "nosuch"], "unknown preset 'nosuch'; valid presets: table1, table1_ppo1, figure3, paper, "
                                   "noclip_causes, figure3_tuning, table1_ppo1_15, quick"),
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
    ("config.json", None, "table"),
    ("result.json", b"", "table"),
    ("result.json", b"[1, 2]", "leaderboard"),
    ("result.json", b'{"status": "complete"}', "table"),
    ("episodes.csv.gz", None, "leaderboard"),
    ("progress.csv.gz", gzip.compress(b"iteration,global_step\n1,2048\n", mtime=0), "leaderboard"),
    ("episodes.csv.gz", b"not gzip at all", "leaderboard"),
    ("result.json", b"", "export"),
])
def test_damaged_runs_are_left_out_by_readers_and_named(tmp_path, capsys, name, content, command):
    """A complete run whose records are unreadable, missing or short is damaged: readers
    leave it out (n=1 of 2, never a '- ± -' row), name it in one line, and change nothing."""
    runs = _complete_grid(tmp_path)
    [target] = sorted(runs.glob(f"*/*/seed0/{name}"))
    target.unlink() if content is None else target.write_bytes(content)
    before = snapshot(tmp_path)
    out_args = {"leaderboard": ["--out", str(tmp_path / "board")], "export": [str(tmp_path / "board")]}.get(command, [])
    assert main([command, "--runs-dir", str(runs), *out_args]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "1 damaged run(s) left out" in captured.err, captured.err
    assert str(target.parent) in captured.err
    if command == "table":
        assert "(n=1)" in captured.out and "(n=2)" not in captured.out
    elif command == "export":
        assert len((tmp_path / "board" / "runs.csv").read_text().splitlines()) == 1 + 1  # header, the other seed
    else:
        assert "(n=1)" in (tmp_path / "board" / "README.md").read_text()
    assert {k: v for k, v in snapshot(tmp_path).items() if "/board/" not in k} == before
    assert main(["status", "--runs-dir", str(runs)]) == 0
    assert f"damaged: {target.parent}" in capsys.readouterr().out


def test_value_corruption_inside_a_csv_is_refused_by_readers(tmp_path, capsys):
    runs = _complete_grid(tmp_path)
    [target] = sorted(runs.glob("*/*/seed0/episodes.csv.gz"))
    rows = gzip.decompress(target.read_bytes()).decode().splitlines()
    rows[1] = "100,abc,3"  # same number of rows: the state check passes, the reader refuses
    target.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    before = snapshot(tmp_path)
    assert main(["leaderboard", "--runs-dir", str(runs), "--out", str(tmp_path / "board")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt record" in err and str(target) in err, err
    assert snapshot(tmp_path) == before


def test_renamed_and_config_mismatched_runs_are_damaged_never_counted_twice(reference, tmp_path, capsys):
    runs = _complete_grid(tmp_path)
    [seed0, seed1] = sorted(runs.glob("*/*/seed*"))
    copy = seed0.parent.with_name(seed0.parent.name.replace("-", "-0"))  # a renamed hash directory
    copy.mkdir()
    (copy / "seed0").mkdir()
    for f in seed0.iterdir():
        (copy / "seed0" / f.name).write_bytes(f.read_bytes())
    frame = suite.load_runs(runs)
    assert (frame["status"] == "complete").sum() == 2 and (frame["status"] == "damaged").sum() == 1
    assert "directory's name says" in frame.loc[frame["status"] == "damaged", "reason"].item()
    import shutil
    shutil.rmtree(copy)
    # config.json of another config in the right directory: damaged, and `run` redoes it
    config = seed0 / "config.json"
    data = json.loads(config.read_text())
    data["config_hash"] = "deadbeef"
    config.write_text(json.dumps(data))
    assert suite.run_state(seed0).state == "damaged"
    frame = suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    assert frame["trained"].tolist() == [True, False] and (frame["status"] == "complete").all()
    assert "redoing a damaged run" in capsys.readouterr().err
    assert outcome(runs, progress_rows=True) == reference


def test_status_finds_damaged_and_partial_and_run_redoes_only_those(reference, tmp_path, capsys):
    runs = _complete_grid(tmp_path)
    [seed0, seed1] = sorted(p.parent for p in runs.glob("*/*/seed*/result.json"))
    (seed0 / "result.json").write_text('{"status": "compl')  # truncated
    (seed1 / "result.json").unlink()  # partial: records and checkpoint, no result
    table = status_table(runs)
    assert table.loc[("InvertedPendulum-v5", "ppo_clip"), "damaged"] == 1
    assert table.loc[("InvertedPendulum-v5", "ppo_clip"), "partial"] == 1
    assert main(["status", "--runs-dir", str(runs)]) == 0
    assert f"damaged: {seed0}" in capsys.readouterr().out
    frame = suite.run(runs_dir=runs, workers=1, display="none", checkpoint_every=1, **GRID)
    assert frame["trained"].sum() == 2 and (frame["status"] == "complete").all()
    assert outcome(runs, progress_rows=True) == reference
    # a third seed: only it is trained, the two complete runs are not touched
    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("result.json")}
    frame = suite.run(runs_dir=runs, workers=1, display="none", **{**GRID, "seeds": 3})
    assert frame["trained"].tolist() == [False, False, True]
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


def test_diverging_run_stops_as_diverged_and_the_grid_goes_on(tmp_path, capsys):
    import warnings

    runs = tmp_path / "runs"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["run", "--algos", "ppo_clip", "--tasks", "tests.failing_env:NaNPendulum-v0,InvertedPendulum",
                     "--seeds", "1", "--steps", str(4 * 2048), "--runs-dir", str(runs), "--workers", "1",
                     "--checkpoint-every", "1", "--display", "lines"])
    assert code == 0  # divergence is a result, not a failure of the suite
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]  # its NaNs are the reason, not noise
    assert "diverged non-finite" in capsys.readouterr().out  # the live line says why
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
    from suite.results.readers import load_runs
    from suite.results.scores import normalize, run_table
    from suite.results.tables import per_task, per_task_markdown

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
