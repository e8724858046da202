"""Make a small folder of synthetic colour "photos" of shapes, for an image walkthrough.

    python examples/make_photos.py OUT_DIR [--per-class N] [--seed S]

writes OUT_DIR/circle/000.jpg, OUT_DIR/square/000.jpg, OUT_DIR/triangle/000.jpg, … (N per
class, default 100): the folder layout `fcnn train` reads as an image dataset, one class
per sub-folder. Each picture is one filled shape in a random colour, 30–70 % of the
picture's shorter side, off-centre by a random amount and rotated by a moderate random
angle, with a soft shadow, on a light, slightly textured and noisy background lit
unevenly, in a picture of 64–160 px a side with its own aspect ratio, saved as JPEG at
quality 80–95.

Why this and not a download: the walkthrough needs real files of mixed sizes, aspect
ratios and colours (what a user's folder has, and what the `resize` and `object`
pipelines are for), made offline in seconds. The shape alone decides the class; colour,
size, place, light and noise do not, so a model must learn shape. Rotation stays within
±20° so that a square does not turn into a diamond and a triangle keeps a point up, and
the classes stay apart at 28–32 px.

Placement is what makes the two pipelines differ. `object` trims the background, so
where the shape sits does not matter (hence the plain, evenly lit backgrounds: anything
the trim does not take for background counts as object); `resize` keeps the whole frame,
and a fully-connected net must learn each shape at each place it occurs, from a few
hundred pictures. So shapes sit off-centre by at most 30 % of the room to the edge, as
things are photographed, not anywhere (anywhere, a scikit-learn MLP on `resize`-like
inputs fell to about 55 %). Measured with `fcnn train` (one hidden layer of 128 ReLU
units, SGD with Nesterov momentum, batch 32, 15 % validation and 15 % test, three seeds):
`object` 28×28 gray 98–100 % on the default 100 per class and on 300 (lr 0.01);
`resize` 32×32 RGB 65–75 % on 100 per class and 85–90 % on 300. At 32×32 RGB the nearly
uniform light background makes every input large: with `normalize: scale` lr 0.01 is
already unstable (33–69 %) and 0.05 diverges to chance; lr 0.003, or `normalize:
standardize`, trains. OFF_CENTRE is the knob: 0.15 puts `resize` at 75–85 % on 100 per
class.

The same seed gives the same files; each picture has its own generator seeded by (seed,
class, index), so asking for more pictures per class keeps the first ones as they were.
"""

from __future__ import annotations

import argparse
import colorsys
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("circle", "square", "triangle")
SIDE_RANGE = (64, 160)          # picture sides, px
MAX_ASPECT = 1.6                # longer side / shorter side, at most
SHAPE_FRACTION = (0.30, 0.70)   # the shape's size as a fraction of the shorter side
MAX_ROTATION = 20.0             # degrees, either way
OFF_CENTRE = 0.3                # how far from the middle, as a share of the room to the edge
SUPERSAMPLE = 4                 # shapes are drawn this much larger, then shrunk: soft edges
QUALITY = (80, 95)              # JPEG quality, inclusive
# Background variation stays within what the object pipeline trims as background (5 % of
# the largest colour distance): stronger light or texture would be trimmed as part of the
# object, leaving it small and off-centre in the prepared picture.
LIGHT = (0.01, 0.04)            # the lighting gradient: brightness ± this at the far corners
TEXTURE = (0.5, 2.0)            # the background's texture, levels (standard deviation)
NOISE = (1.0, 3.0)              # sensor noise, levels (standard deviation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write <class>/<i>.jpg into")
    parser.add_argument("--per-class", type=int, default=100, help="pictures per class")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same files")
    args = parser.parse_args()
    if args.per_class < 1:
        parser.error("--per-class must be at least 1")
    started = time.perf_counter()
    written = write_photos(args.out_dir, args.per_class, args.seed)
    print(f"{written} pictures in {args.out_dir} ({', '.join(CLASSES)}), "
          f"{time.perf_counter() - started:.1f} s")


def write_photos(out_dir: Path, per_class: int, seed: int) -> int:
    """Write every picture; returns how many."""
    width = max(3, len(str(per_class - 1)))  # 000.jpg …: names sort in the order made
    for label, name in enumerate(CLASSES):
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rng = np.random.default_rng([seed, label, i])
            quality = int(rng.integers(QUALITY[0], QUALITY[1] + 1))
            photo(name, rng).save(folder / f"{i:0{width}d}.jpg", quality=quality)
    return per_class * len(CLASSES)


