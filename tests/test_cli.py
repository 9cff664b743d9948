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


def _subcommands() -> dict:
    import argparse

    from suite.__main__ import build_parser

    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


COMMANDS = tuple(_subcommands())
# The order the examples run in: `run`'s own examples train the runs the others read.
EXAMPLE_ORDER = ("run", "status", "table", "plot", "leaderboard", "compare", "export", "verify", "evaluate", "arms",
                 "check-arm", "random", "speed", "report")


def test_every_subcommand_has_a_description_an_example_and_help_on_every_option(capsys):
    import argparse

    import pytest

    assert set(COMMANDS) == set(EXAMPLE_ORDER)  # a new subcommand is added to both
    for command, parser in _subcommands().items():
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert "example" in text and f"python -m suite {command}" in text.split("example", 1)[1], command
        description = text.split("\n\n")[1]
        assert len(description) > 60, (command, description)
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, (command, action.option_strings or action.dest)


def _examples(command: str) -> list[str]:
    import contextlib
    import io

    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
        main([command, "--help"])
    body = text.getvalue().split("example", 1)[1]
    return [line.strip() for line in body.splitlines() if line.strip().startswith("python -m suite ")]


def test_every_example_the_help_prints_runs(tmp_path, monkeypatch, capsys):
    """Each subcommand's examples, in a fresh directory, in EXAMPLE_ORDER (a glob in one is
    expanded as a shell would): all exit 0."""
    import glob
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(root))  # examples.kl_stop, as from a checkout
    monkeypatch.setenv("WANDB_MODE", "offline")
    ran = 0
    for command in EXAMPLE_ORDER:
        for line in _examples(command):
            words = []
            for word in shlex.split(line, comments=True)[3:]:
                words += sorted(glob.glob(word)) or [word] if "*" in word else [word]
            code = main(words)
            out = capsys.readouterr()
            assert code == 0, (line, out.out[-2000:], out.err[-2000:])
            ran += 1
    assert ran >= len(EXAMPLE_ORDER)


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


def test_table_plot_and_export_take_any_arms_plug_ins_included(tmp_path, capsys, monkeypatch):
    """One comparison object for any arms: the table, the figures and the .npz of the same
    arms, normalized among them (the best arm's per-task mean = 1)."""
    from pathlib import Path

    import numpy as np

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    runs = tmp_path / "runs"
    arms = "examples.kl_stop:ARM,ppo_clip"
    assert main(["run", "--algos", arms, "--tasks", "InvertedPendulum", "--seeds", "0,1", "--steps", "4096",
                 "--runs-dir", str(runs), "--display", "none"]) == 0
    capsys.readouterr()
    assert main(["table", "--runs-dir", str(runs), "--algos", arms, "--csv", str(tmp_path / "t.csv")]) == 0
    text = capsys.readouterr().out
    assert "Comparison: examples.kl_stop:ARM, ppo_clip" in text and "Table 1" not in text
    table = pd.read_csv(tmp_path / "t.csv").set_index("setting")
    assert list(table.index) == ["examples.kl_stop:ARM", "ppo_clip"] and table["score"].max() <= 1.0
    assert main(["plot", "--runs-dir", str(runs), "--algos", arms, "--out", str(tmp_path / "fig")]) == 0
    for name in ("arms-curves", "arms-aggregates", "arms-profiles"):
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / "fig" / f"{name}.svg").exists()
    assert main(["export", str(tmp_path / "out"), "--runs-dir", str(runs), "--algos", arms]) == 0
    data = np.load(tmp_path / "out" / "arms.npz")
    assert list(data["rows"]) == ["examples.kl_stop:ARM", "ppo_clip"] and list(data["tasks"]) == [
        "InvertedPendulum-v5"]
    means = [data[row].mean() for row in data["rows"]]
    np.testing.assert_allclose(means, table["score"].to_numpy(), atol=1e-12)
    assert max(means) == 1.0  # normalized among these two arms
    assert not list((tmp_path / "out").glob("table1*.npz")) and not list((tmp_path / "out").glob("figure3*"))
    assert main(["table", "--runs-dir", str(runs), "--algos", "trpo"]) == 2
    assert "no runs of trpo" in capsys.readouterr().err
