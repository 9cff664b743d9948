"""The PPO paper's benchmark: train the grid, then tables, leaderboard and report from its records.

Bad input gives one line on stderr ("error: ...") and exit status 2, before anything is
written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from algorithms import ARMS, make_arm, plugin_arms
from algorithms.config import ConfigError, describe
from algorithms.task_defaults import TASK_DEFAULTS
from suite._startup import done as startup_done
from suite.errors import Interrupted, SuiteError
from suite.grid.conformance import check_arm
from suite.grid.driver import checked_grid, run
from suite.grid.plan import (
    DEFAULT_GROUP_SIZE,
    DEFAULT_SEEDS,
    check_runs_dir,
    parse_positive_int,
    parse_steps,
    split_arm_specs,
    split_list,
)
from suite.grid.run import Run
from suite.grid.runner import evaluate
from suite.grid.speed import SPEED_FILE, estimate, measure_speed, save_speed
from suite.grid.verify import FAILING, STATES, verify
from suite.paper import (
    COMPARISONS,
    FIGURE3,
    PAPER_TASKS,
    PRESETS,
    arms_comparison,
    resolve_tasks,
)
from suite.records.faults import failpoint
from suite.records.files import atomic_write_text, environment_info
from suite.records.state import damaged_runs
from suite.results import scores as scores
from suite.results.compare import compare, compare_markdown
from suite.results.comparisons import rebuild
from suite.results.export import export
from suite.results.leaderboard import build, plot
from suite.results.orderings import figure3_orderings
from suite.results.readers import load_runs, status_table
from suite.results.report import report
from suite.results.scores import RANDOM_FILE, measure_random, run_table, save_random
from suite.results.tables import comparison_markdown, in_comparison, per_task_markdown, raw_table


class _Parser(argparse.ArgumentParser):
    """No abbreviated options (`--seed` is not `--seeds`); errors in one line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m suite", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pgsuite {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _grid_commands(commands)
    _results_commands(commands)
    return parser


