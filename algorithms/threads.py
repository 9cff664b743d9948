"""One thread per training process, for torch and for numpy's BLAS alike.

Results depend on thread counts (a sum split across threads rounds differently), and a
2-core machine runs its parallel runs as processes. The stacked update (engine.py) does
its matrix products in numpy, whose OpenBLAS would otherwise start a thread per core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits


def pin_one_thread() -> None:
    """For a worker process: one thread from here on."""
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


@contextmanager
def one_thread() -> Iterator[None]:
    """One thread inside the block; the previous settings afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)
