"""The micro-batcher: concurrent requests in shared forward passes, the same bits as alone,
bounded, cancellation-safe, draining on stop, and never on the event loop."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from fcnn_cli.serving.batcher import MicroBatcher, QueueFull, ShuttingDown, exact_pass_sizes

WAIT = 10.0  # seconds: a liveness bound for anything that should be near-instant


@pytest.fixture(scope="module")
def mnist():
    from fcnn_cli.api import load_model

    return load_model("mnist")


def pixels(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 784)).astype(np.float32)


class Recorder:
    """A forward pass that doubles its rows and records the size of every pass; with
    `gate`, each pass first waits for the gate to open."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.sizes: list[int] = []
        self.seen: list[np.ndarray] = []
        self.gate = gate
        self.entered = threading.Event()

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "the test never opened the gate"
        self.sizes.append(len(rows))
        self.seen.append(rows.copy())
        if np.isnan(rows).any():
            raise ValueError("a NaN reached the network")
        return rows * 2


async def started(forward, max_batch=8, latency_ms=50.0, queue=64, width=3) -> MicroBatcher:
    batcher = MicroBatcher(forward, max_batch, latency_ms, queue,
                           probe=np.arange(width, dtype=np.float32)[None])
    await batcher.start()
    return batcher


async def until(flag: threading.Event) -> None:
    for _ in range(int(WAIT * 1000)):
        if flag.is_set():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the forward pass never started")


def test_concurrent_requests_get_exactly_the_bits_they_get_alone(mnist):
    x = pixels(90)
    sizes = [1, 3, 2, 7, 1, 1, 5, 20, 50]  # the last one spans several passes
    starts = np.cumsum([0] + sizes)

    async def main():
        batcher = await started(mnist.outputs, max_batch=16, latency_ms=20, queue=4096,
                                width=784)
        alone = [await batcher.submit(x[i:i + 1]) for i in range(len(x))]
        together = await asyncio.gather(*(batcher.submit(x[s:s + k])
                                          for s, k in zip(starts, sizes)))
        reversed_order = await asyncio.gather(*(batcher.submit(x[s:s + k])
                                                for s, k in reversed(list(zip(starts, sizes)))))
        await batcher.stop()
        return np.concatenate(alone), np.concatenate(together), \
            np.concatenate(reversed_order[::-1])

    alone, together, reversed_order = asyncio.run(main())
    assert np.array_equal(together, alone)
    assert np.array_equal(reversed_order, alone)
    # and the numbers are the model's (bits may differ from an unpadded pass of other size)
    np.testing.assert_allclose(together, mnist.outputs(x), rtol=0, atol=1e-5)


def test_pass_sizes_avoid_sizes_that_round_differently():
    def forward(rows):  # a "kernel" that rounds differently unless the size is a multiple of 4
        return rows.sum(axis=1, keepdims=True) + (0 if len(rows) % 4 == 0 else 1e-6)

    probe = np.arange(10, dtype=np.float64)[None]
    assert exact_pass_sizes(forward, 16, probe) == [4, 8, 12, 16]
    assert exact_pass_sizes(lambda rows: rows * 2, 5, probe) == [1, 2, 3, 4, 5]


def test_learning_the_pass_sizes_of_a_large_batch_limit_stays_cheap():
    rows_run = []

    def forward(rows):
        rows_run.append(len(rows))
        return rows.sum(axis=1, keepdims=True) + (0 if len(rows) % 4 == 0 else 1e-6)

    sizes = exact_pass_sizes(forward, 4096, np.arange(10, dtype=np.float64)[None])
    assert sizes == list(range(4, 65, 4)) + [128, 256, 512, 1024, 2048, 4096]
    assert sum(rows_run) < 4 * 4096  # not a pass at each of 1,023 multiples of 4


def test_pass_sizes_fall_back_to_one_fixed_size_when_position_matters():
    def forward(rows):  # each row's result depends on where it sits
        return rows + np.arange(len(rows))[:, None] * 1e-6

    assert exact_pass_sizes(forward, 8, np.arange(4, dtype=np.float64)[None]) == [8]


