"""How long the 2-D recipes take, as a user runs them, and the test accuracy they reach.

    python benchmarks/planar.py                          # spiral, 3 runs
    python benchmarks/planar.py --recipes spiral circle gauss moons xor-linear --repeats 1
    python benchmarks/planar.py --seeds 0 1 2 3 4 5      # how steady the accuracy is

Each run is `fcnn train RECIPE --set seed=S --out TMP --quiet` in a fresh process, timed
from start to exit (Python's start-up, imports, drawing the data, training, saving), then
`fcnn eval TMP --json` for the test accuracy. Reported per recipe and seed: the median
wall time with the fastest and slowest run, and the test accuracy (the same in every
repeat: training is deterministic for a given seed and thread count). On a shared 2-core
machine wall times move by ±25 % from run to run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FCNN = [sys.executable, "-m", "fcnn_cli"]


def run(recipe: str, seed: int, out: Path) -> tuple[float, float]:
    """Seconds for `fcnn train`, and the test accuracy of what it saved."""
    start = time.perf_counter()
    subprocess.run([*FCNN, "train", recipe, "--set", f"seed={seed}", "--out", str(out),
                    "--quiet"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    scored = subprocess.run([*FCNN, "eval", str(out), "--json"], check=True, cwd=REPO,
                            capture_output=True, text=True)
    return seconds, json.loads(scored.stdout)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["spiral"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'recipe':12s} {'seed':>4s} {'median s':>9s} {'[min, max]':>15s} {'test acc':>9s}")
    with tempfile.TemporaryDirectory() as folder:
        for recipe in args.recipes:
            for seed in args.seeds:
                runs = [run(recipe, seed, Path(folder) / f"{recipe}.h5")
                        for _ in range(args.repeats)]
                seconds = [s for s, _ in runs]
                print(f"{recipe:12s} {seed:4d} {statistics.median(seconds):9.1f} "
                      f"[{min(seconds):5.1f}, {max(seconds):5.1f}] {runs[-1][1]:9.2%}",
                      flush=True)


if __name__ == "__main__":
    main()
