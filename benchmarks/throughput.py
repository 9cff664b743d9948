"""Training throughput, measured in ONE process so that every figure shares the machine's
state: raw env stepping through gym.make, each of our arms end to end, and the
Stable-Baselines3 / sb3-contrib implementations configured the same.

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

import gymnasium as gym
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algorithms import ARMS, Trainer, make_arm  # noqa: E402
from suite.store import atomic_write_json, environment_info  # noqa: E402

# Which SB3 reference each of our arms is compared with.
REFERENCE_OF = {"ppo_clip": "sb3_ppo", "ppo_klpen": "sb3_ppo", "ppo_kl_fixed": "sb3_ppo",
                "ppo_noclip": "sb3_ppo", "a2c": "sb3_a2c", "trpo": "sb3c_trpo", "npg": "sb3c_trpo"}


def raw_stepping(task: str, steps: int) -> float:
    env = gym.make(task)
    env.action_space.seed(0)
    env.reset(seed=0)
    started = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - started)


def ours(task: str, arm_name: str, steps: int) -> float:
    arm = make_arm(arm_name)
    trainer = Trainer(task, arm.algorithm, arm.config, seed=0, total_steps=max(steps, arm.config.batch_size))
    started = time.perf_counter()
    trainer.train(checkpoint_every=10**9)
    return trainer.global_step / (time.perf_counter() - started)


def sb3(task: str, name: str, steps: int) -> float:
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
        env = VecNormalize(make_vec_env(task, n_envs=1, seed=0), norm_obs=True, norm_reward=False)
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
    started = time.perf_counter()
    model.learn(total_timesteps=steps)
    return model.num_timesteps / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="HalfCheetah-v5")
    parser.add_argument("--iterations", type=int, default=5,
                        help="PPO-sized iterations (x 2048 steps) per figure")
    parser.add_argument("--arms", default="ppo_clip,ppo_klpen,vpg,a2c,trpo,npg")
    parser.add_argument("--no-reference", action="store_true", help="skip SB3 / sb3-contrib")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    steps = args.iterations * 2048
    arms = [a for a in args.arms.split(",") if a]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; valid: {', '.join(ARMS)}")

    figures: dict[str, float] = {"raw_gym_make": raw_stepping(args.task, steps)}
    for arm in arms:
        figures[arm] = ours(args.task, arm, steps)
    if not args.no_reference:
        for ref in sorted({REFERENCE_OF[a] for a in arms if a in REFERENCE_OF}):
            figures[ref] = sb3(args.task, ref, steps)

    raw = figures["raw_gym_make"]
    rows = []
    for name, sps in figures.items():
        ref = REFERENCE_OF.get(name)
        ratio_ref = sps / figures[ref] if ref in figures else None
        rows.append({"name": name, "steps_per_second": round(sps, 1), "vs_raw": round(sps / raw, 3),
                     "reference": ref, "vs_reference": None if ratio_ref is None else round(ratio_ref, 2)})
    print(f"| {args.task}, {steps} steps each, 1 torch thread | steps/s | x raw | x reference |")
    print("|---|---|---|---|")
    for r in rows:
        vs_ref = f"{r['vs_reference']:.2f} ({r['reference']})" if r["vs_reference"] is not None else ""
        print(f"| {r['name']} | {r['steps_per_second']:.0f} | {r['vs_raw']:.3f} | {vs_ref} |")
    report = {"task": args.task, "steps_per_figure": steps, "torch_threads": 1, "rows": rows,
              "machine": {**environment_info(), "cores": os.cpu_count()},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    out = Path(args.out) / f"throughput-{args.task}.json"
    atomic_write_json(out, report)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
