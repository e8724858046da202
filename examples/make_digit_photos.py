"""Make labelled phone-photo / scan pictures of handwritten digits, one folder per condition.

    python examples/make_digit_photos.py OUT_DIR [--per-condition N] [--seed S]
        [--conditions clean,shadow,...]
    python examples/make_digit_photos.py --examples DIR [--seed S]

writes OUT_DIR/<condition>/<index>-label-<digit>.<jpg|png> and OUT_DIR/labels.csv
(file,condition,label; `file` relative to OUT_DIR). `--examples DIR` writes two pictures
per condition instead, DIR/photo-<condition>-<k>-label-<digit>.jpg, small enough to commit
(longer side at most 400 px, at most 40 KB, JPEG quality 60 or more except `low-jpeg`).

Why: `fcnn predict mnist photo.jpg` is the first thing people try with a digit they wrote
and photographed. MNIST's own test set says nothing about that; these pictures are the
measuring stick for the digit pipeline (`benchmarks/digit_photos.py` scores a model on
them, condition by condition). Every picture must be one a person reads at a glance, with
the digit as its main subject: a misread is then the pipeline's or the model's fault, not
the picture's.

The handwriting is real: MNIST test digits 1000–9999 (the first ones are used elsewhere),
drawn per picture. A 28×28 glyph is re-drawn with a pen, so that it is crisp at any size
and its strokes are as wide as the picture's pen, not as MNIST's: the glyph is enlarged
and smoothed, thinned to the middle line of its strokes (Zhang–Suen; small gaps bridged,
the pixel staircase averaged away), and the stroke is everything within the pen's radius
of that line (a distance field, mapped onto the page by one affine map: size, position,
rotation ±8°, slant; its level over its slope gives edges one pixel soft at the page's
own resolution). Pens range from a fine ballpoint (3.5 % of the digit's height) to a
marker (16 %), with a little pressure in the width. About 8 % of glyphs are passed over,
because a pen along their middle line would not draw the digit they show: a small loop
inked over (an 8's top, thinned shut, makes an f) or a glyph in pieces (a 6 whose loop
floats off its stem; a 4, 5 or 7 may be in two). The odd glyphs
MNIST has otherwise stay, so the benchmark reports what the model makes of the same
glyphs as MNIST arrays beside each condition.

Conditions (CONDITIONS), each on a page of 150–700 px a side, aspect 0.75–1.33, the digit
30–80 % of the page's height (except `small`), with mild camera blur (radius 0.3–1.2),
sensor noise, a slight white-balance cast, paper from white to cream:

- clean: dark pen on white/off-white paper, even light, JPEG 85–95;
- shadow: a hand's or a phone's soft shadow over part of the page, 25–55 % darker, its
  blurred edge anywhere, across the digit too;
- hotspot: a lamp's bright spot, possibly off-centre, the corners 40–60 % darker;
- ruled: notebook paper, blue or grey rules every 1/8–1/5 of the page, sometimes a red
  margin; the digit sits on a rule and spans one to two spacings;
- grid: squared paper, light grey or blue;
- pencil: graphite (level 90–150 on paper ~230), grainy, thinner strokes with gaps;
- colour-ink: blue, red or green ballpoint on white or cream paper;
- small: the digit 8–20 % of the page's height, anywhere, on a 400–900 px page, specks;
- low-jpeg: one of the light conditions above, saved at JPEG quality 15–55;
- chalkboard: chalk on a dark green or black board, smudges and eraser marks, grainy.

Files are JPEG (quality 80–95 unless said otherwise); a quarter of the ruled, grid and
pencil pictures are PNG, as a scanner writes them.

Deterministic: picture i of a condition comes from its own generator seeded by (seed,
the condition's place in CONDITIONS, i), so more pictures per condition, or fewer
conditions, leave the others as they were. 600 pictures take about 30 s on two cores
(worker processes, one per core: --workers).

The benchmark imports CONDITIONS, write_pictures and glyph_index from here; make_picture
gives one picture as a program reading its file sees it.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

CONDITIONS = ("clean", "shadow", "hotspot", "ruled", "grid", "pencil", "colour-ink", "small",
              "low-jpeg", "chalkboard")
LIGHT_CONDITIONS = ("clean", "shadow", "hotspot", "ruled", "grid", "pencil", "colour-ink")
GLYPH_INDICES = (1000, 10_000)  # MNIST test digits drawn from (the first 1000 are used elsewhere)
PAGE_SIDE = (150, 700)
SMALL_PAGE_SIDE = (400, 900)
ASPECT = (0.75, 1.33)  # width / height
DIGIT_HEIGHT = (0.30, 0.80)  # of the page's height
SMALL_DIGIT_HEIGHT = (0.08, 0.20)
MAX_ROTATION = 8.0  # degrees
MAX_SLANT = 0.25  # shear: x moves by this much per unit of height
THIN_SCALE = 4  # the glyph is enlarged this much to find the middle of its strokes
FIELD_SCALE = 2  # the pen's field has this many samples per glyph pixel
# of full ink: where the glyph's outline is taken before thinning (bridged adds faint
# joins); higher cuts are tried for loops that a lower one inks over (most_loops)
MASK_CUTS = (0.45, 0.6, 0.75)
BRIDGE = 2.0  # glyph pixels: gaps in the thinned line up to this long are closed
GLYPH_PAD = 2  # glyph pixels of background added round the glyph before enlarging it
OFF_LINE = 0.035  # a glyph with more of its ink than this far from its centre line is passed over
TWO_STROKE_DIGITS = (4, 5, 7)  # may be in two pieces (after bridging); others in one
MAX_DRAWS = 100  # glyphs drawn at most for one picture before one is accepted anyway
OUTSIDE = -3.0  # the pen's field, far from any stroke (glyph pixels)
BLUR = (0.3, 1.2)  # camera blur, GaussianBlur radius
NOISE = (1.5, 4.0)  # sensor noise, standard deviation in levels
CHUNK = 10  # pictures per job for a worker process
EXAMPLE_SIDE = 400  # --examples: longer side at most
EXAMPLE_BYTES = 40_000  # --examples: file size at most
EXAMPLE_MIN_QUALITY = 60


@dataclass
class Style:
    """Everything a picture's condition decides, drawn once from its generator."""

    height: int
    width: int
    digit_height: float  # px
    paper: np.ndarray  # RGB 0-255
    ink: np.ndarray  # RGB 0-255
    pen: float  # the stroke's width, as a share of the digit's height
    light: str = "even"  # even | shadow | hotspot
    lines: str = "none"  # none | ruled | grid | board
    grain: float = 0.0  # 0: solid ink; up to 1: pencil or chalk
    specks: int = 0
    quality: int = 90  # JPEG quality; 0 means PNG
    placement: dict = field(default_factory=dict)  # where the digit goes, when lines decide


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    if args.examples is not None:
        paths = write_examples(args.examples, args.seed, load_glyphs())
        print(f"{len(paths)} example pictures in {args.examples}, "
              f"{time.perf_counter() - started:.1f} s")
        return
    rows = write_pictures(args.out_dir, args.per_condition, args.seed, args.conditions,
                          load_glyphs(), args.workers)
    print(f"{len(rows)} pictures in {args.out_dir} ({', '.join(args.conditions)}), "
          f"{time.perf_counter() - started:.1f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", help="folder to write into")
    parser.add_argument("--per-condition", type=int, default=60, help="pictures per condition")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same files")
    parser.add_argument("--conditions", default=",".join(CONDITIONS),
                        help=f"comma-separated subset of {','.join(CONDITIONS)}")
    parser.add_argument("--workers", type=int, help="processes (default: one per core)")
    parser.add_argument("--examples", type=Path, metavar="DIR",
                        help="write 2 small pictures per condition here instead")
    args = parser.parse_args()
    args.conditions = checked_conditions(parser, args.conditions, args.per_condition)
    if args.out_dir is None and args.examples is None:
        parser.error("give OUT_DIR or --examples DIR")
    return args


