"""Named grids. A preset fills in --algos, --tasks, --seeds and --steps; options given
explicitly on the command line win."""

from __future__ import annotations

from .errors import SuiteError
from .tasks import PAPER_TASKS

# The PPO paper's Table 1: the 11 surrogate-objective settings, 7 tasks x 3 seeds x 1M steps.
TABLE1_ARMS = (
    "ppo_noclip",
    "ppo_clip:clip_eps=0.1", "ppo_clip:clip_eps=0.2", "ppo_clip:clip_eps=0.3",
    "ppo_klpen:kl_target=0.003", "ppo_klpen:kl_target=0.01", "ppo_klpen:kl_target=0.03",
    "ppo_kl_fixed:beta=0.3", "ppo_kl_fixed:beta=1", "ppo_kl_fixed:beta=3", "ppo_kl_fixed:beta=10",
)
# The PPO paper's Figure 3 comparison, as far as this suite implements it.
FIGURE3_ARMS = ("vpg", "a2c", "trpo", "ppo_clip")

PRESETS: dict[str, dict] = {
    "table1": {"algos": TABLE1_ARMS, "tasks": PAPER_TASKS, "seeds": 3, "steps": 1_000_000},
    "figure3": {"algos": FIGURE3_ARMS, "tasks": PAPER_TASKS, "seeds": 3, "steps": 1_000_000},
    # A first look in minutes: the Figure 3 arms, one seed, 50k steps per run.
    "quick": {"algos": FIGURE3_ARMS, "tasks": PAPER_TASKS, "seeds": 1, "steps": 50_000},
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise SuiteError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]
