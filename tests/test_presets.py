"""The paper preset and the records it owns.

The committed 1M-step records live in directories named by config hash: a change that
moves one of these hashes orphans hours of training. It must be deliberate: update the
pin here and regenerate the records it invalidates.
"""

from pathlib import Path

from suite.__main__ import main
from suite.grid.plan import plan
from suite.paper import FIGURE3, PRESETS, RECORDED_GRIDS, TABLE1, TABLE1_PPO1, distinct_arms

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
    # SB3 defaults with rl-zoo's `normalize: true` (issue 17), recorded as `a2c`; the section 4
    # step-size rule, recorded as `vpg`: both names moved to the cited configurations (issue 22)
    "a2c_sb3": "7758262a",
    "vpg_section4": "cd9b2606",
    "a2c": "7fad71cf",  # Tianshou's MuJoCo-tuned A2C (issue 22)
    "vpg": "d9acb93a",  # hw4's adaptive step size (issue 22)
    "cem": "91e48552",  # modular_rl's noisy cross-entropy method (issue 22)
    "a2c_tr": "cb43af68",  # a2c with ACER's trust-region update (issue 22)
    "a2c_tr:trust_region_delta=25.0": "4ce68b50",  # the tuned A2C + TR (issue 35: figure3_tuning)
    "cem:population=50:extra_std_decay=10": "01b173ff",  # the tuned CEM (issue 35)
    # Table 1 under openai/baselines ppo1's code-level choices (issue 26)
    "ppo_noclip:preset=ppo1": "dbdfa77f",
    "ppo_clip:preset=ppo1:clip_eps=0.1": "8b1abeb0",
    "ppo_clip:preset=ppo1:clip_eps=0.2": "09f0f869",
    "ppo_clip:preset=ppo1:clip_eps=0.3": "8e1f4e82",
    "ppo_klpen:preset=ppo1:kl_target=0.003": "d6ba987e",
    "ppo_klpen:preset=ppo1:kl_target=0.01": "35730704",
    "ppo_klpen:preset=ppo1:kl_target=0.03": "7af149fa",
    "ppo_kl_fixed:preset=ppo1:beta=0.3": "17afc07b",
    "ppo_kl_fixed:preset=ppo1:beta=1.0": "79de8fa5",
    "ppo_kl_fixed:preset=ppo1:beta=3.0": "932e07a2",
    "ppo_kl_fixed:preset=ppo1:beta=10.0": "72174c75",
}


def test_paper_preset_is_both_table1s_and_figure3_with_pinned_hashes():
    paper = PRESETS["paper"]
    specs = plan(paper["algos"], paper["tasks"], paper["seeds"], paper["steps"])
    assert len(specs) == 651 and len({s.key for s in specs}) == 651
    assert {s.arm.label: s.run_hash for s in specs} == PINNED_RUN_HASHES
    # Figure 3's ppo_clip is Table 1's eps = 0.2: one config, one set of runs
    assert distinct_arms(FIGURE3, TABLE1)[0] == "ppo_clip" and len(distinct_arms(TABLE1, FIGURE3)) == 20
    table1 = {s.key for s in plan(PRESETS["table1"]["algos"], seeds=3)}
    figure3 = {s.key for s in plan(PRESETS["figure3"]["algos"], seeds=3)}
    assert (len(table1), len(figure3), len(table1 & figure3)) == (231, 210, 21)
    ppo1 = {s.key for s in plan(PRESETS["table1_ppo1"]["algos"], seeds=3)}
    assert len(ppo1) == 231 and not ppo1 & (table1 | figure3)
    assert table1 | figure3 | ppo1 == {s.key for s in specs}
    assert [row for row, _ in TABLE1_PPO1.rows] == [row for row, _ in TABLE1.rows]


def test_paper_preset_dry_run_counts(tmp_path, capsys):
    assert main(["run", "--preset", "paper", "--dry-run", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("651 runs (651 missing)")
    assert not (tmp_path / "runs").exists()


def test_committed_records_are_the_paper_presets():
    """runs/ holds one budget, and every committed run is a run of the grids it names."""
    grids = [PRESETS[name] for name in RECORDED_GRIDS]
    keys = {s.key for g in grids for s in plan(g["algos"], g["tasks"], g["seeds"], g["steps"])}
    root = Path(__file__).resolve().parents[1] / "runs"
    found = {str(p.parent.relative_to(root)) for p in root.glob("*/*/seed*/config.json")}
    assert found and found <= keys, sorted(found - keys)[:5]
