"""A researcher's own algorithm: plug-in arms (module:NAME and entry points), check-arm,
compare and export."""

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy.stats import trim_mean

import suite
from algorithms import ConfigError, make_arm, plugin_arms
from suite.__main__ import main
from suite.grid.runner import execute
from suite.records.files import read_csv
from suite.results.scores import random_scores
from tests.test_results import fake_run

TASK = "InvertedPendulum-v5"

PLUGIN = '''
from algorithms.ppo import PPO, PPOConfig

ARM = (PPO, PPOConfig(objective="clip", clip_eps=0.15))
NOT_A_PAIR = PPO
NOT_AN_ALGORITHM = (dict, PPOConfig())
'''

# the example's algorithm with one deliberate fault each
BROKEN = '''
import numpy as np
from examples.kl_stop import KLStopConfig, KLStopPPO


class Noisy(KLStopPPO):
    """Draws from an unseeded generator: the same seed gives other numbers."""

    def update(self, batch):
        metrics = super().update(batch)
        metrics["noise"] = float(np.random.default_rng().random())
        return metrics


class Forgetful(KLStopPPO):
    """Saves no optimizer state: a resumed run restarts Adam's moments."""

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


NOISY = (Noisy, KLStopConfig())
FORGETFUL = (Forgetful, KLStopConfig())
'''


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    root = tmp_path / "plugins"
    root.mkdir()
    (root / "myplug.py").write_text(PLUGIN)
    (root / "brokenplug.py").write_text(BROKEN)
    dist = root / "myplugdist-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugdist\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[pgsuite.arms]\nmy_clip = myplug:ARM\n")
    monkeypatch.syspath_prepend(str(root))
    yield root
    for name in ("myplug", "brokenplug"):
        sys.modules.pop(name, None)


def test_module_plugin_trains_resumes_and_is_recorded(plugin_path, tmp_path):
    arm = make_arm("myplug:ARM:lr=0.0001")
    assert arm.record_name == "myplug.ARM" and arm.config.clip_eps == 0.15 and arm.config.lr == 1e-4
    assert arm.plugin.version.startswith("sha256:") and arm.plugin.algorithm == "algorithms.ppo.PPO"
    assert arm.config_hash != make_arm("ppo_clip:clip_eps=0.15:lr=0.0001").config_hash
    spec = suite.plan("myplug:ARM", [TASK], seeds=1, steps=3 * 2048)[0]
    straight = execute(spec, tmp_path / "straight")
    assert straight.status == "complete"
    config = json.loads((tmp_path / "straight" / spec.key / "config.json").read_text())
    assert config["plugin"]["module"] == "myplug" and config["plugin"]["version"] == arm.plugin.version
    # verify reruns a plug-in's record only where the user names its module
    assert suite.verify(tmp_path / "straight", rows=1)["state"].tolist() == ["not checked"]
    assert suite.verify(tmp_path / "straight", rows=2, allow_import=("myplug",))["state"].tolist() == ["identical"]
    execute(spec, tmp_path / "resumed", checkpoint_every=1, stop_after=2)
    assert execute(spec, tmp_path / "resumed").status == "complete"
    for name in ("progress.csv", "episodes.csv"):
        a = [{k: v for k, v in r.items() if k not in ("time_elapsed", "steps_per_second")}
             for r in read_csv(tmp_path / "straight" / spec.key / name)]
        b = [{k: v for k, v in r.items() if k not in ("time_elapsed", "steps_per_second")}
             for r in read_csv(tmp_path / "resumed" / spec.key / name)]
        assert a == b, name


def test_a_new_version_of_the_plugin_is_a_new_run_directory(plugin_path):
    before = make_arm("myplug:ARM").config_hash
    from algorithms.arms import _PLUGINS

    _PLUGINS.clear()
    (plugin_path / "myplug.py").write_text(PLUGIN + "\n# edited\n")
    assert make_arm("myplug:ARM").config_hash != before


def test_entry_point_plugin_is_named_like_a_builtin(plugin_path, capsys):
    assert "my_clip" in plugin_arms()
    arm = make_arm("my_clip:clip_eps=0.3")
    # a distribution that lists no files (here, or an editable install): the source is hashed, never
    # just its version string
    assert arm.record_name == "my_clip" and arm.plugin.version.startswith("sha256:") and arm.config.clip_eps == 0.3
    assert main(["arms"]) == 0
    assert f"my_clip (PPO, plug-in algorithms.ppo.PPO ({arm.plugin.version}))" in capsys.readouterr().out


