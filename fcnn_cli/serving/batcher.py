"""Micro-batching: concurrent requests gathered into one forward pass on one worker thread.

`submit` queues a request's rows and waits; the worker thread takes up to
`max_batch_size` rows from the head of the queue — once that many wait, once the event
loop has handled every request it had ready (more rows would need new requests to
arrive: waiting for them only delays these), or at the latest once the oldest row has
waited `max_latency_ms` — runs one forward pass and hands each request its rows'
outputs. The event loop only queues and wakes: it keeps accepting and parsing
requests while the network runs (NumPy's products release the GIL). A request larger
than `max_batch_size` is split into several passes, so every pass has the same bounded
size. The queue is bounded too: beyond `max_queue_rows` rows waiting, `submit` raises
`QueueFull` (the app answers 503 with `Retry-After`) instead of growing a backlog.

Bit for bit the same outputs, whatever the batch: BLAS computes a row of a product with
kernels chosen by the number of rows, and different kernels round differently (OpenBLAS
0.3 on AVX-512, one thread: a row alone, or in a pass of 2, 3, 5, 6, 7, 9, … rows, differs
in the last bits from the same row in a pass of 4, 8, 12, …; at two threads the sets
differ again). Inside one pass a row's outputs never depend on the other rows. So the
batcher learns, once, at which sizes up to `max_batch_size` a row comes out exactly as it
does in a full pass, and pads every pass up to the next such size with copies of its
first row; with the BLAS thread count fixed for the worker's life, a row's outputs are
then a function of that row alone: a request answered in any company, or alone, gets the
same bits.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]


class QueueFull(Exception):
    """Too many rows wait already: answer 503, and retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ShuttingDown(QueueFull):
    """The batcher is not running (stopping, or not started): it takes no new rows."""


@dataclass(eq=False)
class _Request:
    rows: np.ndarray
    future: asyncio.Future[np.ndarray]
    since: float               # time.monotonic() when queued
    taken: int = 0             # rows handed to a forward pass so far
    done: int = 0              # rows whose outputs are in `out`
    settled: bool = False      # answered, failed or withdrawn: its rows count no more
    out: np.ndarray | None = None


_Slice = tuple[_Request, int, int]  # rows start:stop of a request, in one pass


