"""Failpoints for fault tests. With PGSUITE_FAILPOINT="name:N[@ACTION]" set, the N-th time a
process reaches the point called `name` (e.g. "write:half", "row") it acts:

- KILL (the default): SIGKILL itself (a crash, the OOM killer);
- INT / TERM: send SIGINT / SIGTERM to its whole process group, as a terminal's Ctrl-C or a
  job manager would.

"name:N+@ACTION" acts at the N-th hit and every later one. With PGSUITE_FAILPOINT_ONCE=PATH
also set, only the first process to create PATH acts (one worker of a pool, not every retry).
Unset (always, in normal use), a failpoint costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_ENV, _ONCE = "PGSUITE_FAILPOINT", "PGSUITE_FAILPOINT_ONCE"
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    spec, _, action = spec.partition("@")
    target, _, count = spec.rpartition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    every = count.endswith("+")
    due = int(count.rstrip("+"))
    if _hits[name] < due or (_hits[name] > due and not every) or not _first(_hits[name] == due):
        return
    if action in ("", "KILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        os.killpg(os.getpgid(0), {"INT": signal.SIGINT, "TERM": signal.SIGTERM}[action])


def _first(first_hit: bool) -> bool:
    """With PGSUITE_FAILPOINT_ONCE set, whether this process is the one that acts."""
    path = os.environ.get(_ONCE)
    if not path or not first_hit:
        return True
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False
