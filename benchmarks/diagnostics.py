"""What recording the per-layer diagnostics costs a training epoch.

    python benchmarks/diagnostics.py                       # the mnist recipe, 1 epoch, 5 turns
    python benchmarks/diagnostics.py --epochs 2 --repeats 7 --threads 1
    python benchmarks/diagnostics.py --recipe digits --repeats 1      # a smoke run

Trains the recipe with diagnostics on and off in turns (on, off, off, on, on, off, ...: each
arm goes first as often), on the same data loaded once, and reports for each epoch:
- its wall time from start to the end of validation, diagnostics included, as medians
  of each arm and their ratio (on a shared machine this difference is within the noise);
- the time the diagnostics themselves took in the "on" runs (the probe batch's forward
  and backward pass, the update ratios, and the copy of the weights before each epoch's
  last batch), timed around those calls, as a share of the same epochs' wall time: the
  precise figure.
Only ratios measured in one run, in turns, mean anything: absolute times move by ±25 %
on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.config import load_config  # noqa: E402
from fcnn_cli.training import EpochRow, Trainer  # noqa: E402
from fcnn_cli.ui import QuietReporter  # noqa: E402


class Clock(QuietReporter):
    """Each epoch's wall time, from its start to the end of its validation."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.started = 0.0

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        self.started = time.perf_counter()

    def epoch_end(self, row: EpochRow) -> None:
        self.seconds.append(time.perf_counter() - self.started)


class TimedTrainer(Trainer):
    """A Trainer that adds up the time its diagnostics take: the measurement after each
    epoch, and the copy of the weights that `on_batch` makes before the last batch."""

    spent = 0.0

    def _diagnose(self, *args: Any) -> None:
        start = time.perf_counter()
        super()._diagnose(*args)
        self.spent += time.perf_counter() - start

    def _weights(self) -> list[Any]:
        start = time.perf_counter()
        copies = super()._weights()
        self.spent += time.perf_counter() - start
        return copies


def run(recipe: str, epochs: int, threads: int | None, diagnostics: bool, dataset: Any,
        folder: Path) -> tuple[list[float], float]:
    settings = [f"training.epochs={epochs}", "training.checkpoint_every=0"]
    if threads:
        settings.append(f"training.threads={threads}")
    config = load_config(recipe, settings)
    clock = Clock()
    trainer = TimedTrainer(config, "", folder / "m.h5", clock, dataset=dataset,
                           diagnostics=diagnostics)
    trainer.run()
    return clock.seconds, trainer.spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5, help="turns of each arm")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads")
    args = parser.parse_args()

    config = load_config(args.recipe)
    dataset = config.data.load()
    on: list[float] = []
    off: list[float] = []
    spent: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        run(args.recipe, 1, args.threads, True, dataset, Path(folder))  # warm-up, untimed
        for turn in range(args.repeats):
            for diagnostics in (True, False) if turn % 2 == 0 else (False, True):
                gc.collect()  # the last run's arrays freed now, not during this one
                seconds, used = run(args.recipe, args.epochs, args.threads, diagnostics,
                                    dataset, Path(folder))
                (on if diagnostics else off).extend(seconds)
                if diagnostics:
                    spent.append(used / sum(seconds))
    a, b = statistics.median(on), statistics.median(off)
    print(f"{args.recipe}: {args.repeats} turns of {args.epochs} epoch(s) each arm, "
          f"threads {args.threads or 'default'}")
    print(f"epoch wall time, median: diagnostics on {a:.3f} s, off {b:.3f} s, "
          f"ratio {a / b:.4f} ({(a / b - 1):+.2%})")
    print(f"diagnostics' own time, timed around the calls: median {statistics.median(spent):.2%}"
          f" of the epoch (lowest {min(spent):.2%}, highest {max(spent):.2%})")


if __name__ == "__main__":
    main()