def _grid_commands(commands) -> None:
    """run, speed, arms, random, evaluate, status, verify, check-arm: training and records."""
    run = commands.add_parser(
        "run", help="train the grid arms x tasks x seeds, resuming what is already on disk",
        description="Train every (task, arm, seed) of the grid and write its records under the runs "
                    "dir. Complete runs are skipped; partial runs resume from their checkpoint; a run "
                    "that fails is recorded with its traceback and the grid goes on (exit status 1). "
                    "Ctrl-C stops at a checkpoint (exit status 130); the same command resumes."
                    "\n\nexamples:\n  python -m suite run --preset paper --dry-run\n"
                    "  python -m suite run --algos ppo_clip,trpo --tasks Hopper --seeds 0,1 --steps 4096\n"
                    "  python -m suite run --algos examples.kl_stop:ARM --tasks Hopper --seeds 0,1 --steps 4096 "
                    "--runs-dir my-runs")
    add_grid_options(run)
    run.add_argument("--workers", default=None, metavar="N",
                     help=f"runs trained at once, one process and one torch thread each "
                          f"(default: the number of cores, {os.cpu_count()})")
    run.add_argument("--group-size", "--stack", dest="group_size", default=str(DEFAULT_GROUP_SIZE), metavar="K",
                     help=f"grid mode: up to K runs of one task and algorithm train together in one process "
                          f"with stacked networks, same records as alone (default {DEFAULT_GROUP_SIZE}; 1 = alone; "
                          f"a Ray task trains one such group; --stack is its former name)")
    run.add_argument("--backend", default="local", choices=None, metavar="local|ray",
                     help="local: a process pool (default); ray: one Ray task per group of runs (--group-size)")
    run.add_argument("--ray-address", default=None, metavar="ADDR",
                     help="Ray cluster to join (default: start a local Ray)")
    run.add_argument("--checkpoint-every", default="10", metavar="K",
                     help="write records and a checkpoint every K progress rows (default 10)")
    run.add_argument("--wandb", action="store_true",
                     help="log every progress row to wandb as it is written (offline unless you are set up for "
                          "online; needs pip install -e '.[wandb]')")
    run.add_argument("--tensorboard", default=None, metavar="DIR",
                     help="also write every progress row as TensorBoard scalars under DIR, one directory per run "
                          "(needs pip install -e '.[tensorboard]'); then: tensorboard --logdir DIR")
    run.add_argument("--wandb-project", default="pgsuite", metavar="P",
                     help="wandb project (default pgsuite)")
    run.add_argument("--wandb-entity", default=None, metavar="E", help="wandb entity")
    run.add_argument("--dry-run", action="store_true",
                     help="print the run matrix, what is done, and an estimated wall time; train nothing")
    run.add_argument("--display", default="auto", metavar="auto|lines|none",
                     help="live table on a terminal (auto), one line per finished run, or nothing")

    speed = commands.add_parser(
        "speed", help="measure steps/s per task and arm for --dry-run estimates",
        description="Measure, per task, raw env stepping and each arm's training speed alone and in grid mode "
                    "(3 and 9 runs stacked), as fractions of raw stepping per CPU-second, and merge them into "
                    "the speed table that `run --dry-run` reads.\n\nexample:\n"
                    "  python -m suite speed --tasks Hopper --algos ppo_clip")
    add_measure_options(speed)
    speed.add_argument("--algos", default=None, metavar="ARMS", help="arm names (default all)")

    arms = commands.add_parser(
        "arms", help="list the arms and every config key with its default and source",
        description="List each arm with every config key, its default value and the source that default "
                    "cites (paper table, reference code); plug-in arms declared by installed packages (entry "
                    "points `pgsuite.arms`) too, and any module:NAME given.\n\nexample:\n  python -m suite arms "
                    "a2c trpo\n  python -m suite arms examples.kl_stop:ARM")
    arms.add_argument("names", nargs="*", help="arms to describe (default all, built-in and declared)")

    random = commands.add_parser(
        "random", help="measure the random policy's score per task (suite/data/)",
        description="Measure the uniform-random policy's mean return per task: the 0 of the paper's "
                    "normalization.\n\nexample:\n  python -m suite random --tasks Hopper --episodes 100")
    add_measure_options(random)
    random.add_argument("--episodes", default="100", metavar="N", help="episodes per task (default 100)")
    random.add_argument("--seed", default="0", metavar="S", help="env and action-space seed (default 0)")

    ev = commands.add_parser(
        "evaluate", help="evaluate a saved run's checkpoint (deterministic actions)",
        description="Run a saved run's policy from its checkpoint (mean actions, normalizer statistics "
                    "frozen) on its evaluation env and print the returns.\n\nexample:\n"
                    "  python -m suite evaluate runs/Hopper-v5/ppo_clip-*/seed0 --episodes 2    # a run trained here "
                    "(checkpoints are never committed)")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a run directory: runs/<task>/<arm>-<hash>/seed<k>")
    ev.add_argument("--episodes", default="10", metavar="N", help="episodes to run (default 10)")
    ev.add_argument("--stochastic", action="store_true", help="sample actions from the policy (default: its mean)")
    ev.add_argument("--allow-import", default="", metavar="MODULES",
                    help="comma-separated modules the run's record names (a task module:Env, a plug-in arm) that "
                         "may be imported; a record alone never makes code run")
    ev.add_argument("--video", default=None, metavar="OUT.mp4",
                    help="also render the episodes offscreen (MUJOCO_GL=egl by default) into an MP4; "
                         "needs pip install -e '.[video]'")

    status = commands.add_parser(
        "status", help="complete / diverged / failed / partial / damaged per task and arm (missing, given a grid)",
        description="Count the runs in each state per task and arm, from the whole record set of each run "
                    "(suite.run_state), and list damaged runs by path with the reason. Reads only."
                    "\n\nexamples:\n  python -m suite status --runs-dir runs\n"
                    "  python -m suite status --preset paper    # and which runs are still missing")
    add_grid_options(status)

    check = commands.add_parser(
        "verify", help="check every file of recorded runs and rerun their first progress rows against them",
        description="For every run under the runs dir (or the task, arm or run directory given): read its whole "
                    "record set (a damaged run is reported as damaged), rebuild its arm from its label (a record "
                    "that names a module is not imported), check its config hash and resolved config, train it "
                    "again for its first K progress rows in a temporary directory, and compare rows and episodes "
                    "with the records. On the record's CPU class: identical, or differs from row R. On another "
                    "CPU class: the largest z of the record against today's rerun, in units of the spread that "
                    "last-bit float differences give this run (six perturbed reruns): consistent, or "
                    "inconsistent above the threshold. Exit status 1 if any run differs, is inconsistent or is "
                    "damaged. Names this machine's CPU and any version that differs from a record's. Writes "
                    "nothing under the runs dir."
                    "\n\nexamples:\n  python -m suite verify --runs-dir runs --tasks Hopper\n"
                    "  python -m suite verify --runs-dir runs/Hopper-v5/ppo_clip-* --rows 2\n"
                    "  python -m suite verify --runs-dir runs --algos trpo,ppo_clip:clip_eps=0.2")
    check.add_argument("runs_dir_positional", nargs="?", default=None, metavar="RUNS_DIR",
                       help="the same as --runs-dir (kept for a release)")
    check.add_argument("--runs-dir", default=None, metavar="DIR",
                       help="a runs dir, or one task, arm or run directory in it (default runs)")
    check.add_argument("--rows", "--iterations", default="1", metavar="K", dest="rows",
                       help="progress rows to compare per run (one PPO iteration each; default 1)")
    check.add_argument("--tasks", default=None, metavar="TASKS",
                       help="comma-separated tasks, named as for run (Hopper or Hopper-v5; default all)")
    check.add_argument("--algos", default=None, metavar="ARMS",
                       help="comma-separated arms: a bare name (ppo_clip) selects all its configs, a spec with "
                            "overrides (ppo_clip:preset=ppo1) its config (default all)")
    check.add_argument("--csv", default=None, metavar="FILE", help="also write the verdicts as CSV")
    check.add_argument("--allow-import", default="", metavar="MODULES",
                       help="comma-separated modules that records name (plug-in arms, module:Env tasks) and that "
                            "may be imported to rerun them; a record alone never makes code run")

    conf = commands.add_parser(
        "check-arm", help="the conformance checks a plug-in arm must pass before its numbers mean anything",
        description="Train the arm for a few iterations on a continuous and a discrete task and check: its "
                    "config round-trips and hashes stably, it trains and records, its metrics are finite with "
                    "fixed keys, the same seed gives the same records, and a killed and resumed run equals an "
                    "uninterrupted one. One line per check; exit status 1 if any fails."
                    "\n\nexample:\n  python -m suite check-arm examples.kl_stop:ARM")
    conf.add_argument("spec", metavar="SPEC",
                      help="the arm to check: module:NAME of a plug-in (a built-in name checks the built-in)")
    conf.add_argument("--tasks", default=None, metavar="TASKS",
                      help="the tasks to check on (default InvertedPendulum-v5,CartPole-v1: continuous and discrete)")


