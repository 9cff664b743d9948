"""The fault battery: resume verifies what it continues from; Ctrl-C, a second Ctrl-C and
SIGTERM on a pooled grid; one worker killed; one bad checkpoint in a group; OS errors
(a full disk, a read-only runs dir) on real filesystems; paths that cannot be directories.
Signals and kills are sent by failpoints at fixed points of the training (suite/records/faults.py),
not after a sleep."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import suite
from suite.__main__ import main
from suite.grid.plan import plan
from suite.grid.runner import execute
from tests.records import outcome
from tests.test_reliability import assert_every_record_whole, snapshot

ROOT = Path(__file__).resolve().parents[1]
STEPS = 12 * 2048
GRID = {"algos": "ppo_clip", "tasks": ["InvertedPendulum-v5"], "seeds": 3, "steps": STEPS}
POOL_ARGS = ["run", "--algos", "ppo_clip", "--tasks", "InvertedPendulum-v5", "--seeds", "3", "--steps", str(STEPS),
             "--workers", "2", "--group-size", "1", "--checkpoint-every", "5", "--display", "lines"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    runs = tmp_path_factory.mktemp("faults-ref") / "runs"
    frame = suite.run(runs_dir=runs, workers=1, display="none", **GRID)
    assert (frame["status"] == "complete").all()
    return outcome(runs, progress_rows=True)


def _bystander(runs: Path) -> tuple[Path, dict]:
    """A complete run of another budget in the same runs dir, and its files' checksums: no
    fault and no rerun may touch it."""
    spec = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=1, steps=2048)[0]
    assert execute(spec, runs).status == "complete"
    return runs / spec.key, _checksums(runs / spec.key)


def _checksums(path: Path) -> dict:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


def _untouched_then_rerun_matches(runs: Path, other: Path, sums: dict, reference) -> None:
    """The bystander's files are unchanged; a rerun of the grid ends as uninterrupted."""
    assert _checksums(other) == sums
    shutil.rmtree(other.parent)
    frame = suite.run(runs_dir=runs, workers=2, group_size=1, display="none", **GRID)
    assert (frame["status"] == "complete").all()
    assert outcome(runs, progress_rows=True) == reference


def _partial_grid(runs: Path) -> list[Path]:
    """Every run stopped after 4 iterations with a checkpoint at step 8192."""
    paths = []
    for spec in plan(GRID["algos"], GRID["tasks"], GRID["seeds"], GRID["steps"]):
        assert execute(spec, runs, checkpoint_every=1, stop_after=4).status == "partial"
        paths.append(runs / spec.key)
    return paths


def _cut_rows(path: Path, keep: int) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:keep + 1]) + "\n")


def _damage(kind: str, run: Path, other: Path) -> None:
    checkpoint = run / "checkpoint.pt"
    if kind == "progress missing":
        (run / "progress.csv").unlink()
    elif kind == "episodes missing":
        (run / "episodes.csv").unlink()
    elif kind == "progress short":
        _cut_rows(run / "progress.csv", 2)
    elif kind == "episodes short":
        _cut_rows(run / "episodes.csv", len((run / "episodes.csv").read_text().splitlines()) - 2)
    elif kind == "foreign checkpoint":
        shutil.copy(other / "checkpoint.pt", checkpoint)
    elif kind == "not a dict":
        torch.save([1, 2, 3], checkpoint)
    elif kind == "no identity":
        state = torch.load(checkpoint, weights_only=True)
        del state["identity"]
        torch.save(state, checkpoint)
    elif kind == "garbage":
        checkpoint.write_bytes(b"not a checkpoint")
    elif kind in ("other cpu", "other numpy"):  # the checkpoint came from another machine
        config = json.loads((run / "config.json").read_text())
        key, value = ("cpu", "Some Other CPU") if kind == "other cpu" else ("numpy", "0.0.1")
        config["environment"][key] = value
        (run / "config.json").write_text(json.dumps(config))
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("kind, why", [
    ("progress missing", "progress.csv is missing"),
    ("episodes missing", "episodes.csv is missing"),
    ("progress short", "progress.csv reaches step 4096, the checkpoint is at step 8192"),
    ("episodes short", "episodes up to step 8192, the checkpoint counted"),
    ("foreign checkpoint", "checkpoint.pt is another run's"),
    ("not a dict", "checkpoint.pt holds a list, not a checkpoint"),
    ("no identity", "checkpoint.pt records no identity"),
    ("garbage", "corrupt checkpoint"),
    ("other cpu", "made on 'Some Other CPU'"),
    ("other numpy", "made with other versions (numpy 0.0.1 recorded"),
])
def test_resume_verifies_and_a_bad_partial_run_restarts_alone(reference, tmp_path, capsys, kind, why):
    """The damaged seed starts over with one line saying why; the rest of its group resumes;
    every run ends exactly as uninterrupted (never complete with history missing)."""
    runs = tmp_path / "runs"
    other, sums = _bystander(runs)
    seed0, seed1, _ = _partial_grid(runs)
    _damage(kind, seed0, seed1)
    capsys.readouterr()
    frame = suite.run(runs_dir=runs, workers=1, group_size=3, display="none", **GRID)
    assert (frame["status"] == "complete").all() and frame["trained"].all()
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "starting over" in line]
    assert len(lines) == 1 and lines[0].startswith(str(seed0.relative_to(runs))) and why in lines[0], err
    assert _checksums(other) == sums
    shutil.rmtree(other.parent)
    assert outcome(runs, progress_rows=True) == reference