class MicroBatcher:
    """Gathers concurrent `submit`s into forward passes of at most `max_batch_size` rows,
    run on one dedicated thread with BLAS limited to `blas_threads` threads.

    `probe`: a row (1, features) of realistic inputs to learn the padding from in
    `start()`; without it the first request's first row serves, once. `on_batch(rows)` is
    called from the worker thread after each pass with its number of real rows.
    """

    def __init__(self, forward: Forward, max_batch_size: int, max_latency_ms: float,
                 max_queue_rows: int, *, blas_threads: int | None = 1,
                 probe: np.ndarray | None = None,
                 on_batch: Callable[[int], None] | None = None) -> None:
        if max_batch_size < 1 or max_queue_rows < max_batch_size or max_latency_ms < 0:
            raise ValueError("need max_batch_size >= 1, max_queue_rows >= max_batch_size "
                             "and max_latency_ms >= 0")
        self._forward = forward
        self._max_batch = max_batch_size
        self._max_wait = max_latency_ms / 1000
        self._max_queue = max_queue_rows
        self._blas_threads = blas_threads
        self._probe = probe
        self._on_batch = on_batch
        self._cond = threading.Condition(threading.Lock())  # guards everything below
        self._queue: deque[_Request] = deque()
        self._queued = 0      # rows of accepted requests not yet answered
        self._untaken = 0     # of those, rows not yet in a forward pass
        self._stopping = False
        self._caught_up = False  # the event loop has handled every request it had ready
        self._checking = False   # a check of that is scheduled on the event loop
        self._sizes: list[int] | None = None  # pass sizes that give a full pass's bits
        self._row_seconds = 0.0  # recent forward time per row, for Retry-After
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exited: asyncio.Future[None] | None = None
        self._calibrated: asyncio.Future[None] | None = None
        self.warning: str | None = None  # why BLAS threads could not be limited, if so

    @property
    def queued_rows(self) -> int:
        """Rows accepted and not yet answered (the queue-depth gauge)."""
        return self._queued

    @property
    def pass_sizes(self) -> list[int] | None:
        """The sizes forward passes run at (rows padded up to the next); None until learned."""
        return None if self._sizes is None else list(self._sizes)

    async def start(self) -> None:
        """Start the worker thread; with a `probe`, return once the padding is learned."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._exited = self._loop.create_future()
        self._calibrated = self._loop.create_future()
        self._thread = threading.Thread(target=self._work, name="fcnn-batcher", daemon=True)
        self._thread.start()
        if self._probe is not None:
            await self._calibrated

    async def stop(self) -> None:
        """Refuse new requests, answer every accepted one, then end the worker thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._exited is not None:
            await self._exited

    async def submit(self, rows: np.ndarray) -> np.ndarray:
        """The outputs of `rows` (N, features), computed in a shared forward pass.
        Raises QueueFull (or ShuttingDown) when it cannot take them now, and the forward
        pass's own exception when that fails on these rows."""
        if rows.ndim != 2:
            raise ValueError(f"rows must be (N, features), got shape {rows.shape}")
        loop = asyncio.get_running_loop()
        request = _Request(rows, loop.create_future(), time.monotonic())
        with self._cond:
            self._admit(request)
            check, self._checking = not self._checking, True
        if check:
            loop.call_soon(self._loop_caught_up)
        try:
            return await request.future
        except asyncio.CancelledError:  # the client went away: its rows are not computed
            self._settle(request)
            raise

    def _admit(self, request: _Request) -> None:
        if self._stopping or self._thread is None:
            state = "is shutting down" if self._stopping else "has not started yet"
            raise ShuttingDown(f"the server {state}; retry shortly", retry_after=1)
        n = len(request.rows)
        # an empty queue takes any request, so that a big one is never refused forever
        if self._queued and self._queued + n > self._max_queue:
            wait = max(1, math.ceil(self._queued * self._row_seconds))
            raise QueueFull(f"the server is busy ({self._queued} rows waiting, at most "
                            f"{self._max_queue}); retry in {wait} s", retry_after=wait)
        self._queue.append(request)
        self._queued += n
        self._untaken += n
        # wake the worker only when it has something new to do: a first row to wait on,
        # or a full batch; each wake-up costs both threads a turn at the GIL
        if self._untaken == n or self._untaken - n < self._max_batch <= self._untaken:
            self._cond.notify()

    def _loop_caught_up(self) -> None:
        """On the event loop, after the requests it had ready when a row came: no row can
        join the waiting ones sooner than the next requests arrive, so the worker need
        not wait out `max_latency_ms` for them (it would only delay the pass)."""
        with self._cond:
            self._checking = False
            if self._untaken:
                self._caught_up = True
                self._cond.notify()

    def _settle(self, request: _Request) -> bool:
        """Mark `request` answered (or withdrawn) once; False if it was already."""
        with self._cond:
            if request.settled:
                return False
            request.settled = True
            self._queued -= len(request.rows)
            self._untaken -= len(request.rows) - request.taken
            return True

    # --- the worker thread ---------------------------------------------------------

    def _work(self) -> None:
        try:
            with self._blas_limit():
                if self._probe is not None and not self._learn(self._probe, announce=True):
                    with self._cond:  # start() raises the probe's error: take nothing
                        self._stopping = True
                    return
                while (batch := self._gather()) is not None:
                    try:
                        self._run(batch)
                    except Exception as error:  # a bug: fail these requests, keep serving
                        for request, _, _ in batch:
                            self._fail(request, error)
        finally:
            self._call(_resolve, self._exited, None, None)

    @contextmanager
    def _blas_limit(self) -> Iterator[None]:
        if self._blas_threads is None:
            yield
            return
        from fcnn_cli.threads import blas_threads

        with blas_threads(self._blas_threads) as warning:
            self.warning = warning
            yield

    def _gather(self) -> list[_Slice] | None:
        """Wait for rows, then for a full batch or the oldest row's deadline; take them.
        None once stopping with nothing left."""
        with self._cond:
            while True:
                while self._queue and self._queue[0].settled:
                    self._queue.popleft()
                if self._queue:
                    deadline = self._queue[0].since + self._max_wait
                    while self._untaken < self._max_batch and not self._stopping \
                            and not self._caught_up:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    self._caught_up = False
                    batch = self._take()
                    if batch:
                        return batch
                elif self._stopping:
                    return None
                else:
                    self._cond.wait()

    def _take(self) -> list[_Slice]:
        batch: list[_Slice] = []
        room = self._max_batch
        while self._queue and room:
            request = self._queue[0]
            if request.settled:
                self._queue.popleft()
                continue
            k = min(room, len(request.rows) - request.taken)
            batch.append((request, request.taken, request.taken + k))
            request.taken += k
            self._untaken -= k
            room -= k
            if request.taken == len(request.rows):
                self._queue.popleft()
        return batch

    def _run(self, batch: list[_Slice]) -> None:
        """One pass for the batch; if it raises, each request again alone, so that a
        request the network fails on fails only itself."""
        try:
            outputs = self._pass([r.rows[a:b] for r, a, b in batch])
        except Exception as error:
            if len({id(r) for r, _, _ in batch}) == 1:
                for request, _, _ in batch:
                    self._fail(request, error)
                return
            for piece in batch:
                self._run([piece])
            return
        answers = [answer for (request, a, b), out in zip(batch, outputs)
                   if (answer := self._deliver(request, a, b, out)) is not None]
        if answers:  # one wake-up of the event loop for the whole batch
            self._call(_resolve_all, answers)
        if self._on_batch is not None:
            self._on_batch(sum(b - a for _, a, b in batch))

    def _pass(self, pieces: list[np.ndarray]) -> list[np.ndarray]:
        rows = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
        n = len(rows)
        if n == 0:
            out = self._forward(rows)
        else:
            if self._sizes is None:
                self._learn(rows[:1], announce=False)
            size = next(s for s in self._sizes if s >= n)  # type: ignore[union-attr]
            if size > n:  # copies of a real row: valid input for any forward
                rows = np.concatenate([rows, np.repeat(rows[:1], size - n, axis=0)])
            started = time.perf_counter()
            out = self._forward(rows)[:n]
            self._row_seconds = (time.perf_counter() - started) / n
        bounds = np.cumsum([0] + [len(p) for p in pieces])
        return [out[bounds[i]:bounds[i + 1]] for i in range(len(pieces))]

    def _learn(self, row: np.ndarray, announce: bool) -> bool:
        """Learn the pass sizes from `row`. With `announce`, start() is told the outcome
        and a failure returns False; without, a failure raises."""
        try:
            sizes = exact_pass_sizes(self._forward, self._max_batch, row)
        except Exception as error:
            if not announce:
                raise
            self._call(_resolve, self._calibrated, None, error)
            return False
        self._sizes = sizes
        if announce:
            self._call(_resolve, self._calibrated, None, None)
        return True

    def _deliver(self, request: _Request, a: int, b: int, out: np.ndarray
                 ) -> tuple[asyncio.Future, np.ndarray] | None:
        """Keep rows a:b's outputs; the future and its answer once the request is whole."""
        if request.out is None:
            if a == 0 and b == len(request.rows):  # the whole request in one pass
                request.out = out
            else:
                request.out = np.empty((len(request.rows),) + out.shape[1:], out.dtype)
        if request.out is not out:
            request.out[a:b] = out
        request.done += b - a
        if request.done == len(request.rows) and self._settle(request):
            return request.future, request.out
        return None

    def _fail(self, request: _Request, error: BaseException) -> None:
        if self._settle(request):
            self._call(_resolve, request.future, None, error)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        """Run fn(*args) on the event loop; nothing if the loop is already closed."""
        try:
            self._loop.call_soon_threadsafe(fn, *args)  # type: ignore[union-attr]
        except RuntimeError:
            pass