def _results_commands(commands) -> None:
    """table, plot, leaderboard, report, compare, export: what the records say."""
    table = commands.add_parser(
        "table", help="the paper's tables (or any arms' table) and per-task scores, from the runs dir",
        description="Print Table 1 and Figure 3's comparison (normalized scores with 95% CIs, ranks, the "
                    "paper's values, how sure the ranking is) and the raw per-task returns, from the complete "
                    "runs in the runs dir; with --algos, the same table for those arms alone. Damaged runs are "
                    "named and left out. Reads only.\n\nexamples:\n"
                    "  python -m suite table --runs-dir runs --csv table1.csv\n"
                    "  python -m suite table --runs-dir runs --algos ppo_clip,trpo")
    add_reader_options(table)
    table.add_argument("--algos", default=None, metavar="ARMS",
                       help="comma-separated arm specs, built-in or plug-in: their comparison alone, normalized "
                            "among them as the paper's tables are (default: the paper's comparisons)")
    table.add_argument("--csv", default=None, metavar="FILE",
                       help="also write Table 1 (or the --algos table) to FILE, the per-task table to FILE's stem + "
                            "-per-task.csv")

    plotter = commands.add_parser(
        "plot", help="learning curves and rliable figures for any arms",
        description="Draw, for the arms given (built-in or plug-in specs), the learning curves per task (mean "
                    "training-episode return over seeds with a bootstrap 95% band) and the rliable figures "
                    "(median, IQM, mean, optimality gap with 95% CIs; performance profiles), normalized among "
                    "those arms as the paper's tables are, into --out as PNG and SVG. Reads only the runs dir."
                    "\n\nexamples:\n  python -m suite plot --algos ppo_clip,trpo --out figures\n"
                    "  python -m suite plot --algos examples.kl_stop:ARM --runs-dir my-runs --out figures")
    add_reader_options(plotter)
    plotter.add_argument("--algos", required=True, metavar="ARMS",
                         help="comma-separated arm specs, built-in or plug-in (module:NAME)")
    plotter.add_argument("--out", required=True, metavar="DIR", help="where the figures go")

    board = commands.add_parser(
        "leaderboard", help="write the leaderboard (README.md + figures)",
        description="Write the leaderboard (README.md, figures) from the runs dir's records: Table 1, "
                    "Figure 3 with learning curves, rliable statistics, provenance.\n\nexample:\n"
                    "  python -m suite leaderboard --runs-dir runs --out leaderboard")
    add_reader_options(board)
    board.add_argument("--out", default="leaderboard", metavar="DIR",
                       help="where README.md and the figures go (default leaderboard; replaced whole, atomically)")

    rep = commands.add_parser(
        "report", help="a wandb Report comparing the arms (offline: its spec, saved)",
        description="Build a wandb Report comparing the arms' runs (online), or save its spec under --out "
                    "(offline).\n\nexample:\n  python -m suite report --wandb-project my-project")
    rep.add_argument("--wandb-project", required=True, metavar="P", help="the wandb project the runs were logged to")
    rep.add_argument("--wandb-entity", "--entity", dest="entity", default=None, metavar="E",
                     help="wandb entity, as for run (--entity is its former name)")
    rep.add_argument("--runs-dir", default="runs", metavar="DIR", help="the run records (default runs)")
    rep.add_argument("--out", default="leaderboard", metavar="DIR", help="where the offline spec goes")
    rep.add_argument("--leaderboard", default=None, metavar="FILE",
                     help="a leaderboard README.md to embed as the report's text (default: none)")

    cmp = commands.add_parser(
        "compare", help="does arm A beat arm B, and how sure is that",
        description="Compare two arms (specs such as ppo_clip or mypkg.mod:NAME:lr=1e-4, or rows of the paper's "
                    "comparisons) over the tasks both have complete runs on, possibly from several runs dirs: "
                    "per task each arm's score with a bootstrap CI; overall the IQM and mean difference of "
                    "reference-normalized scores and P(A > B), with stratified-bootstrap CIs, and a one-line "
                    "verdict. Refuses to compare across step budgets, MuJoCo versions or task versions."
                    "\n\nexamples:\n  python -m suite compare ppo_clip trpo\n  python -m suite compare "
                    "examples.kl_stop:ARM ppo_clip --runs-dir my-runs --runs-dir runs")
    cmp.add_argument("a", metavar="A", help="an arm spec, or the name of a row of the paper's comparisons")
    cmp.add_argument("b", metavar="B", help="the arm or row A is compared with")
    cmp.add_argument("--runs-dir", action="append", default=None, metavar="DIR",
                     help="where the records are; repeat for several (default runs/)")
    cmp.add_argument("--tasks", default=None, metavar="TASKS", help="comma-separated task ids or short names")
    cmp.add_argument("--budget", default=None, metavar="STEPS",
                     help="compare the runs of this step budget only (needed where the runs dirs mix budgets)")
    cmp.add_argument("--csv", default=None, metavar="FILE", help="also write the per-task table as CSV")
    cmp.add_argument("--json", default=None, metavar="FILE", help="also write everything as JSON")

    exp = commands.add_parser(
        "export", help="every run's episodes as one long table, and the score matrices for rliable",
        description="Write OUT/episodes.csv (task, arm_label, config_hash, seed, global_step, return, length), "
                    "OUT/runs.csv and OUT/<comparison>.npz (paper-normalized [runs, tasks] per row); the schema "
                    "is in suite/results/export.py and the README.\n\nexample:\n"
                    "  python -m suite export out/ --runs-dir runs\n"
                    "  python -m suite export out/ --runs-dir runs --algos ppo_clip,trpo")
    exp.add_argument("paths", nargs="+", metavar="[RUNS_DIR] OUT",
                     help="the directory to write; a runs dir before it is the same as --runs-dir (kept for a "
                          "release)")
    exp.add_argument("--runs-dir", default=None, metavar="DIR", help="the run records (default runs)")
    exp.add_argument("--parquet", action="store_true", help="episodes as Parquet (needs pyarrow)")
    exp.add_argument("--algos", default=None, metavar="ARMS",
                     help="comma-separated arm specs: OUT/arms.npz holds their comparison, normalized among them "
                          "(default: one .npz per paper's comparison)")