def _grid_process(runs: Path, env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """The CLI in its own process group (as a terminal runs it), failpoints set."""
    env = {**os.environ, "PGSUITE_FAILPOINT_ONCE": str(tmp_path / "once"), **env}
    return subprocess.run([sys.executable, "-m", "suite", *POOL_ARGS, "--runs-dir", str(runs)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, start_new_session=True)


@pytest.mark.parametrize("signal_name", ["INT", "TERM"])
def test_interrupt_stops_scheduling_saves_in_flight_runs_and_exits_130(reference, tmp_path, signal_name):
    runs = tmp_path / "runs"
    other, sums = _bystander(runs)
    done = _grid_process(runs, {"PGSUITE_FAILPOINT": f"row:2@{signal_name}"}, tmp_path)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"interrupted (SIG{signal_name}): ") and "run the same command again to resume" in last
    assert f"SIG{signal_name}: stopping" in done.stdout
    grid_runs = [p for p in sorted(runs.glob("*/*/seed*")) if p.parent != other.parent]
    assert [p.name for p in grid_runs] == ["seed0", "seed1"], grid_runs  # the queued run never started
    for run in grid_runs:  # stopped at a progress row, with a checkpoint there
        assert not (run / "result.json").exists()
        state = torch.load(run / "checkpoint.pt", weights_only=True)
        rows = (run / "progress.csv").read_text().splitlines()
        assert int(rows[-1].split(",")[1]) == state["identity"]["global_step"] == state["global_step"]
    assert_every_record_whole(runs)
    _untouched_then_rerun_matches(runs, other, sums, reference)


def test_second_ctrl_c_stops_at_once_and_records_stay_whole(reference, tmp_path):
    runs = tmp_path / "runs"
    other, sums = _bystander(runs)
    done = _grid_process(runs, {"PGSUITE_FAILPOINT": "row:2+@INT"}, tmp_path)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("interrupted: stopped at once")
    assert_every_record_whole(runs)
    _untouched_then_rerun_matches(runs, other, sums, reference)


def test_one_worker_killed_costs_only_its_run_which_is_retried(reference, tmp_path):
    runs = tmp_path / "runs"
    other, sums = _bystander(runs)
    done = _grid_process(runs, {"PGSUITE_FAILPOINT": "row:2"}, tmp_path)  # SIGKILL, one worker only
    assert done.returncode == 0, done.stderr[-3000:]
    assert "worker process lost (killed by SIGKILL); its 1 run(s) retried from their checkpoints" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("3 runs: 3 complete")
    _untouched_then_rerun_matches(runs, other, sums, reference)


def test_a_setup_failure_fails_only_its_own_run(tmp_path, monkeypatch):
    """A member whose trainer cannot be built is recorded failed; its group trains on."""
    import suite.grid.runner as runner

    real = runner._trainer

    def broken(spec):
        if spec.seed == 1:
            raise RuntimeError("the simulator would not start")
        return real(spec)

    monkeypatch.setattr(runner, "_trainer", broken)
    runs = tmp_path / "runs"
    frame = suite.run(runs_dir=runs, workers=1, group_size=3, display="none", **{**GRID, "steps": 2048})
    assert frame["status"].tolist() == ["complete", "failed", "complete"]
    assert "the simulator would not start" in frame["error"][1]
    assert json.loads(next(runs.glob("*/*/seed1/result.json")).read_text())["status"] == "failed"


# -- OS errors on real filesystems ---------------------------------------------------------------
def _can_mount() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True).returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs unshare --mount (root) for a tmpfs")


