"""A clean first second (issue 24): Ctrl-C at any moment of start-up, imports and worker
start-up included, gives one line and exit status 130. Asserted by output, at failpoints
(suite/records/faults.py), not by timing."""

import os
import subprocess
import sys

import pytest

STATUS = [sys.executable, "-m", "suite", "status", "--runs-dir", "runs"]


def _run(args, failpoint, tmp_path, once=False):
    env = {**os.environ, "PGSUITE_FAILPOINT": failpoint}
    if once:
        env["PGSUITE_FAILPOINT_ONCE"] = str(tmp_path / "once")
    return subprocess.run(args, env=env, capture_output=True, text=True, start_new_session=True, timeout=300)


@pytest.mark.parametrize("moment", ["start:imports", "start:main"])
def test_ctrl_c_while_starting_is_one_line(tmp_path, moment):
    done = _run(STATUS, f"{moment}:1@INT", tmp_path)
    assert done.returncode == 130
    assert done.stderr == "interrupted while starting: nothing was run\n" and done.stdout == ""


def test_ctrl_c_while_a_worker_starts_is_one_line_and_resumable(tmp_path):
    args = [sys.executable, "-m", "suite", "run", "--algos", "ppo_clip", "--tasks", "InvertedPendulum", "--seeds",
            "2", "--steps", "4096", "--workers", "2", "--group-size", "1", "--runs-dir", str(tmp_path / "runs"),
            "--display", "lines"]
    done = _run(args, "worker:start:1@INT", tmp_path, once=True)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("interrupted")
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "2 complete" in again.stdout + again.stderr


def test_a_library_import_leaves_sigint_alone():
    code = "import signal, suite; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