def checked_conditions(parser: argparse.ArgumentParser, text: str, per_condition: int
                       ) -> list[str]:
    """The conditions named in `text` (comma-separated), or the parser's usage error."""
    conditions = [c.strip() for c in text.split(",") if c.strip()]
    unknown = sorted(set(conditions) - set(CONDITIONS))
    if unknown:
        parser.error(f"unknown conditions {unknown}; choose from {', '.join(CONDITIONS)}")
    if per_condition < 1:
        parser.error("--per-condition must be at least 1")
    return conditions


def load_glyphs() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test digits and labels (uint8 (10000, 28, 28), int (10000,)), found as fcnn
    finds them ($FCNN_DATA_DIR)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fcnn_cli.data.sources import load_dataset

    data = load_dataset("mnist")
    assert data.x_test is not None and data.y_test is not None
    return data.x_test, data.y_test


# --- writing ------------------------------------------------------------------------------


def write_pictures(out_dir: Path, per_condition: int, seed: int, conditions: Sequence[str],
                   glyphs: tuple[np.ndarray, np.ndarray], workers: int | None = None
                   ) -> list[tuple[str, str, int]]:
    """Write every picture and labels.csv; returns the rows (file relative to out_dir,
    condition, label) in order. Chunks of pictures go to `workers` processes (default:
    one per core): the files are the same whatever the number, each picture having its
    own generator."""
    jobs = [(condition, start, min(start + CHUNK, per_condition))
            for condition in conditions for start in range(0, per_condition, CHUNK)]
    for condition in conditions:
        (out_dir / condition).mkdir(parents=True, exist_ok=True)
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        chunks = [write_chunk(out_dir, seed, job, glyphs) for job in jobs]
    else:
        with ProcessPoolExecutor(workers, initializer=_keep_glyphs,
                                 initargs=(glyphs,)) as pool:
            chunks = list(pool.map(_write_chunk_in_worker, [(out_dir, seed, job)
                                                            for job in jobs]))
    rows = [row for chunk in chunks for row in chunk]
    with open(out_dir / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file", "condition", "label"))
        writer.writerows(rows)
    return rows


def write_chunk(out_dir: Path, seed: int, job: tuple[str, int, int],
                glyphs: tuple[np.ndarray, np.ndarray]) -> list[tuple[str, str, int]]:
    """Pictures start..stop-1 of one condition, written; their labels.csv rows."""
    condition, start, stop = job
    rows = []
    for i in range(start, stop):
        rng = picture_rng(seed, condition, i)
        glyph, label = draw_glyph(rng, glyphs)
        rgb, quality = render(condition, rng, glyph)
        name = f"{condition}/{i:04d}-label-{label}.{'jpg' if quality else 'png'}"
        (out_dir / name).write_bytes(encode(rgb, quality))
        rows.append((name, condition, label))
    return rows


_GLYPHS: tuple[np.ndarray, np.ndarray] | None = None  # a worker process's copy


def _keep_glyphs(glyphs: tuple[np.ndarray, np.ndarray]) -> None:
    global _GLYPHS
    _GLYPHS = glyphs


def _write_chunk_in_worker(args: tuple[Path, int, tuple[str, int, int]]
                           ) -> list[tuple[str, str, int]]:
    assert _GLYPHS is not None
    return write_chunk(*args, _GLYPHS)


def write_examples(folder: Path, seed: int, glyphs: tuple[np.ndarray, np.ndarray]
                   ) -> list[Path]:
    """Two pictures per condition, small enough to commit: reduced to EXAMPLE_SIDE, JPEG
    at the condition's quality (at least 60 but for low-jpeg), lowered until it fits
    EXAMPLE_BYTES."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for condition in CONDITIONS:
        for k in (1, 2):
            rng = picture_rng(seed, condition, k - 1)
            glyph, label = draw_glyph(rng, glyphs)
            rgb, quality = render(condition, rng, glyph)
            path = folder / f"photo-{condition}-{k}-label-{label}.jpg"
            path.write_bytes(example_bytes(rgb, quality, condition == "low-jpeg"))
            paths.append(path)
    return paths


def example_bytes(rgb: np.ndarray, quality: int, low: bool) -> bytes:
    """The picture reduced to EXAMPLE_SIDE and encoded within EXAMPLE_BYTES."""
    picture = Image.fromarray(rgb)
    scale = EXAMPLE_SIDE / max(picture.size)
    if scale < 1:
        size = (round(picture.width * scale), round(picture.height * scale))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    quality = quality if low else max(quality or 92, EXAMPLE_MIN_QUALITY)
    while True:
        data = encode(np.asarray(picture), quality)
        if len(data) <= EXAMPLE_BYTES or quality <= (5 if low else EXAMPLE_MIN_QUALITY):
            return data
        quality -= 5


def picture_rng(seed: int, condition: str, index: int) -> np.random.Generator:
    """Picture `index` of `condition`'s own generator (module doc: determinism)."""
    return np.random.default_rng([seed, CONDITIONS.index(condition), index])


def draw_glyph(rng: np.random.Generator, glyphs: tuple[np.ndarray, np.ndarray]
               ) -> tuple[np.ndarray, int]:
    """A test digit from GLYPH_INDICES and its label."""
    index = glyph_index(rng, glyphs)
    return glyphs[0][index], int(glyphs[1][index])


def glyph_index(rng: np.random.Generator, glyphs: tuple[np.ndarray, np.ndarray]) -> int:
    """The MNIST test index of a picture's glyph, the first draws from its generator (so
    the benchmark finds the glyph of picture i again: picture_rng, then this). Glyphs
    that a pen cannot draw faithfully are passed over (centre_line): a person must read
    the picture as the digit its label says."""
    for _ in range(MAX_DRAWS):
        index = int(rng.integers(*GLYPH_INDICES))
        if centre_line(glyphs[0][index]).faithful(int(glyphs[1][index])):
            break
    return index


def make_picture(condition: str, rng: np.random.Generator, glyph: np.ndarray) -> Image.Image:
    """One picture of the 28×28 MNIST `glyph` (light on black, uint8) under `condition`,
    as a program reading its file would see it (JPEG artefacts and all); RGB."""
    rgb, quality = render(condition, rng, glyph)
    picture = Image.open(io.BytesIO(encode(rgb, quality)))
    picture.load()
    return picture


def encode(rgb: np.ndarray, quality: int) -> bytes:
    """The file's bytes: JPEG at `quality`, or PNG when quality is 0."""
    out = io.BytesIO()
    if quality:
        Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    else:
        Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


# --- conditions ---------------------------------------------------------------------------


def render(condition: str, rng: np.random.Generator, glyph: np.ndarray
           ) -> tuple[np.ndarray, int]:
    """The picture as uint8 RGB (H, W, 3) and the JPEG quality to save it at (0: PNG)."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; choose from {CONDITIONS}")
    if condition == "low-jpeg":
        base = LIGHT_CONDITIONS[int(rng.integers(len(LIGHT_CONDITIONS)))]
        style = style_for(base, rng)
        style.quality = int(rng.integers(15, 56))
    else:
        style = style_for(condition, rng)
    return compose(style, rng, glyph), style.quality


def style_for(condition: str, rng: np.random.Generator) -> Style:
    """The condition's page, paper, ink, light and file format (module doc)."""
    small = condition == "small"
    height, width = page_size(rng, SMALL_PAGE_SIDE if small else PAGE_SIDE)
    fraction = rng.uniform(*(SMALL_DIGIT_HEIGHT if small else DIGIT_HEIGHT))
    style = Style(height, width, fraction * height, paper=paper_colour(rng),
                  ink=pen_colour(rng), pen=pen_width(rng),
                  quality=int(rng.integers(80, 96)))
    adjust = {"clean": _clean, "shadow": _shadow, "hotspot": _hotspot, "ruled": _ruled,
              "grid": _grid, "pencil": _pencil, "colour-ink": _colour_ink, "small": _small,
              "chalkboard": _chalkboard}[condition]
    adjust(style, rng)
    return style


def _clean(style: Style, rng: np.random.Generator) -> None:
    style.quality = int(rng.integers(85, 96))


def _shadow(style: Style, rng: np.random.Generator) -> None:
    style.light = "shadow"


def _hotspot(style: Style, rng: np.random.Generator) -> None:
    style.light = "hotspot"


def _ruled(style: Style, rng: np.random.Generator) -> None:
    """Rules every 1/8–1/5 of the page; the digit spans 1–2 spacings, at least 30 % of
    the page's height where that is still within 2.2 spacings."""
    style.lines = "ruled"
    spacing = style.height / rng.uniform(5, 8)
    style.digit_height = min(max(rng.uniform(1.1, 2.0) * spacing, 0.3 * style.height),
                             2.2 * spacing)
    style.placement = {"spacing": spacing, "offset": rng.uniform(0, spacing),
                       "margin": rng.random() < 0.5}
    style.quality = 0 if rng.random() < 0.25 else style.quality  # a scan


def _grid(style: Style, rng: np.random.Generator) -> None:
    style.lines = "grid"
    style.placement = {"spacing": style.height / rng.uniform(8, 16),
                       "offset": rng.uniform(0, 1, 2)}
    style.quality = 0 if rng.random() < 0.25 else style.quality


def _pencil(style: Style, rng: np.random.Generator) -> None:
    style.paper = np.array([rng.uniform(222, 238)] * 3) + rng.uniform(-3, 3, 3)
    style.ink = np.full(3, rng.uniform(90, 150))
    style.pen = rng.uniform(0.035, 0.06)
    style.grain = rng.uniform(0.5, 0.9)
    style.quality = 0 if rng.random() < 0.25 else style.quality


def _colour_ink(style: Style, rng: np.random.Generator) -> None:
    hues = {"blue": (25, 45, 150), "red": (175, 30, 40), "green": (25, 115, 60)}
    name = list(hues)[int(rng.integers(3))]
    style.ink = np.array(hues[name], float) + rng.uniform(-15, 15, 3)
    if rng.random() < 0.5:  # cream paper
        style.paper = np.array([rng.uniform(238, 250), rng.uniform(228, 240),
                                rng.uniform(195, 215)])
    style.pen = rng.uniform(0.035, 0.07)  # ballpoints are thin


def _small(style: Style, rng: np.random.Generator) -> None:
    style.specks = int(rng.integers(0, 12))


def _chalkboard(style: Style, rng: np.random.Generator) -> None:
    green = rng.random() < 0.6
    if green:
        style.paper = np.array([38, 62, 52]) + rng.uniform(-8, 8, 3)
    else:  # black slate, a little blue or a little warm
        style.paper = np.full(3, rng.uniform(28, 42)) + rng.uniform(-3, 3, 3)
    style.ink = np.array([rng.uniform(215, 245)] * 3) + rng.uniform(-6, 4, 3)
    style.lines = "board"
    style.pen = rng.uniform(0.06, 0.11)
    style.grain = rng.uniform(0.3, 0.6)


def page_size(rng: np.random.Generator, sides: tuple[int, int]) -> tuple[int, int]:
    """(height, width): both within `sides`, width/height within ASPECT, portrait or
    landscape."""
    ratio = math.exp(rng.uniform(0.0, math.log(ASPECT[1])))  # longer / shorter
    longer = rng.uniform(*sides)
    shorter = max(float(sides[0]), longer / ratio)
    if rng.random() < 0.5:
        return round(longer), round(shorter)
    return round(shorter), round(longer)


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    """White to off-white to cream, RGB."""
    level = rng.uniform(220, 250)
    warmth = rng.uniform(0, 14)  # cream: less blue, a little less green
    return np.array([level, level - warmth * 0.4, level - warmth])


def pen_width(rng: np.random.Generator) -> float:
    """A stroke width for a pen, as a share of the digit's height: a ballpoint or gel
    pen half the time, a felt tip or a marker otherwise."""
    kind = rng.random()
    if kind < 0.5:
        return rng.uniform(0.035, 0.07)
    return rng.uniform(0.07, 0.11) if kind < 0.8 else rng.uniform(0.11, 0.16)


def pen_colour(rng: np.random.Generator) -> np.ndarray:
    """A dark pen: black, blue-black or dark gray, RGB."""
    level = rng.uniform(15, 70)
    if rng.random() < 0.35:  # blue-black
        return np.array([level * 0.6, level * 0.7, level * 1.6 + 20])
    return np.full(3, level) + rng.uniform(-5, 5, 3)


# --- drawing ------------------------------------------------------------------------------


def compose(style: Style, rng: np.random.Generator, glyph: np.ndarray) -> np.ndarray:
    """Paper, lines, ink, light, camera: the picture as uint8 RGB."""
    picture = paper(style, rng)
    alpha, window = digit_alpha(style, rng, glyph)
    h, w = alpha.shape
    if style.grain:
        alpha *= grain(rng, h, w, style.grain)
    else:
        alpha *= 1 - 0.06 * np.clip(smooth_noise(rng, h, w, 30), 0, 1)  # uneven ink flow
    picture[window] = blend(picture[window], style.ink, alpha)
    add_specks(picture, style.specks, rng)
    picture *= lighting(style, rng)[..., None]
    picture *= white_balance(rng)
    return camera(picture, rng)


def paper(style: Style, rng: np.random.Generator) -> np.ndarray:
    """The page before the digit: paper colour with texture, and its rules, grid or
    board marks. float (H, W, 3)."""
    h, w = style.height, style.width
    texture = smooth_noise(rng, h, w, 12) * rng.uniform(0.8, 2.5)
    page = style.paper.astype(np.float32) + texture[..., None]
    if style.lines == "ruled":
        page = ruled_lines(page, style, rng)
    elif style.lines == "grid":
        page = grid_lines(page, style, rng)
    elif style.lines == "board":
        page = board_marks(page, rng)
    return page


def ruled_lines(page: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Blue or grey rules across the page (tilted as the page lies), sometimes a red
    margin line."""
    h, w = style.height, style.width
    x, y = page_coordinates(h, w, rng.uniform(-2.5, 2.5))
    colour = (np.array([120, 165, 215]) if rng.random() < 0.7 else np.full(3, 160.0))
    colour = colour + rng.uniform(-12, 12, 3)
    spacing, offset = style.placement["spacing"], style.placement["offset"]
    rules = line_alpha(y, spacing, offset, rng.uniform(0.7, 1.6)) * rng.uniform(0.55, 0.9)
    page = blend(page, colour, rules)
    if style.placement["margin"]:
        style.placement["margin_x"] = margin = rng.uniform(0.08, 0.2) * w
        red = np.clip(rng.uniform(1.0, 1.5) - np.abs(x - margin), 0, 1) * rng.uniform(0.5, 0.8)
        page = blend(page, np.array([215, 95, 105]) + rng.uniform(-10, 10, 3), red)
    return page


def grid_lines(page: np.ndarray, style: Style, rng: np.random.Generator) -> np.ndarray:
    """Squared paper: light grey or blue lines both ways."""
    x, y = page_coordinates(style.height, style.width, rng.uniform(-2.5, 2.5))
    colour = np.array([140, 175, 215]) if rng.random() < 0.5 else np.full(3, 165.0)
    spacing = style.placement["spacing"]
    ox, oy = (float(o) * spacing for o in style.placement["offset"])
    width = rng.uniform(0.6, 1.3)
    alpha = np.maximum(line_alpha(x, spacing, ox, width), line_alpha(y, spacing, oy, width))
    return blend(page, colour + rng.uniform(-10, 10, 3), alpha * rng.uniform(0.35, 0.7))


def board_marks(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Chalk dust smudges and a few eraser swipes: broad, faint, lighter patches."""
    h, w = page.shape[:2]
    dust = np.clip(smooth_noise(rng, h, w, 6), 0, None) * rng.uniform(4, 14)
    page = page + dust[..., None]
    x, y = page_coordinates(h, w, 0.0)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, h), rng.uniform(-0.2, 1.2) * w
        ry, rx = rng.uniform(0.05, 0.15) * h, rng.uniform(0.3, 0.8) * w
        tilt = rng.uniform(-0.3, 0.3)
        d = ((x - cx) / rx) ** 2 + ((y - cy - tilt * (x - cx)) / ry) ** 2
        swipe = np.clip(1.2 - d, 0, 1) * rng.uniform(6, 16)
        page = page + swipe[..., None]
    return page


def page_coordinates(h: int, w: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of every pixel on a page tilted by `degrees` (float32 (H, W) each): rules and
    grids follow the page, which never lies square to the camera."""
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    if degrees == 0:
        return xx, yy  # broadcast against each other: cheaper
    a = math.radians(degrees)
    return (xx * math.cos(a) + yy * math.sin(a), -xx * math.sin(a) + yy * math.cos(a))


def line_alpha(coord: np.ndarray, spacing: float, offset: float, width: float) -> np.ndarray:
    """Coverage of lines `width` px wide at offset + k·spacing, anti-aliased."""
    d = np.abs((coord - offset + spacing / 2) % spacing - spacing / 2)
    return np.clip(width / 2 + 0.5 - d, 0, 1)


def blend(page: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`colour` over `page` with coverage `alpha` (float32 throughout: it is faster)."""
    a = alpha[..., None]
    return page + (colour.astype(np.float32) - page) * a


def digit_alpha(style: Style, rng: np.random.Generator, glyph: np.ndarray
                ) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The stroke's coverage (float32, 0–1) of the page pixels in a window around the
    digit, and that window: the pen's field mapped onto the page, edges one pixel soft
    (the field's level over its slope is the distance to the edge in page pixels). Only
    the window is worked on: it is faster."""
    field, box = pen_field(centre_line(glyph), style.pen, rng)
    matrix = glyph_to_page(style, rng, box)
    corners = np.array([[0, 0, 1], [field.width, 0, 1], [0, field.height, 1],
                        [field.width, field.height, 1]]) @ matrix[:2].T
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1 = min(math.ceil(corners[:, 0].max()), style.width)
    y1 = min(math.ceil(corners[:, 1].max()), style.height)
    shift = np.eye(3)
    shift[:2, 2] = x0, y0
    inverse = np.linalg.inv(matrix) @ shift  # window pixel -> field
    coeffs = (*inverse[0], *inverse[1])
    placed = field.transform((x1 - x0, y1 - y0), Image.Transform.AFFINE, coeffs,
                             resample=Image.Resampling.BICUBIC, fillcolor=OUTSIDE)
    level = np.asarray(placed, dtype=np.float32)
    gy, gx = np.gradient(level)
    slope = np.maximum(np.hypot(gx, gy), 1e-4)
    return np.clip(level / slope + 0.5, 0, 1), (slice(y0, y1), slice(x0, x1))


@dataclass
class Strokes:
    """A glyph as a pen would write it: where the middle of each stroke runs, and how
    faithful a pen along that line is to the glyph (see centre_line)."""

    points: np.ndarray  # (N, 2) as (x, y), glyph pixels
    off_line: float  # the share of the glyph's ink far from the line: what a pen leaves out
    pieces: int  # separate pieces of the line, after small gaps are bridged

    def faithful(self, label: int) -> bool:
        """Whether a pen along the line draws the digit the glyph shows (module doc): little
        ink left out, and one piece, or two for digits often written in two strokes."""
        pieces = 2 if label in TWO_STROKE_DIGITS else 1
        return self.off_line <= OFF_LINE and self.pieces <= pieces


def centre_line(glyph: np.ndarray) -> Strokes:
    """Points along the middle of the glyph's strokes: the glyph enlarged THIN_SCALE× and
    smoothed, thresholded, thinned to one pixel, small gaps bridged, and each point
    averaged with its neighbours so that no pixel staircase is left. Cached: the
    glyph is looked at when it is drawn and again when it is rendered."""
    return _centre_line(glyph.tobytes())


@functools.lru_cache(maxsize=1024)
def _centre_line(glyph_bytes: bytes) -> Strokes:
    glyph = np.frombuffer(glyph_bytes, dtype=np.uint8).reshape(28, 28)
    g = np.pad(glyph.astype(np.float32) / 255, GLYPH_PAD)
    size = g.shape[1] * THIN_SCALE, g.shape[0] * THIN_SCALE
    big = Image.fromarray(g).resize(size, Image.Resampling.BICUBIC)
    level = gaussian(np.asarray(big, dtype=np.float32), THIN_SCALE * 0.5)
    full = float(np.percentile(level[level > 0.05], 95))
    ink = level > MASK_CUTS[0] * full
    line = most_loops(level, full)
    line = bridged(line)
    width = float(ink.sum()) / len(line)  # the strokes' mean width: area over length
    missed = off_line(ink, line, width)
    pieces = len(set(piece_labels(line).tolist()))
    near = squared_distances(line, line) <= 2.5 ** 2  # ×4 pixels
    line = (near @ line) / near.sum(axis=1, keepdims=True)
    points = (line + 0.5) / THIN_SCALE - 0.5 - GLYPH_PAD  # back to the glyph's pixels
    return Strokes(points.astype(np.float32), missed, pieces)


def most_loops(level: np.ndarray, full: float) -> np.ndarray:
    """The thinned outline (points, ×4 pixels) at the first of MASK_CUTS that keeps the
    most loops open. A tight loop (an 8's top, a 9's head) is often inked over in the
    glyph at a low cut and open at a higher one; thinned shut, it would be a line, and
    the 8 an f."""
    best: tuple[int, np.ndarray] | None = None
    for cut in MASK_CUTS:
        mask = level > cut * full
        rows, cols = np.nonzero(mask)
        if len(rows) == 0:
            break
        top, left = rows.min(), cols.min()
        thin = thinned(mask[top:rows.max() + 1, left:cols.max() + 1])
        rows, cols = np.nonzero(thin)
        line = np.stack([cols + left, rows + top], axis=1).astype(np.float32)
        loops = len(set(piece_labels(line).tolist())) - euler_number(thin)
        if best is None or loops > best[0]:
            best = (loops, line)
    assert best is not None
    return best[1]


def euler_number(mask: np.ndarray) -> int:
    """Pieces minus holes of a binary picture (8-connected ink), by counting 2×2 patterns
    (Gray 1971): one ink pixel of four counts +1, three −1, two on a diagonal −2,
    all over 4."""
    m = np.pad(mask.astype(np.int8), 1)
    quad = m[:-1, :-1] + m[:-1, 1:] + m[1:, :-1] + m[1:, 1:]
    diagonal = (quad == 2) & (m[:-1, :-1] == m[1:, 1:])
    return int(round((np.sum(quad == 1) - np.sum(quad == 3) - 2 * np.sum(diagonal)) / 4))


def bridged(line: np.ndarray) -> np.ndarray:
    """The thinned line (points in ×4 pixels) with its small gaps closed: where a faint
    join in the glyph (a 7's corner, often) fell under the threshold, a line from the
    loose end to the nearest point of another piece, if that is within BRIDGE glyph
    pixels. A pen does not lift there; a gap would make another digit of it."""
    adjacent = squared_distances(line, line) <= 2.0  # 8-neighbours
    piece = piece_labels(line, adjacent)
    ends = np.nonzero(adjacent.sum(axis=1) <= 2)[0]  # itself and one neighbour, or alone
    added = []
    for end in ends:
        other = piece != piece[end]
        if not other.any():
            continue
        gap = ((line[other] - line[end]) ** 2).sum(axis=1)
        nearest = int(np.argmin(gap))
        if gap[nearest] <= (BRIDGE * THIN_SCALE) ** 2:
            target = line[other][nearest]
            steps = np.linspace(0, 1, int(math.sqrt(gap[nearest])) + 2)[1:-1, None]
            added.append(line[end] + steps * (target - line[end]))
    return np.concatenate([line, *added]) if added else line


def piece_labels(line: np.ndarray, adjacent: np.ndarray | None = None) -> np.ndarray:
    """A label per point of the line, the same for points of one connected piece (union
    and find over 8-neighbours)."""
    if adjacent is None:
        adjacent = squared_distances(line, line) <= 2.0
    parent = list(range(len(line)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(adjacent, 1))):
        parent[root(int(i))] = root(int(j))
    return np.array([root(i) for i in range(len(line))])


def off_line(mask: np.ndarray, line: np.ndarray, width: float) -> float:
    """The share of the mask's pixels farther from the centre line than half a stroke
    (and a little): ink that a pen following the line would leave out."""
    rows, cols = np.nonzero(mask)
    inked = np.stack([cols, rows], axis=1).astype(np.float32)
    nearest = squared_distances(inked, line).min(axis=1)
    return float(np.mean(nearest > (width / 2 + 2) ** 2))


def thinned(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning (1984): pixels peeled off the mask's outline, from
    alternate sides, until every stroke is one pixel wide and still connected."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p2, p3, p4, p5 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:], img[2:, 2:]
            p6, p7, p8, p9 = img[2:, 1:-1], img[2:, :-2], img[1:-1, :-2], img[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            count = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
            rises = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            peel = (img[1:-1, 1:-1] == 1) & (count >= 2) & (count <= 6) & (rises == 1) & side
            if peel.any():
                img[1:-1, 1:-1][peel] = 0
                changed = True
    return img[1:-1, 1:-1].astype(bool)


def pen_field(strokes: Strokes, width: float, rng: np.random.Generator
              ) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The pen's field (mode F, FIELD_SCALE samples per glyph pixel): the pen's radius,
    which wavers a little with pressure, less the distance to the centre line; positive
    on the ink. And the ink's box in field coordinates (left, top, right, bottom).
    `width` is the stroke's width as a share of the centre line's height: a pen draws
    every stroke equally wide, whatever the width of the MNIST stroke it follows."""
    points = strokes.points
    radius = width * max(float(np.ptp(points[:, 1])), 4.0) / 2
    low = points.min(axis=0) - radius - 2
    high = points.max(axis=0) + radius + 2
    shape = np.ceil((high - low) * FIELD_SCALE).astype(int) + 1  # (x, y) samples
    xs = low[0] + np.arange(shape[0], dtype=np.float32) / FIELD_SCALE
    ys = low[1] + np.arange(shape[1], dtype=np.float32) / FIELD_SCALE
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    nearest = squared_distances(grid, points).min(axis=1)
    distance = np.sqrt(nearest).astype(np.float32).reshape(shape[1], shape[0])
    pressure = 1 + 0.12 * smooth_noise(rng, shape[1], shape[0], 4 * FIELD_SCALE)
    level = np.maximum(radius * pressure - distance, OUTSIDE)
    box_low = (points.min(axis=0) - radius - low) * FIELD_SCALE
    box_high = (points.max(axis=0) + radius - low) * FIELD_SCALE
    return Image.fromarray(level.astype(np.float32)), (*box_low, *box_high)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared distances between two sets of 2-D points (as
    |a|² + |b|² − 2a·b: one matrix product, much faster than differences)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    out = a @ (-2 * b.T)
    out += (a * a).sum(axis=1)[:, None]
    out += (b * b).sum(axis=1)[None, :]
    return np.maximum(out, 0)


def glyph_to_page(style: Style, rng: np.random.Generator,
                  box: tuple[float, float, float, float]) -> np.ndarray:
    """The 3×3 map from ink-field to page coordinates: scale to style.digit_height,
    rotate, slant, then place (centred with some play, on a rule, or anywhere for small)."""
    left, top, right, bottom = box
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    a = math.radians(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    rotate = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    slant = np.array([[1.0, -rng.uniform(-MAX_SLANT, MAX_SLANT)], [0.0, 1.0]])
    linear = rotate @ slant
    corners = np.array([[left, top], [right, top], [left, bottom], [right, bottom]]) - centre
    extent = np.ptp(corners @ linear.T, axis=0)  # (width, height) at scale 1
    scale = min(style.digit_height / extent[1], 0.85 * style.width / extent[0],
                0.9 * style.height / extent[1])
    linear = linear * scale
    where = placement(style, rng, extent * scale)
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = where - linear @ centre
    return matrix


def placement(style: Style, rng: np.random.Generator, extent: np.ndarray) -> np.ndarray:
    """The digit's centre on the page (x, y)."""
    h, w = style.height, style.width
    room = np.maximum(np.array([w, h]) - extent, 0) / 2  # centre may move this far
    if style.specks or style.digit_height < 0.25 * h:  # small: anywhere, 4 % margin
        play = np.maximum(room - 0.04 * np.array([w, h]), 0)
        centre = np.array([w, h]) / 2 + rng.uniform(-1, 1, 2) * play
    else:
        centre = np.array([w, h]) / 2 + rng.uniform(-0.6, 0.6, 2) * room
    if style.lines == "ruled":  # bottom on a rule, clear of the margin
        spacing, offset = style.placement["spacing"], style.placement["offset"]
        bottom = centre[1] + extent[1] / 2
        rule = offset + round((bottom - offset) / spacing) * spacing
        rule = min(rule, offset + math.floor((h - 2 - offset) / spacing) * spacing)
        centre[1] = rule + rng.uniform(-0.12, 0.05) * spacing - extent[1] / 2
        margin = style.placement.get("margin_x", 0.0)
        centre[0] = max(centre[0], margin + extent[0] / 2 + 0.03 * w)
    return centre


def grain(rng: np.random.Generator, h: int, w: int, amount: float) -> np.ndarray:
    """Multiplicative texture for pencil and chalk: fine grain where the paper's tooth
    or the board catches little graphite or chalk, and occasional gaps along the
    stroke. float32 (H, W) in 0–1."""
    fine = rng.standard_normal((h, w)).astype(np.float32)
    fine = gaussian(fine, 0.6) * 1.8  # back to a standard deviation of about 1
    tooth = np.clip(1 - amount * 0.45 + amount * 0.9 * fine, 0.1, 1)
    # pressure: mostly full, lighter in places, now and then (2 %) a real gap
    pressure = np.clip(1.1 + 0.55 * smooth_noise(rng, h, w, max(h, w) / 10), 0, 1)
    return tooth * pressure


def add_specks(picture: np.ndarray, count: int, rng: np.random.Generator) -> None:
    """Dust and specks: small dark dots, 0.6–2 px, here and there (in place)."""
    h, w = picture.shape[:2]
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        radius = rng.uniform(0.6, 2.0)
        r = int(radius) + 2
        y0, y1, x0, x1 = max(int(cy) - r, 0), min(int(cy) + r + 1, h), max(int(cx) - r, 0), \
            min(int(cx) + r + 1, w)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        cover = np.clip(radius + 0.5 - np.hypot(yy - cy, xx - cx), 0, 1)
        picture[y0:y1, x0:x1] *= 1 - cover[..., None] * rng.uniform(0.3, 0.7)


def lighting(style: Style, rng: np.random.Generator) -> np.ndarray:
    """The light falling on the page, a factor per pixel (float32 (H, W))."""
    h, w = style.height, style.width
    x, y = page_coordinates(h, w, 0.0)
    angle = rng.uniform(0, 2 * math.pi)
    along = (math.cos(angle) * (x / w - 0.5) + math.sin(angle) * (y / h - 0.5)) / 0.71
    light = 1 + rng.uniform(0.0, 0.05) * along + 0.01 * smooth_noise(rng, h, w, 4)
    if style.light == "shadow":
        light = light * (1 - shadow(rng, x, y, h, w))
    elif style.light == "hotspot":
        light = light * hotspot(rng, x, y, h, w)
    return light


def shadow(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, h: int, w: int
           ) -> np.ndarray:
    """How much darker each pixel is under the shadow (0 outside, 0.25–0.55 inside): a
    phone's straight edge or a hand's rounded one, blurred by the distance to the page."""
    depth = rng.uniform(0.25, 0.55)
    soft = rng.uniform(0.015, 0.06) * min(h, w)
    if rng.random() < 0.5:  # a straight edge, slightly curved
        angle = rng.uniform(0, 2 * math.pi)
        nx, ny = math.cos(angle), math.sin(angle)
        px, py = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.25, 0.75)
        along = (x - px) * -ny + (y - py) * nx
        inside = (x - px) * nx + (y - py) * ny + rng.uniform(-1, 1) * along ** 2 / (2 * max(h, w))
    else:  # a hand: an ellipse reaching in from beyond an edge
        side = int(rng.integers(4))
        cx, cy = ([-0.15, rng.uniform(0.2, 0.8)], [1.15, rng.uniform(0.2, 0.8)],
                  [rng.uniform(0.2, 0.8), -0.15], [rng.uniform(0.2, 0.8), 1.15])[side]
        rx, ry = rng.uniform(0.45, 0.8) * w, rng.uniform(0.45, 0.8) * h
        metric = np.sqrt(((x - cx * w) / rx) ** 2 + ((y - cy * h) / ry) ** 2)
        inside = (metric - 1) * min(rx, ry)
    return depth / (1 + np.exp(np.clip(inside / soft, -30, 30)))


def hotspot(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, h: int, w: int
            ) -> np.ndarray:
    """A lamp close to the page: brightest at a spot near the middle (overexposing a
    little), falling off so that the corners are 40–60 % darker."""
    cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)
    r = np.hypot(x - cx, y - cy)
    far = max(math.hypot(px - cx, py - cy) for px in (0, w) for py in (0, h))
    corner_mean = sum(math.hypot(px - cx, py - cy) for px in (0, w) for py in (0, h)) / 4
    power = rng.uniform(1.5, 2.5)
    drop = rng.uniform(0.4, 0.6) / (corner_mean / far) ** power  # on average at the corners
    peak = rng.uniform(1.03, 1.12)
    return peak * np.clip(1 - drop * (r / far) ** power, 0.3, 1)


def white_balance(rng: np.random.Generator) -> np.ndarray:
    """A slight warm or cool cast (red against blue, within ±3 %) and a trace of green
    or magenta: what a phone's automatic white balance leaves."""
    warm, green = rng.uniform(-0.03, 0.03), rng.uniform(-0.01, 0.01)
    return np.array([1 + warm, 1 + green, 1 - warm], np.float32)


def camera(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lens blur and sensor noise, then 8 bits (in place where it can: it is the
    costliest step)."""
    np.clip(picture, 0, 255, out=picture)
    image = Image.fromarray(picture.astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*BLUR)))
    out = np.asarray(image, dtype=np.float32)
    sigma = rng.uniform(*NOISE)
    noise = rng.standard_normal(out.shape, dtype=np.float32)
    out += noise[..., :1] * sigma  # mostly brightness: channel 0's noise in all three
    noise *= 0.4 * sigma
    out += noise
    out += 0.5  # astype truncates: round instead
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a float array (Pillow blurs only 8-bit pictures), edges
    repeated: separable, as a sum of shifted copies, cheap for the small sigmas here."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    out = values
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)],
                        mode="edge")
        n = out.shape[axis]
        out = sum(t * padded.take(range(k, k + n), axis=axis) for k, t in enumerate(taps))
    return out


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Noise that varies over about `cell` pixels, standard deviation about 1: paper
    texture, smudges, ink pressure. float32 (H, W)."""
    small = rng.standard_normal((max(2, round(h / cell) + 1), max(2, round(w / cell) + 1)))
    big = Image.fromarray(small.astype(np.float32)).resize(
        (w, h), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32)


if __name__ == "__main__":
    main()
