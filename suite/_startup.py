"""A clean first second: Ctrl-C while `python -m suite` is still importing (torch, gymnasium,
MuJoCo: a few seconds) gives one line and exit status 130, not an import traceback.

`guard()` runs first thing in the package's __init__: only under `python -m suite` (while the
package imports, sys.argv[0] is "-m"), and only if SIGINT still has Python's default handler,
it installs a handler that says so and exits. `main()` hands SIGINT back to Python's default
(a KeyboardInterrupt it catches) once it runs; a library import of `suite` changes nothing.
"""

from __future__ import annotations

import os
import signal
import sys

from suite.records.faults import failpoint

MESSAGE = b"interrupted while starting: nothing was run\n"


def _interrupted(signum, frame) -> None:
    os.write(2, MESSAGE)
    os._exit(130)


def guard() -> None:
    if sys.argv[:1] == ["-m"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupted)
    failpoint("start:imports")


def done() -> None:
    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, signal.default_int_handler)
