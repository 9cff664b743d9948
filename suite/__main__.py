"""Command line: python -m suite {run,arms,status} ...

Bad input gives one line on stderr ("error: ...") and exit status 2, before anything is
written.
"""

from __future__ import annotations

import argparse
import sys

from algorithms.config import ConfigError

from .errors import SuiteError
from .runner import DEFAULT_SEEDS, DEFAULT_STEPS
from .tasks import PAPER_TASKS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from algorithms import ARMS

    parser = _Parser(prog="python -m suite", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser(
        "run", help="train the grid arms x tasks x seeds, resuming what is already on disk",
        description="Train every (task, arm, seed) of the grid and write its records under the runs "
                    "dir. Complete runs are skipped; partial runs resume from their checkpoint.")
    run.add_argument("--algos", default="ppo_clip", metavar="ARMS",
                     help="comma-separated arms, each with optional overrides: "
                          "'ppo_clip:clip_eps=0.1,ppo_kl_fixed:beta=3'. "
                          f"Arms: {', '.join(ARMS)}. Default: ppo_clip. "
                          "'python -m suite arms' lists every key with its default and source.")
    run.add_argument("--tasks", default=",".join(PAPER_TASKS), metavar="TASKS",
                     help="comma-separated gymnasium ids or short names (Hopper). "
                          "Default: the paper's seven -v5 tasks.")
    run.add_argument("--seeds", default=str(DEFAULT_SEEDS), metavar="N",
                     help=f"run seeds 0..N-1 (default {DEFAULT_SEEDS}, as the paper)")
    run.add_argument("--steps", default=str(DEFAULT_STEPS), metavar="STEPS",
                     help="env steps per run; 1000000 or 1e6 (default 1e6, as the paper). "
                          "A run does whole iterations: floor(STEPS / batch) of them.")
    run.add_argument("--runs-dir", default="runs", metavar="DIR", help="where records go (default runs/)")
    run.add_argument("--workers", default="1", metavar="N",
                     help="runs trained at once, one process each, one torch thread each (default 1)")
    run.add_argument("--checkpoint-every", default="10", metavar="K",
                     help="write records and a checkpoint every K iterations (default 10)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the run matrix and what is done; train nothing")

    arms = commands.add_parser("arms", help="list the arms and every config key with its default and source")
    arms.add_argument("names", nargs="*", help="arms to describe (default all)")

    status = commands.add_parser("status", help="done / partial / failed per task and arm")
    status.add_argument("--runs-dir", default="runs", metavar="DIR")
    return parser


def cmd_run(args) -> int:
    from .runner import check_runs_dir, parse_positive_int, plan, run
    from .store import RunRecord

    tasks = [t for t in args.tasks.split(",") if t.strip()]
    specs = plan(args.algos, tasks, args.seeds, args.steps)
    check_runs_dir(args.runs_dir)
    checkpoint_every = parse_positive_int("checkpoint-every", args.checkpoint_every)
    if args.dry_run:
        done = 0
        for spec in specs:
            result = RunRecord(f"{args.runs_dir}/{spec.key}").result()
            state = (result or {}).get("status", "missing")
            done += state == "complete"
            print(f"{state:9s} {spec.key}  ({spec.arm.label}, {spec.steps} steps)")
        print(f"{len(specs)} runs, {done} complete, {len(specs) - done} to train")
        return 0
    frame = run(args.algos, tasks, args.seeds, args.steps, args.runs_dir,
                workers=args.workers, checkpoint_every=checkpoint_every)
    failed = frame[frame["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"FAILED {row['task']} {row['arm_label']} seed {row['seed']}: {row['error']}", file=sys.stderr)
    print(f"{len(frame)} runs: " + ", ".join(f"{n} {s}" for s, n in frame["status"].value_counts().items()))
    return 1 if len(failed) else 0


def cmd_arms(args) -> int:
    from algorithms import ARMS, make_arm
    from algorithms.config import describe

    for name in args.names or list(ARMS):
        arm = make_arm(name)
        print(f"{arm.name} ({arm.algorithm.__name__})")
        for item in describe(arm.config):
            print(f"  {item['name']} = {item['value']!r}: {item['doc']} [{item['source']}]")
    return 0


def cmd_status(args) -> int:
    from .store import load_runs

    frame = load_runs(args.runs_dir)
    if frame.empty:
        print(f"no runs under {args.runs_dir}")
        return 0
    table = frame.groupby(["task", "arm_label", "status"]).size().unstack(fill_value=0)
    print(table.to_string())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"run": cmd_run, "arms": cmd_arms, "status": cmd_status}[args.command](args)
    except (SuiteError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