@pytest.mark.parametrize("spec, why", [
    ("nosuchmodule:ARM", "cannot import 'nosuchmodule' (ModuleNotFoundError"),
    ("myplug:MISSING", "'myplug' has no arm 'MISSING'"),
    ("myplug:NOT_A_PAIR", "is not an (Algorithm subclass, default config) pair"),
    ("myplug:NOT_AN_ALGORITHM", "is not a subclass of algorithms.Algorithm"),
    ("myplug:ARM:nosuchkey=1", "unknown override 'nosuchkey'"),
])
def test_bad_plugin_specs_are_refused_in_one_line(plugin_path, tmp_path, capsys, spec, why):
    with pytest.raises(ConfigError, match=None):
        make_arm(spec)
    assert main(["run", "--algos", spec, "--tasks", TASK, "--runs-dir", str(tmp_path / "r"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and why in err, err
    assert not (tmp_path / "r").exists()


def test_invalid_default_config_is_refused(plugin_path):
    from algorithms.ppo import PPO, PPOConfig

    config = PPOConfig()
    object.__setattr__(config, "num_epochs", 0)  # a default no constructor would allow
    import importlib

    importlib.import_module("myplug").BAD = (PPO, config)
    with pytest.raises(ConfigError, match="invalid default config .*num_epochs=0 must be > 0"):
        make_arm("myplug:BAD")


def test_check_arm_passes_the_example_and_fails_broken_arms(plugin_path, capsys):
    assert main(["check-arm", "examples.kl_stop:ARM"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "9 passed, 0 failed"
    checks = dict((name, ok) for name, ok, _ in suite.check_arm("brokenplug:NOISY", (TASK,)))
    assert not checks["deterministic on InvertedPendulum-v5"] and checks["trains on InvertedPendulum-v5"]
    checks = dict((name, ok) for name, ok, _ in suite.check_arm("brokenplug:FORGETFUL", (TASK,)))
    assert not checks["resume on InvertedPendulum-v5"] and checks["deterministic on InvertedPendulum-v5"]
    assert main(["check-arm", "brokenplug:FORGETFUL", "--tasks", "InvertedPendulum"]) == 1
    assert "FAIL  resume on InvertedPendulum-v5" in capsys.readouterr().out


def _fixture(runs):
    """A: 2 seeds on Hopper and Walker2d; B the same, lower on Hopper. Scores by hand."""
    scores = {("ppo_clip", ()): {"Hopper-v5": [2000.0, 2400.0], "Walker2d-v5": [3000.0, 3400.0]},
              ("trpo", ()): {"Hopper-v5": [1000.0, 1200.0], "Walker2d-v5": [3100.0, 3300.0]}}
    for (arm, overrides), by_task in scores.items():
        for task, values in by_task.items():
            for seed, score in enumerate(values):
                fake_run(runs, task, arm, overrides, seed, score)
    return scores


def test_compare_against_a_hand_computation(runs_dir, capsys):
    scores = _fixture(runs_dir)
    refs = json.loads(open("suite/data/reference_scores.json").read())["scores"]
    randoms = random_scores()

    def normalized(arm):
        return np.array([[(s - randoms[t]) / (refs[t] - randoms[t]) for t, s in
                          zip(("Hopper-v5", "Walker2d-v5"), pair, strict=True)]
                         for pair in zip(*(scores[(arm, ())][t] for t in ("Hopper-v5", "Walker2d-v5")), strict=True)])

    a, b = normalized("ppo_clip"), normalized("trpo")
    result = suite.compare("ppo_clip", "trpo", [runs_dir])
    o = result["overall"]
    assert o["iqm_difference"] == pytest.approx(trim_mean(a.ravel(), 0.25) - trim_mean(b.ravel(), 0.25))
    assert o["mean_difference"] == pytest.approx(a.mean() - b.mean())
    # P(A > B): per task, the share of (a run, b run) pairs with A ahead (ties half), averaged over tasks
    hopper = np.mean([x > y for x in a[:, 0] for y in b[:, 0]])
    walker = np.mean([x > y for x in a[:, 1] for y in b[:, 1]])
    assert o["p_improvement"] == pytest.approx((hopper + walker) / 2)
    per_task = result["per_task"].set_index("task")
    assert per_task.loc["Hopper-v5", "a_mean"] == 2200.0 and per_task.loc["Walker2d-v5", "b_mean"] == 3200.0
    assert main(["compare", "ppo_clip", "trpo", "--runs-dir", str(runs_dir), "--json", str(runs_dir / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "Verdict:" in out and json.loads((runs_dir / "c.json").read_text())["overall"]["tasks"] == 2


def test_compare_refuses_other_budgets(runs_dir, tmp_path, capsys):
    _fixture(runs_dir)
    other = tmp_path / "other"
    fake_run(other, "Hopper-v5", "ppo_clip", (("clip_eps", "0.1"),), 0, 100.0, steps=20_000)
    assert main(["compare", "ppo_clip:clip_eps=0.1", "trpo", "--runs-dir", str(runs_dir), "--runs-dir",
                 str(other)]) == 2
    assert "different step budgets (20000 against 10000)" in capsys.readouterr().err


def test_compare_needs_two_seeds_two_configs_and_counts_a_run_once(runs_dir, tmp_path, capsys):
    import shutil

    _fixture(runs_dir)
    single = suite.compare("ppo_clip", "trpo", [runs_dir])
    copy = tmp_path / "copy"
    shutil.copytree(runs_dir, copy)
    twice = suite.compare("ppo_clip", "trpo", [runs_dir, copy])  # the same runs in two dirs count once
    assert twice["overall"] == single["overall"] and twice["overall"]["runs_per_task"] == 2
    for a, b, why in (("ppo_clip", "ppo_clip:clip_eps=0.2", "are one configuration"),
                      ("trpo", "trpo", "are one configuration")):
        assert main(["compare", a, b, "--runs-dir", str(runs_dir)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err, err
    lone = tmp_path / "lone"
    for arm in ("ppo_clip", "trpo"):
        fake_run(lone, "Hopper-v5", arm, (), 0, 1000.0)
    assert main(["compare", "ppo_clip", "trpo", "--runs-dir", str(lone)]) == 2
    assert "has 1 complete run(s) on Hopper-v5; a comparison needs at least 2 seeds" in capsys.readouterr().err


def test_compare_picks_runs_by_budget(runs_dir, tmp_path, capsys):
    _fixture(runs_dir)  # 10000-step runs of ppo_clip and trpo
    mine = tmp_path / "mine"
    for seed, score in enumerate((500.0, 700.0)):
        fake_run(mine, "Hopper-v5", "ppo_clip", (("clip_eps", "0.1"),), seed, score, steps=20_000)
        fake_run(mine, "Hopper-v5", "trpo", (), seed, score - 300.0, steps=20_000)
    both = ["--runs-dir", str(mine), "--runs-dir", str(runs_dir)]
    assert main(["compare", "ppo_clip:clip_eps=0.1", "trpo", *both]) == 2  # trpo has two budgets
    assert "different step budgets" in capsys.readouterr().err
    assert main(["compare", "ppo_clip:clip_eps=0.1", "trpo", *both, "--budget", "20000"]) == 0
    out = capsys.readouterr().out
    assert "| Hopper-v5 | 600.0" in out and "(n=2)" in out


@pytest.mark.parametrize("overall, expected", [
    ({"p_improvement": 0.9, "p_low": 0.7, "p_high": 1.0}, "A beats B by P(A > B), whose 95% interval excludes 0.5"),
    ({"p_improvement": 0.1, "p_low": 0.0, "p_high": 0.3}, "B beats A by P(A > B), whose 95% interval excludes 0.5"),
    ({"p_improvement": 0.6, "p_low": 0.4, "p_high": 0.8, "iqm_low": 0.006, "iqm_high": 0.028},
     "cannot decide by P(A > B), whose 95% interval includes 0.5: P(A > B) = 0.60 [0.40, 0.80] at 3 runs per task "
     "on 7 task(s); the IQM difference +0.014 [+0.006, +0.028] excludes 0: one arm's scores are higher on "
     "aggregate, but a run of one is not reliably better than a run of the other."),
    ({"p_improvement": 0.6, "p_low": 0.4, "p_high": 0.8},
     "cannot decide by P(A > B), whose 95% interval includes 0.5: P(A > B) = 0.60 [0.40, 0.80] at 3 runs per task "
     "on 7 task(s)."),
])
def test_compare_verdict_rests_on_one_statistic_and_never_contradicts_an_interval(overall, expected):
    from suite.results.compare import verdict

    o = {"iqm_difference": 0.014, "iqm_low": -0.01, "iqm_high": 0.03, "mean_difference": 0.01, "mean_low": -0.02,
         "mean_high": 0.04, "runs_per_task": 3, "tasks": 7, **overall}
    line = verdict("A", "B", o)
    assert line.startswith(expected) if not expected.endswith(".") else line == expected


def test_export_long_table_and_npz(runs_dir, tmp_path):
    _fixture(runs_dir)
    written = suite.export(runs_dir, tmp_path / "out")
    episodes = pd.read_csv(tmp_path / "out" / "episodes.csv")
    assert list(episodes.columns) == ["task", "arm_label", "config_hash", "seed", "global_step", "return", "length"]
    per_run = len(suite.load_episodes(next(runs_dir.glob("Hopper-v5/ppo_clip-*/seed0"))))
    assert per_run > 100 and len(episodes) == 8 * per_run and set(episodes["arm_label"]) == {"ppo_clip", "trpo"}
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    total = 2000 + 2400 + 3000 + 3400 + 1000 + 1200 + 3100 + 3300
    assert len(runs) == 8 and runs["score"].sum() == pytest.approx(total)
    assert tmp_path / "out" / "figure3.npz" in written
    with np.load(tmp_path / "out" / "figure3.npz") as npz:
        assert list(npz["tasks"]) == ["Hopper-v5", "Walker2d-v5"] and npz["PPO (Clip)"].shape == (2, 2)


def test_example_plugin_file_is_documented_and_short():
    text = open("examples/kl_stop.py").read()
    assert len(text.splitlines()) <= 80 and "ARM = (KLStopPPO, KLStopConfig())" in text
    assert textwrap.dedent("python -m suite check-arm examples.kl_stop:ARM") in text


NOOP_SUBCLASS = '''
from algorithms import PPO, PPOConfig


class NoOpPPO(PPO):
    def minibatch_loss(self, batch, idx, clip_eps=None):
        return super().minibatch_loss(batch, idx, clip_eps)


ARM = (NoOpPPO, PPOConfig(objective="clip"))
'''


def _progress(runs_dir, spec):
    return [{k: v for k, v in row.items() if k not in ("time_elapsed", "steps_per_second")}
            for row in read_csv(runs_dir / spec.key / "progress.csv")]


def test_a_subclass_of_ppo_trains_through_its_override_on_a_continuous_task_in_grid_mode(tmp_path, capsys):
    """The maths you wrote is the maths that runs: a PPO subclass overriding minibatch_loss, two
    seeds stacked on a MuJoCo task, trains through the override (penalty 0 and 1 give other
    records; penalty 0 gives exactly the built-in PPO's generic path), with one line saying so."""
    from algorithms import PPO
    from examples.ppo_log_ratio_penalty import LogRatioPenaltyConfig, LogRatioPenaltyPPO
    from suite.grid.plan import plan

    steps = 2 * 2048
    specs = {penalty: plan(f"examples.ppo_log_ratio_penalty:ARM:ratio_penalty={penalty}", [TASK], seeds=2,
                           steps=steps) for penalty in (0.0, 1.0)}
    for penalty, runs in specs.items():
        suite.run([s.arm.label for s in runs[:1]], tasks=[TASK], seeds=2, steps=steps,
                  runs_dir=tmp_path / f"p{penalty}", workers=1, display="none")
    err = capsys.readouterr().err
    assert "LogRatioPenaltyPPO defines LogRatioPenaltyPPO.minibatch_loss over the built-in PPO: it trains " \
           "through PPO's generic autograd path" in err
    with_penalty = [_progress(tmp_path / "p1.0", s) for s in specs[1.0]]
    without = [_progress(tmp_path / "p0.0", s) for s in specs[0.0]]
    assert all(a != b for a, b in zip(with_penalty, without, strict=True))
    # penalty 0: the built-in PPO's own generic path, number for number
    generic = type("PPO", (PPO,), {"use_engine": False})
    assert issubclass(LogRatioPenaltyPPO, PPO) and isinstance(specs[0.0][0].arm.config, LogRatioPenaltyConfig)
    from dataclasses import replace
    builtin = [replace(s, arm=replace(s.arm, name="builtin", algorithm=generic, plugin=None)) for s in specs[0.0]]
    suite.grid.runner.execute_group(builtin, tmp_path / "builtin")
    assert [_progress(tmp_path / "builtin", s) for s in builtin] == without


def test_check_arm_fails_a_subclass_whose_override_changes_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "noop_sub.py").write_text(NOOP_SUBCLASS)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check-arm", "noop_sub:ARM", "--tasks", TASK]) == 1
    out = capsys.readouterr().out
    assert "FAIL  overrides run on InvertedPendulum-v5: records identical to the built-in PPO's" in out
    assert main(["check-arm", "examples.ppo_log_ratio_penalty:ARM", "--tasks", TASK]) == 0
    assert "PASS  overrides run on InvertedPendulum-v5: records differ" in capsys.readouterr().out


HELPER = '''
from algorithms import PPO


class HelperPPO(PPO):
    def minibatch_loss(self, batch, idx, clip_eps=None):
        return super().minibatch_loss(batch, idx, clip_eps)
'''
FRONT = '''
from algorithms import PPOConfig
from helpermod import HelperPPO

ARM = (HelperPPO, PPOConfig(objective="clip"))
'''


def test_the_hash_covers_the_users_modules_the_class_comes_from(tmp_path, monkeypatch):
    """Two versions of your code never share a run: an edit to the module the class is defined
    in (not the one the arm is named by) is another config hash; stdlib and installed packages
    are not hashed, nor are the suite's own packages."""
    from algorithms.arms import _PLUGINS, user_modules

    (tmp_path / "helpermod.py").write_text(HELPER)
    (tmp_path / "frontmod.py").write_text(FRONT)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        first = make_arm("frontmod:ARM")
        assert [m.__name__ for m in user_modules(sys.modules["frontmod"], first.algorithm)] == ["frontmod",
                                                                                               "helpermod"]
        _PLUGINS.clear()
        for name in ("frontmod", "helpermod"):
            sys.modules.pop(name)
        (tmp_path / "helpermod.py").write_text(HELPER.replace("clip_eps)", "clip_eps)  # edited"))
        assert make_arm("frontmod:ARM").config_hash != first.config_hash
    finally:
        _PLUGINS.clear()
        for name in ("frontmod", "helpermod"):
            sys.modules.pop(name, None)


EXITS = '''
import sys

from algorithms import PPO, PPOConfig


class ExitingPPO(PPO):
    def update(self, batch):
        sys.exit(0)


ARM = (ExitingPPO, PPOConfig(objective="clip"))
'''


def test_a_plugin_cannot_end_the_command_or_the_grid(tmp_path, monkeypatch, capsys):
    """sys.exit at import: one line, exit 2 (run) and the arms listing goes on (exit 1); sys.exit
    in update: that run fails with one line, the other arm of the grid trains."""
    (tmp_path / "exitatimport.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "exitinupdate.py").write_text(EXITS)
    monkeypatch.syspath_prepend(str(tmp_path))
    runs = tmp_path / "runs"
    assert main(["run", "--algos", "exitatimport:ARM", "--tasks", TASK, "--runs-dir", str(runs), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot import 'exitatimport' (SystemExit: 0)" in err, err
    assert main(["arms", "exitatimport:ARM", "ppo_clip"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("exitatimport:ARM: cannot be loaded: ") and "\nppo_clip (PPO)" in out
    status = main(["run", "--algos", "exitinupdate:ARM,ppo_clip", "--tasks", TASK, "--steps", "4096",
                   "--runs-dir", str(runs), "--workers", "1", "--display", "lines"])
    assert status == 1
    frame = suite.status(runs)
    states = {arm: state for arm, state in zip(frame["arm"], frame["status"], strict=True)} if "arm" in frame else {}
    captured = capsys.readouterr()
    assert "called sys.exit(0) while training" in captured.out + captured.err
    runs_found = {p.parent.name.split("-")[0]: suite.run_state(p).state for p in runs.glob("*/*/seed0")}
    assert runs_found == {"exitinupdate.ARM": "failed", "ppo_clip": "complete"}, (runs_found, states)


def test_the_allow_list_is_checked_against_the_module_that_would_be_imported():
    from suite.grid.runner import modules_named

    assert modules_named({"task": "Hopper-v5", "arm_label": "evilmod:ARM:lr=0.1",
                          "plugin": {"module": "allowedmod"}}) == ["evilmod"]
    assert modules_named({"task": "mymod:Env-v0", "arm_label": "ppo_clip:clip_eps=0.1"}) == ["mymod"]


def test_an_edited_arm_label_is_damaged(tmp_path):
    suite.run("ppo_clip:clip_eps=0.2", tasks=[TASK], seeds=1, steps=2048, runs_dir=tmp_path, workers=1,
              display="none")
    [run] = tmp_path.glob("*/*/seed0")
    assert suite.run_state(run).state == "complete"
    config = json.loads((run / "config.json").read_text())
    config["arm_label"] = "ppo_clip:clip_eps=0.3"  # relabels the run in tables, not its numbers
    (run / "config.json").write_text(json.dumps(config))
    found = suite.run_state(run)
    assert found.state == "damaged" and "arm_label 'ppo_clip:clip_eps=0.3' is not its arm" in found.reason