def _version() -> str:
    try:
        return version("pgsuite")
    except PackageNotFoundError:
        return "unknown (not installed)"


def add_reader_options(parser) -> None:
    """`table` and `leaderboard`: which records, normalized how, at which budget."""
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="the run records (default runs)")
    parser.add_argument("--normalize", default="paper", metavar="paper|reference",
                        help="paper: random = 0, best setting = 1; reference: fixed reference scores = 1")
    parser.add_argument("--budget", default=None, metavar="STEPS",
                        help="the step budget to show, where several are present")


def add_measure_options(parser) -> None:
    """`speed` and `random`: which tasks, and the user's table their measurement merges into."""
    parser.add_argument("--tasks", default=",".join(PAPER_TASKS), metavar="TASKS",
                        help="comma-separated tasks (default: the paper's seven)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="the table to merge into (default: your own, under $PGSUITE_DATA or "
                             "~/.local/share/pgsuite; the one shipped in suite/data/ is never written)")


def add_grid_options(parser) -> None:
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help=f"a named grid: {', '.join(PRESETS)} (table1: the paper's 11 surrogate "
                             "settings; figure3: ppo_clip, trpo, a2c, vpg, cem and the "
                             "extras a2c_sb3, vpg_section4; quick: figure3's arms, 1 seed, 50k steps). "
                             "Options given explicitly win.")
    parser.add_argument("--algos", default=None, metavar="ARMS",
                        help="comma-separated arms, each with optional overrides: "
                             "'ppo_clip:clip_eps=0.1,ppo_kl_fixed:beta=3'. "
                             f"Arms: {', '.join(ARMS)}. Default: ppo_clip. "
                             "'python -m suite arms' lists every key with its default and source.")
    parser.add_argument("--tasks", default=None, metavar="TASKS",
                        help="comma-separated gymnasium ids or short names (Hopper). "
                             "Default: the paper's seven -v5 tasks.")
    parser.add_argument("--seeds", default=None, metavar="N|LIST",
                        help=f"a count N (seeds 0..N-1; default {DEFAULT_SEEDS}, as the paper) or a list of "
                             "seeds: --seeds 5, --seeds 0,3,7, --seeds 4, (seed 4 alone)")
    parser.add_argument("--steps", default=None, metavar="STEPS",
                        help="env steps per run; 1000000 or 1e6 (default 1e6, as the paper). "
                             "A run does whole iterations: floor(STEPS / batch) of them.")
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="where records go (default runs/)")
    parser.add_argument("--ablate", default=None, metavar="TOGGLES",
                        help="comma-separated code-level toggles (obs_norm, reward_scale, ortho_init, lr_anneal, "
                             "grad_clip, value_clip, adv_norm, adam_eps, entropy): every arm becomes the 2^k "
                             "arms with them on and off, named by what is on")


