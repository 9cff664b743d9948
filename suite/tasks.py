"""The benchmark's tasks: the PPO paper's seven MuJoCo tasks, in gymnasium's -v5 versions."""

from __future__ import annotations

import gymnasium as gym

from algorithms.rollout import make_env

from .errors import SuiteError

PAPER_TASKS = (
    "HalfCheetah-v5",
    "Hopper-v5",
    "InvertedDoublePendulum-v5",
    "InvertedPendulum-v5",
    "Reacher-v5",
    "Swimmer-v5",
    "Walker2d-v5",
)
_SHORT = {task.split("-")[0].lower(): task for task in PAPER_TASKS}


def resolve_task(name: str) -> str:
    """A gymnasium id for `name`: a paper task's short name ("Hopper"), any registered id, or
    "module:Env-v0" for an env that module registers. Checked up front: the paper's tasks in
    their -v5 versions only (the suite's random scores and records are -v5), a Box
    observation space, and a 1-D Box or Discrete action space. Raises SuiteError naming the
    choices."""
    name = name.strip()
    if not name:
        raise SuiteError("empty task name")
    task = _SHORT.get(name.lower(), name)
    if ":" in task:  # "module:Env-v0": gymnasium imports the module, which registers the env
        module = task.split(":", 1)[0]
        try:
            __import__(module)
        except ImportError as err:
            raise SuiteError(f"task {name!r}: cannot import module {module!r} ({err})") from None
    env_id = task.split(":")[-1]
    paper = _SHORT.get(env_id.split("-")[0].lower())
    if paper is not None and env_id != paper and env_id.split("-")[0] == paper.split("-")[0]:
        raise SuiteError(f"task {name!r}: the suite runs {paper} (the paper's tasks in their -v5 versions)")
    if env_id not in gym.registry:
        raise SuiteError(f"unknown task {name!r}; the paper's tasks: {', '.join(PAPER_TASKS)} "
                         "(or any registered gymnasium id with a Box observation space and a 1-D Box "
                         "or Discrete action space)")
    try:
        env = make_env(task)  # as the trainer builds it (MuJoCo warnings shown once)
    except Exception as err:  # a registered env whose dependencies are missing, say
        raise SuiteError(f"task {name!r} cannot be made here ({type(err).__name__}: {err})") from None
    try:
        observations, actions = env.observation_space, env.action_space
        if not (isinstance(observations, gym.spaces.Box) and len(observations.shape) == 1):
            raise SuiteError(f"task {task!r} has observation space {observations}; only 1-D Box "
                             "observations are supported")
        supported = isinstance(actions, gym.spaces.Discrete) or (
            isinstance(actions, gym.spaces.Box) and len(actions.shape) == 1)
        if not supported:
            raise SuiteError(f"task {task!r} has action space {actions}; only 1-D Box and Discrete are supported")
    finally:
        env.close()
    return task


def resolve_tasks(names: list[str]) -> list[str]:
    tasks = [resolve_task(n) for n in names]
    return list(dict.fromkeys(tasks))
