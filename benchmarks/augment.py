"""What data.augment costs: deforming an epoch of MNIST, and an augmented training epoch.

    python benchmarks/augment.py [--config mnist-augmented] [--epochs 3] [--rounds 2]
    python benchmarks/augment.py --curve [--config mnist-augmented] [--log FILE] [--out M.h5]

Two measurements, on MNIST's 54,000 training pictures and the config's deformations:

1. **Deforming alone**: seconds for `Deformer.epoch` to make one epoch's pictures, in the
   foreground on one OpenCV thread (as in training), best of three; beside it, the same
   deformations made the usual OpenCV way, a picture at a time (as albumentations makes
   them): `cv2.warpAffine` for the affine map and, for the pictures drawn for elastic
   distortion, `cv2.GaussianBlur` on two fields of uniform noise (over the same 4σ
   margin) and a second resampling by `cv2.remap`.
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

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.api import load_config, train  # noqa: E402
from fcnn_cli.data.augment import Deformer, Draws  # noqa: E402
from fcnn_cli.data.augment_spec import AugmentSpec  # noqa: E402
from fcnn_cli.training import EpochRow, Trainer, evaluate, targets  # noqa: E402
from fcnn_cli.ui import QuietReporter  # noqa: E402


def deforming(spec: AugmentSpec, x: np.ndarray) -> float:
    deformer, out = Deformer(spec, (28, 28)), np.empty_like(x)
    times = []
    for epoch in range(3):
        started = time.perf_counter()
        deformer.epoch(x, 1, epoch, out)
        times.append(time.perf_counter() - started)
    return min(times)


def deforming_per_picture(spec: AugmentSpec, x: np.ndarray) -> float:
    """Seconds for all of x a picture at a time: `cv2.warpAffine`, then for the pictures
    drawn for elastic distortion two Gaussian-smoothed noise fields and `cv2.remap`."""
    deformer = Deformer(spec, (28, 28))
    d = deformer.draw(len(x), np.random.default_rng(1))
    elastic = d.noise is not None and spec.elastic is not None
    started = time.perf_counter()
    # Each affine map as warpAffine takes it (output pixel → source pixel, x first): the
    # coordinates' steps along x and y and their value at pixel (0, 0).
    qy, qx = deformer.coordinates(Draws(d.ty, d.tx, d.angle, d.shear, d.scale, d.flip))
    maps = np.stack([np.stack([q[:, 0, 1] - q[:, 0, 0], q[:, 1, 0] - q[:, 0, 0], q[:, 0, 0]],
                              axis=1) for q in (qx, qy)], axis=1)
    rng = np.random.default_rng(2)
    grid_y, grid_x = np.mgrid[:28, :28].astype(np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for i, picture in enumerate(x.reshape(-1, 28, 28)):
        out = cv2.warpAffine(picture, maps[i], (28, 28), flags=flags,
                             borderMode=cv2.BORDER_REPLICATE)
        if elastic and d.noise[0, i].any():
            dy, dx = (smoothed_noise(spec.elastic.alpha, spec.elastic.sigma, rng)
                      for _ in range(2))
            out = cv2.remap(out, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    return time.perf_counter() - started


def smoothed_noise(alpha: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Simard's field on 28×28 pixels: uniform noise over a margin of 4σ, smoothed."""
    r = int(4 * sigma + 0.5)
    noise = rng.uniform(-1, 1, (28 + 2 * r, 28 + 2 * r)).astype(np.float32)
    return alpha * cv2.GaussianBlur(noise, (2 * r + 1, 2 * r + 1), sigma)[r:-r, r:-r]


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
    cv2.setNumThreads(1)  # as in training, where BLAS has the cores
    ours = deforming(spec, x)
    print(f"deforming {len(x):,} pictures: {ours:.2f} s")
    one_by_one = deforming_per_picture(spec, x)
    print(f"  a picture at a time with cv2.warpAffine, GaussianBlur and remap: "
          f"{one_by_one:.2f} s ({one_by_one / ours:.1f}× longer)")
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
