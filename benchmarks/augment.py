"""What data.augment costs: deforming an epoch of MNIST, and an augmented training epoch.

    python benchmarks/augment.py [--config mnist-augmented] [--epochs 3] [--rounds 2]
    python benchmarks/augment.py --curve [--config mnist-augmented] [--log FILE] [--out M.h5]

Two measurements, on MNIST's 54,000 training pictures and the config's deformations:

1. **Deforming alone**: seconds for `Deformer.epoch` to make one epoch's pictures, in the
   foreground, best of three; beside it, where SciPy is installed, the same kind of
   affine and elastic deformations made the library way, on batches of 1,000 pictures:
   `scipy.ndimage.gaussian_filter` for the displacement fields (every picture's, where
   fcnn makes only those of the pictures drawn for elastic distortion) and
   `map_coordinates` for bilinear resampling.
2. **Training epochs**: the config trained for --epochs epochs with its `data.augment`
   and without it (everything else equal), alternating --rounds times so that both see
   the same machine; the median seconds of the epochs after the first (whose pictures are
   made in the foreground; later ones are made in the background while the previous
   epoch trains), and their ratio.

--curve instead trains the config as it is and prints, after each epoch, the training
time so far (evaluation left out), the validation accuracy and the test accuracy: the
accuracy-vs-time curve. --log writes the same as JSON lines; --out keeps the model.

Results: see benchmarks/README.md, "Augmentation".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.api import load_config, train  # noqa: E402
from fcnn_cli.data.augment import Deformer, upsampled  # noqa: E402
from fcnn_cli.data.augment_spec import AugmentSpec  # noqa: E402
from fcnn_cli.training import EpochRow, Trainer, evaluate, targets  # noqa: E402
from fcnn_cli.ui import QuietReporter  # noqa: E402


def deforming(spec: AugmentSpec, x: np.ndarray) -> float:
    deformer = Deformer(spec, (28, 28))
    up, out = upsampled(x.reshape(-1, 28, 28, 1)), np.empty_like(x)
    times = []
    for epoch in range(3):
        started = time.perf_counter()
        deformer.epoch(up, 1, epoch, out)
        times.append(time.perf_counter() - started)
    return min(times)


def deforming_with_scipy(spec: AugmentSpec, x: np.ndarray, batch: int = 1000) -> float | None:
    """Seconds for all of x with scipy.ndimage on whole batches (None without SciPy): the
    fields by `gaussian_filter`, the pixels by `map_coordinates` (bilinear)."""
    try:
        from scipy import ndimage
    except ImportError:
        return None
    deformer = Deformer(spec, (28, 28))
    rng = np.random.default_rng(1)
    y, x_ = np.mgrid[:28, :28].astype(np.float32) - 13.5
    started = time.perf_counter()
    for start in range(0, len(x), batch):
        pictures = x[start:start + batch].reshape(-1, 28, 28)
        n = len(pictures)
        d = deformer.draw(n, rng)
        cos, sin = np.cos(d.angle)[:, None, None], np.sin(d.angle)[:, None, None]
        scale = d.scale[:, None, None]
        rows = (cos * y - sin * x_) / scale + 13.5 - d.ty[:, None, None]
        cols = (sin * y + cos * x_) / scale + 13.5 - d.tx[:, None, None]
        if spec.elastic is not None:
            e = spec.elastic
            for coords in (rows, cols):
                noise = rng.uniform(-1, 1, (n, 28, 28)).astype(np.float32)
                coords += e.alpha * ndimage.gaussian_filter(noise, (0, e.sigma, e.sigma),
                                                            mode="constant")
        index = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None], rows.shape)
        ndimage.map_coordinates(pictures, [index, rows, cols], order=1, mode="nearest")
    return time.perf_counter() - started


def epoch_seconds(config: str, epochs: int, augment: bool) -> list[float]:
    seconds: list[float] = []
    changes = {"training.epochs": epochs, "training.early_stopping": None,
               "training.checkpoint_every": 0}
    if not augment:
        changes["data.augment"] = None
    with tempfile.TemporaryDirectory() as folder:
        train(config, out=Path(folder) / "m.h5", progress=lambda row: seconds.append(row.seconds),
              **changes)
    return seconds


class Curve(QuietReporter):
    """Prints each epoch's training time so far, validation and test accuracy."""

    def __init__(self, log: Path | None) -> None:
        self.trainer: Trainer | None = None
        self.seconds = 0.0
        self.log = log.open("w") if log else None

    def epoch_end(self, row: EpochRow) -> None:
        assert self.trainer is not None
        t = self.trainer
        self.seconds += row.seconds
        y = targets(t.splits.y_test, t.net.sizes[-1], True, t.net.dtype)
        _, test = evaluate(t.net, t.splits.x_test, y)
        point = {"epoch": row.epoch, "seconds": round(self.seconds, 1),
                 "val_accuracy": row.val_accuracy, "test_accuracy": test}
        print(f"{row.epoch:>4}  {self.seconds:>7.1f} s  val {row.val_accuracy:.2%}  "
              f"test {test:.2%}", flush=True)
        if self.log:
            self.log.write(json.dumps(point) + "\n")
            self.log.flush()


def curve(config_name: str, log: Path | None, out: Path | None) -> None:
    config = load_config(config_name)
    reporter = Curve(log)
    with tempfile.TemporaryDirectory() as folder:
        text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        reporter.trainer = Trainer(config, text, out or Path(folder) / "m.h5", reporter)
        outcome = reporter.trainer.run()
    assert outcome.test is not None
    print(f"trained {reporter.seconds:.0f} s; saved (best on validation, epoch "
          f"{outcome.best_epoch}): test {outcome.test['accuracy']:.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="mnist-augmented")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--curve", action="store_true")
    parser.add_argument("--log", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.curve:
        curve(args.config, args.log, args.out)
        return
    config = load_config(args.config)
    assert config.data.augment is not None, "the config has no data.augment"
    spec = config.data.augment.spec()
    x = config.data.load().x_train.reshape(-1, 784)[:54000]
    print(f"deformations: {spec.describe()}")
    ours = deforming(spec, x)
    print(f"deforming {len(x):,} pictures: {ours:.2f} s")
    scipy = deforming_with_scipy(spec, x)
    if scipy is not None:
        print(f"  with scipy.ndimage, in batches: {scipy:.2f} s ({scipy / ours:.1f}× longer)")
    plain: list[float] = []
    augmented: list[float] = []
    for _ in range(args.rounds):
        plain += epoch_seconds(args.config, args.epochs, augment=False)[1:]
        augmented += epoch_seconds(args.config, args.epochs, augment=True)[1:]
    p, a = statistics.median(plain), statistics.median(augmented)
    print(f"training epoch ({len(plain)} each): plain {p:.2f} s, augmented {a:.2f} s: "
          f"{a / p:.2f}× (first augmented epoch left out: its pictures are made up front)")


if __name__ == "__main__":
    main()