def grid_args(args) -> dict:
    return {"algos": args.algos, "tasks": args.tasks, "seeds": args.seeds, "steps": args.steps,
            "preset": args.preset, "ablate": args.ablate}


def cmd_run(args) -> int:
    options = {"runs_dir": args.runs_dir, "workers": args.workers, "backend": args.backend,
               "group_size": args.group_size, "checkpoint_every": args.checkpoint_every, "display": args.display}
    if args.dry_run:
        grid = checked_grid(**grid_args(args), **options)
        specs, workers, group_size = grid.specs, grid.workers, grid.group_size
        counts: dict[str, int] = {}
        for spec in specs:
            state = Run(spec, grid.runs_dir).state().state
            counts[state] = counts.get(state, 0) + 1
            print(f"{state:9s} {spec.key}  ({spec.arm.label}, {spec.steps} steps)")
        guess = estimate(specs, args.runs_dir, workers, group_size, backend=args.backend)
        shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        print(f"{len(specs)} runs ({shown}); estimated wall time {guess.seconds / 3600:.2f} h "
              f"({guess.seconds / 60:.0f} min) with {workers} workers, up to {group_size} runs per process; "
              f"floors on {guess.lanes} cores: raw env stepping {guess.floor_seconds / 3600:.2f} h "
              f"(x{guess.ratio:.2f}), MuJoCo's mj_step alone {guess.simulator_seconds / 3600:.2f} h "
              f"(speeds from {guess.sources})")
        return 0
    frame = run(ray_address=args.ray_address, wandb=args.wandb, wandb_project=args.wandb_project,
                wandb_entity=args.wandb_entity, tensorboard=args.tensorboard, **options, **grid_args(args))
    failed = frame[frame["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"FAILED {row['task']} {row['arm_label']} seed {row['seed']}: {row['error']}", file=sys.stderr)
    counts = frame["status"].value_counts()
    print(f"{len(frame)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items())
          + f"; {int(frame['trained'].sum())} trained in this call")
    return 1 if len(failed) else 0


def cmd_speed(args) -> int:
    tasks = resolve_tasks(split_list("tasks", args.tasks))
    arms = split_list("arms", args.algos) if args.algos else list(ARMS)
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise SuiteError(f"unknown arm {unknown[0]!r}; valid arms: {', '.join(ARMS)}")
    report = measure_speed(tasks, arms)
    written = save_speed(report, args.out)
    sizes = report["stack_sizes"]
    print("training steps per CPU-second as a fraction of raw env stepping, alone / "
          + " / ".join(f"{k} stacked" for k in sizes[1:]))
    for task, row in report["fraction_of_raw"].items():
        print(f"  {task} (raw {report['raw_steps_per_cpu_second'][task]:,.0f} steps/s): "
              + "  ".join(f"{arm} " + "/".join(f"{v[str(k)]:.2f}" for k in sizes) for arm, v in row.items()))
    print(f"saved {written} (merged; `run --dry-run` reads it over {SPEED_FILE})")
    return 0


def cmd_arms(args) -> int:
    broken = 0
    for name in args.names or [*ARMS, *plugin_arms()]:  # a name given here may be a plug-in module:NAME
        try:
            arm = make_arm(name)
        except ConfigError as err:  # a broken plug-in is named, and the listing goes on
            print(f"{name}: cannot be loaded: {err}")
            broken += 1
            continue
        origin = f", plug-in {arm.plugin.algorithm} ({arm.plugin.version})" if arm.plugin is not None else ""
        print(f"{arm.name} ({arm.algorithm.__name__}{origin})")
        for item in describe(arm.config):
            print(f"  {item['name']} = {item['value']!r}: {item['doc']} [{item['source']}]")
        for task, by_algorithm in TASK_DEFAULTS.items():
            if arm.algorithm.__name__ in by_algorithm:
                changes, source = by_algorithm[arm.algorithm.__name__]
                print(f"  on {task}: " + ", ".join(f"{k}={v}" for k, v in changes.items()) + f" [{source}]")
    return 1 if broken else 0


def cmd_random(args) -> int:
    tasks = resolve_tasks(split_list("tasks", args.tasks))
    episodes = parse_positive_int("episodes", args.episodes)
    try:
        seed = int(args.seed)
    except ValueError:
        raise SuiteError(f"seed {args.seed!r} is not a whole number") from None
    report = measure_random(tasks, episodes, seed)
    written = save_random(report, args.out)
    for task, entry in report["scores"].items():
        print(f"{task}: {entry['mean']:.2f} ± {entry['std']:.2f} over {entry['episodes']} episodes")
    print(f"saved {written} (merged). Tables normalize against {RANDOM_FILE} so that they stay comparable; "
          "your measurement is used for tasks that file lacks")
    return 0


def cmd_table(args) -> int:
    frame = run_table(_read_runs(args.runs_dir, load_runs), _budget(args.budget))
    tables = {}
    chosen = (arms_comparison(split_list("arms", args.algos)),) if args.algos else COMPARISONS
    for comparison in chosen:
        result = rebuild(frame, comparison, args.normalize)
        if result.empty:
            if args.algos:
                raise SuiteError(f"no runs of {', '.join(comparison.arms)} under {args.runs_dir}")
            continue
        tables[comparison.name] = result.table
        print(f"{comparison.title}\n\n{comparison_markdown(result.table, args.normalize)}\n")
        print(result.uncertainty + "\n")
        if comparison is FIGURE3 and result.at_paper_budget:
            print(figure3_orderings(result.runs) + "\n")
    raw = raw_table(in_comparison(frame, chosen[0]) if args.algos else frame)
    print(per_task_markdown(raw))
    if args.csv:
        path = Path(args.csv)
        first = chosen[0].name  # Table 1 (or the --algos comparison) to FILE, the others beside it
        for name, table in tables.items():
            target = path if name == first else path.with_name(f"{path.stem}-{name}.csv")
            atomic_write_text(target, table.to_csv(index=False))
        atomic_write_text(path.with_name(path.stem + "-per-task.csv"), raw.to_csv(index=False))
    return 0


def _read_runs(runs_dir: str, load_runs):
    """The runs dir's records for a reader (a read-only directory is fine); damaged runs are
    left out, with a line on stderr."""

    if not check_runs_dir(runs_dir, write=False).exists():
        raise SuiteError(f"runs dir {runs_dir!r} does not exist")
    frame = load_runs(runs_dir)
    _warn_damaged(frame)
    return frame


def _warn_damaged(frame) -> None:
    damaged = frame[frame["status"] == "damaged"] if "status" in frame else frame.iloc[0:0]
    if len(damaged):
        print(f"warning: {len(damaged)} damaged run(s) left out (python -m suite status lists them; "
              f"python -m suite run redoes them): " + ", ".join(damaged["path"]), file=sys.stderr)


def _budget(text: str | None) -> int | None:
    return None if text is None else parse_steps(text)


def cmd_plot(args) -> int:
    _read_runs(args.runs_dir, load_runs)
    for path in plot(args.runs_dir, split_list("arms", args.algos), args.out, args.normalize,
                     budget=_budget(args.budget)):
        print(f"wrote {path} (and {path.with_suffix('.svg').name})")
    return 0


def cmd_leaderboard(args) -> int:
    _read_runs(args.runs_dir, load_runs)
    print(f"wrote {build(args.runs_dir, args.out, args.normalize, budget=_budget(args.budget))}")
    return 0


def cmd_report(args) -> int:
    check_runs_dir(args.runs_dir, write=False)
    print(report(args.wandb_project, args.entity, args.runs_dir, args.out, args.leaderboard))
    return 0


def cmd_evaluate(args) -> int:
    allowed = tuple(m.strip() for m in args.allow_import.split(",") if m.strip())
    returns = evaluate(args.run_dir, parse_positive_int("episodes", args.episodes), stochastic=args.stochastic,
                       video=args.video, allow_import=allowed)
    how = "sampled" if args.stochastic else "mean"
    print(f"mean return {sum(returns) / len(returns):.2f} over {len(returns)} episodes ({how} actions): "
          + " ".join(f"{r:.1f}" for r in returns))
    if args.video:
        print(f"wrote {args.video}")
    return 0


def _one_runs_dir(positional: str | None, option: str | None) -> str:
    """The runs dir of a command that still takes it as a positional too (kept for a release)."""
    if positional and option and positional != option:
        raise SuiteError(f"two runs dirs given: {positional!r} and --runs-dir {option!r}")
    return option or positional or "runs"


def cmd_verify(args) -> int:
    runs_dir = _one_runs_dir(args.runs_dir_positional, args.runs_dir)
    here = environment_info()
    print(f"this machine: {here['cpu']} ({here['cpu_flags'] or 'no AVX-512'}); torch {here['torch']}, "
          f"numpy {here['numpy']}, gymnasium {here['gymnasium']}, mujoco {here['mujoco']}")
    frame = verify(runs_dir, parse_positive_int("rows", args.rows),
                   resolve_tasks(split_names(args.tasks)) if args.tasks else None,
                   split_arm_specs(args.algos) if args.algos else None,
                   allow_import=tuple(m.strip() for m in args.allow_import.split(",") if m.strip()))
    for r in frame.itertuples():
        print(f"{r.state:<13} {r.key}  {r.detail}")
    counts = frame["state"].value_counts()
    print(f"{len(frame)} runs: " + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATES))
    if args.csv:
        atomic_write_text(args.csv, frame.to_csv(index=False))
    return 1 if frame["state"].isin(FAILING).any() else 0


def cmd_compare(args) -> int:
    tasks = resolve_tasks(split_names(args.tasks)) if args.tasks else None
    result = compare(args.a, args.b, args.runs_dir or ["runs"], tasks, budget=_budget(args.budget))
    print(compare_markdown(result))
    if args.csv:
        atomic_write_text(args.csv, result["per_task"].to_csv(index=False))
    if args.json:
        atomic_write_text(args.json, json.dumps({**{k: v for k, v in result.items() if k != "per_task"},
                                                 "per_task": result["per_task"].to_dict("records")}, indent=1))
    return 0


def split_names(text: str) -> list[str]:
    return split_list("tasks", text)


def cmd_export(args) -> int:
    if len(args.paths) > 2:
        raise SuiteError(f"export takes OUT (and a runs dir before it), not {len(args.paths)} paths")
    runs_dir = _one_runs_dir(args.paths[0] if len(args.paths) == 2 else None, args.runs_dir)
    comparisons = (arms_comparison(split_list("arms", args.algos)),) if args.algos else None
    for path in export(runs_dir, args.paths[-1], args.parquet, runs=_read_runs(runs_dir, load_runs),
                       comparisons=comparisons):
        print(f"wrote {path}")
    return 0


def cmd_check_arm(args) -> int:
    checks = check_arm(args.spec, *([tuple(resolve_tasks(split_names(args.tasks)))] if args.tasks else []))
    for name, passed, detail in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}")
    failed = sum(not passed for _, passed, _ in checks)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cmd_status(args) -> int:
    if not check_runs_dir(args.runs_dir, write=False).is_dir():
        raise SuiteError(f"runs dir {args.runs_dir!r} does not exist")
    grid = grid_args(args)
    table = status_table(args.runs_dir, grid if any(v is not None for v in grid.values()) else None)
    if table.empty:
        print(f"no runs under {args.runs_dir}")
        return 0
    print(table.to_string())
    for found in damaged_runs(args.runs_dir):
        print(f"damaged: {found.path}: {found.reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        startup_done()  # from here a Ctrl-C is a KeyboardInterrupt, answered below in one line
        args = build_parser().parse_args(argv)
        commands = {"run": cmd_run, "arms": cmd_arms, "status": cmd_status, "speed": cmd_speed,
                    "random": cmd_random, "table": cmd_table, "plot": cmd_plot, "leaderboard": cmd_leaderboard,
                    "report": cmd_report, "evaluate": cmd_evaluate, "verify": cmd_verify, "compare": cmd_compare,
                    "export": cmd_export, "check-arm": cmd_check_arm}
        return commands[args.command](args)
    except (SuiteError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Interrupted as err:
        print(f"{err}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted: stopped at once; runs resume from their last checkpoint when the same command "
              "runs again", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m suite table | head`: the reader left; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        where = err.filename if err.filename is not None else "?"
        print(f"error: {where}: {err.strerror or err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    failpoint("start:main")  # every import done, main() not yet running
    sys.exit(main())
