"""The paper's comparisons, and the named grids (presets) that run them.

A comparison is a set of rows, each the paper's name for a setting and the arm that runs
it. Runs belong to a row by their config hash (task, budget and seed aside), never by
label, so `ppo_clip` and `ppo_clip:clip_eps=0.2` are the same row. Each comparison is
normalized among its own rows only (suite/scores.py), as the paper did.

A preset fills in --algos, --tasks, --seeds and --steps; options given explicitly on the
command line win.
"""

from __future__ import annotations

from dataclasses import dataclass

from algorithms import make_arm

from .errors import SuiteError
from .tasks import PAPER_TASKS

PAPER_STEPS = 1_000_000  # PPO paper: 1M timesteps per run
PAPER_SEEDS = 3


@dataclass(frozen=True)
class Comparison:
    name: str  # its preset's name
    title: str
    rows: tuple[tuple[str, str], ...]  # (the paper's name for the setting, the arm spec that runs it)
    paper_table1: bool = False  # its rows are the paper's Table 1 settings: shown beside the paper's values
    # Rows shown beside the comparison, normalized by its tops but never moving them (earlier
    # configurations kept with their records, labelled as not the paper's).
    extras: tuple[tuple[str, str], ...] = ()

    @property
    def all_arms(self) -> tuple[str, ...]:
        return self.arms + tuple(spec for _, spec in self.extras)

    @property
    def arms(self) -> tuple[str, ...]:
        return tuple(spec for _, spec in self.rows)

    def row_names(self) -> dict[str, str]:
        """Arm config hash -> the row's name."""
        return {make_arm(spec).config_hash: row for row, spec in self.rows}


# The PPO paper's Table 1: the 11 surrogate-objective settings, 7 tasks x 3 seeds x 1M steps.
TABLE1_SETTINGS = (  # (the paper's name, the arm spec) of Table 1's 11 settings
    ("No clipping or penalty", "ppo_noclip"),
    ("Clipping, eps = 0.1", "ppo_clip:clip_eps=0.1"),
    ("Clipping, eps = 0.2", "ppo_clip:clip_eps=0.2"),
    ("Clipping, eps = 0.3", "ppo_clip:clip_eps=0.3"),
    ("Adaptive KL, d_targ = 0.003", "ppo_klpen:kl_target=0.003"),
    ("Adaptive KL, d_targ = 0.01", "ppo_klpen:kl_target=0.01"),
    ("Adaptive KL, d_targ = 0.03", "ppo_klpen:kl_target=0.03"),
    ("Fixed KL, beta = 0.3", "ppo_kl_fixed:beta=0.3"),
    ("Fixed KL, beta = 1", "ppo_kl_fixed:beta=1"),
    ("Fixed KL, beta = 3", "ppo_kl_fixed:beta=3"),
    ("Fixed KL, beta = 10", "ppo_kl_fixed:beta=10"),
)


def _with_preset(spec: str, preset: str) -> str:
    """`name:preset=P:overrides...`: the preset goes first, as make_arm applies it."""
    name, sep, rest = spec.partition(":")
    return f"{name}:preset={preset}" + (f":{rest}" if sep else "")


# Table 1 under the code-level choices of openai/baselines ppo2 (the arms' own defaults).
TABLE1 = Comparison("table1", "Table 1: surrogate objectives (ppo2 code-level choices)", TABLE1_SETTINGS,
                    paper_table1=True)
# The same 11 settings under the code released with the paper (openai/baselines ppo1 at
# d9f194f: algorithms/toggles.py PPO1_FIELDS), normalized among its own rows.
TABLE1_PPO1 = Comparison("table1_ppo1", "Table 1: surrogate objectives (ppo1, the paper's code)",
                         tuple((row, _with_preset(spec, "ppo1")) for row, spec in TABLE1_SETTINGS),
                         paper_table1=True)
# The PPO paper's Figure 3: its six algorithms, row names as in the figure's legend. A2C is
# Tianshou's MuJoCo-tuned A2C, Vanilla PG the footnote's hw4 rule (issue 22); the
# configurations they replaced stay as extras.
FIGURE3 = Comparison("figure3", "Figure 3: PPO against other algorithms", (
    ("PPO (Clip)", "ppo_clip"),
    ("TRPO", "trpo"),
    ("A2C", "a2c"),
    ("A2C + Trust Region", "a2c_tr"),
    ("Vanilla PG, Adaptive", "vpg"),
    ("CEM", "cem"),
), extras=(
    ("A2C, SB3 defaults + rl-zoo normalize (not the paper's)", "a2c_sb3"),
    ("Vanilla PG, section 4 rule (not the footnote's)", "vpg_section4"),
))
COMPARISONS = (TABLE1, TABLE1_PPO1, FIGURE3)


def distinct_arms(*comparisons: Comparison) -> tuple[str, ...]:
    """The arms of the comparisons and their extras, each config once (the first spec that
    names it)."""
    seen, arms = set(), []
    for comparison in comparisons:
        for spec in comparison.all_arms:
            digest = make_arm(spec).config_hash
            if digest not in seen:
                seen.add(digest)
                arms.append(spec)
    return tuple(arms)


def _paper_grid(*comparisons: Comparison) -> dict:
    return {"algos": distinct_arms(*comparisons), "tasks": PAPER_TASKS, "seeds": PAPER_SEEDS, "steps": PAPER_STEPS}


PRESETS: dict[str, dict] = {
    "table1": _paper_grid(TABLE1),
    "table1_ppo1": _paper_grid(TABLE1_PPO1),
    "figure3": _paper_grid(FIGURE3),
    # All three: Table 1's 11 settings under ppo2's and under ppo1's code-level choices, and
    # Figure 3's trpo, a2c, a2c_tr, vpg, cem (its ppo_clip is Table 1's eps = 0.2) with its two
    # extras (a2c_sb3, vpg_section4): 29 arms x 7 tasks x 3 seeds = 609 runs.
    "paper": _paper_grid(TABLE1, FIGURE3, TABLE1_PPO1),
    # A first look in minutes: the Figure 3 arms, one seed, 50k steps per run.
    "quick": {"algos": FIGURE3.arms, "tasks": PAPER_TASKS, "seeds": 1, "steps": 50_000},
}


def preset(name: str) -> dict:
    if name not in PRESETS:
        raise SuiteError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]
