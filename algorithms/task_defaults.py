"""Per-task defaults where the PPO paper is silent: the discrete-action tasks (CartPole,
LunarLander) take rl-baselines3-zoo's tuned hyperparameters for the same algorithm, cited
per entry. They replace the MuJoCo defaults for that task only, before an arm's own
overrides; the MuJoCo tasks keep the paper's settings (no entry here).

Where the zoo's setting cannot be expressed here it is said in the entry's source: the
zoo's `lin_` schedules anneal linearly to 0, which `lr_anneal` does for the step size, but
nothing anneals PPO's clip range (the zoo's CartPole `clip_range: lin_0.2`): it stays 0.2.
Settings the zoo leaves out are Stable-Baselines3's defaults (no observation or reward
normalization unless `normalize: true`; PPO's `clip_range_vf=None`: no value clipping).
Vanilla PG has no zoo entry: it keeps its defaults everywhere.
"""

from __future__ import annotations

ZOO_PPO = "rl-baselines3-zoo hyperparams/ppo.yml (commit 00128b5)"
ZOO_A2C = "rl-baselines3-zoo hyperparams/a2c.yml (commit 02846e4)"
ZOO_TRPO = "rl-baselines3-zoo hyperparams/trpo.yml (commit 13a3fe7)"
NO_NORMALIZE = {"obs_norm": "false", "reward_scale": "false"}  # the zoo entry has no `normalize: true`
# SB3 A2C's defaults where the `a2c` arm (Tianshou's MuJoCo tuning) differs from them: the zoo's
# discrete entries are SB3 A2C plus their own keys (a no-op for `a2c_sb3`, which has them).
SB3_A2C_BASE = {"gae_lambda": "1.0", "return_norm": "false", "lr_anneal": "false", "lr_anneal_over": "1",
                "init_log_std": "0", "policy_head_gain": "0.01", "value_head_gain": "1",
                "bootstrap_truncation": "true", "action_scaling": "false", "ent_coef": "0.0"}

# task -> algorithm class name -> (field overrides, source)
TASK_DEFAULTS: dict[str, dict[str, tuple[dict[str, str], str]]] = {
    "CartPole-v1": {
        "PPO": ({**NO_NORMALIZE, "value_clip": "false", "num_envs": "8", "num_steps": "32", "minibatch_size": "256",
                 "gae_lambda": "0.8", "gamma": "0.98", "num_epochs": "20", "ent_coef": "0.0", "lr": "0.001",
                 "lr_anneal": "true"},
                ZOO_PPO + ", CartPole-v1 (tuned): n_envs 8, n_steps 32, batch_size 256, gae_lambda 0.8, gamma 0.98, "
                "n_epochs 20, ent_coef 0, learning_rate lin_0.001; its clip_range lin_0.2 is not annealed here"),
        "A2C": ({**SB3_A2C_BASE, **NO_NORMALIZE, "num_envs": "8", "ent_coef": "0.0"},
                ZOO_A2C + ", CartPole-v1: n_envs 8, ent_coef 0, the rest SB3 A2C's defaults"),
        "TRPO": ({**NO_NORMALIZE, "num_envs": "2", "num_steps": "512", "vf_minibatch_size": "512", "damping": "0.001",
                  "gae_lambda": "0.98", "gamma": "0.99", "lr": "0.001", "vf_epochs": "20"},
                 ZOO_TRPO + ", CartPole-v1 (tuned): n_envs 2, n_steps 512, batch_size 512, cg_damping 1e-3, "
                 "gae_lambda 0.98, gamma 0.99, learning_rate 1e-3, n_critic_updates 20"),
    },
    "LunarLander-v3": {
        "PPO": ({**NO_NORMALIZE, "value_clip": "false", "num_envs": "16", "num_steps": "1024", "minibatch_size": "64",
                 "gae_lambda": "0.98", "gamma": "0.999", "num_epochs": "4", "ent_coef": "0.01", "lr_anneal": "false"},
                ZOO_PPO + ", LunarLander-v2 (gymnasium's v3 is the same task): n_envs 16, n_steps 1024, batch_size 64, "
                "gae_lambda 0.98, gamma 0.999, n_epochs 4, ent_coef 0.01, the rest SB3 PPO's defaults "
                "(constant learning rate 3e-4)"),
        "A2C": ({**SB3_A2C_BASE, **NO_NORMALIZE, "num_envs": "8", "gamma": "0.995", "num_steps": "5", "lr": "0.00083",
                 "lr_anneal": "true", "ent_coef": "0.00001"},
                ZOO_A2C + ", LunarLander-v2 (gymnasium's v3 is the same task): n_envs 8, gamma 0.995, n_steps 5, "
                "learning_rate lin_0.00083, ent_coef 1e-5"),
        "TRPO": ({**NO_NORMALIZE, "num_envs": "2", "num_steps": "512", "damping": "0.01", "gae_lambda": "0.98",
                  "gamma": "0.99", "lr": "0.001", "vf_epochs": "15"},
                 ZOO_TRPO + ", LunarLander-v3 (tuned): n_envs 2, n_steps 512, cg_damping 0.01, gae_lambda 0.98, "
                 "gamma 0.99, learning_rate 1e-3, n_critic_updates 15"),
    },
}


def defaults_for(task: str | None, algorithm: str) -> tuple[dict[str, str], str] | None:
    """The (overrides, source) for `algorithm` on `task`, or None where the arm's own
    defaults apply. `task` may carry a module prefix ("module:Env-v0")."""
    if task is None:
        return None
    return TASK_DEFAULTS.get(task.split(":")[-1], {}).get(algorithm)
