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

import numpy as np
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


@pytest.mark.parametrize("preset, count", [("table1", 231), ("table1_ppo1", 231), ("figure3", 210)])
def test_dry_run_lists_the_preset_grid(tmp_path, capsys, preset, count):
    assert main(["run", "--preset", preset, "--dry-run", "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("missing")]) == count
    assert out[-1].startswith(f"{count} runs ({count} missing); estimated wall time ")
    assert not (tmp_path / "runs").exists()


def test_dry_run_counts_what_is_done_and_estimates_from_measured_speeds(reference, capsys):
    runs, _ = reference
    # a third seed: 4 runs left, estimated from speed.json's fractions x raw stepping measured now
    assert main(["run", *TINY_ARGS, "--seeds", "3", "--dry-run", "--runs-dir", str(runs)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("12 runs (8 complete, 4 missing); estimated wall time")
    assert "raw env stepping" in last and "mj_step alone" in last
    assert last.endswith("(speeds from raw stepping measured now, suite/data/speed.json)")


def test_estimate_by_hand(tmp_path):
    from suite.grid.plan import plan
    from suite.grid.speed import estimate, fraction_of_raw

    table = {"fraction_of_raw": {"InvertedPendulum-v5": {"ppo_clip": {"1": 0.5, "3": 0.7, "9": 0.9}}}}
    fractions = [fraction_of_raw(table, "InvertedPendulum-v5", "ppo_clip", n) for n in (1, 2, 6, 11)]
    assert fractions == pytest.approx([0.5, 0.6, 0.8, 0.9])
    assert fraction_of_raw(table, "Hopper-v5", "ppo_clip", 1) is None
    raw = {"InvertedPendulum-v5": 10_000.0}
    specs = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=3, steps=20480)
    # one group of 3: 61,440 steps at 0.7 x 10k/s, plus 3 runs x 10 evaluation episodes x 1000 steps at 10k/s
    one = estimate(specs, tmp_path, workers=1, group_size=3, raw=raw, table=table,
                   simulator={"InvertedPendulum-v5": 40_000.0})
    assert one.seconds == pytest.approx(61440 / 7000 + 3.0) and one.floor_seconds == pytest.approx(6.144)
    assert one.simulator_seconds == pytest.approx(61440 / 40_000)
    # alone: three groups of one at 0.5, on two lanes: two runs on one of them
    alone = estimate(specs, tmp_path, workers=2, group_size=1, raw=raw, table=table, simulator={})
    assert alone.simulator_seconds == alone.floor_seconds  # no mj_step figure: the env is its own floor
    assert alone.seconds == pytest.approx(2 * (20480 / 5000 + 1.0)) and alone.lanes == 2
    # a cluster: one lane per worker
    assert estimate(specs, tmp_path, workers=16, group_size=1, backend="ray", raw=raw, table=table).lanes == 16
    # an arm never measured: a default fraction, said in the sources
    other = estimate(plan("trpo", ["InvertedPendulum-v5"], seeds=1, steps=2048), tmp_path, 1, 1, raw=raw,
                     table=table)
    assert "default 0.2 of raw" in other.sources


def test_groups_go_seed_by_seed():
    """A grid finishes a seed in every cell before it starts the next (the leaderboard takes a
    seed once it is final in every cell), whatever order the plan lists its runs in."""
    from suite.grid.plan import make_groups, plan

    specs = plan("ppo_clip,ppo_noclip,trpo", ["Hopper-v5", "Swimmer-v5"], seeds="5,3,4", steps=2048)
    groups = make_groups(specs, 2)
    assert sorted(spec.key for group in groups for spec in group) == sorted(spec.key for spec in specs)
    firsts = [group[0].seed for group in groups]
    assert firsts == sorted(firsts) == [3, 3, 3, 3, 4, 4, 5, 5, 5, 5]
    # every run of a seed is in a group that starts at or below it: seed 3 is done before any
    # group of seed 4 starts
    assert all(group[0].seed == min(spec.seed for spec in group) for group in groups)
    # PPO's two settings of one seed train together; TRPO (another algorithm) apart, its seeds
    # together up to the group size; plan order within a seed
    assert [[(g.task, g.arm.name, g.seed) for g in group] for group in groups[:2]] == [
        [("Hopper-v5", "ppo_clip", 3), ("Hopper-v5", "ppo_noclip", 3)],
        [("Hopper-v5", "trpo", 3), ("Hopper-v5", "trpo", 4)]]
    assert all(len({spec.task for spec in group}) == 1 for group in groups)


def test_simulator_floor_is_mujoco_alone():
    from suite.grid.speed import raw_stepping, simulator_stepping

    hopper = simulator_stepping("Hopper-v5", 500)
    assert hopper is not None and hopper.cpu > 0 and np.isfinite(hopper.wall)
    assert simulator_stepping("CartPole-v1", 500) is None  # not a MuJoCo env: raw stepping is its floor
    assert raw_stepping("CartPole-v1", 500).cpu > 0


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
    outs = [p.communicate(timeout=1800)[0] for p in (first, second)]
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
                          timeout=1800)  # a hang guard: under a busy machine Ray takes long to start
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "8 runs: 8 complete; 8 trained in this call"
    assert outcome(runs) == reference[1]
    for name in ("config.json", "progress.csv.gz", "episodes.csv.gz", "checkpoint.pt"):
        assert len(list(runs.glob(f"*/*/seed*/{name}"))) == 8


def test_a_local_ray_cluster_listens_on_loopback_only():
    """Every server the local cluster starts (GCS, raylet, workers, the driver, the runtime-env
    agent) listens on 127.0.0.1, in the machine's own network, not in a loopback-only one."""
    ray = pytest.importorskip("ray")
    psutil = pytest.importorskip("psutil")
    from suite.grid.backends import start_ray

    start_ray()
    try:
        ray.get(ray.remote(num_cpus=1)(lambda: 1).remote())  # a worker is up too
        me = psutil.Process()
        ours = {me.pid} | {child.pid for child in me.children(recursive=True)}
        listening = [(c.pid, c.laddr.ip) for c in psutil.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.pid in ours]
    finally:
        ray.shutdown()
    names = {psutil.Process(pid).name() for pid, _ in listening if psutil.pid_exists(pid)} if listening else set()
    assert len(listening) >= 4, listening  # gcs_server, raylet (2), the driver, a worker
    assert {ip for _, ip in listening} <= {"127.0.0.1", "::ffff:127.0.0.1"}, (listening, names)


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


def test_wandb_logs_rows_live_and_a_resumed_run_keeps_its_whole_history(tmp_path, monkeypatch):
    """Rows reach wandb while the run trains (seen through the display's row hook, before the
    run ends); a run resumed from a checkpoint made without wandb still logs every row once."""
    pytest.importorskip("wandb")
    from suite.grid.plan import plan
    from suite.grid.runner import execute
    from suite.grid.tracking import WandbLogger
    from tests.wandb_reader import read_offline_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_DIR", raising=False)
    runs = tmp_path / "runs"
    [spec] = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=1, steps=4 * 2048)
    assert execute(spec, runs, checkpoint_every=1, stop_after=2).status == "partial"
    seen = []
    real_log = WandbLogger.log

    def log(self, spec_, row, step):
        seen.append((step, (runs / spec_.key / "result.json").exists()))
        real_log(self, spec_, row, step)

    monkeypatch.setattr(WandbLogger, "log", log)
    suite.run("ppo_clip", tasks=["InvertedPendulum-v5"], seeds=1, steps=4 * 2048, runs_dir=runs, wandb=True,
              display="none", workers=1)
    assert [step for step, _ in seen] == [2048, 4096, 6144, 8192]
    assert not any(finished for _, finished in seen)  # every row was logged before the run finished
    [logged] = [read_offline_run(p) for p in runs.glob("wandb/offline-run-*/run-*.wandb")]
    assert [h["global_step"] for h in logged["history"]] == [2048, 4096, 6144, 8192]
    assert all("episode_return" in h for h in logged["history"])


def test_tensorboard_scalars_per_run(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs, board = tmp_path / "runs", tmp_path / "tb"
    suite.run("ppo_clip,ppo_klpen", tasks=["InvertedPendulum-v5"], seeds=1, steps=2 * 2048, runs_dir=runs,
              tensorboard=board, display="none", workers=1, group_size=2)
    for arm in ("ppo_clip", "ppo_klpen"):
        [run] = list(board.glob(f"InvertedPendulum-v5/{arm}-*/seed0"))
        events = EventAccumulator(str(run))
        events.Reload()
        tags = events.Tags()["scalars"]
        assert {"policy_loss", "value_loss", "approx_kl", "episode_return", "result/score"} <= set(tags)
        assert ("beta" in tags) == (arm == "ppo_klpen")
        assert [e.step for e in events.Scalars("policy_loss")] == [2048, 4096]
        progress = suite.load_progress(next(runs.glob(f"InvertedPendulum-v5/{arm}-*/seed0")))
        assert [e.value for e in events.Scalars("policy_loss")] == pytest.approx(progress["policy_loss"].tolist())


def test_without_wandb_flag_wandb_is_not_imported(tmp_path):
    code = ("import sys, suite; suite.run('ppo_clip', tasks=['InvertedPendulum-v5'], seeds=1, steps=2048, "
            f"runs_dir={str(tmp_path)!r}, display='none'); print('wandb' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr[-2000:]
