"""The records of short runs of every arm, hashed: run it before and after a change that
must not move a single float (a refactor), on the same machine, and compare the two files.

    python benchmarks/fingerprint.py --out before.json     # on the old code
    python benchmarks/fingerprint.py --out after.json --compare before.json

Every arm trains on Hopper (the stacked numpy paths, grid mode with the runs of a task
stacked, and each run alone) and PPO and A2C on CartPole (the autograd paths). A run's
fingerprint is the SHA-256 of everything it recorded except wall-clock measurements and the
label the arm was asked for by (`ppo_clip` and `ppo_clip:clip_eps=0.2` are one config, one
directory, one set of numbers), keyed by its directory name, which carries the config hash.
Floating point differs between machines: compare files made on one machine only.

Across a rename (an arm's configuration moved to a new name that keeps its record name,
algorithms.RECORD_NAMES), give each side its own names with --arms: the directories match.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from suite import run  # noqa: E402
from suite.records.files import records_digest  # noqa: E402

ARMS = ("ppo_clip,ppo_klpen,ppo_kl_fixed,ppo_noclip,ppo_clip:preset=ppo1,ppo_noclip:preset=ppo1,vpg,vpg_section4,"
        "a2c,a2c_sb3,a2c_tr,trpo,npg,cem")
LABEL_KEYS = {"arm_label", "overrides"}  # how the arm was asked for, not what it computed


def grids(arms: str) -> list[tuple]:
    """(algos, tasks, seeds, steps, group_size) of each grid fingerprinted."""
    return [(arms, "Hopper", 2, 3 * 2048, 11), (arms, "Hopper", 1, 3 * 2048, 1),
            ("ppo_clip,a2c", "CartPole-v1", 1, 3 * 2048, 11)]


def records(run_path: Path) -> str:
    """The run's digest: everything recorded, less wall-clock figures, the machine and the label."""
    return records_digest(run_path, config_keys_left_out={"environment", *LABEL_KEYS},
                          result_keys_left_out=frozenset(LABEL_KEYS))


def fingerprint(arms: str = ARMS) -> dict[str, str]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (algos, tasks, seeds, steps, group_size) in enumerate(grids(arms)):
            runs_dir = Path(tmp) / f"grid{k}"
            frame = run(algos=algos, tasks=tasks, seeds=seeds, steps=steps, runs_dir=runs_dir, workers=1,
                        group_size=group_size, display="none")
            failed = frame[frame["status"] != "complete"]
            if len(failed):
                raise SystemExit(f"{len(failed)} run(s) did not complete: {failed.iloc[0].to_dict()}")
            for path in sorted(runs_dir.glob("*/*/seed*")):
                out[f"stack{group_size}/{path.relative_to(runs_dir)}"] = records(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="where to write the fingerprints (JSON)")
    parser.add_argument("--compare", help="fingerprints made before, to check against")
    parser.add_argument("--arms", default=ARMS, help=f"the arms trained on Hopper (default {ARMS})")
    args = parser.parse_args()
    prints = fingerprint(args.arms)
    Path(args.out).write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n")
    print(f"{len(prints)} runs fingerprinted into {args.out}")
    if not args.compare:
        return 0
    before = json.loads(Path(args.compare).read_text())
    differ = sorted(k for k in before.keys() | prints.keys() if before.get(k) != prints.get(k))
    for key in differ:
        print(f"DIFFERS: {key}")
    print(f"{len(prints) - len(differ)}/{len(before.keys() | prints.keys())} runs identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
