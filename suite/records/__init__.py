"""The floor: a run's files on disk, written atomically (files.py); its typed result
(result.py: Status, RunResult); its state decided in one place from the whole record set
(state.py); failpoints for the fault tests (faults.py). Imports only suite.paper and
suite.errors from the suite."""
