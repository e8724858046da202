"""How many updates a second the playground's engine makes with no rate cap.

    python benchmarks/playground.py                      # 5 s runs, 3 turns each
    python benchmarks/playground.py --seconds 1 --repeats 1    # a smoke run

An update is what the page sees move: one epoch of the real Trainer on the circle data
(500 points, half of them for training, batches of 10) plus its frame (the snapshot, the
test split's loss and accuracy, the 96×96 boundary, a 32×32 picture of every unit, the
weights and diagnostics). Each run plays one session for `--seconds` at no cap
(`max_rate=0`) and counts the frames published; the networks take turns (A, B, A, B, ...)
and the table gives each one's median, with the share of each update spent on the frame
and the size of one frame as JSON. On a shared machine only figures from one run, taken
in turns, compare.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.serving.playground import session as engine  # noqa: E402
from fcnn_cli.serving.playground.state import PlaygroundState  # noqa: E402
from fcnn_cli.threads import available_cores  # noqa: E402

NETWORKS = {"2-8-8-1": "layers=8,8", "2-16-16-16-1": "layers=16,16,16"}
BASE = "dataset=circle&output=sigmoid&"


class FrameClock:
    """Time spent building frames (the snapshot and pictures), over all sessions."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.lock = threading.Lock()
        publish = engine.Session._publish_epoch

        def timed(session: engine.Session, run: object, row: object) -> None:
            started = time.perf_counter()
            publish(session, run, row)  # type: ignore[arg-type]
            with self.lock:
                self.seconds += time.perf_counter() - started

        engine.Session._publish_epoch = timed  # type: ignore[method-assign]

    def take(self) -> float:
        with self.lock:
            seconds, self.seconds = self.seconds, 0.0
        return seconds


def one_run(query: str, seconds: float, clock: FrameClock) -> tuple[float, float, int]:
    """Updates a second, the share of time in frames, one frame's JSON bytes."""
    state = PlaygroundState.from_query_string(BASE + query, {})
    with tempfile.TemporaryDirectory() as work:
        session = engine.Session(state, {}, Path(work), max_rate=0)
        try:
            session.play()
            session.wait(session.version, 10)          # the first epoch under way
            clock.take()
            first, started = session.frame()["epoch"], time.perf_counter()
            time.sleep(seconds)
            last, elapsed = session.frame()["epoch"], time.perf_counter() - started
            in_frames = clock.take()
            session.pause()
            size = len(json.dumps(session.frame()))
        finally:
            session.close()
    return (last - first) / elapsed, in_frames / elapsed, size


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {available_cores()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each network")
    args = parser.parse_args()
    clock = FrameClock()
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in NETWORKS}
    for _ in range(args.repeats):
        for name, query in NETWORKS.items():   # in turns: A, B, A, B, ...
            results[name].append(one_run(query, args.seconds, clock))
    print("# fcnn playground engine, no rate cap: circle, 500 points (250 train), batch 10")
    print(f"# {machine()}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"median of {args.repeats} run(s) of {args.seconds:g} s, networks in turns")
    print("| network | updates/s | ms per update | of which frame | frame JSON |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in results.items():
        rate = statistics.median(r[0] for r in runs)
        share = statistics.median(r[1] for r in runs)
        size = statistics.median(r[2] for r in runs)
        print(f"| {name} | {rate:.0f} | {1000 / rate:.1f} | {share:.0%} | "
              f"{size / 1024:.0f} KB |")


if __name__ == "__main__":
    main()