def test_concurrent_single_rows_are_gathered_into_few_passes():
    forward = Recorder()

    async def main():
        batcher = await started(forward, max_batch=8, latency_ms=2000)
        forward.sizes.clear()
        results = await asyncio.gather(*(batcher.submit(np.full((1, 3), i, np.float32))
                                         for i in range(20)))
        await batcher.stop()
        return results

    results = asyncio.run(main())
    assert [float(r[0, 0]) for r in results] == [2.0 * i for i in range(20)]
    assert len(forward.sizes) < 20
    assert max(forward.sizes) <= 8
    assert sum(len(rows) for rows in forward.seen[-len(forward.sizes):]) >= 20


def test_a_lone_request_is_answered_without_waiting_for_a_full_batch():
    async def main():
        batcher = await started(Recorder(), max_batch=64, latency_ms=5)
        result = await asyncio.wait_for(batcher.submit(np.ones((1, 3), np.float32)), WAIT)
        await batcher.stop()
        return result

    assert asyncio.run(main()).tolist() == [[2.0, 2.0, 2.0]]


def test_a_lone_request_does_not_wait_out_the_latency_bound():
    """Once the event loop has handled every request it had ready, no other row can join
    the waiting one sooner than new requests arrive: the pass goes at once."""
    async def main():
        batcher = await started(Recorder(), max_batch=64, latency_ms=600_000)
        result = await asyncio.wait_for(batcher.submit(np.ones((1, 3), np.float32)), WAIT)
        await batcher.stop()
        return result

    assert asyncio.run(main()).tolist() == [[2.0, 2.0, 2.0]]


def test_rows_submitted_in_one_turn_of_the_event_loop_share_one_pass():
    forward = Recorder()

    async def main():
        batcher = await started(forward, max_batch=64, latency_ms=600_000)
        forward.sizes.clear()
        rows = [batcher.submit(np.full((1, 3), i, np.float32)) for i in range(20)]
        await asyncio.wait_for(asyncio.gather(*rows), WAIT)
        await batcher.stop()

    asyncio.run(main())
    assert forward.sizes == [20]


def test_a_full_batch_goes_at_once_without_waiting_for_the_latency_bound():
    async def main():
        batcher = await started(Recorder(), max_batch=2, latency_ms=600_000)
        pair = [batcher.submit(np.ones((1, 3), np.float32)) for _ in range(2)]
        results = await asyncio.wait_for(asyncio.gather(*pair), WAIT)
        await batcher.stop()
        return results

    assert [r.tolist() for r in asyncio.run(main())] == [[[2.0, 2.0, 2.0]]] * 2


def test_rows_beyond_the_queue_limit_are_refused_with_queue_full():
    gate = threading.Event()
    forward = Recorder(gate)

    async def main():
        batcher = await started(Recorder(), max_batch=2, latency_ms=0, queue=4)
        batcher._forward = forward  # learned on the open Recorder; now passes wait at the gate
        first = asyncio.ensure_future(batcher.submit(np.ones((2, 3), np.float32)))
        await until(forward.entered)
        second = asyncio.ensure_future(batcher.submit(np.ones((2, 3), np.float32)))
        await asyncio.sleep(0)
        assert batcher.queued_rows == 4
        with pytest.raises(QueueFull, match="busy") as refused:
            await batcher.submit(np.ones((1, 3), np.float32))
        assert refused.value.retry_after >= 1
        gate.set()
        answers = await asyncio.wait_for(asyncio.gather(first, second), WAIT)
        assert batcher.queued_rows == 0
        # an empty queue takes even a request larger than the limit: never refused forever
        big = await asyncio.wait_for(batcher.submit(np.ones((9, 3), np.float32)), WAIT)
        await batcher.stop()
        return answers, big

    answers, big = asyncio.run(main())
    assert [a.shape for a in answers] == [(2, 3), (2, 3)] and big.shape == (9, 3)
    assert max(forward.sizes) <= 2


