"""Where a grid-mode step's time goes (issue 37, step 0): per task, a group of runs of one arm
trained together as `suite run` trains them (algorithms.train_group), with a CPU-time clock
around each part of an iteration:

- simulator: MuJoCo's `mj_step` (the physics, called by the env);
- env Python: the step around it (algorithms/fast_step.py's, or with --gym-step gymnasium's:
  wrappers, MujocoEnv.step), observation, reward, termination: the env's step less the simulator;
- acting: the stacked policy's forward pass and sampling (nets.StackedActor.sample);
- loop: the rollout's own per-step Python (bookkeeping of episodes and actions, reward
  scaling, observation statistics), i.e. the collection less env and acting;
- advantages: values and GAE (trainer.prepare_members);
- update: the gradient updates (trainer.update_members);
- recording: progress rows, episodes, logs (Trainer.finish_iteration).

Each part as a share of the iteration's CPU time, and the steps per CPU-second against
MuJoCo's `mj_step` alone (suite.grid.speed.simulator_stepping) measured in the same run.
CPU time (time.process_time), so a busy machine changes the totals but hardly the shares.

    python benchmarks/profile_grid.py --algos ppo_clip --group 11 --iterations 3

Saves the table as JSON (with the machine's details) under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import algorithms.trainer as trainer_module  # noqa: E402
from algorithms import Trainer, make_arm, train_group  # noqa: E402
from algorithms.nets import StackedActor  # noqa: E402
from algorithms.rollout import gym_step  # noqa: E402
from algorithms.threads import pin_one_thread  # noqa: E402
from suite.grid import speed  # noqa: E402
from suite.paper import PAPER_TASKS  # noqa: E402
from suite.records.files import atomic_write_json, environment_info  # noqa: E402

PARTS = ("simulator", "env Python", "acting", "loop", "advantages", "update", "recording")


class Clocks:
    """CPU seconds per named part; `wrap` times a callable into one of them."""

    def __init__(self):
        self.seconds = dict.fromkeys(["simulator", "env", "acting", "collect", "advantages", "update",
                                      "recording"], 0.0)

    def wrap(self, name: str, function):
        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.process_time() - started
        return timed

    def shares(self) -> dict[str, float]:
        s = self.seconds
        parts = {"simulator": s["simulator"], "env Python": s["env"] - s["simulator"], "acting": s["acting"],
                 "loop": s["collect"] - s["env"] - s["acting"], "advantages": s["advantages"],
                 "update": s["update"], "recording": s["recording"]}
        total = sum(parts.values())
        return {k: v / total for k, v in parts.items()}, total


def profile(task: str, arm_name: str, group: int, iterations: int, gymnasium_step: bool = False) -> dict:
    import mujoco

    arm = make_arm(arm_name, task)
    clocks = Clocks()
    originals = {"mj_step": mujoco.mj_step, "sample": StackedActor.sample,
                 "collect": trainer_module.collect_members, "prepare": trainer_module.prepare_members,
                 "update": trainer_module.update_members, "finish": Trainer.finish_iteration}
    # before the trainers are built: algorithms/fast_step.py binds mj_step when it builds a step
    mujoco.mj_step = clocks.wrap("simulator", originals["mj_step"])
    StackedActor.sample = clocks.wrap("acting", originals["sample"])
    trainer_module.collect_members = clocks.wrap("collect", originals["collect"])
    trainer_module.prepare_members = clocks.wrap("advantages", originals["prepare"])
    trainer_module.update_members = clocks.wrap("update", originals["update"])
    Trainer.finish_iteration = clocks.wrap("recording", originals["finish"])
    try:
        trainers = [Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=iterations * arm.config.batch_size)
                    for seed in range(group)]
        for t in trainers:
            env_steps = [gym_step(env) for env in t.collector.envs] if gymnasium_step else t.collector.steps
            t.collector.steps = [clocks.wrap("env", step) for step in env_steps]
        clocks.seconds = dict.fromkeys(clocks.seconds, 0.0)  # the first resets are not an iteration's
        train_group(trainers, [None] * group, checkpoint_every=10**9)
    finally:
        mujoco.mj_step = originals["mj_step"]
        StackedActor.sample = originals["sample"]
        trainer_module.collect_members = originals["collect"]
        trainer_module.prepare_members = originals["prepare"]
        trainer_module.update_members = originals["update"]
        Trainer.finish_iteration = originals["finish"]
    shares, total = clocks.shares()
    done = sum(t.global_step for t in trainers)
    floor = speed.simulator_stepping(task)
    return {"task": task, "arm": arm_name, "group": group, "step": "gymnasium" if gymnasium_step else "fast_step",
            "steps": done, "cpu_seconds": total,
            "steps_per_cpu_second": done / total, "mj_step_per_cpu_second": floor.cpu if floor else None,
            "x_mj_step": (floor.cpu * total / done) if floor else None, "shares": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(PAPER_TASKS))
    parser.add_argument("--algos", default="ppo_clip")
    parser.add_argument("--group", type=int, default=11, help="runs trained together (the grid's group size)")
    parser.add_argument("--iterations", type=int, default=3, help="batches per run")
    parser.add_argument("--gym-step", action="store_true",
                        help="step every env through gymnasium's env.step instead of algorithms/fast_step.py")
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/profile-<time>.json)")
    args = parser.parse_args()
    pin_one_thread()
    rows = [profile(task.strip(), arm.strip(), args.group, args.iterations, args.gym_step)
            for arm in args.algos.split(",") for task in args.tasks.split(",")]
    print(f"env step: {'gymnasium env.step' if args.gym_step else 'algorithms/fast_step.py'}")
    print("| task | arm | steps/CPU-s | x mj_step | " + " | ".join(PARTS) + " |")
    print("|---|---|---|---|" + "---|" * len(PARTS))
    for r in rows:
        ratio = f"{r['x_mj_step']:.2f}" if r["x_mj_step"] else "-"
        print(f"| {r['task']} | {r['arm']} | {r['steps_per_cpu_second']:,.0f} | {ratio} | "
              + " | ".join(f"{100 * r['shares'][p]:.0f}%" for p in PARTS) + " |")
    out = Path(args.out) if args.out else (Path(__file__).parent / "results" /
                                           f"profile-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    atomic_write_json(out, {"rows": rows, "machine": environment_info(), "group": args.group,
                            "iterations": args.iterations})
    print(f"saved {out}")


if __name__ == "__main__":
    main()
