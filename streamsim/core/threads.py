"""Threads for BLAS-bound work: matrix products spread over Python threads, BLAS on one each.

Inside an epoch BLAS runs single-threaded (BLAS threads spinning beside numba's slow both down),
so a long series of products, such as scoring every track against every other for radio, would
use one core. `in_threads` gives each of numba's threads its own share of the products instead:
BLAS releases the GIL, and so do the serial numba kernels that consume the products. Each task
writes only its own part of the output, so results do not depend on the thread count.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

import numba as nb
from threadpoolctl import ThreadpoolController


@functools.cache
def blas() -> ThreadpoolController:
    """The process's thread pools, found once: looking them up scans the loaded libraries."""
    return ThreadpoolController()


def in_threads(task: Callable[[object], None], items: Iterable) -> None:
    """Run ``task(item)`` for every item on numba's thread count of threads, BLAS on one each.

    Tasks must be independent: each writes its own part of the output. Exceptions propagate.
    """
    items = list(items)
    n = min(nb.get_num_threads(), len(items))
    if n <= 1:
        for item in items:
            task(item)
        return
    with blas().limit(limits=1, user_api="blas"):
        for _ in _pool(n).map(task, items):
            pass


@functools.cache
def _pool(n: int) -> ThreadPoolExecutor:
    """One pool of n threads for the process: starting threads for every call costs more than
    a small product."""
    return ThreadPoolExecutor(n, thread_name_prefix="streamsim")


# A forked child has the pool object but not its threads: it must start its own.
os.register_at_fork(after_in_child=_pool.cache_clear)
