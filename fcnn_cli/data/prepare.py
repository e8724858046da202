"""Many picture files → model inputs, on a pool of worker processes, in order.

Training on an image folder and `fcnn predict` on one share this: the files are cut
into chunks of a size that depends on their number alone (never on the number of
workers, so the results are the same, bit for bit, with one worker or many), each
chunk is prepared in a worker, and the chunks come back in order, a few ahead of the
consumer, so memory stays bounded however many files there are.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError

from .image_spec import ImageSpec

if TYPE_CHECKING:
    from concurrent.futures import Future

IMAGE_CHUNK = 16, 256  # pictures per task: about an eighth of the run, within these bounds
PARALLEL_FROM = 64     # fewer pictures than this are not worth starting workers


@dataclass
class Prepared:
    """A chunk of prepared pictures: row i is file i's picture, flattened."""

    pixels: np.ndarray        # (n, H·W·channels) float32, 0..pixel_max
    looked_empty: np.ndarray  # (n,) bool: no ink found (its row is zeros)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (row, why): skipped files


def prepare_files(paths: Sequence[str | Path], spec: ImageSpec | tuple[int, ...],
                  pixel_max: float, skip_unreadable: bool = False) -> Prepared:
    """Prepare each file as `load_image(path, spec, pixel_max)` does (row i is its pixels,
    flattened). The first unreadable file raises its FcnnError, or with `skip_unreadable`
    is listed in `failed` (its row left zero)."""
    from .images import load_images  # Pillow: only where pictures are read

    shape = spec.shape if isinstance(spec, ImageSpec) else spec
    pixels = np.zeros((len(paths), math.prod(shape)), np.float32)
    looked_empty = np.zeros(len(paths), bool)
    failed = []
    for row, prepared in enumerate(load_images(paths, spec, pixel_max)):
        if isinstance(prepared, FcnnError):
            if not skip_unreadable:
                raise prepared
            failed.append((row, prepared.message))
            continue
        pixels[row] = prepared.pixels.reshape(-1)
        looked_empty[row] = prepared.looked_empty
    return Prepared(pixels, looked_empty, failed)


def chunk_size(count: int) -> int:
    """Pictures per chunk in a run of `count`: about an eighth of it, so that workers
    share the run evenly, within IMAGE_CHUNK."""
    low, high = IMAGE_CHUNK
    return min(high, max(low, -(-count // 8)))


def iter_prepared(files: Sequence[str | Path], spec: ImageSpec, pixel_max: float,
                  workers: int | None = None, skip_unreadable: bool = False
                  ) -> Iterator[tuple[slice, Prepared]]:
    """(which files, their Prepared chunk) for consecutive chunks of `files`, in order;
    runs of PARALLEL_FROM files or more go to `workers` processes (default: all cores)."""
    size = chunk_size(len(files))
    chunks = [slice(start, min(start + size, len(files))) for start in range(0, len(files), size)]
    workers = min(workers or _cores(), len(chunks))
    if workers <= 1 or len(files) < PARALLEL_FROM:
        for part in chunks:
            yield part, prepare_files(files[part], spec, pixel_max, skip_unreadable)
        return
    from concurrent.futures import ProcessPoolExecutor  # only for many pictures

    # loaded here, before forking, so that the workers inherit it set up: none pays for the
    # import, and none sets OpenCV's threads after a fork (which hangs now and then where
    # this process has used them)
    from . import images  # noqa: F401

    _keep_freed_memory()  # (here too: each chunk comes in, and is run, in arrays of its size)
    pool = ProcessPoolExecutor(workers, mp_context=_fork_context(), initializer=_worker_start)
    try:
        pending: deque[tuple[slice, Future[Prepared]]] = deque()
        ahead = 2 * workers  # prepared chunks waiting at most: memory stays bounded
        for part in chunks:
            pending.append((part, pool.submit(prepare_files, files[part], spec, pixel_max,
                                              skip_unreadable)))
            if len(pending) >= ahead:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start() -> None:
    """Workers leave Ctrl-C to the main process, which stops them and reports once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_freed_memory()


# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """Let this process's C library keep the memory it frees, up to 64 MB, for the next
    allocation. glibc otherwise hands free blocks past 128 KB back to the kernel and
    faults them in again: a worker allocates and frees arrays of a picture's size
    thousands of times a second, 50-90 page faults a picture. Nothing elsewhere (macOS,
    Windows, other C libraries, where the call is missing or does nothing)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _fork_context():  # type: ignore[no-untyped-def]
    """fork where the platform has it: workers start at once, with the modules loaded."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _cores() -> int:
    from fcnn_cli.threads import available_cores

    return available_cores()
