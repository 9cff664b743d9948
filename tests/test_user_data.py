"""`speed` and `random` write to the user's data dir (merged), never into the package."""

import json

from suite.__main__ import main
from suite.grid.speed import SPEED_FILE, load_speed, save_speed
from suite.results.scores import RANDOM_FILE, random_scores


def test_random_merges_into_the_users_file_and_leaves_the_package_alone(user_data, capsys):
    shipped = RANDOM_FILE.read_bytes()
    assert main(["random", "--tasks", "InvertedPendulum", "--episodes", "3"]) == 0
    assert main(["random", "--tasks", "CartPole-v1", "--episodes", "2"]) == 0
    mine = json.loads((user_data / "random_scores.json").read_text())["scores"]
    assert set(mine) == {"InvertedPendulum-v5", "CartPole-v1"}
    assert mine["InvertedPendulum-v5"]["episodes"] == 3
    assert RANDOM_FILE.read_bytes() == shipped
    scores = random_scores()  # the shipped value wins for a paper task; the user's fills the rest
    assert scores["InvertedPendulum-v5"] == json.loads(shipped)["scores"]["InvertedPendulum-v5"]["mean"]
    assert scores["CartPole-v1"] == mine["CartPole-v1"]["mean"]


def test_speed_merges_and_overlays_the_shipped_table(user_data):
    shipped = SPEED_FILE.read_bytes()

    def report(task, arm, value):
        return {"format": 2, "raw_steps_per_cpu_second": {task: 1000.0},
                "fraction_of_raw": {task: {arm: {"1": value, "3": value, "9": value}}}, "stack_sizes": [1, 3, 9]}

    save_speed(report("Hopper-v5", "ppo_clip", 0.11))
    save_speed(report("Swimmer-v5", "a2c", 0.22))
    mine = json.loads((user_data / "speed.json").read_text())
    assert mine["fraction_of_raw"]["Hopper-v5"]["ppo_clip"]["1"] == 0.11
    assert mine["fraction_of_raw"]["Swimmer-v5"]["a2c"]["1"] == 0.22  # the first measurement kept
    table = load_speed()
    assert table["fraction_of_raw"]["Hopper-v5"]["ppo_clip"]["1"] == 0.11  # the user's wins
    shipped_table = json.loads(shipped)
    if shipped_table.get("format") == 2:  # arms the user did not measure still come from the shipped table
        for arm, value in shipped_table["fraction_of_raw"].get("Hopper-v5", {}).items():
            if arm != "ppo_clip":
                assert table["fraction_of_raw"]["Hopper-v5"][arm] == value
    assert SPEED_FILE.read_bytes() == shipped
