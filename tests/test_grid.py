"""The grid runner: presets, skipping complete runs, SIGKILL + rerun, Ray, wandb, failures,
two concurrent processes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import suite
from suite.__main__ import main
from tests.records import outcome

TINY = {"algos": "ppo_clip,trpo", "tasks": ["InvertedPendulum-v5", "Hopper-v5"], "seeds": 2,
        "steps": 3 * 2048}
TINY_ARGS = ["--algos", "ppo_clip,trpo", "--tasks", "InvertedPendulum-v5,Hopper-v5", "--seeds", "2",
             "--steps", str(3 * 2048)]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny grid (2 arms x 2 tasks x 2 seeds), uninterrupted, on the local backend."""
    runs = tmp_path_factory.mktemp("reference") / "runs"
    frame = suite.run(runs_dir=runs, workers=2, display="none", checkpoint_every=1, **TINY)
    assert (frame["status"] == "complete").all() and frame["trained"].all()
    found = outcome(runs)
    assert len(found) == 8
    return runs, found


@pytest.mark.parametrize("preset, count", [("table1", 231), ("figure3", 84)])
def test_dry_run_lists_the_preset_grid(tmp_path, capsys, preset, count):
    assert main(["run", "--preset", preset, "--dry-run", "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("missing")]) == count
    assert out[-1].startswith(f"{count} runs ({count} missing); estimated wall time ")
    assert not (tmp_path / "runs").exists()


def test_dry_run_counts_what_is_done_and_estimates_from_measured_speeds(reference, capsys):
    runs, _ = reference
    # a third seed: the missing runs' speeds come from the complete runs of the same task and arm
    assert main(["run", *TINY_ARGS, "--seeds", "3", "--dry-run", "--runs-dir", str(runs)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("12 runs (8 complete, 4 missing); estimated wall time")
    assert last.endswith("(speeds from runs dir)")
    # a new arm: its speed comes from the checked-in measurements
    assert main(["run", *TINY_ARGS, "--algos", "a2c", "--dry-run", "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("(speeds from suite/data/speed.json)")


def test_second_run_trains_nothing(reference):
    runs, found = reference
    stamps = {p: p.stat().st_mtime_ns for p in runs.rglob("*") if p.is_file()}
    frame = suite.run(runs_dir=runs, workers=2, display="none", **TINY)
    assert len(frame) == 8 and not frame["trained"].any() and (frame["status"] == "complete").all()
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("*") if p.is_file()} == stamps
    assert outcome(runs) == found


def test_sigkill_mid_grid_then_rerun_matches_uninterrupted(reference, tmp_path):
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "suite", "run", *TINY_ARGS, "--runs-dir", str(runs), "--workers", "2",
           "--checkpoint-every", "1", "--display", "none"]
    grid = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(runs.glob("*/*/seed*/checkpoint.pt")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(grid.pid, signal.SIGKILL)
    grid.wait()
    assert list(runs.glob("*/*/seed*/checkpoint.pt")), "killed before any checkpoint"
    assert len(list(runs.glob("*/*/seed*/result.json"))) < 8, "killed after the grid finished"
    time.sleep(1.5)  # the workers notice their parent is gone and exit
    frame = suite.run(runs_dir=runs, workers=2, display="none", **TINY)
    assert (frame["status"] == "complete").all(), frame[["task", "arm", "seed", "status"]]
    assert outcome(runs) == reference[1]


def test_failed_run_is_recorded_and_the_grid_goes_on(tmp_path, capsys):
    runs = tmp_path / "runs"
    tasks = "tests.failing_env:FailingPendulum-v0,InvertedPendulum"
    code = main(["run", "--algos", "ppo_clip", "--tasks", tasks, "--seeds", "1", "--steps", "4096",
                 "--runs-dir", str(runs), "--workers", "1", "--display", "lines"])
    captured = capsys.readouterr()
    assert code == 1
    [failed] = runs.glob("tests.failing_env:FailingPendulum-v0/*/seed0/result.json")
    record = json.loads(failed.read_text())
    assert record["status"] == "failed"
    assert record["error"] == "RuntimeError: injected failure: the simulator broke"
    assert "Traceback" in record["traceback"] and "failing_env.py" in record["traceback"]
    [ok] = runs.glob("InvertedPendulum-v5/*/seed0/result.json")
    assert json.loads(ok.read_text())["status"] == "complete"
    assert "FAILED tests.failing_env:FailingPendulum-v0 ppo_clip seed 0: RuntimeError" in captured.err
    assert captured.out.splitlines()[-1] == "2 runs: 1 failed, 1 complete; 2 trained in this call"


def test_two_concurrent_processes_train_each_run_once(reference, tmp_path):
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "suite", "run", *TINY_ARGS, "--runs-dir", str(runs), "--workers", "1",
           "--display", "none"]
    first = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    second = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    outs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    trained = [int(out.strip().splitlines()[-1].split("; ")[1].split()[0]) for out in outs]
    assert sum(trained) == 8, outs  # every run trained by exactly one of the two
    frame = suite.run(runs_dir=runs, display="none", **TINY)
    assert (frame["status"] == "complete").all() and not frame["trained"].any()
    assert outcome(runs) == reference[1]


def _can_make_netns() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_make_netns(), reason="needs unshare --net (root) for a loopback-only Ray")
def test_ray_backend_matches_local(reference, tmp_path):
    pytest.importorskip("ray")
    runs = tmp_path / "runs"
    # A network namespace whose only interface is loopback: the local Ray cluster can bind
    # and talk on 127.0.0.1 only.
    command = (f"ip link set lo up && {sys.executable} -m suite run {' '.join(TINY_ARGS)} "
               f"--runs-dir {runs} --backend ray --display none")
    done = subprocess.run(["unshare", "--net", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "8 runs: 8 complete; 8 trained in this call"
    assert outcome(runs) == reference[1]
    for name in ("config.json", "progress.csv.gz", "episodes.csv.gz", "checkpoint.pt"):
        assert len(list(runs.glob(f"*/*/seed*/{name}"))) == 8


def test_wandb_offline_run_per_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from tests.wandb_reader import read_offline_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    runs = tmp_path / "runs"
    suite.run("ppo_clip,ppo_klpen", tasks=["InvertedPendulum-v5"], seeds=1, steps=2 * 2048, runs_dir=runs,
              wandb=True, wandb_project="suite-test", preset="quick", display="none")
    logged = [read_offline_run(p) for p in sorted(runs.glob("wandb/offline-run-*/run-*.wandb"))]
    assert len(logged) == 2
    by_group = {run["group"]: run for run in logged}
    assert set(by_group) == {"ppo_clip", "ppo_klpen"}
    for arm, run in by_group.items():
        assert run["job_type"] == "InvertedPendulum-v5" and run["project"] == "suite-test"
        assert set(run["tags"]) == {"quick", arm}
        assert run["config"]["arm"] == arm and run["config"]["config"]["gamma"] == 0.99
        assert [h["global_step"] for h in run["history"]] == [2048, 4096]
        assert all(h["_step"] == h["global_step"] for h in run["history"])
        for key in ("approx_kl", "policy_loss", "value_loss", "entropy", "episode_return"):
            assert key in run["history"][0]
        assert run["summary"]["status"] == "complete" and run["summary"]["steps"] == 4096
    assert "beta" in by_group["ppo_klpen"]["history"][0] and "beta" not in by_group["ppo_clip"]["history"][0]


def test_without_wandb_flag_wandb_is_not_imported(tmp_path):
    code = ("import sys, suite; suite.run('ppo_clip', tasks=['InvertedPendulum-v5'], seeds=1, steps=2048, "
            f"runs_dir={str(tmp_path)!r}, display='none'); print('wandb' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr[-2000:]
