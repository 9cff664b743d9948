"""`suite verify`: today's code against recorded runs, run by run."""

import gzip
import json

import pytest

import suite
from suite.__main__ import main
from suite.records.files import csv_file

TASK = "InvertedPendulum-v5"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    runs = tmp_path_factory.mktemp("verify") / "runs"
    suite.run(algos="ppo_clip,vpg_section4", tasks=[TASK], seeds=2, steps=2 * 2048, runs_dir=runs, workers=1,
              display="none")
    return runs


def _rewrite(path, edit):
    """Apply `edit` to a record file's text (gzip-compressed once the run is final)."""
    path = csv_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:
        text = handle.read()
    with opener(path, "wt") as handle:
        handle.write(edit(text))


def test_unchanged_records_verify_identical(recorded):
    frame = suite.verify(recorded, rows=2)
    assert len(frame) == 4 and (frame["state"] == "identical").all(), frame.to_string()


def test_an_edited_number_or_config_is_caught(tmp_path, recorded, capsys):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    run = next(runs.glob(f"{TASK}/ppo_clip-*/seed0"))

    def bump_second_row(text):  # the policy loss of iteration 2 moves in its last digit
        header, first, second, *rest = text.splitlines()
        cells = second.split(",")
        column = header.split(",").index("policy_loss")
        cells[column] = repr(float(cells[column]) * (1 + 1e-12) + 1e-15)
        return "\n".join([header, first, ",".join(cells), *rest]) + "\n"

    _rewrite(run / "progress.csv", bump_second_row)
    other = next(runs.glob(f"{TASK}/ppo_clip-*/seed1"))
    config = json.loads((other / "config.json").read_text())
    config["config"]["lr"] = 0.001  # the record claims another step size than its hash
    (other / "config.json").write_text(json.dumps(config))
    assert main(["verify", "--runs-dir", str(runs), "--rows", "2"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("this machine: ")
    assert f"differs       {TASK}/{run.parent.name}/seed0  row 2, policy_loss: recorded" in out
    assert f"damaged       {TASK}/{other.parent.name}/seed1  config.json's resolved config hashes to" in out
    assert out.splitlines()[-1] == ("4 runs: 2 identical, 1 differs, 0 consistent, 0 inconsistent, 1 damaged, "
                                    "0 not checked")


@pytest.mark.parametrize("edit", ["empty", "9999", "last bits"])
def test_a_damaged_result_is_reported_damaged(tmp_path, recorded, capsys, edit):
    """verify reads result.json as status does: an empty one, or a score that is not the mean
    of the last 100 episodes (edited to 9999, or in its last bits), is damaged: exit 1."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    result = next(runs.glob(f"{TASK}/vpg-*/seed1")) / "result.json"
    data = json.loads(result.read_text())
    if edit == "empty":
        result.write_text("")
    else:
        data["score"] = 9999.0 if edit == "9999" else data["score"] * (1 + 5e-10)
        result.write_text(json.dumps(data))
    assert main(["verify", "--runs-dir", str(runs)]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("damaged")]
    assert f"{TASK}/{result.parent.parent.name}/seed1" in line
    assert out.splitlines()[-1].endswith("3 identical, 0 differs, 0 consistent, 0 inconsistent, 1 damaged, "
                                         "0 not checked")


def test_tasks_arms_and_directories_select_what_is_verified(recorded, capsys):
    run = next(recorded.glob(f"{TASK}/ppo_clip-*/seed1"))
    assert main(["verify", "--runs-dir", str(recorded), "--tasks", "InvertedPendulum", "--algos", "vpg"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("2 runs: 2 identical") and "ppo_clip" not in out
    assert main(["verify", "--runs-dir", str(recorded), "--algos", "ppo_clip:clip_eps=0.2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 runs: 2 identical")
    assert main(["verify", "--runs-dir", str(run)]) == 0  # one run's directory
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("1 runs: 1 identical") and f"{TASK}/{run.parent.name}/seed1" in out
    assert main(["verify", str(run.parent)]) == 0  # an arm's directory, as the positional kept for a release
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 runs: 2 identical")
    for bad in (["--tasks", "InvertedPendulm"], ["--algos", "no_such_arm"], ["--tasks", "Hopper"]):
        assert main(["verify", "--runs-dir", str(recorded), *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: "), err


def test_another_cpu_class_is_tested_against_the_spread_of_last_bit_differences(tmp_path, recorded, capsys):
    """A record from another CPU class: consistent when untouched (or moved within what last-bit
    differences give), inconsistent (exit 1) when a value is moved beyond it."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    run = next(runs.glob(f"{TASK}/vpg-*/seed1"))
    config = json.loads((run / "config.json").read_text())
    config["environment"]["cpu"] = "Some Other CPU"
    (run / "config.json").write_text(json.dumps(config))
    key = str(run.relative_to(runs))
    verdict = suite.verify(runs, rows=2).set_index("key").loc[key]
    assert verdict["state"] == "consistent" and "recorded on Some Other CPU: largest z 0 at" in verdict["detail"]

    def scale_first_row(column, factor):
        def edit(text):
            header, first, *rest = text.splitlines()
            cells = first.split(",")
            index = header.split(",").index(column)
            cells[index] = repr(float(cells[index]) * factor)
            return "\n".join([header, ",".join(cells), *rest]) + "\n"
        return edit

    _rewrite(run / "progress.csv", scale_first_row("value_loss", 1.5))
    assert main(["verify", "--runs-dir", str(runs), "--rows", "2"]) == 1
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if key in line]
    assert line.startswith("inconsistent") and "at row 1, value_loss (threshold 10" in line, line


def test_a_record_naming_a_module_is_not_imported(tmp_path, recorded, monkeypatch):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nclass Env: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    recorded_run = next(runs.glob(f"{TASK}/ppo_clip-*/seed0"))
    run = runs / "evilmod:Env" / recorded_run.parent.name / "seed0"  # a consistent record of a module's task
    run.parent.mkdir(parents=True)
    recorded_run.rename(run)
    for name in ("config.json", "result.json"):
        record = json.loads((run / name).read_text())
        record["task"] = "evilmod:Env"
        (run / name).write_text(json.dumps(record))
    assert suite.run_state(run).state == "complete"
    verdict = suite.verify(runs, rows=1).set_index("key").loc[str(run.relative_to(runs))]
    assert verdict["state"] == "not checked" and "names module 'evilmod'; not imported" in verdict["detail"]
    assert not marker.exists()


def test_a_rerun_trains_on_one_thread_whatever_the_calling_process_set(tmp_path):
    """Records are made on one torch and BLAS thread (config.json's torch_threads); verify runs
    in the CLI's own process, which does not pin. A2C + TR's approx_kl moved in its 7th digit on
    two threads, so every committed A2C + TR record 'differed' until execute_group pinned itself."""
    import torch

    from algorithms import make_arm
    from suite.grid.plan import RunSpec
    from suite.grid.runner import execute_group
    from suite.records.files import PROGRESS, read_csv

    spec = RunSpec("Hopper-v5", make_arm("a2c_tr:trust_region_delta=125", "Hopper-v5"), 100, 1_000_000)
    before = torch.get_num_threads()
    try:
        rows = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            execute_group([spec], tmp_path / str(threads), checkpoint_every=1, stop_after=26)  # one row, as verify
            rows[threads] = read_csv(tmp_path / str(threads) / spec.key / PROGRESS)
            assert torch.get_num_threads() == threads  # the caller's setting is given back
    finally:
        torch.set_num_threads(before)
    assert len(rows[1]) == 1
    assert rows[1][0]["approx_kl"] == rows[2][0]["approx_kl"]
    assert rows[1][0]["kl_to_average"] == rows[2][0]["kl_to_average"]
