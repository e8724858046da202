"""Where one training epoch's time goes: GEMMs against every elementwise pass.

    python benchmarks/profile_epoch.py                    # workload B, 1 and 2 threads
    python benchmarks/profile_epoch.py --workload A --threads 1 2 4
    python benchmarks/profile_epoch.py --numpy-only       # without the folded updates
    python benchmarks/profile_epoch.py --synthetic --train 5000   # a smoke run

Runs one epoch of a `compare.py` workload through fcnn's fast runner with every NumPy
call it makes (and every BLAS call through `fcnn_cli.nn.blas`) timed, grouped by the pass
it belongs to: the function that made the call and the operation (`forward: matmul`,
`_relu_forward: multiply`, `apply: add`, ...). Prints the seconds and share of each group,
GEMM against the rest, and the epoch's time without the timers in the same run (the
timers add a microsecond or two per call). The passes are those of the current code:
run it before and after a change to see what the change did.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import compare  # noqa: E402

from fcnn_cli.nn import SGD, fast  # noqa: E402
from fcnn_cli.nn.fast import EpochRunner  # noqa: E402
from fcnn_cli.threads import blas_threads  # noqa: E402

GEMM = {"matmul", "dot", "gemm"}


class Timed:
    """Stands in for a module, or one of its functions: each call is timed, keyed by the
    calling function's name and its own (`np.maximum.reduce` as `maximum.reduce`)."""

    def __init__(self, target: Any, seconds: dict[str, float], name: str = "") -> None:
        self._target, self._seconds, self._name = target, seconds, name

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._target, attribute)
        if not callable(found) or isinstance(found, type):
            return found
        name = f"{self._name}.{attribute}" if self._name else attribute
        return Timed(found, self._seconds, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_name
        start = time.perf_counter()
        result = self._target(*args, **kwargs)
        self._seconds[f"{caller}: {self._name}"] += time.perf_counter() - start
        return result


def epoch(w: compare.Workload, data: compare.Data, threads: int) -> float:
    net = compare.fcnn_network(w, 0)
    with blas_threads(threads):
        runner = EpochRunner(net, SGD(w.lr, w.momentum), w.batch)
        start = time.perf_counter()
        runner.run(data.fcnn_inputs, data.onehot, np.random.default_rng(0).permutation(len(data.x)))
        return time.perf_counter() - start


def profiled(w: compare.Workload, data: compare.Data, threads: int
             ) -> tuple[float, dict[str, float]]:
    seconds: dict[str, float] = defaultdict(float)
    patched: list[tuple[Any, str, Any]] = [(fast, "np", fast.np)]
    blas = getattr(fast, "blas", None)
    if blas is not None:
        patched.append((fast, "blas", blas))
    for module, name, original in patched:
        setattr(module, name, Timed(original, seconds))
    try:
        total = epoch(w, data, threads)
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
    return total, dict(seconds)


def report(label: str, plain: float, total: float, seconds: dict[str, float],
           say: Callable[[str], None] = print) -> None:
    gemm = sum(s for key, s in seconds.items() if key.split(": ")[1] in GEMM)
    other = sum(seconds.values()) - gemm
    say(f"\n{label}: epoch {plain:.2f} s untimed, {total:.2f} s timed; GEMM {gemm:.2f} s "
        f"({100 * gemm / total:.0f} %), elementwise and the rest {other:.2f} s "
        f"({100 * other / total:.0f} %), Python between calls "
        f"{total - gemm - other:.2f} s")
    say(f"  {'pass':<44} {'seconds':>8} {'share':>6}")
    for key, s in sorted(seconds.items(), key=lambda item: -item[1]):
        if s >= 0.005 * total:
            say(f"  {key:<44} {s:>8.3f} {100 * s / total:>5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="B", choices=sorted(compare.WORKLOADS))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data")
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--train", type=int)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--numpy-only", action="store_true",
                        help="leave out fcnn_cli.nn.blas: every product through NumPy, the "
                             "optimiser steps as separate passes (fcnn 0.4.0's way)")
    args = parser.parse_args()
    if args.numpy_only:
        fast.blas.gemm = None
    data = compare.get_data(args)
    w = compare.WORKLOADS[args.workload]
    print(f"workload {w.name}: {'-'.join(map(str, w.sizes))}, batch {w.batch}, "
          f"momentum {w.momentum}; {len(data.x):,} examples of {data.source}")
    for threads in args.threads:
        epoch(w, data, threads)  # warm-up: buffers, pages, BLAS threads
        plain = epoch(w, data, threads)
        total, seconds = profiled(w, data, threads)
        report(f"{threads} thread{'s' * (threads != 1)}", plain, total, seconds)


if __name__ == "__main__":
    main()
