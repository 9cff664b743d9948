"""Failpoints for crash testing: with PGSUITE_FAILPOINT="name:N" set, the process kills
itself with SIGKILL the N-th time it reaches the point called `name`. Unset (always, in
normal use), a failpoint costs one dict lookup."""

from __future__ import annotations

import os
import signal

_ENV = "PGSUITE_FAILPOINT"
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    spec = os.environ.get(_ENV)
    if not spec:
        return
    target, _, count = spec.rpartition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(count):
        os.kill(os.getpid(), signal.SIGKILL)
