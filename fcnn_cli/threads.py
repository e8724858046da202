"""How many threads BLAS (and so every matrix product of training) may use.

Two BLAS threads make a large network train almost twice as fast on a quiet 2-core
machine, but a thread that has to wait for a core already busy with something else
stalls its partner at every product: with any other load on the machine, two threads
can run three to four times slower than one, while one thread is unaffected.  Hence
`training.threads`: unset, a small network (fewer than 2^24 multiply-adds in one
batch's forward pass: 784-128-10 with batches of 64 is 6.5 M) trains on one thread and
a larger one on all cores; set it to 1 on a shared or busy machine.

The limit is set through threadpoolctl, which reaches the BLAS that NumPy loaded at
run time.  It is an optional dependency (the `bench` and `test` extras); without it
the limit cannot be changed once NumPy is loaded, and `blas_threads` says so in the
warning it yields instead of failing: set OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS,
MKL_NUM_THREADS) before starting fcnn to the same effect. Without it an unset
`training.threads` leaves BLAS on all cores, small networks too.
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


# Below this many multiply-adds in one batch's forward pass a network gains little from a
# second thread on an idle machine (784-128-10, batch 64: 1.2×) and loses 2.6–3.9× as soon
# as another process keeps a core busy (benchmarks/README.md, "Threads for small networks");
# from about 784-256-10 with batches of 128 upwards the gain matches the loss.
SMALL_STEP_MACS = 1 << 24


def default_threads(sizes: list[int], batch_size: int, cores: int | None = None) -> int:
    """BLAS threads for training when the config names none: 1 for a small network, else
    every core. One thread also gives a small network the same weights on every machine
    (OpenBLAS rounds differently with more threads)."""
    macs = batch_size * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 1 if macs < SMALL_STEP_MACS else max(1, available_cores() if cores is None else cores)


@contextmanager
def blas_threads(n: int | None, default: int | None = None) -> Iterator[str | None]:
    """Limit BLAS to `n` threads inside the block; with `n` None, to `default` (None: all
    cores) where the limit can be set, silently otherwise.

    Yields None when the limit is in force, or a one-line warning for the user when the
    `n` asked for cannot be set (threadpoolctl missing); training goes on either way.
    """
    if n is not None and n < 1:
        raise FcnnError(f"training.threads must be at least 1, got {n}; "
                        "leave it unset to use all cores")
    threads = n or default or available_cores()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if n is None:  # nothing was asked for: BLAS keeps its own default, all cores
            yield None
            return
        yield (f"cannot limit BLAS to {threads} thread(s): threadpoolctl is not installed; "
               f"pip install threadpoolctl, or set OPENBLAS_NUM_THREADS={threads} "
               "before starting fcnn")
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield None
