"""Cross-check of the a2c arm against its source: Stable-Baselines3's A2C with its defaults,
wrapped in VecNormalize with its defaults (observations and rewards) as rl-baselines3-zoo's
MuJoCo `normalize: true` does, trained for 1M steps; prints the mean return of the last 100
training episodes (the suite's score). Needs the `bench` extra. One torch thread.

    python benchmarks/sb3_a2c_check.py InvertedDoublePendulum-v5 0

Measured on 2026-11-24: InvertedDoublePendulum-v5, seed 0: 66.75 (the suite's a2c, seed 0: 67.1).
"""

import sys

import numpy as np
import torch
from stable_baselines3 import A2C
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize


def main() -> None:
    task = sys.argv[1] if len(sys.argv) > 1 else "InvertedDoublePendulum-v5"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.set_num_threads(1)
    env = VecNormalize(make_vec_env(task, n_envs=1, seed=seed))  # Monitor-wrapped: episode returns unscaled
    model = A2C("MlpPolicy", env, seed=seed, verbose=0)
    model.learn(1_000_000)
    returns = [info["r"] for info in model.ep_info_buffer]  # the last 100 episodes
    print(f"{task} seed {seed}: SB3 A2C + VecNormalize, 1M steps, mean of the last {len(returns)} training "
          f"episodes {np.mean(returns):.2f}")


if __name__ == "__main__":
    main()
