"""How long `fcnn --help` and `fcnn predict MODEL IMAGE` take from start to finish.

Each command is run as a fresh process several times and the median wall time is
printed next to `python -c pass`, the interpreter's own start-up, measured in the
same run (machines here are noisy, so compare within one run only).

    python benchmarks/startup.py [--model models/mnist.h5] [--image examples/images/...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall_time(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "mnist.h5"))
    parser.add_argument("--image", default=None, help="default: the first PNG in examples/images")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    image = args.image or str(sorted((ROOT / "examples" / "images").glob("*.png"))[0])
    fcnn = [sys.executable, "-m", "fcnn_cli"]
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("fcnn --help", [*fcnn, "--help"]),
        ("fcnn predict MODEL IMAGE", [*fcnn, "predict", args.model, image]),
    ]
    baseline = None
    print(f"{'command':<28} {'median s':>9} {'× python':>9}")
    for name, command in rows:
        seconds = wall_time(command, args.repeats)
        baseline = baseline or seconds
        print(f"{name:<28} {seconds:>9.3f} {seconds / baseline:>9.1f}")


if __name__ == "__main__":
    main()
