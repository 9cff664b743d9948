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
    assert main(["verify", str(runs), "--rows", "2"]) == 1
    out = capsys.readouterr().out
    assert f"differs            {TASK}/{run.parent.name}/seed0  row 2, policy_loss: recorded" in out
    assert "config.json's resolved config is not what today's code resolves" in out
    assert out.splitlines()[-1] == "4 runs: 2 identical, 2 differs, 0 another CPU class, 0 not checked"


def test_another_cpu_class_is_compared_statistically(tmp_path, recorded):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    run = next(runs.glob(f"{TASK}/vpg-*/seed1"))
    config = json.loads((run / "config.json").read_text())
    config["environment"]["cpu"] = "Some Other CPU"
    (run / "config.json").write_text(json.dumps(config))
    _rewrite(run / "progress.csv", lambda text: text.replace("\n1,2048,", "\n1,2048,", 1))  # unchanged: identical
    assert suite.verify(runs, rows=1).set_index("key").loc[str(run.relative_to(runs)), "state"] == "identical"

    def nudge(text):
        header, first, *rest = text.splitlines()
        column = header.split(",").index("entropy")
        cells = first.split(",")
        cells[column] = repr(float(cells[column]) * (1 + 1e-7))
        return "\n".join([header, ",".join(cells), *rest]) + "\n"

    _rewrite(run / "progress.csv", nudge)
    verdict = suite.verify(runs, rows=1).set_index("key").loc[str(run.relative_to(runs))]
    assert verdict["state"] == "another CPU class"
    assert "largest relative difference 1e-07" in verdict["detail"]


def test_a_record_naming_a_module_is_not_imported(tmp_path, recorded, monkeypatch):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(recorded, runs)
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\nclass Env: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    run = next(runs.glob(f"{TASK}/ppo_clip-*/seed0"))
    config = json.loads((run / "config.json").read_text())
    config["task"] = "evilmod:Env"
    (run / "config.json").write_text(json.dumps(config))
    verdict = suite.verify(runs, rows=1).set_index("key").loc[str(run.relative_to(runs))]
    assert verdict["state"] == "not checked" and "names module 'evilmod'; not imported" in verdict["detail"]
    assert not marker.exists()
