"""Results: normalization, Table 1, statistics, leaderboard, figures, wandb report."""

import json
import socket

import numpy as np
import pandas as pd
import pytest

import suite
from algorithms import make_arm
from suite.__main__ import main
from suite.grid.plan import RunSpec
from suite.grid.run import Run
from suite.paper import FIGURE3, TABLE1, paper_table1
from suite.records.files import atomic_write_json, atomic_write_text, csv_text
from suite.results.leaderboard import build
from suite.results.readers import load_runs
from suite.results.scores import normalize, run_table
from suite.results.stats import aggregates, score_matrices
from suite.results.tables import comparison_table, in_comparison

RANDOM = {"Alpha-v5": 0.0, "Beta-v5": -10.0}
REFERENCE = {"Alpha-v5": 190.0, "Beta-v5": 110.0}
# (arm, overrides) -> task -> scores by seed
SCORES = {
    ("ppo_clip", ()): {"Alpha-v5": [100.0, 80.0], "Beta-v5": [10.0, 30.0]},
    ("ppo_clip", (("clip_eps", "0.1"),)): {"Alpha-v5": [50.0, 70.0], "Beta-v5": [40.0, 60.0]},
}


def fake_run(runs, task, arm, overrides, seed, score, status="complete", steps=10_000):
    """A whole record set, as a finished run leaves it (suite.run_state says `status`): the
    config as the code resolves it, and a score that is the mean of its last 100 returns."""
    label = ":".join([arm, *(f"{k}={v}" for k, v in overrides)])
    spec = RunSpec(task, make_arm(label), seed, steps)
    config_hash = spec.run_hash
    run = Run(spec, runs)
    path = run.path
    env = {"mujoco": "4.0.0", "gymnasium": "1.4.0", "torch": "2.13.0", "numpy": "2", "commit": "abc",
           "cpu": "test cpu"}
    atomic_write_json(path / "config.json", {**run.config_record(), "environment": env})
    batch = spec.arm.config.batch_size
    trained = steps // batch * batch  # whole iterations within the budget
    rng = np.random.default_rng(seed)
    final = score or 0.0
    episodes = [{"global_step": s, "return": float(final * s / trained + rng.normal()), "length": 10}
                for s in range(10, trained - 10 * 100 + 1, 10)]
    # the last 100 returns are the score itself, so that their mean is the score exactly
    episodes += [{"global_step": trained - 10 * (99 - i), "return": float(final), "length": 10} for i in range(100)]
    result = {"status": status, "task": task, "arm": spec.arm.record_name, "arm_label": label, "seed": seed,
              "steps": trained, "config_hash": config_hash, "iterations": trained // batch, "episodes": len(episodes),
              "score": score if status == "complete" else None, "eval_score": score,
              "wall_seconds": 10.0, "steps_per_second": steps / 10.0}
    if status == "diverged":
        result["reason"] = "non-finite policy_loss at iteration 3"
    atomic_write_json(path / "result.json", result)
    atomic_write_text(path / "episodes.csv", csv_text(["global_step", "return", "length"], episodes))
    progress = [{"iteration": i, "global_step": i * batch} for i in range(1, trained // batch + 1)]
    atomic_write_text(path / "progress.csv", csv_text(["iteration", "global_step"], progress))
    return path


def table1(frame, paper=True):
    """Table 1 of a run table already normalized (as the whole frame)."""
    return comparison_table(in_comparison(frame, TABLE1), paper=paper_table1() if paper else None)


def comparison(runs, which, mode="paper", **tables):
    """A comparison's table from a runs dir, normalized among its own rows."""
    frame, _ = normalize(in_comparison(run_table(load_runs(runs)), which), mode, **tables)
    return comparison_table(frame, paper=paper_table1() if which is TABLE1 else None).set_index("setting")


@pytest.fixture
def synthetic(tmp_path):
    runs = tmp_path / "runs"
    for (arm, overrides), by_task in SCORES.items():
        for task, scores in by_task.items():
            for seed, score in enumerate(scores):
                fake_run(runs, task, arm, overrides, seed, score)
    return runs


def test_paper_normalization_and_table1_by_hand(synthetic):
    frame, tops = normalize(run_table(load_runs(synthetic)), "paper", randoms=RANDOM)
    # best per-task mean over settings: Alpha max(90, 60) = 90; Beta max(20, 50) = 50
    assert tops == {"Alpha-v5": 90.0, "Beta-v5": 50.0}
    clip02 = frame[frame["arm_label"] == "ppo_clip"].sort_values(["task", "seed"])["normalized"].to_numpy()
    np.testing.assert_allclose(clip02, [100 / 90, 80 / 90, 20 / 60, 40 / 60])
    t1 = table1(frame).set_index("setting")
    assert list(t1.index) == ["Clipping, eps = 0.1", "Clipping, eps = 0.2"]  # the paper's order
    assert t1.loc["Clipping, eps = 0.2", "score"] == pytest.approx(0.75)       # (10/9 + 8/9 + 1/3 + 2/3) / 4
    assert t1.loc["Clipping, eps = 0.1", "score"] == pytest.approx(10 / 12)    # (5/9 + 7/9 + 5/6 + 7/6) / 4
    assert t1.loc["Clipping, eps = 0.2", "paper"] == 0.82
    assert t1.loc["Clipping, eps = 0.2", "difference"] == pytest.approx(0.75 - 0.82)
    assert t1.loc["Clipping, eps = 0.2", "runs"] == "4/4"
    assert (t1.loc["Clipping, eps = 0.1", "rank"], t1.loc["Clipping, eps = 0.2", "rank"]) == (1, 2)
    assert (t1.loc["Clipping, eps = 0.1", "paper_rank"], t1.loc["Clipping, eps = 0.2", "paper_rank"]) == (2, 1)
    low, high = t1.loc["Clipping, eps = 0.2", ["ci_low", "ci_high"]]
    assert low < 0.75 < high


def test_reference_normalization_by_hand(synthetic):
    frame, tops = normalize(run_table(load_runs(synthetic)), "reference", randoms=RANDOM,
                            references=REFERENCE)
    assert tops == REFERENCE
    t1 = table1(frame).set_index("setting")
    expected = np.mean([100 / 190, 80 / 190, 20 / 120, 40 / 120])
    assert t1.loc["Clipping, eps = 0.2", "score"] == pytest.approx(expected)
    # adding an arm never moves another arm's reference-normalized score
    fake_run(synthetic, "Alpha-v5", "ppo_noclip", (), 0, 1000.0)
    fake_run(synthetic, "Beta-v5", "ppo_noclip", (), 0, 1000.0)
    frame2, _ = normalize(run_table(load_runs(synthetic)), "reference", randoms=RANDOM, references=REFERENCE)
    assert table1(frame2).set_index("setting").loc["Clipping, eps = 0.2", "score"] == pytest.approx(expected)
    frame3, _ = normalize(run_table(load_runs(synthetic)), "paper", randoms=RANDOM)
    assert table1(frame3).set_index("setting").loc["Clipping, eps = 0.2", "score"] < 0.2  # paper mode moves


def test_missing_and_diverged_seeds_are_reported_not_averaged(synthetic):
    fake_run(synthetic, "Alpha-v5", "ppo_kl_fixed", (("beta", "3"),), 0, 90.0)
    fake_run(synthetic, "Beta-v5", "ppo_kl_fixed", (("beta", "3"),), 0, 20.0)
    fake_run(synthetic, "Beta-v5", "ppo_kl_fixed", (("beta", "3"),), 1, None, status="diverged")
    frame, _ = normalize(run_table(load_runs(synthetic)), "paper", randoms=RANDOM)
    row = table1(frame).set_index("setting").loc["Fixed KL, beta = 3"]
    assert row["runs"] == "2/4 (Alpha-v5: 1 missing; Beta-v5: 1 diverged)" and not row["complete"]
    assert row["score"] == pytest.approx(np.mean([90 / 90, 30 / 60]))  # the two scored runs only
    matrices, excluded = score_matrices(frame)
    assert matrices["ppo_kl_fixed:beta=3"].shape == (1, 2)  # one scored run on each task
    assert matrices["ppo_clip"].shape == (2, 2) and excluded == {}
    fake_run(synthetic, "Alpha-v5", "ppo_noclip", (), 0, 10.0)  # no run at all on Beta-v5
    frame, _ = normalize(run_table(load_runs(synthetic)), "paper", randoms=RANDOM)
    matrices, excluded = score_matrices(frame)
    assert "ppo_noclip" not in matrices
    assert excluded == {"ppo_noclip": "scored runs per task differ: Alpha-v5 1, Beta-v5 0"}


def test_statistics_reproducible_with_the_fixed_seed(synthetic):
    frame, _ = normalize(run_table(load_runs(synthetic)), "paper", randoms=RANDOM)
    matrices, _ = score_matrices(frame)
    first = aggregates(matrices, seed=0, reps=500)
    np.random.seed(12345)  # the global RNG's state must not matter
    second = aggregates(matrices, seed=0, reps=500)
    assert first.equals(second)
    mean = first[(first["arm"] == "ppo_clip") & (first["aggregate"] == "mean")]["value"].item()
    assert mean == pytest.approx(0.75)
    # the seed is what fixes the CIs (on enough runs for the bootstrap to have spread)
    rng = np.random.default_rng(0)
    big = {"a": rng.normal(0.5, 0.2, (10, 5)), "b": rng.normal(0.6, 0.2, (10, 5))}
    runs = [aggregates(big, seed=s, reps=500)[["ci_low", "ci_high"]] for s in (0, 0, 1)]
    assert runs[0].equals(runs[1]) and not runs[0].equals(runs[2])


def test_probability_of_improvement_is_rliables_float_for_float():
    """The counted P(X > Y) equals rliable's Mann-Whitney version exactly (==, not approx),
    with ties, identical columns, unequal run counts, and through the bootstrap of every pair."""
    from rliable import metrics

    from suite.results.stats import improvement_probabilities, probability_of_improvement

    rng = np.random.default_rng(7)
    cases = []
    for nx, ny, tasks in [(3, 3, 7), (15, 15, 7), (4, 9, 3), (1, 2, 1)]:
        x = rng.normal(0.6, 0.3, (nx, tasks)).round(1)  # rounded: many ties
        y = rng.normal(0.5, 0.3, (ny, tasks)).round(1)
        cases.append((x, y))
    same = np.arange(20, dtype=float).reshape(5, 4)
    cases.append((same, same.copy()))
    mixed = same.copy()
    mixed[:, 1] += 100.0  # one task where every x beats every y, the others identical
    cases.append((mixed, same))
    for x, y in cases:
        ours, theirs = probability_of_improvement(x, y), metrics.probability_of_improvement(x, y)
        assert ours == theirs and type(ours) is type(theirs), (x.shape, y.shape, ours, theirs)
    assert probability_of_improvement(mixed, same) == (1.0 + 0.5 * 3) / 4
    # the bootstrapped table: every point and bound as rliable computes them
    matrices = {"a": cases[1][0], "b": cases[1][1], "c": rng.normal(0.55, 0.3, (15, 7)).round(1)}
    fast = improvement_probabilities(matrices, reps=200)
    import suite.results.stats as stats
    original = stats.probability_of_improvement
    stats.probability_of_improvement = metrics.probability_of_improvement
    try:
        slow = improvement_probabilities(matrices, reps=200)
    finally:
        stats.probability_of_improvement = original
    assert fast.equals(slow) and len(fast) == 6


def test_versions_are_never_mixed(synthetic):
    fake_run(synthetic, "Alpha-v4", "ppo_clip", (), 0, 1.0)
    with pytest.raises(suite.SuiteError, match="mix versions of one task: Alpha-v4, Alpha-v5"):
        run_table(load_runs(synthetic))


def _png_pixels(path):
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return matplotlib.image.imread(path)


FIGURES = {"table1-aggregates.png", "table1-profiles.png", "figure3-curves.png", "figure3-aggregates.png",
           "figure3-profiles.png"}


def test_leaderboard_byte_identical_and_figures_follow_the_data(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr("suite.results.scores.random_scores", lambda path=None: RANDOM)
    out = tmp_path / "board"
    build(synthetic, out)
    first = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    build(synthetic, out)
    assert {p.name: p.read_bytes() for p in sorted(out.iterdir())} == first
    assert set(first) == {"README.md", *FIGURES, *(name.replace(".png", ".svg") for name in FIGURES)}
    text = first["README.md"].decode()
    assert text.startswith("<!-- GENERATED by `python -m suite leaderboard --runs-dir ")
    assert "# Leaderboard: 2 MuJoCo tasks (-v5), 10,000 steps per run (each table states its seeds)" in text
    # Table 1 and Figure 3 (PPO (Clip) is Table 1's eps = 0.2: one config, found in both)
    assert "| Clipping, eps = 0.2 | 0.75 [" in text and "| PPO (Clip) | 1.00 [" in text
    # not at the paper's budget: no paper column beside ours
    assert "| 0.82 |" not in text and "not the paper's 1,000,000" in text
    # a Figure 3 arm adds its curve, in its own colour (TRPO: tab20's orange), only when it has runs
    orange = np.array([1.0, 0.498, 0.055])

    def has_orange(image):
        return bool((np.abs(image[..., :3] - orange).max(axis=-1) < 0.02).any())

    assert not has_orange(_png_pixels(out / "figure3-curves.png"))
    for task in RANDOM:
        for seed in (0, 1):
            fake_run(synthetic, task, "trpo", (), seed, 5.0)
    build(synthetic, out)
    assert has_orange(_png_pixels(out / "figure3-curves.png"))


def test_a_table_never_moves_when_other_arms_share_the_runs_dir(synthetic):
    for which in (TABLE1, FIGURE3):
        assert len(comparison(synthetic, which, randoms=RANDOM))
    table1_before = comparison(synthetic, TABLE1, randoms=RANDOM)
    figure3_before = comparison(synthetic, FIGURE3, randoms=RANDOM)
    # Figure 3's other arms and an arm in no table, all far better than PPO: Table 1 stays
    for task in RANDOM:
        for seed in (0, 1):
            for arm, overrides in (("trpo", ()), ("vpg", ()), ("ppo_clip", (("lr", "0.001"),))):
                fake_run(synthetic, task, arm, overrides, seed, 1000.0 + seed)
    pd.testing.assert_frame_equal(comparison(synthetic, TABLE1, randoms=RANDOM), table1_before)
    moved = comparison(synthetic, FIGURE3, randoms=RANDOM)
    assert moved.loc["PPO (Clip)", "score"] < figure3_before.loc["PPO (Clip)", "score"]  # TRPO is its best now
    figure3_after = moved.copy()
    # Table 1's other settings, far better: Figure 3 stays
    for task in RANDOM:
        for seed in (0, 1):
            fake_run(synthetic, task, "ppo_klpen", (("kl_target", "0.03"),), seed, 5000.0)
    pd.testing.assert_frame_equal(comparison(synthetic, FIGURE3, randoms=RANDOM), figure3_after)
    assert comparison(synthetic, TABLE1, randoms=RANDOM).loc["Clipping, eps = 0.2", "score"] < 0.1


def test_wandb_report_built_offline_with_panels(synthetic, monkeypatch):
    pytest.importorskip("wandb_workspaces")
    import wandb_workspaces.reports.v2 as wr

    from suite.results.report import build_report, report_spec

    def no_network(*args, **kwargs):
        raise AssertionError("the report must be built without network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    report = build_report("suite-test", "someone", synthetic, leaderboard="# Leaderboard\n")
    grids = [b for b in report.blocks if isinstance(b, wr.PanelGrid)]
    assert [g.runsets[0].query for g in grids] == ["Alpha-v5", "Beta-v5"]
    assert all(g.runsets[0].groupby == ["arm_label"] for g in grids)
    titles = [p.title for g in grids for p in g.panels]
    assert "Alpha-v5: episode_return" in titles and "Beta-v5: approx_kl" in titles
    assert any(isinstance(b, wr.MarkdownBlock) and b.text.startswith("# Leaderboard") for b in report.blocks)
    spec = json.loads(report_spec(report))
    assert (spec["title"], spec["project"], spec["entity"]) == ("pgsuite: arm comparison", "suite-test", "someone")


def test_report_offline_saves_spec(synthetic, tmp_path, monkeypatch, capsys):
    pytest.importorskip("wandb_workspaces")
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "board"
    assert main(["report", "--wandb-project", "suite-test", "--runs-dir", str(synthetic),
                 "--out", str(out)]) == 0
    assert "offline: saved the report spec" in capsys.readouterr().out
    assert json.loads((out / "wandb_report.json").read_text())["title"] == "pgsuite: arm comparison"


def test_leaderboard_from_a_real_tiny_grid(tmp_path, capsys):
    runs = tmp_path / "runs"
    frame = suite.run("ppo_clip,a2c", tasks=["InvertedPendulum-v5", "Swimmer-v5"], seeds=2, steps=4096,
                      runs_dir=runs, workers=2, display="none")
    assert (frame["status"] == "complete").all() and len(frame) == 8
    assert main(["leaderboard", "--runs-dir", str(runs), "--out", str(tmp_path / "board")]) == 0
    text = (tmp_path / "board" / "README.md").read_text()
    assert "| Clipping, eps = 0.2 |" in text and "| a2c |" in text and "IQM" in text
    assert "InvertedPendulum-v5" in text and "Swimmer-v5" in text
    for name in FIGURES:
        assert _png_pixels(tmp_path / "board" / name).shape[0] > 100
    assert main(["table", "--runs-dir", str(runs), "--csv", str(tmp_path / "t1.csv")]) == 0
    import pandas as pd

    assert pd.read_csv(tmp_path / "t1.csv")["setting"].tolist() == ["Clipping, eps = 0.2"]
    assert set(pd.read_csv(tmp_path / "t1-per-task.csv")["arm"]) == {"ppo_clip", "a2c"}


def test_ablation_effects_by_hand(tmp_path, monkeypatch):
    from suite.results.ablation import paired_differences, toggle_effects

    runs = tmp_path / "runs"
    randoms = {"Alpha-v5": 0.0}
    # score = 50 + 30 * value_clip + 10 * ortho_init (+1 on seed 1): value_clip is worth 0.3 of the
    # top (90 -> normalized / 91 for the best mean), ortho_init 0.1
    for seed in (0, 1):
        for vc in (False, True):
            for oi in (False, True):
                on = [n for n, s in (("value_clip", vc), ("ortho_init", oi)) if s]
                off = [n for n, s in (("value_clip", vc), ("ortho_init", oi)) if not s]
                overrides = tuple(x for x in (("on", "+".join(on)), ("off", "+".join(off))) if x[1])
                fake_run(runs, "Alpha-v5", "ppo_clip", overrides, seed, 50.0 + 30 * vc + 10 * oi + seed)
    frame, tops = normalize(run_table(load_runs(runs)), "paper", randoms=randoms)
    assert tops == {"Alpha-v5": 90.5}
    diffs = paired_differences(frame)
    np.testing.assert_allclose(diffs["value_clip"], [30 / 90.5] * 4)
    np.testing.assert_allclose(diffs["ortho_init"], [10 / 90.5] * 4)
    effects = toggle_effects(frame).set_index("toggle")
    assert effects.loc["value_clip", "pairs"] == 4
    assert effects.loc["value_clip", "effect"] == pytest.approx(30 / 90.5)
    monkeypatch.setattr("suite.results.scores.random_scores", lambda path=None: randoms)
    build(runs, tmp_path / "board")
    text = (tmp_path / "board" / "README.md").read_text()
    assert "## Ablation: the effect of each code-level toggle" in text
    assert "| value_clip | 4 | 0.33 [0.33, 0.33] |" in text
    assert (tmp_path / "board" / "toggle_effects.png").read_bytes()[:4] == b"\x89PNG"


def test_step_budgets_are_never_mixed(synthetic, capsys):
    config_path = fake_run(synthetic, "Alpha-v5", "ppo_clip", (("lr", "1"),), 0, 1.0, steps=20_000) / "config.json"
    config = json.loads(config_path.read_text())
    for path in synthetic.glob("*/*/seed*/config.json"):  # the synthetic records: budgets 10k and 20k
        data = json.loads(path.read_text())
        data["steps"] = 20_000 if path == config_path else 10_000
        path.write_text(json.dumps(data))
    with pytest.raises(suite.SuiteError, match=r"records mix step budgets \[10000, 20000\]; pick one with --budget"):
        run_table(load_runs(synthetic))
    assert len(run_table(load_runs(synthetic), budget=10_000)) == 8
    capsys.readouterr()
    # the 20k run is in no paper table (so needs no normalization): only its raw score
    assert main(["table", "--runs-dir", str(synthetic), "--budget", "2e4"]) == 0
    out = capsys.readouterr().out
    assert "| ppo_clip:lr=1 | 1.0 (n=1) |" in out and "Table 1" not in out
    assert config["arm_label"] == "ppo_clip:lr=1.0"


def test_single_run_per_task_intervals_are_flagged(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr("suite.results.scores.random_scores", lambda path=None: RANDOM)
    for task in RANDOM:
        fake_run(synthetic, task, "ppo_noclip", (), 0, 5.0)
    build(synthetic, tmp_path / "board")
    text = (tmp_path / "board" / "README.md").read_text()
    assert "With one run per task (No clipping or penalty) the bootstrap has nothing to resample" in text
