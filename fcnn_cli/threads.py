"""How many threads BLAS (and so every matrix product of training) may use.

Two BLAS threads make a large network train almost twice as fast on a quiet 2-core
machine, but a thread that has to wait for a core already busy with something else
stalls its partner at every product: with any other load on the machine, two threads
can run three to four times slower than one, while one thread is unaffected.  Hence
`training.threads`: leave it unset (all cores) on a machine of your own, set it to 1
on a shared or busy one.

The limit is set through threadpoolctl, which reaches the BLAS that NumPy loaded at
run time.  It is an optional dependency (the `bench` and `test` extras); without it
the limit cannot be changed once NumPy is loaded, and `blas_threads` says so in the
warning it yields instead of failing: set OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS,
MKL_NUM_THREADS) before starting fcnn to the same effect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from fcnn_cli.errors import FcnnError


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def blas_threads(n: int | None) -> Iterator[str | None]:
    """Limit BLAS to `n` threads inside the block (None: all cores).

    Yields None when the limit is in force, or a one-line warning for the user when it
    cannot be set (threadpoolctl missing); training goes on either way.
    """
    if n is not None and n < 1:
        raise FcnnError(f"training.threads must be at least 1, got {n}; "
                        "leave it unset to use all cores")
    threads = available_cores() if n is None else n
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if n is None:  # nothing was asked for: BLAS's own default is all cores anyway
            yield None
            return
        yield (f"cannot limit BLAS to {threads} thread(s): threadpoolctl is not installed; "
               f"pip install threadpoolctl, or set OPENBLAS_NUM_THREADS={threads} "
               "before starting fcnn")
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield None
