"""The benchmark's tasks: the PPO paper's seven MuJoCo tasks, in gymnasium's -v5 versions."""

from __future__ import annotations

import gymnasium as gym

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
    "module:Env-v0" for an env that module registers; its action space must be 1-D Box.
    Raises SuiteError naming the choices."""
    name = name.strip()
    task = _SHORT.get(name.lower(), name)
    if ":" in task:  # "module:Env-v0": gymnasium imports the module, which registers the env
        module = task.split(":", 1)[0]
        try:
            __import__(module)
        except ImportError as err:
            raise SuiteError(f"task {name!r}: cannot import module {module!r} ({err})") from None
    if task.split(":")[-1] not in gym.registry:
        raise SuiteError(f"unknown task {name!r}; the paper's tasks: {', '.join(PAPER_TASKS)} "
                         "(or any registered gymnasium id with a 1-D Box or Discrete action space)")
    env = gym.make(task, disable_env_checker=True)
    try:
        space = env.action_space
        supported = isinstance(space, gym.spaces.Discrete) or (
            isinstance(space, gym.spaces.Box) and len(space.shape) == 1)
        if not supported:
            raise SuiteError(f"task {task!r} has action space {space}; only 1-D Box and Discrete are supported")
    finally:
        env.close()
    return task


def resolve_tasks(names: list[str]) -> list[str]:
    tasks = [resolve_task(n) for n in names]
    return list(dict.fromkeys(tasks))