def test_a_failing_forward_pass_fails_only_the_request_it_fails_on():
    async def main():
        batcher = await started(Recorder(), max_batch=8, latency_ms=2000)
        bad = np.full((1, 3), np.nan, np.float32)
        requests = [np.full((1, 3), 1, np.float32), bad, np.full((2, 3), 3, np.float32)]
        results = await asyncio.gather(*(batcher.submit(r) for r in requests),
                                       return_exceptions=True)
        after = await batcher.submit(np.full((1, 3), 5, np.float32))
        await batcher.stop()
        return results, after

    (good, error, other), after = asyncio.run(main())
    assert isinstance(error, ValueError) and "NaN reached the network" in str(error)
    assert good.tolist() == [[2.0, 2.0, 2.0]] and other.tolist() == [[6.0, 6.0, 6.0]] * 2
    assert after.tolist() == [[10.0, 10.0, 10.0]]


def test_a_cancelled_request_is_not_computed_and_frees_its_rows():
    gate = threading.Event()
    forward = Recorder(gate)

    async def main():
        batcher = await started(Recorder(), max_batch=2, latency_ms=0)
        batcher._forward = forward
        in_flight = asyncio.ensure_future(batcher.submit(np.full((2, 3), 1, np.float32)))
        await until(forward.entered)
        queued = asyncio.ensure_future(batcher.submit(np.full((2, 3), 7, np.float32)))
        await asyncio.sleep(0)
        queued.cancel()
        in_flight.cancel()  # its pass is running: the result is dropped, nothing breaks
        await asyncio.gather(queued, in_flight, return_exceptions=True)
        gate.set()
        later = await asyncio.wait_for(batcher.submit(np.full((1, 3), 4, np.float32)), WAIT)
        rows_left = batcher.queued_rows
        await batcher.stop()
        return later, rows_left

    later, rows_left = asyncio.run(main())
    assert later.tolist() == [[8.0, 8.0, 8.0]]
    assert rows_left == 0
    assert not any((rows == 7).any() for rows in forward.seen)  # the cancelled rows never ran


def test_stop_answers_every_accepted_request_then_refuses_new_ones():
    gate = threading.Event()
    forward = Recorder(gate)

    async def main():
        batcher = await started(Recorder(), max_batch=2, latency_ms=0)
        batcher._forward = forward
        pending = [asyncio.ensure_future(batcher.submit(np.full((1, 3), i, np.float32)))
                   for i in range(5)]
        await until(forward.entered)
        stopping = asyncio.ensure_future(batcher.stop())
        await asyncio.sleep(0.01)
        assert not stopping.done()  # still draining
        with pytest.raises(ShuttingDown, match="shutting down"):
            await batcher.submit(np.ones((1, 3), np.float32))
        gate.set()
        await asyncio.wait_for(stopping, WAIT)
        assert all(p.done() for p in pending)
        return [p.result()[0, 0] for p in pending]

    assert asyncio.run(main()) == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_the_event_loop_keeps_running_during_a_slow_forward_pass():
    gate = threading.Event()
    forward = Recorder(gate)

    async def main():
        batcher = await started(Recorder(), max_batch=4, latency_ms=0)
        batcher._forward = forward
        answer = asyncio.ensure_future(batcher.submit(np.ones((1, 3), np.float32)))
        await until(forward.entered)  # the pass is running, blocked at the gate
        ticks = 0
        for _ in range(20):  # a blocked loop could never get here
            await asyncio.sleep(0)
            ticks += 1
        gate.set()
        result = await asyncio.wait_for(answer, WAIT)
        await batcher.stop()
        return ticks, result

    ticks, result = asyncio.run(main())
    assert ticks == 20 and result.tolist() == [[2.0, 2.0, 2.0]]


def test_the_forward_pass_runs_on_one_blas_thread_off_the_loop_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen = {}

    def forward(rows):
        seen["threads"] = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                           if i["user_api"] == "blas"]
        seen["thread"] = threading.current_thread().name
        return rows

    async def main():
        batcher = await started(forward, max_batch=4, latency_ms=0)
        await batcher.submit(np.ones((1, 3), np.float32))
        await batcher.stop()

    asyncio.run(main())
    assert set(seen["threads"]) <= {1} and seen["thread"] == "fcnn-batcher"


def test_submit_before_start_is_refused():
    async def main():
        batcher = MicroBatcher(Recorder(), 4, 1.0, 16)
        with pytest.raises(ShuttingDown, match="not started"):
            await batcher.submit(np.ones((1, 3), np.float32))

    asyncio.run(main())
