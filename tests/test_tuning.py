"""Figure 3's tuning sweeps (suite/results/tuning.py), the seeds a comparison draws from, and
raw tables that never pool two configs."""

import numpy as np
import pandas as pd
import pytest

from algorithms import make_arm
from suite.errors import SuiteError
from suite.paper import (
    A2C_TR_SWEEP,
    CEM_SWEEP,
    FIGURE3,
    PAPER_STEPS,
    PAPER_TASKS,
    SWEEPS,
    TABLE1_PPO1,
    TUNED,
    TUNING_SEEDS,
    arms_comparison,
    tuned_arm,
)
from suite.records.files import run_hash
from suite.results.readers import load_runs
from suite.results.scores import random_scores, run_table
from suite.results.tables import in_comparison, raw_table
from suite.results.tuning import sweep_result


def frame_of(cells: dict[tuple[str, str], list[float]], seeds, status="complete") -> pd.DataFrame:
    """A run table: (arm spec, task) -> one score per seed in `seeds`."""
    rows = []
    for (spec, task), values in cells.items():
        arm = make_arm(spec)
        for seed, score in zip(seeds, values, strict=True):
            rows.append({"task": task, "arm": arm.name, "arm_label": arm.name, "seed": seed, "status": status,
                         "config_hash": run_hash(arm.config_hash, PAPER_STEPS), "budget": PAPER_STEPS,
                         "score": score})
    return pd.DataFrame(rows)


def sweep_frame(best: int, drop: int = 0) -> pd.DataFrame:
    """Every run of the A2C + TR sweep on its seeds, row `best` well ahead on every task."""
    randoms = random_scores()
    cells = {}
    for i, spec in enumerate(A2C_TR_SWEEP.arms):
        for task in PAPER_TASKS:
            level = randoms[task] + (100.0 if i == best else 50.0 + 5 * i)
            cells[(spec, task)] = [level, level + 1.0]
    frame = frame_of(cells, TUNING_SEEDS)
    return frame.iloc[drop:]


def test_a_complete_sweep_chooses_its_best_row_and_an_incomplete_one_nothing():
    result = sweep_result(sweep_frame(best=2), A2C_TR_SWEEP, random_scores(), reps=300)
    assert result.chosen == "a2c_tr:trust_region_delta=5"
    assert result.scored == result.planned == len(A2C_TR_SWEEP.rows) * 7 * 2
    assert result.ranking.p_first[2] == 1.0
    partial = sweep_result(sweep_frame(best=2, drop=1), A2C_TR_SWEEP, random_scores(), reps=300)
    assert partial.chosen is None and partial.scored == result.planned - 1


def test_a_sweep_and_the_table_never_share_a_run_of_the_same_config():
    # a sweep row is also Figure 3's a2c_tr row: seeds 100-101 belong to the sweep only
    figure_row = frame_of({(tuned_arm(A2C_TR_SWEEP), "Hopper-v5"): [1.0, 2.0, 3.0]}, (0, 1, 2))
    frame = pd.concat([sweep_frame(best=0), figure_row])
    sweep_runs, figure_runs = in_comparison(frame, A2C_TR_SWEEP), in_comparison(frame, FIGURE3)
    assert set(sweep_runs["seed"]) == set(TUNING_SEEDS)
    assert set(figure_runs["seed"]) == {0, 1, 2} and len(figure_runs) == 3


def test_a_seed_past_the_paper_s_three_joins_a_table_only_once_every_cell_has_it():
    cells = {(spec, task): [1.0] * 4 for spec in TABLE1_PPO1.arms[:2] for task in PAPER_TASKS[:2]}
    frame = frame_of(cells, (0, 1, 2, 3))
    assert sorted(in_comparison(frame, TABLE1_PPO1)["seed"].unique()) == [0, 1, 2, 3]
    gap = frame.drop(frame.index[(frame["seed"] == 3)][:1])  # seed 3 missing from one cell
    assert sorted(in_comparison(gap, TABLE1_PPO1)["seed"].unique()) == [0, 1, 2]
    partial = frame.assign(status=np.where(frame["seed"] == 3, "partial", "complete"))
    assert sorted(in_comparison(partial, TABLE1_PPO1)["seed"].unique()) == [0, 1, 2]
    missing = frame.drop(frame.index[frame["seed"] == 1][:1])  # a paper seed missing stays a gap, shown
    kept = in_comparison(missing, TABLE1_PPO1)
    assert sorted(kept["seed"].unique()) == [0, 1, 2, 3] and len(kept) == len(frame) - 1


def test_the_raw_table_gives_each_config_its_own_row_and_true_counts():
    # a2c and a2c_sb3 both record the label "a2c": two rows, each named by its spec, n = 3
    frame = frame_of({("a2c", "Hopper-v5"): [1.0, 2.0, 3.0], ("a2c_sb3", "Hopper-v5"): [4.0, 5.0, 6.0]}, (0, 1, 2))
    frame["arm_label"] = "a2c"
    table = raw_table(frame)
    assert sorted(table["arm"]) == ["a2c", "a2c_sb3"]
    assert list(table["complete"]) == [3, 3] and list(table["missing"]) == [0, 0]
    assert table.set_index("arm").loc["a2c_sb3", "mean"] == pytest.approx(5.0)


def test_figure3_runs_what_each_sweep_chose_and_keeps_the_default_beside_it():
    for sweep in SWEEPS:
        assert tuned_arm(sweep) == (TUNED[sweep.name] or sweep.arms[0])
        assert tuned_arm(sweep) in FIGURE3.arms
        if tuned_arm(sweep) != sweep.arms[0]:
            assert sweep.arms[0] in FIGURE3.all_arms and sweep.arms[0] not in FIGURE3.arms


def test_tuned_records_what_the_committed_sweep_records_choose():
    frame = run_table(load_runs("runs"))
    for sweep in (A2C_TR_SWEEP, CEM_SWEEP):
        assert sweep_result(frame, sweep, random_scores()).chosen == TUNED[sweep.name], sweep.name


def test_a_row_finds_its_runs_by_the_config_each_task_resolves():
    # CartPole has defaults of its own (algorithms/task_defaults.py): ppo_clip there is another config
    cartpole, hopper = make_arm("ppo_clip", "CartPole-v1"), make_arm("ppo_clip", "Hopper-v5")
    assert cartpole.config_hash != hopper.config_hash
    frame = pd.DataFrame([{"task": task, "arm": "ppo_clip", "arm_label": "ppo_clip", "seed": 0, "status": "complete",
                           "config_hash": run_hash(arm.config_hash, 4096), "budget": 4096, "score": 1.0}
                          for task, arm in (("CartPole-v1", cartpole), ("Hopper-v5", hopper))])
    found = in_comparison(frame, arms_comparison(["ppo_clip"]))
    assert sorted(found["task"]) == ["CartPole-v1", "Hopper-v5"] and set(found["row"]) == {"ppo_clip"}
    with pytest.raises(SuiteError, match="one config twice"):
        arms_comparison(["ppo_clip", "ppo_clip:clip_eps=0.2"])


def test_a_raw_cell_counts_runs_as_whole_numbers_even_from_a_row_of_mixed_types():
    from suite.results.tables import cell

    row = pd.Series({"mean": 1.5, "std": 0.5, "complete": 2.0, "diverged": 1.0, "failed": 0.0, "missing": 0.0})
    assert cell(row) == "1.5 ± 0.5 (n=2), 1 diverged"
