"""The PPO paper's benchmark around the algorithms: grid runs, records, results.

Everything the CLI does is callable from Python under the same names:
    import suite
    suite.run("ppo_clip,trpo", tasks=["InvertedPendulum-v5"], seeds=1, steps=100_000)
    suite.load_runs("runs")   # pandas DataFrame, one row per run
    suite.status("runs")      # complete / partial / failed ... per task and arm
    suite.verify("runs")      # today's code against the records, run by run
"""

from .compare import compare
from .conformance import check_arm
from .errors import Interrupted, SuiteError
from .export import export
from .grid import run
from .plan import DEFAULT_SEEDS, DEFAULT_STEPS, RunSpec, plan, resolve_grid
from .presets import PRESETS
from .runner import evaluate, execute
from .status import run_state
from .status import status_table as status
from .store import load_episodes, load_progress, load_runs
from .tasks import PAPER_TASKS, resolve_task
from .verify import verify

__all__ = ["DEFAULT_SEEDS", "DEFAULT_STEPS", "PAPER_TASKS", "PRESETS", "Interrupted", "RunSpec", "SuiteError",
           "evaluate", "execute", "load_episodes", "load_progress", "load_runs", "plan", "resolve_grid",
           "resolve_task", "run", "run_state", "status", "verify", "compare", "check_arm", "export"]
