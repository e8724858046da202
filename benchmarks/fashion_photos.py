"""How well a Fashion-MNIST model reads product photos, pipeline by pipeline.

    python benchmarks/fashion_photos.py --model models/fashion-mnist.h5 [--n 1000]
        [--seed 0] [--keep DIR]

A model trained on Fashion-MNIST's 28×28 arrays meets, in use, photos: a dark garment on
a white or off-white background, hundreds of pixels wide, off-centre, JPEG-compressed.
This renders the first N test images that way (inverted to dark on light, enlarged ×6 to
×12 with LANCZOS, white margins of a different width on each side so that the object is
off-centre and the aspect ratio varies, sometimes a slight colour tint, mild noise, JPEG
quality 85), and compares, for the pipeline the model stored and for each pipeline forced
in its place (same size and channels):

- photos: accuracy on the photo files, through `model.predict(paths)`;
- IDX files: accuracy on the same test images saved as they are (28×28 PNG, light on
  black), also through the pipeline: what the pipeline costs on pictures it was made for;
- IDX arrays: accuracy on the raw arrays, no pipeline: the ceiling, the same in every row.

Everything comes from one seed; the files go to a temporary folder (or --keep DIR, to
look at them). Fashion-MNIST is found as `fcnn` finds it (on Debian: `apt-get install
dataset-fashion-mnist`).

Results (N = 1000, seed 0), for the `fashion-mnist` recipe's model (15 epochs, 88.97 % on
the whole test set), on a two-core CPU in 25 s:

    pipeline                           photos  IDX files  IDX arrays
    as loaded: object, 28×28 gray      88.80%     87.10%      89.80%
    forced: digit, 28×28 gray          39.20%     40.40%      89.80%
    forced: object, 28×28 gray         88.80%     87.10%      89.80%
    forced: resize (pad), 28×28 gray    9.60%     89.80%      89.80%

The object pipeline reads the photos within one point of the ceiling. The digit pipeline
falls to about 40 % on both kinds of file: it shrinks the garment into a 20 px box placed
by its centre of mass, as MNIST placed digits, where Fashion-MNIST's garments fill the
frame edge to edge. Resize is exact on the IDX files (28×28 already) but keeps a light
background light, so to the model every photo is a negative: chance level.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fcnn_cli.api import load_model  # noqa: E402
from fcnn_cli.data.image_spec import PIPELINES, ImageSpec  # noqa: E402
from fcnn_cli.data.sources import load_dataset  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402

SCALE = (6, 12)          # enlargement of the 28×28 picture, inclusive
MARGIN = (0.02, 0.6)     # each side's white margin, as a share of the enlarged picture
BACKGROUND = (232, 255)  # white to off-white
TINT = 0.5               # the share of photos with a colour cast
QUALITY = 85


def main() -> None:
    args = parse_args()
    data = load_dataset("fashion-mnist")
    assert data.x_test is not None and data.y_test is not None
    x, y = data.x_test[:args.n], data.y_test[:args.n]
    model = load_model(args.model)
    check_model(model, data.class_names)
    with tempfile.TemporaryDirectory(prefix="fashion-photos-") as temp:
        folder = args.keep or Path(temp)
        started = time.perf_counter()
        photos = write_photos(x, folder / "photos", args.seed)
        originals = write_originals(x, folder / "idx")
        print(f"{len(x)} test images rendered into {folder} in "
              f"{time.perf_counter() - started:.1f} s")
        truth = np.array(data.class_names, dtype=object)[y]
        ceiling = accuracy(model.predict(x), truth)
        rows = [(label, accuracy(m.predict(photos), truth), accuracy(m.predict(originals), truth))
                for label, m in variants(model)]
    print_table(rows, ceiling, len(x))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model trained on Fashion-MNIST")
    parser.add_argument("--n", type=int, default=1000, help="test images to render (first N)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same photos")
    parser.add_argument("--keep", type=Path, help="write the pictures here, not to a temp folder")
    args = parser.parse_args()
    if not 1 <= args.n <= 10_000:
        parser.error("--n must be between 1 and 10,000 (the size of the test set)")
    return args


def check_model(model: Model, class_names: list[str] | None) -> None:
    """Stop early, with the reason, on a model this comparison means nothing for."""
    if model.class_names != class_names:
        sys.exit(f"{model.display_name}: its classes are not Fashion-MNIST's "
                 f"({model.class_names})")
    if getattr(model, "image", None) is None:
        sys.exit(f"{model.display_name}: no image pipeline (model.image); this fcnn or this "
                 "model predates pipelines")


def variants(model: Model) -> list[tuple[str, Model]]:
    """The model as loaded, then with each pipeline in its place (same size and channels):
    copies that share the network, so nothing is loaded twice."""
    stored: ImageSpec = model.image  # type: ignore[attr-defined]
    out = [(f"as loaded: {stored.describe()}", model)]
    for pipeline in PIPELINES:
        if stored.channels != 1 and pipeline != "resize":
            continue  # only resize makes RGB inputs
        spec = dataclasses.replace(stored, pipeline=pipeline)
        out.append((f"forced: {spec.describe()}", dataclasses.replace(model, image=spec)))
    return out


def write_photos(x: np.ndarray, folder: Path, seed: int) -> list[Path]:
    """Each test image as a product photo, JPEG; the paths, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, item in enumerate(x):
        path = folder / f"{i:05d}.jpg"
        render(item, np.random.default_rng([seed, i])).save(path, quality=QUALITY)
        paths.append(path)
    return paths