def _in_mount(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "--mount", "sh", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@needs_mount
def test_full_disk_stops_the_grid_in_one_line_and_loses_nothing(reference, tmp_path):
    ref = tmp_path / "ref"
    suite.run(runs_dir=ref, workers=1, display="none", **{**GRID, "seeds": 1})
    disk = tmp_path / "disk"
    disk.mkdir()
    py = sys.executable
    script = (f"mount -t tmpfs -o size=160k tmpfs {disk} && cp -r {ref} {disk}/runs && "
              f"{py} -m suite run --algos ppo_clip --tasks InvertedPendulum-v5 --seeds 3 --steps {STEPS} "
              f"--workers 1 --checkpoint-every 1 --display none --runs-dir {disk}/runs; echo exit=$?; "
              f"{py} -c 'import sys; from tests.records import outcome; from pathlib import Path; "
              f"print(outcome(Path(sys.argv[1]))==outcome(Path(sys.argv[2])))' {ref} {disk}/runs/ 2>&1 | tail -1")
    done = _in_mount(script, tmp_path)
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "No space left on device" in err[0], done.stderr
    assert str(disk / "runs" / "InvertedPendulum-v5") in err[0]
    assert "exit=2" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "True"  # the complete run copied in is untouched


@needs_mount
def test_readers_work_on_a_read_only_runs_dir_and_run_refuses_it_in_one_line(reference, tmp_path):
    ref = tmp_path / "ref"
    suite.run(runs_dir=ref, workers=1, display="none", **{**GRID, "seeds": 2})
    disk, out = tmp_path / "disk", tmp_path / "board"
    disk.mkdir()
    py = sys.executable
    script = (f"mount -t tmpfs tmpfs {disk} && cp -r {ref} {disk}/runs && mount -o remount,ro {disk} && "
              f"{py} -m suite status --runs-dir {disk}/runs && {py} -m suite table --runs-dir {disk}/runs && "
              f"{py} -m suite leaderboard --runs-dir {disk}/runs --out {out} && echo readers-ok; "
              f"{py} -m suite run --algos ppo_clip --tasks InvertedPendulum-v5 --seeds 3 --steps {STEPS} "
              f"--runs-dir {disk}/runs --display none; echo exit=$?")
    done = _in_mount(script, tmp_path)
    assert "readers-ok" in done.stdout, done.stderr[-3000:]
    assert "(n=2)" in done.stdout and (out / "README.md").exists()
    assert done.stderr.strip().splitlines() == [f"error: runs dir '{disk}/runs' is not writable"]
    assert "exit=2" in done.stdout


@pytest.mark.parametrize("command", [
    ["table", "--csv", "{blocker}/table.csv"],
    ["leaderboard", "--out", "{blocker}/board"],
    ["run", "--tasks", "InvertedPendulum", "--steps", "2048", "--seeds", "1", "--runs-dir", "{dangling}"],
    ["status", "--runs-dir", "{dangling}"],
])
def test_paths_that_cannot_be_directories_fail_in_one_line(reference, tmp_path, capsys, command):
    runs = tmp_path / "runs"
    suite.run(runs_dir=runs, workers=1, display="none", **{**GRID, "seeds": 1, "steps": 2048})
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    argv = [part.format(blocker=blocker, dangling=dangling) for part in command]
    if "--runs-dir" not in argv:
        argv += ["--runs-dir", str(runs)]
    before = snapshot(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (1, 2) and err.startswith("error: ") and err.count("\n") == 1, err
    assert str(blocker) in err or str(dangling) in err
    assert "Not a directory" in err or "dangling symlink" in err or "is a file" in err
    assert snapshot(tmp_path) == before