PROBE_ROWS = 32  # rows compared at each size: one differing kernel shows on several
DENSE_ROWS = 64  # every multiple of the unit up to here, doubling beyond: learning stays
#                  quick for a large max_batch_size, and padding wastes less than half a pass


def exact_pass_sizes(forward: Forward, max_batch: int, row: np.ndarray) -> list[int]:
    """The pass sizes ≤ `max_batch` at which `forward` gives every row exactly the bits it
    gets in a full pass of `max_batch` rows: the multiples of the smallest unit (1, 2, 4,
    …) for which that holds (every one up to DENSE_ROWS, then doubling), and `max_batch`
    itself. A kernel that rounds differently leaves most rows' bits unchanged, so each size
    is tried on PROBE_ROWS distinct rows (permutations of `row`'s values: inputs in its
    own units and range)."""
    probes = _probes(row.reshape(1, -1), max_batch)
    full = forward(probes)
    if not np.array_equal(forward(probes[::-1])[::-1], full):
        return [max_batch]  # a row depends on its position even at the full size
    checked = min(PROBE_ROWS, max_batch)
    unit = 1
    while unit < max_batch:
        sizes = _candidates(unit, max_batch)
        if all(_exact_at(forward, probes[:checked], full[:checked], n) for n in sizes):
            return sizes + [max_batch]
        unit *= 2
    return [max_batch]


def _candidates(unit: int, max_batch: int) -> list[int]:
    """Multiples of `unit` below `max_batch`: each one up to DENSE_ROWS, then doublings."""
    sizes = list(range(unit, min(max_batch, max(DENSE_ROWS, unit) + 1), unit))
    while sizes and sizes[-1] * 2 < max_batch:
        sizes.append(sizes[-1] * 2)
    return [n for n in sizes if n < max_batch]


def _exact_at(forward: Forward, probes: np.ndarray, full: np.ndarray, n: int) -> bool:
    for start in range(0, len(probes), n):
        rows = probes[start:start + n]
        k = len(rows)
        if k < n:
            rows = np.concatenate([rows, np.repeat(rows[:1], n - k, axis=0)])
        if not np.array_equal(forward(rows)[:k], full[start:start + k]):
            return False
    return True


def _probes(row: np.ndarray, count: int) -> np.ndarray:
    """`row` and count − 1 distinct rows like it, always the same ones."""
    rng = np.random.default_rng(0)
    if len(np.unique(row)) > 1:
        others = [rng.permutation(row[0]) for _ in range(count - 1)]
    else:  # a constant row (zeros, say): nearby values instead
        others = [row[0] + rng.uniform(0, 1, row.shape[1]).astype(row.dtype)
                  for _ in range(count - 1)]
    return np.concatenate([row, np.array(others, dtype=row.dtype).reshape(-1, row.shape[1])])


def _resolve_all(answers: list[tuple[asyncio.Future, np.ndarray]]) -> None:
    for future, value in answers:
        if not future.done():
            future.set_result(value)


def _resolve(future: asyncio.Future | None, value: object, error: BaseException | None
             ) -> None:
    if future is None or future.done():  # cancelled meanwhile: nobody waits
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
