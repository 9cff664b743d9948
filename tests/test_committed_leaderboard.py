"""The committed leaderboard is what the committed records give: `python -m suite
leaderboard` over runs/ reproduces leaderboard/README.md byte for byte."""

from pathlib import Path

from suite.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def test_committed_leaderboard_is_regenerated_byte_for_byte(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the README names the runs dir as given: `runs`
    assert main(["leaderboard", "--out", str(tmp_path)]) == 0
    committed = (ROOT / "leaderboard" / "README.md").read_bytes()
    assert (tmp_path / "README.md").read_bytes() == committed, (
        "leaderboard/README.md is stale: regenerate it with `python -m suite leaderboard`")
    # every figure the README shows was generated
    figures = [line.split("(")[1].rstrip(")") for line in committed.decode().splitlines() if line.startswith("![")]
    assert figures and all((tmp_path / name).exists() and (ROOT / "leaderboard" / name).exists() for name in figures)
