"""The command line end to end. (Bad input: tests/test_reliability.py.)"""

import json
import subprocess
import sys

import pandas as pd

from suite.__main__ import main
from suite.records.files import read_csv


def test_cli_end_to_end_in_a_subprocess(tmp_path):
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "suite", "run", "--algos", "ppo_clip", "--tasks", "InvertedPendulum",
           "--seeds", "1", "--steps", "4096", "--runs-dir", str(runs)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [result_path] = runs.glob("InvertedPendulum-v5/ppo_clip-*/seed0/result.json")
    result = json.loads(result_path.read_text())
    assert result["status"] == "complete" and result["steps"] == 4096
    # a final run keeps its CSVs gzip-compressed; pandas reads them as they are
    for name in ("config.json", "progress.csv.gz", "episodes.csv.gz", "checkpoint.pt"):
        assert (result_path.parent / name).exists()
    assert not (result_path.parent / "progress.csv").exists()
    header = list(pd.read_csv(result_path.parent / "progress.csv.gz").columns)
    assert len(pd.read_csv(result_path.parent / "episodes.csv.gz")) == len(read_csv(result_path.parent /
                                                                                   "episodes.csv")) > 0
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
    [progress] = tmp_path.glob("Reacher-v5/ppo_klpen-*/seed0/progress.csv.gz")
    assert "beta" in read_csv(progress.with_suffix(""))[0]


COMMANDS = ("run", "status", "table", "leaderboard", "report", "evaluate", "random", "speed", "arms")


def test_every_subcommand_has_a_description_and_an_example(capsys):
    import pytest

    for command in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert "example" in text and f"python -m suite {command}" in text.split("example", 1)[1], command
        description = text.split("\n\n")[1]
        assert len(description) > 60, (command, description)


def test_options_are_never_abbreviated_and_version_is_printed(capsys):
    import pytest

    for argv in (["run", "--seed", "3", "--dry-run"], ["table", "--run", "x"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
        assert "unrecognized arguments: --" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("pgsuite 0.")


def test_seeds_as_a_count_or_a_list():
    import suite

    def seeds(value):
        return [s.seed for s in suite.plan("ppo_clip", ["InvertedPendulum"], seeds=value, steps=2048)]

    assert seeds(3) == seeds("3") == [0, 1, 2]
    assert seeds("0,3,7") == seeds([0, 3, 7]) == [0, 3, 7]
    assert seeds("4,") == [4]


def test_a_closed_pipe_ends_quietly():
    done = subprocess.run(f"{sys.executable} -m suite arms | head -c 10", shell=True, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout == "ppo_clip (" and done.stderr == ""


def test_mujoco_warnings_are_shown_once_per_process():
    code = ("from algorithms.rollout import make_env\n"
            "for _ in range(4): make_env('HalfCheetah-v5').reset(seed=0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "settotalmass" in line]
    assert len(lines) == 1 and lines[0].startswith("MuJoCo warning (shown once): "), lines