def photo(shape: str, rng: np.random.Generator) -> Image.Image:
    """One picture of `shape`: background, shadow, shape, light, noise; RGB."""
    height, width = picture_size(rng)
    light = lighting(height, width, rng)
    picture = background(height, width, rng)
    mask, shadow = shape_masks(shape, height, width, rng)
    picture *= 1 - 0.35 * shadow[..., None]
    colour = shape_colour(rng)
    picture = picture * (1 - mask[..., None]) + colour * mask[..., None]
    picture *= light[..., None]
    picture += rng.normal(0, rng.uniform(*NOISE), picture.shape)  # sensor noise
    return Image.fromarray(np.uint8(np.clip(np.rint(picture), 0, 255)))


def picture_size(rng: np.random.Generator) -> tuple[int, int]:
    """(height, width): a shorter side first, then a longer one within MAX_ASPECT, either
    way up, so that landscape, portrait and square pictures all occur."""
    short = int(rng.integers(SIDE_RANGE[0], SIDE_RANGE[1] + 1))
    longest = min(SIDE_RANGE[1], int(short * MAX_ASPECT))
    long = int(rng.integers(short, longest + 1))
    return (short, long) if rng.random() < 0.5 else (long, short)


def background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A light, slightly tinted surface (paper, a table, a wall) with a coarse texture:
    noise at a few pixels' scale, smoothly enlarged. float (H, W, 3), 0–255."""
    base = rng.uniform(205, 245) + rng.uniform(-8, 8, 3)
    coarse = rng.normal(0, 1, (max(2, height // 6), max(2, width // 6)))
    texture = Image.fromarray(coarse.astype(np.float32)).resize(
        (width, height), Image.Resampling.BICUBIC)
    grain = np.asarray(texture)[..., None] * rng.uniform(*TEXTURE)
    return np.clip(base + grain, 0, 255)


def lighting(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A soft gradient of brightness from one side to the other, as a lamp or a window
    lights a desk: factors near 1, at most ±4 % at the corners. float (H, W)."""
    angle = rng.uniform(0, 2 * math.pi)
    strength = rng.uniform(*LIGHT)
    y, x = np.mgrid[0:height, 0:width]
    along = (np.cos(angle) * (x / width - 0.5) + np.sin(angle) * (y / height - 0.5))
    return 1 + strength * along / 0.71  # ±0.71 is the farthest a corner gets


def shape_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour, darker than any background, so the shape stands out in any hue
    and in gray: any hue, saturation 0.45–1, value 0.25–0.8. RGB 0–255."""
    rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0.45, 1.0), rng.uniform(0.25, 0.8))
    return np.array(rgb) * 255


def shape_masks(shape: str, height: int, width: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """Coverage of the shape (1 inside, soft at the edges) and of its blurred, offset
    shadow; both float (H, W) in 0–1."""
    size = rng.uniform(*SHAPE_FRACTION) * min(height, width)
    points = outline(shape, size, rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    points -= (points.max(axis=0) + points.min(axis=0)) / 2  # centre the bounding box
    frame = np.array([width, height], dtype=float)
    room = np.maximum(frame - (points.max(axis=0) - points.min(axis=0)) - 2, 0) / 2
    centre = frame / 2 + rng.uniform(-1, 1, 2) * room * OFF_CENTRE
    mask = draw(points + centre, height, width)
    offset = rng.uniform(1.0, 4.0, 2)  # down and to the right: light from the upper left
    shadow = draw(points + centre + offset, height, width).filter(
        ImageFilter.GaussianBlur(rng.uniform(1.5, 3.5)))
    return as_float(mask), as_float(shadow)


def outline(shape: str, size: float, degrees: float) -> np.ndarray:
    """The shape's outline around (0, 0), (K, 2) points as (x, y), y down, rotated by
    `degrees`. `size` is the unrotated height: a circle's diameter, a square's side, a
    triangle's height, so that all three span the same range of the picture."""
    if shape == "circle":
        t = np.linspace(0, 2 * math.pi, 96, endpoint=False)
        points = np.stack([np.cos(t), np.sin(t)], axis=1) * size / 2
    elif shape == "square":
        points = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * size / 2
    elif shape == "triangle":  # equilateral, a point up, centroid at 0: height 1.5 radii
        t = -math.pi / 2 + np.arange(3) * 2 * math.pi / 3
        points = np.stack([np.cos(t), np.sin(t)], axis=1) * size / 1.5
    else:
        raise ValueError(f"unknown shape {shape!r}")
    a = math.radians(degrees)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points @ rotation.T


def draw(points: np.ndarray, height: int, width: int) -> Image.Image:
    """The filled polygon's coverage of each pixel (gray, 255 = covered): drawn
    SUPERSAMPLE times larger and shrunk, so edges are antialiased as a camera's are."""
    big = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    ImageDraw.Draw(big).polygon([tuple(p) for p in points * SUPERSAMPLE], fill=255)
    return big.resize((width, height), Image.Resampling.BOX)


def as_float(gray: Image.Image) -> np.ndarray:
    """A gray picture as float (H, W) in 0–1."""
    return np.asarray(gray, dtype=np.float64) / 255


if __name__ == "__main__":
    main()
