"""Make the example pictures in examples/images/ from MNIST test digits (run once).

    FCNN_DATA_DIR=../shared/data python examples/make_images.py

Six test digits as they are, and pictures like the ones users bring, each derived
from one other test digit: dark ink on white, off-centre in a larger canvas, thin
pen strokes in a 300×300 picture, a transparent PNG, a phone-photo-like JPEG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from fcnn_cli.data.sources import load_dataset

OUT = Path(__file__).resolve().parent / "images"
AS_IS = (3, 2, 1, 18, 4, 0)  # the first test digits labelled 0, 1, 2, 3, 4 and 7
# (kind, MNIST test index): each a digit not used above
USER = (("dark-on-white", 17), ("off-centre", 15), ("thin-strokes-300px", 30),
        ("transparent", 6), ("photo", 12), ("palette", 22))


def main() -> None:
    ds = load_dataset("mnist")
    assert ds.x_test is not None and ds.y_test is not None
    OUT.mkdir(exist_ok=True)
    for index in AS_IS:
        Image.fromarray(ds.x_test[index]).save(
            OUT / f"mnist-test-{index:04d}-label-{ds.y_test[index]}.png", optimize=True)
    makers = {"dark-on-white": dark_on_white, "off-centre": off_centre,
              "thin-strokes-300px": thin_strokes, "transparent": transparent, "photo": photo,
              "palette": palette}
    for kind, index in USER:
        image, suffix = makers[kind](ds.x_test[index])
        name = f"user-{ds.y_test[index]}-{kind}{suffix}"
        options = {"quality": 85} if suffix == ".jpg" else {"optimize": True}
        image.save(OUT / name, **options)
        print(name, f"from MNIST test digit {index}")


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """The digit smoothly enlarged to size×size, float 0..1 (1 = ink)."""
    big = Image.fromarray(digit.astype(np.float32) / 255, mode="F")
    return np.clip(np.asarray(big.resize((size, size), Image.Resampling.BICUBIC)), 0, 1)


def dark_on_white(digit: np.ndarray) -> tuple[Image.Image, str]:
    return Image.fromarray(np.uint8(255 - 255 * upscale(digit, 112))), ".png"


def off_centre(digit: np.ndarray) -> tuple[Image.Image, str]:
    canvas = np.full((160, 240), 235.0)
    canvas[12:96, 140:224] -= 200 * upscale(digit, 84)  # upper right, on light grey
    return Image.fromarray(np.uint8(canvas)), ".png"


def thin_strokes(digit: np.ndarray) -> tuple[Image.Image, str]:
    skeleton = _thin(upscale(digit, 260) > 0.4)
    pen = Image.fromarray(np.uint8(255 * skeleton)).filter(ImageFilter.MaxFilter(3))
    canvas = np.full((300, 300), 250, np.uint8)
    canvas[20:280, 20:280] -= (np.asarray(pen) > 0).astype(np.uint8) * 220
    return Image.fromarray(canvas), ".png"


def transparent(digit: np.ndarray) -> tuple[Image.Image, str]:
    # a drawing app's export: black ink, transparency everywhere else (RGB there is black too)
    rgba = np.zeros((140, 140, 4), np.uint8)
    rgba[..., 3] = np.uint8(255 * upscale(digit, 140))
    return Image.fromarray(rgba, mode="RGBA"), ".png"


def photo(digit: np.ndarray) -> tuple[Image.Image, str]:
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:200, 0:200]
    paper = 225 - 0.12 * rows - 0.05 * cols + rng.normal(0, 4, (200, 200))  # uneven light, grain
    ink = np.zeros((200, 200))
    ink[30:170, 40:180] = upscale(digit, 140)
    rgb = np.stack([paper - 170 * ink, paper - 160 * ink, paper - 120 * ink], axis=-1)  # blue pen
    return Image.fromarray(np.uint8(np.clip(rgb, 0, 255))), ".jpg"


def palette(digit: np.ndarray) -> tuple[Image.Image, str]:
    gray = Image.fromarray(np.uint8(255 - 255 * upscale(digit, 64)))
    return gray.convert("P", palette=Image.Palette.ADAPTIVE, colors=8), ".gif"


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning: the mask's one-pixel-wide skeleton."""
    m = mask.astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = np.pad(m, 1)
            p2, p3, p4, p5 = p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:]
            p6, p7, p8, p9 = p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:8])
            transitions = sum((ring[k] == 0) & (ring[k + 1] == 1) for k in range(8))
            if step == 0:
                gone = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                gone = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (m == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & gone
            if remove.any():
                m[remove] = 0
                changed = True
    return m


if __name__ == "__main__":
    main()
