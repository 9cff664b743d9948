"""`suite evaluate RUN --video`: a short MP4 of a tiny trained run, rendered offscreen."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import suite
from suite.grid.plan import plan
from suite.grid.runner import evaluate, execute

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("video") / "runs"
    spec = plan("ppo_clip", ["InvertedPendulum-v5"], seeds=1, steps=2048)[0]
    assert execute(spec, runs).status == "complete"
    return runs / spec.key


def test_video_has_a_frame_per_step_and_the_size_asked(tiny_run, tmp_path, monkeypatch):
    imageio = pytest.importorskip("imageio.v2")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    out = tmp_path / "clips" / "ip.mp4"
    returns = evaluate(tiny_run, episodes=2, video=out, size=(96, 64))
    assert returns == evaluate(tiny_run, episodes=2)  # rendering changes nothing of the returns
    reader = imageio.get_reader(out)
    frames = reader.count_frames()
    # InvertedPendulum-v5 pays 1 per step but 0 for the step that ends the episode (the pole
    # fell, well before the time limit here): steps = return + 1, and a frame after each reset
    # and after every step
    assert max(returns) < 1000
    assert frames == sum(int(r) + 1 + 1 for r in returns)
    first = reader.get_data(0)
    assert first.shape == (64, 96, 3) and first.std() > 0  # a picture, not a blank
    assert reader.get_meta_data()["fps"] == 25  # InvertedPendulum-v5's render_fps (1 / its dt of 0.04 s)
    assert not list(out.parent.glob(".*tmp*"))


def test_stochastic_evaluation_samples_actions(tiny_run):
    mean_actions = evaluate(tiny_run, episodes=5)
    sampled = evaluate(tiny_run, episodes=5, stochastic=True)
    assert sampled == evaluate(tiny_run, episodes=5, stochastic=True)  # seeded: the same again
    assert sampled != mean_actions


def test_no_gl_platform_is_one_line(tiny_run, tmp_path):
    env = {**os.environ, "MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}
    done = subprocess.run([sys.executable, "-m", "suite", "evaluate", str(tiny_run), "--episodes", "1", "--video",
                           str(tmp_path / "x.mp4")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        pytest.skip("this machine has OSMesa: nothing fails")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("error: no usable GL platform to render with: MUJOCO_GL=osmesa")
    assert not (tmp_path / "x.mp4").exists()
    assert suite.load_runs(tiny_run.parents[2]).status.tolist() == ["complete"]
