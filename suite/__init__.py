"""The PPO paper's benchmark around the algorithms: grid runs, records, results.

Everything the CLI does is callable from Python under the same names:
    import suite
    suite.run("ppo_clip,trpo", tasks=["InvertedPendulum-v5"], seeds=1, steps=100_000)
    suite.load_runs("runs")   # pandas DataFrame, one row per run
    suite.status("runs")      # complete / partial / failed ... per task and arm
    suite.verify("runs")      # today's code against the records, run by run
    suite.execute(spec, "runs")  # one run: a typed suite.RunResult (status, score, ...)
"""

from suite._startup import guard as _guard_startup

_guard_startup()  # first: Ctrl-C while the imports below load is one line, not a traceback

from suite.errors import Interrupted, SuiteError  # noqa: E402
from suite.grid.conformance import check_arm  # noqa: E402
from suite.grid.driver import run  # noqa: E402
from suite.grid.plan import DEFAULT_SEEDS, DEFAULT_STEPS, RunSpec, plan, resolve_grid  # noqa: E402
from suite.grid.runner import evaluate, execute  # noqa: E402
from suite.grid.verify import verify  # noqa: E402
from suite.paper import PAPER_TASKS, PRESETS, resolve_task  # noqa: E402
from suite.records.result import RunResult, Status  # noqa: E402
from suite.records.state import run_state  # noqa: E402
from suite.results.compare import compare  # noqa: E402
from suite.results.export import export  # noqa: E402
from suite.results.readers import load_episodes, load_progress, load_runs  # noqa: E402
from suite.results.readers import status_table as status  # noqa: E402

__all__ = ["DEFAULT_SEEDS", "DEFAULT_STEPS", "PAPER_TASKS", "PRESETS", "Interrupted", "RunResult", "RunSpec", "Status",
           "SuiteError",
           "evaluate", "execute", "load_episodes", "load_progress", "load_runs", "plan", "resolve_grid",
           "resolve_task", "run", "run_state", "status", "verify", "compare", "check_arm", "export"]
