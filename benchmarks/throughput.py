"""Training throughput, measured in ONE process so that every figure shares the machine's
state: raw env stepping (suite.grid.speed.raw_stepping, the env as the trainer builds it),
MuJoCo's mj_step alone (suite.grid.speed.simulator_stepping: a second, lower floor), each of
our arms end to end, and the
Stable-Baselines3 / sb3-contrib implementations configured the same, and grid mode (several
seeds of one task trained in one process with stacked networks).

    python benchmarks/throughput.py --task HalfCheetah-v5 --iterations 5

Prints a markdown table with ratios to raw stepping and to the SB3 reference of the same
algorithm, and saves it as JSON (with the machine's details) under benchmarks/results/.
One torch thread throughout. Needs the `bench` extra (stable-baselines3, sb3-contrib).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algorithms import ARMS, Trainer, make_arm, train_group  # noqa: E402
from algorithms.rollout import gym_step  # noqa: E402
from algorithms.threads import pin_one_thread  # noqa: E402
from suite.grid import speed  # noqa: E402
from suite.grid.speed import Clock  # noqa: E402
from suite.records.files import atomic_write_json, environment_info  # noqa: E402

# Which SB3 reference each of our arms is compared with.
REFERENCE_OF = {"ppo_clip": "sb3_ppo", "ppo_klpen": "sb3_ppo", "ppo_kl_fixed": "sb3_ppo",
                "ppo_noclip": "sb3_ppo", "a2c": "sb3_a2c", "trpo": "sb3c_trpo", "npg": "sb3c_trpo"}


def raw_stepping(task: str, steps: int) -> tuple[float, float]:
    rate = speed.raw_stepping(task, steps)
    return rate.wall, rate.cpu


def ours(task: str, arm_name: str, steps: int, members: int = 1, gymnasium_step: bool = False) -> tuple[float, float]:
    """Steps/s of training: one run (members=1), or grid mode: `members` seeds of the arm
    trained in one process in lockstep (algorithms.train_group), counted together; with
    `gymnasium_step` every env steps through gymnasium's env.step instead of
    algorithms/fast_step.py (the same transitions: the A/B of issue 37)."""
    arm = make_arm(arm_name)
    trainers = [Trainer(task, arm.algorithm, arm.config, seed=seed, total_steps=max(steps, arm.config.batch_size))
                for seed in range(members)]
    if gymnasium_step:
        for t in trainers:
            t.collector.steps = [gym_step(env) for env in t.collector.envs]
    with Clock() as clock:
        train_group(trainers, [None] * members, checkpoint_every=10**9)
    total = sum(t.global_step for t in trainers)
    return total / clock.wall, total / clock.cpu


def sb3(task: str, name: str, steps: int) -> tuple[float, float]:
    """The reference implementation with our arm's hyperparameters (and VecNormalize where
    our arm normalizes observations / scales rewards)."""
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    if name == "sb3_ppo":
        c = make_arm("ppo_clip").config
        env = VecNormalize(make_vec_env(task, n_envs=1, seed=0), norm_obs=True, norm_reward=True,
                           gamma=c.gamma)
        model = PPO("MlpPolicy", env, n_steps=c.num_steps, batch_size=c.minibatch_size, n_epochs=c.num_epochs,
                    learning_rate=c.lr, gamma=c.gamma, gae_lambda=c.gae_lambda, clip_range=c.clip_eps,
                    clip_range_vf=c.value_clip_eps, ent_coef=c.ent_coef, vf_coef=c.vf_coef,
                    max_grad_norm=c.max_grad_norm, seed=0, device="cpu")
    elif name == "sb3_a2c":
        c = make_arm("a2c").config
        env = VecNormalize(make_vec_env(task, n_envs=1, seed=0), norm_obs=True, norm_reward=True, gamma=c.gamma)
        model = A2C("MlpPolicy", env, n_steps=c.num_steps, learning_rate=c.lr, gamma=c.gamma,
                    gae_lambda=c.gae_lambda, ent_coef=c.ent_coef, vf_coef=c.vf_coef,
                    max_grad_norm=c.max_grad_norm, seed=0, device="cpu")
    else:
        from sb3_contrib import TRPO

        c = make_arm("trpo").config
        env = VecNormalize(make_vec_env(task, n_envs=1, seed=0), norm_obs=True, norm_reward=True,
                           gamma=c.gamma)
        model = TRPO("MlpPolicy", env, n_steps=c.num_steps, batch_size=c.vf_minibatch_size,
                     learning_rate=c.lr, gamma=c.gamma, gae_lambda=c.gae_lambda, target_kl=c.max_kl,
                     cg_damping=c.damping, cg_max_steps=c.cg_iters, n_critic_updates=c.vf_epochs,
                     line_search_shrinking_factor=c.backtrack_coef, seed=0, device="cpu")
    with Clock() as clock:
        model.learn(total_timesteps=steps)
    return model.num_timesteps / clock.wall, model.num_timesteps / clock.cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="HalfCheetah-v5")
    parser.add_argument("--iterations", type=int, default=5,
                        help="PPO-sized iterations (x 2048 steps) per figure")
    parser.add_argument("--arms", default="ppo_clip,ppo_klpen,vpg,a2c,trpo,npg")
    parser.add_argument("--grid-arms", default="ppo_clip", help="arms measured in grid mode")
    parser.add_argument("--grid-members", default="3,9",
                        help="grid sizes: seeds of one task trained together in one process")
    parser.add_argument("--no-reference", action="store_true", help="skip SB3 / sb3-contrib")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    pin_one_thread()
    steps = args.iterations * 2048
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    unknown += [a for a in args.grid_arms.split(",") if a not in ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; valid: {', '.join(ARMS)}")
    try:
        grid_sizes = [int(n) for n in args.grid_members.split(",") if n]
    except ValueError:
        parser.error(f"--grid-members {args.grid_members!r} is not a list of whole numbers")
    if any(n < 1 for n in grid_sizes):
        parser.error("--grid-members must be >= 1")

    # Raw stepping is measured again after every figure, and each figure is divided by the
    # mean of the two raw measurements beside it: on a shared machine the speed drifts
    # while the benchmark runs, and one raw figure at the start would carry its moment's
    # noise into every ratio.
    raws = [raw_stepping(args.task, steps)]
    figures: dict[str, tuple[float, float]] = {}
    raw_beside: dict[str, float] = {}
    reference_of = dict(REFERENCE_OF)

    def measure(name: str, run) -> None:
        figures[name] = run()
        raws.append(raw_stepping(args.task, steps))
        raw_beside[name] = (raws[-2][1] + raws[-1][1]) / 2

    for arm in arms:
        measure(arm, lambda arm=arm: ours(args.task, arm, steps))
    for arm in args.grid_arms.split(","):
        for members in grid_sizes:
            name = f"grid {arm} x{members}"
            measure(name, lambda arm=arm, members=members: ours(args.task, arm, steps, members))
            measure(f"{name}, gymnasium step", lambda arm=arm, members=members: ours(args.task, arm, steps, members,
                                                                                     gymnasium_step=True))
            reference_of[name] = reference_of[f"{name}, gymnasium step"] = REFERENCE_OF.get(arm)
    if not args.no_reference:
        for ref in sorted({reference_of[a] for a in figures if reference_of.get(a)}):
            measure(ref, lambda ref=ref: sb3(args.task, ref, steps))

    raw_cpus = [cpu for _, cpu in raws]
    simulator = speed.simulator_stepping(args.task, steps)
    rows = [{"name": "raw_stepping", "steps_per_second": round(float(np.median([w for w, _ in raws])), 1),
             "steps_per_cpu_second": round(float(np.median(raw_cpus)), 1), "vs_raw": 1.0, "reference": None,
             "vs_reference": None, "raw_measurements": len(raws),
             "raw_cpu_min_max": [round(min(raw_cpus), 1), round(max(raw_cpus), 1)]}]
    if simulator is not None:  # the lower floor: what the physics alone costs
        rows.append({"name": "mj_step alone", "steps_per_second": round(simulator.wall, 1),
                     "steps_per_cpu_second": round(simulator.cpu, 1),
                     "vs_raw": round(simulator.cpu / float(np.median(raw_cpus)), 3), "reference": None,
                     "vs_reference": None})
    for name, (wall, cpu) in figures.items():
        ref = reference_of.get(name)
        ratio_ref = cpu / figures[ref][1] if ref in figures else None
        rows.append({"name": name, "steps_per_second": round(wall, 1), "steps_per_cpu_second": round(cpu, 1),
                     "vs_raw": round(cpu / raw_beside[name], 3), "reference": ref,
                     "vs_reference": None if ratio_ref is None else round(ratio_ref, 2),
                     "x_mj_step": None if simulator is None else round(simulator.cpu / cpu, 2)})
    print(f"{args.task}, {steps} steps per run, 1 torch thread; ratios per CPU-second; raw stepping measured "
          f"{len(raws)} times (steps/CPU-s {min(raw_cpus):.0f} to {max(raw_cpus):.0f}), each figure against the "
          f"mean of the two measurements beside it")
    print("| figure | steps/s (wall) | steps/CPU-s | x raw stepping | CPU time x mj_step alone | x reference |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        vs_ref = f"{r['vs_reference']:.2f} ({r['reference']})" if r["vs_reference"] is not None else ""
        vs_mj = f"{r['x_mj_step']:.2f}" if r.get("x_mj_step") is not None else ""
        print(f"| {r['name']} | {r['steps_per_second']:.0f} | {r['steps_per_cpu_second']:.0f} | "
              f"{r['vs_raw']:.3f} | {vs_mj} | {vs_ref} |")
    report = {"task": args.task, "steps_per_run": steps, "torch_threads": 1, "rows": rows,
              "ratios": "per CPU-second of the process (time.process_time); one process, one torch thread; "
                        "each figure against the mean of the raw-stepping measurements just before and after it",
              "machine": {**environment_info(), "cores": os.cpu_count()},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = Path(args.out) / f"throughput-{args.task}.json"
    atomic_write_json(out, report)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
