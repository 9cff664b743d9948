"""The command line: a first run writes its records; bad input is refused in one line with
a non-zero exit, and nothing is written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from suite.__main__ import main


def snapshot(path: Path) -> dict:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()} if path.exists() else {}


BAD_INPUTS = [
    (["--algos", "nosuch"], "unknown arm 'nosuch'; valid arms: ppo_clip, ppo_klpen"),
    (["--tasks", "NoSuchTask-v0"], "unknown task 'NoSuchTask-v0'; the paper's tasks: HalfCheetah-v5"),
    (["--algos", "ppo_clip:clip_eps=abc"], "override clip_eps='abc' is not a finite number"),
    (["--algos", "ppo_clip:nosuch=1"], "unknown override 'nosuch' for arm ppo_clip; valid keys:"),
    (["--algos", "ppo_clip:clip_eps"], "malformed override 'clip_eps'"),
    (["--steps", "0"], "steps '0' must be a positive whole number"),
    (["--steps", "-5"], "steps '-5' must be a positive whole number"),
    (["--steps", "abc"], "steps 'abc' is not a number"),
    (["--steps", "1000"], "steps=1000 is less than one iteration of ppo_clip (2048 transitions)"),
    (["--seeds", "0"], "seeds '0' must be >= 1"),
    (["--workers", "x"], "workers 'x' is not a whole number"),
    (["--tasks", "json:Nope-v0"], "unknown task 'json:Nope-v0'"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS)
def test_bad_input_one_line_nonzero_nothing_written(tmp_path, capsys, args, message):
    runs = tmp_path / "runs"
    (runs / "keep").mkdir(parents=True)
    (runs / "keep" / "note.txt").write_text("already here")
    before = snapshot(runs)
    code = main(["run", "--tasks", "InvertedPendulum-v5", "--seeds", "1", "--steps", "4096",
                 "--runs-dir", str(runs), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert message in err
    assert snapshot(runs) == before


def test_runs_dir_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    code = main(["run", "--tasks", "InvertedPendulum-v5", "--steps", "4096", "--runs-dir", str(target)])
    assert code == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_cli_end_to_end_in_a_subprocess(tmp_path):
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "suite", "run", "--algos", "ppo_clip", "--tasks", "InvertedPendulum",
           "--seeds", "1", "--steps", "4096", "--runs-dir", str(runs)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [result_path] = runs.glob("InvertedPendulum-v5/ppo_clip-*/seed0/result.json")
    result = json.loads(result_path.read_text())
    assert result["status"] == "complete" and result["steps"] == 4096
    for name in ("config.json", "progress.csv", "episodes.csv", "checkpoint.pt"):
        assert (result_path.parent / name).exists()
    header = (result_path.parent / "progress.csv").read_text().splitlines()[0].split(",")
    for column in ("global_step", "steps_per_second", "approx_kl", "clip_fraction", "entropy",
                   "policy_loss", "value_loss", "explained_variance", "lr"):
        assert column in header
    bad = subprocess.run([*cmd[:4], "nosuch"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    help_text = subprocess.run([*cmd[:4], "--help"], capture_output=True, text=True, timeout=300).stdout
    for option in ("--algos", "--tasks", "--seeds", "--steps", "--runs-dir", "--workers", "--dry-run"):
        assert option in help_text


def test_klpen_progress_has_beta(tmp_path):
    code = main(["run", "--algos", "ppo_klpen:kl_target=0.003", "--tasks", "Reacher", "--seeds", "1",
                 "--steps", "4096", "--runs-dir", str(tmp_path)])
    assert code == 0
    [progress] = tmp_path.glob("Reacher-v5/ppo_klpen-*/seed0/progress.csv")
    assert "beta" in progress.read_text().splitlines()[0].split(",")
