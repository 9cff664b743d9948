"""The paper preset and the records it owns.

The committed 1M-step records live in directories named by config hash: a change that
moves one of these hashes orphans hours of training. It must be deliberate: update the
pin here and regenerate the records it invalidates.
"""

from pathlib import Path

from suite.__main__ import main
from suite.plan import plan
from suite.presets import FIGURE3, PRESETS, TABLE1, distinct_arms

PINNED_RUN_HASHES = {  # arm -> run directory hash at 1M steps
    "ppo_noclip": "0142d425",
    "ppo_clip:clip_eps=0.1": "b3a2902f",
    "ppo_clip:clip_eps=0.2": "6772b508",
    "ppo_clip:clip_eps=0.3": "92b3a598",
    "ppo_klpen:kl_target=0.003": "61a86bf0",
    "ppo_klpen:kl_target=0.01": "85e17867",
    "ppo_klpen:kl_target=0.03": "7c9462be",
    "ppo_kl_fixed:beta=0.3": "cc6d9157",
    "ppo_kl_fixed:beta=1.0": "336faf9f",
    "ppo_kl_fixed:beta=3.0": "35bd5f35",
    "ppo_kl_fixed:beta=10.0": "6b7ef312",
    "trpo": "60892d04",
    "a2c": "7758262a",  # reward normalization as rl-baselines3-zoo's `normalize: true` (issue 17)
    "vpg": "cd9b2606",
}


def test_paper_preset_is_table1_and_figure3_with_pinned_hashes():
    paper = PRESETS["paper"]
    specs = plan(paper["algos"], paper["tasks"], paper["seeds"], paper["steps"])
    assert len(specs) == 294 and len({s.key for s in specs}) == 294
    assert {s.arm.label: s.run_hash for s in specs} == PINNED_RUN_HASHES
    # Figure 3's ppo_clip is Table 1's eps = 0.2: one config, one set of runs
    assert distinct_arms(FIGURE3, TABLE1)[0] == "ppo_clip" and len(distinct_arms(TABLE1, FIGURE3)) == 14
    table1 = {s.key for s in plan(PRESETS["table1"]["algos"], seeds=3)}
    figure3 = {s.key for s in plan(PRESETS["figure3"]["algos"], seeds=3)}
    assert (len(table1), len(figure3), len(table1 & figure3)) == (231, 84, 21)
    assert table1 | figure3 == {s.key for s in specs}


def test_paper_preset_dry_run_counts(tmp_path, capsys):
    assert main(["run", "--preset", "paper", "--dry-run", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("294 runs (294 missing)")
    assert not (tmp_path / "runs").exists()


def test_committed_records_are_the_paper_presets():
    """runs/ holds one budget, and every committed run is a run of the paper preset."""
    paper = PRESETS["paper"]
    keys = {s.key for s in plan(paper["algos"], paper["tasks"], paper["seeds"], paper["steps"])}
    root = Path(__file__).resolve().parents[1] / "runs"
    found = {str(p.parent.relative_to(root)) for p in root.glob("*/*/seed*/config.json")}
    assert found and found <= keys, sorted(found - keys)[:5]
