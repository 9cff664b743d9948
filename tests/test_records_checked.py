"""Records that are checked, not trusted (issue 24): a record never makes code run, every
field a table reads is verified against the others, and one run's damage stays its own."""

import json
import math
import shutil

import pytest

import suite
from suite.__main__ import main
from suite.errors import SuiteError
from suite.grid.runner import evaluate
from suite.records.state import run_state

TASK = "InvertedPendulum-v5"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    runs = tmp_path_factory.mktemp("checked") / "runs"
    suite.run(algos="ppo_clip", tasks=[TASK], seeds=2, steps=2 * 2048, runs_dir=runs, workers=1, display="none")
    return runs


@pytest.fixture
def runs(tmp_path, trained):
    copy = tmp_path / "runs"
    shutil.copytree(trained, copy)
    return copy


def _seed(runs, k):
    return next(runs.glob(f"{TASK}/ppo_clip-*/seed{k}"))


def _edit_json(path, **changes):
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "lr":
            data["config"]["lr"] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def test_trained_runs_are_complete(runs):
    assert [run_state(_seed(runs, k)).state for k in (0, 1)] == ["complete", "complete"]


@pytest.mark.parametrize("score", ["abc", math.nan, None, True])
def test_a_score_of_the_wrong_type_is_damage(runs, score):
    _edit_json(_seed(runs, 0) / "result.json", score=score)
    state = run_state(_seed(runs, 0))
    assert state.state == "damaged" and "score" in state.reason and "is not a finite number" in state.reason


def test_a_score_edited_away_from_the_episodes_is_damage(runs):
    _edit_json(_seed(runs, 0) / "result.json", score=9999.0)
    state = run_state(_seed(runs, 0))
    assert state.state == "damaged" and "the mean of the last 100 returns in episodes.csv.gz is" in state.reason
    frame = suite.load_runs(runs)
    assert sorted(frame["status"]) == ["complete", "damaged"]


@pytest.mark.parametrize("partial", [False, True])
def test_an_edited_setting_is_damage(runs, partial):
    run = _seed(runs, 1)
    if partial:
        (run / "result.json").unlink()
    _edit_json(run / "config.json", lr=0.001)
    state = run_state(run)
    assert state.state == "damaged" and "a setting was changed after the run was recorded" in state.reason


def test_a_record_file_that_is_a_directory_is_that_runs_damage_and_the_grid_goes_on(runs, tmp_path, capsys):
    run = _seed(runs, 0)
    (run / "result.json").unlink()
    (run / "result.json").mkdir()
    (run / "result.json" / "junk").write_text("x")
    state = run_state(run)
    assert state.state == "damaged" and state.reason == f"{run / 'result.json'} is not a file"
    # a third seed trains in the same call, and the damaged run is redone
    frame = suite.run(algos="ppo_clip", tasks=[TASK], seeds=3, steps=2 * 2048, runs_dir=runs, workers=1,
                      display="none")
    assert sorted(frame["status"]) == ["complete"] * 3
    assert (run / "result.json").is_file()


def test_evaluate_never_imports_what_a_record_names(runs, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    run = _seed(runs, 0)
    _edit_json(run / "config.json", task="evilmod:Env-v0")
    with pytest.raises(SuiteError, match="names module 'evilmod'.*--allow-import evilmod"):
        evaluate(run)
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not imported because a record says so" in err
    _edit_json(run / "config.json", task=TASK, arm_label="evilmod:ARM")
    assert main(["evaluate", str(run)]) == 2
    assert not marker.exists()


def test_a_killed_compression_is_finished_by_the_next_run(runs):
    """Killed between writing the compressed copy and removing the plain one, or while
    writing a temp file: the next `run` completes the compression and removes the leftovers."""
    import gzip

    run = _seed(runs, 0)
    (run / "progress.csv").write_bytes(gzip.decompress((run / "progress.csv.gz").read_bytes()))
    (run / ".episodes.csv.gz.x1y2.tmp").write_bytes(b"half")
    suite.run(algos="ppo_clip", tasks=[TASK], seeds=2, steps=2 * 2048, runs_dir=runs, workers=1, display="none")
    names = sorted(p.name for p in run.iterdir() if p.name not in ("checkpoint.pt", "run.lock"))
    assert names == ["config.json", "episodes.csv.gz", "progress.csv.gz", "result.json"]
    assert run_state(run).state == "complete"


def test_a_killed_leaderboards_staging_directory_is_removed_by_the_next_build(runs, tmp_path):
    from suite.results.leaderboard import build

    out = tmp_path / "board"
    stale = tmp_path / ".board-abc123"
    stale.mkdir()
    (stale / "README.md").write_text("half")
    build(runs, out)
    assert not stale.exists() and (out / "README.md").exists()


def test_steps_are_read_exactly_and_bounded():
    from suite.grid.plan import parse_steps

    assert parse_steps("123456789") == 123456789 and parse_steps("1e6") == 1_000_000
    for text in ("1e30", "9007199254740993", "0", "-5", "2.5", "nan"):
        with pytest.raises(SuiteError):
            parse_steps(text)


def test_status_of_a_runs_dir_that_does_not_exist_is_an_error(tmp_path, capsys):
    assert main(["status", "--runs-dir", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_live_status_line_uses_the_terminals_width():
    """A 150-character status line on a 160-column terminal stays one line (as a table
    title it wrapped at the table's ~80 columns)."""
    from rich.console import Console

    from suite.grid.display import GridDisplay
    from suite.grid.plan import plan

    specs = plan("ppo_clip", [TASK], 2, 100_000)
    view = GridDisplay(specs, specs, "none")
    view.start(specs[0])
    line = "runs 0/2 done | " + "x" * 134
    view.summary = lambda: line
    console = Console(width=160, record=True)
    console.print(view._render())
    assert console.export_text().splitlines()[0] == line


def test_an_unreadable_run_directory_is_that_runs_damage(runs, monkeypatch):
    """As root nothing is unreadable, so the OSError a non-root reader meets is injected."""
    from pathlib import Path

    bad = _seed(runs, 1)
    real_exists = Path.exists

    def exists(self, *args, **kwargs):
        if self.parent == bad:
            raise PermissionError(13, "Permission denied", str(self))
        return real_exists(self, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", exists)
    state = run_state(bad)
    assert state.state == "damaged" and "cannot be read (Permission denied)" in state.reason
    frame = suite.load_runs(runs)
    assert sorted(frame["status"]) == ["complete", "damaged"]
    assert main(["status", "--runs-dir", str(runs)]) == 0