def write_originals(x: np.ndarray, folder: Path) -> list[Path]:
    """Each test image unchanged, as a 28×28 gray PNG (light garment on black)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, item in enumerate(x):
        path = folder / f"{i:05d}.png"
        Image.fromarray(item).save(path)
        paths.append(path)
    return paths


def render(item: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 28×28 Fashion-MNIST image (light on black, uint8) as a photo of the garment:
    dark on a light background, enlarged, off-centre in a frame of its own shape, perhaps
    tinted, with sensor noise. RGB."""
    paper = rng.uniform(*BACKGROUND)
    darkest = rng.uniform(0, 30)  # full ink is near-black, not always black
    gray = paper - (paper - darkest) * item.astype(np.float32) / 255
    side = 28 * int(rng.integers(SCALE[0], SCALE[1] + 1))
    big = np.asarray(Image.fromarray(gray).resize((side, side), Image.Resampling.LANCZOS))
    framed = with_margins(np.clip(big, 0, 255), paper, rng)
    rgb = framed[..., None] * tint(rng).astype(np.float32)
    rgb += rng.standard_normal(rgb.shape, dtype=np.float32) * rng.uniform(1.0, 4.0)
    return Image.fromarray(np.uint8(np.clip(np.rint(rgb), 0, 255)))


def with_margins(picture: np.ndarray, paper: float, rng: np.random.Generator) -> np.ndarray:
    """The picture with a margin of background on each side, each its own width: the
    garment lands off-centre and the frame is seldom square, as in a real shot."""
    side = picture.shape[0]
    top, bottom, left, right = (int(rng.uniform(*MARGIN) * side) for _ in range(4))
    return np.pad(picture, ((top, bottom), (left, right)), constant_values=paper)


def tint(rng: np.random.Generator) -> np.ndarray:
    """Per-channel gains: a slight warm or cool cast (±4 %) on some photos, none on the rest."""
    if rng.random() >= TINT:
        return np.ones(3)
    return 1 + rng.uniform(-0.04, 0.04, 3)


def accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(predicted == truth))


def print_table(rows: list[tuple[str, float, float]], ceiling: float, n: int) -> None:
    """pipeline | photos | IDX files | IDX arrays, as percentages."""
    width = max(len("pipeline"), *(len(label) for label, _, _ in rows))
    print(f"\naccuracy on {n:,} Fashion-MNIST test images")
    print(f"{'pipeline':<{width}}  {'photos':>7}  {'IDX files':>9}  {'IDX arrays':>10}")
    for label, photos, files in rows:
        print(f"{label:<{width}}  {photos:>7.2%}  {files:>9.2%}  {ceiling:>10.2%}")


if __name__ == "__main__":
    main()
