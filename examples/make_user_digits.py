"""Make digit pictures in styles people bring that the committed examples do not cover.

    python examples/make_user_digits.py OUT_DIR [--per-style N] [--seed S]

writes OUT_DIR/<style>-<index>-label-<digit>.<png|jpg> and OUT_DIR/labels.csv (file,label).
The benchmark `benchmarks/user_digits.py` imports STYLES and write_pictures from here.

Why: the example pictures and `examples/make_digit_photos.py` redraw MNIST's own
handwriting. People also bring digits from other hands: neat print, quick scrawls, a
script with a flagged 1 or a crossed 7, drawn in pencil or marker, tilted, on a notebook
page or a sticky note, or as a dim phone photo. Here the handwriting comes from handwriting
fonts, so the set says how a model does on shapes it has never seen, each style a single
condition.

Styles (STYLES), one function each (_font_print ... _thin); pages 120–400 px a side:

- font-print: neat print handwriting (Purisa, Because We Had To: Organize and Connect,
  Steve Hand, Breip, Comic Neue) on white paper, a dark pen, a scan or a good photo;
- font-casual: quick, uneven handwriting (dkg, Humor Sans, Tomson Talks, Because We Had To:
  Build and Mentor, Rufscript): crossed 7s, open 4s, wobbly strokes;
- font-script: a calligraphic or brush script (Z003, Dancing Script, Kaushan Script);
- pencil: grey, grainy graphite, thin strokes with gaps, on off-white paper;
- marker: a thick felt tip in a saturated colour, edges soft where the ink bled;
- tilted: rotated 15–30° either way and sheared (a 1 or a 7 only 10–15°);
- lined-paper: a notebook page, blue rules, often a red margin; the digit sits on a rule;
- tinted-paper: a sticky note (yellow, pink, grey-blue, green, orange), half of them
  squared; the digit sometimes small;
- phone-photo: uneven light, dark corners, a soft shadow across, a slight perspective,
  blur, noise, JPEG quality 40–70; the digit 20–55 % of the frame;
- thick: strokes 15–20 % of the digit's height; thin: 1.5–3 %.

All styles but the three font-* ones draw from every font that suits them: thin and pencil
from the monoline ones (redrawn with a finer pen along their strokes' middle line, where a
script's hairlines would vanish), marker and thick not from Humor Sans, Build or Mentor
(thickened, they blot). A digit is thickened only as far as its loops stay open, and a
font that cannot take the weight is passed over for that digit. Each font was checked by
eye for all ten digits: a font whose digits a person would misread (a 4 like a 9, a 1 like
a 7) is not used. The fonts come from Debian packages; a missing font file is reported
once and left out, a style with none of its fonts is skipped:

    apt-get install fonts-tlwg-purisa-ttf fonts-bwht fonts-sjfonts fonts-breip \\
        fonts-comic-neue fonts-dkg-handwriting fonts-humor-sans fonts-tomsontalks \\
        fonts-rufscript fonts-urw-base35 fonts-dancingscript fonts-kaushanscript

Labels are balanced: picture i of a style shows the digit i mod 10. Deterministic: picture
i of a style comes from its own generator seeded by (seed, the style's place in STYLES, i),
so more pictures per style keep the first ones; the same seed and the same fonts give the
same files.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# font file name -> the Debian package that installs it
PACKAGES = {
    "Purisa.ttf": "fonts-tlwg-purisa-ttf",
    "BecauseWeOrganize-Regular.otf": "fonts-bwht",
    "BecauseWeConnect-Regular.otf": "fonts-bwht",
    "SteveHand.ttf": "fonts-sjfonts",
    "Breip.ttf": "fonts-breip",
    "ComicNeue-Regular.otf": "fonts-comic-neue",
    "dkg.ttf": "fonts-dkg-handwriting",
    "Humor-Sans.ttf": "fonts-humor-sans",
    "TomsonTalks.ttf": "fonts-tomsontalks",
    "BecauseWeBuild-Regular.otf": "fonts-bwht",
    "BecauseWeMentor-Regular.otf": "fonts-bwht",
    "Rufscript010.ttf": "fonts-rufscript",
    "Z003-MediumItalic.otf": "fonts-urw-base35",
    "DancingScript-Regular.otf": "fonts-dancingscript",
    "KaushanScript-Regular.otf": "fonts-kaushanscript",
}
PRINT_FONTS = ("Purisa.ttf", "BecauseWeOrganize-Regular.otf", "BecauseWeConnect-Regular.otf",
               "SteveHand.ttf", "Breip.ttf", "ComicNeue-Regular.otf")
CASUAL_FONTS = ("dkg.ttf", "Humor-Sans.ttf", "TomsonTalks.ttf", "BecauseWeBuild-Regular.otf",
                "BecauseWeMentor-Regular.otf", "Rufscript010.ttf")
SCRIPT_FONTS = ("Z003-MediumItalic.otf", "DancingScript-Regular.otf",
                "KaushanScript-Regular.otf")
MONOLINE_FONTS = PRINT_FONTS + CASUAL_FONTS  # even strokes: they can be thinned
ALL_FONTS = MONOLINE_FONTS + SCRIPT_FONTS
# can be thickened (Humor Sans's rough outline and the doubled strokes of Build and Mentor
# fill in and turn to blots)
BOLD_FONTS = tuple(name for name in ALL_FONTS if name not in (
    "Humor-Sans.ttf", "BecauseWeBuild-Regular.otf", "BecauseWeMentor-Regular.otf"))
FONT_FOLDER = Path("/usr/share/fonts")  # searched when fontconfig's fc-list is missing

RENDER_SIZE = 240  # px: glyphs are drawn this large, then transformed and shrunk
MAX_GROW = 40  # px at RENDER_SIZE: the most a stroke is thickened on each side
OPEN_LOOP = 0.08  # of the digit's height: a loop narrower than this reads as filled in
LOOP_SCALE = 3  # loops are counted on a glyph this many times smaller
SIDE = (120, 400)  # px: the page's longer side
ASPECT = (0.75, 1.33)  # width / height
DARK_INKS = ((25, 25, 30), (20, 30, 110), (35, 35, 45), (15, 40, 140))  # pens: black, blue
MARKER_INKS = ((210, 30, 40), (25, 60, 200), (20, 130, 60), (120, 40, 160), (20, 20, 20),
               (225, 95, 20), (210, 35, 130))
STICKY_NOTES = ((250, 236, 140), (250, 196, 214), (196, 212, 232), (204, 236, 184),
                (252, 204, 150))


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    rows = write_pictures(args.out_dir, args.per_style, args.seed)
    print(f"{len(rows)} pictures in {args.out_dir}, {time.perf_counter() - started:.1f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write into")
    parser.add_argument("--per-style", type=int, default=40, help="pictures per style")
    parser.add_argument("--seed", type=int, default=0, help="the same seed, the same files")
    args = parser.parse_args()
    if not 1 <= args.per_style <= 1000:
        parser.error("--per-style must be between 1 and 1000")
    return args


# --- writing ------------------------------------------------------------------------------


def write_pictures(out_dir: Path, per_style: int, seed: int
                   ) -> list[tuple[Path, int, str]]:
    """Write per_style pictures of every style whose fonts are installed, and labels.csv;
    returns (path, label, style) per picture, in order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for style in usable_styles():
        for index in range(per_style):
            rows.append(write_picture(out_dir, style, index, seed))
    with open(out_dir / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file", "label"))
        writer.writerows((path.name, label) for path, label, _ in rows)
    return rows


def write_picture(out_dir: Path, style: str, index: int, seed: int) -> tuple[Path, int, str]:
    """Picture `index` of `style`, written; its path, label and style."""
    label = index % 10
    picture, quality = make_picture(style, index, seed)
    path = out_dir / f"{style}-{index:03d}-label-{label}.{'jpg' if quality else 'png'}"
    path.write_bytes(encode(picture, quality))
    return path, label, style


def make_picture(style: str, index: int, seed: int) -> tuple[np.ndarray, int]:
    """Picture `index` of `style` as uint8 RGB and its JPEG quality (0: PNG)."""
    rng = np.random.default_rng([seed, STYLES.index(style), index])
    return STYLE_FUNCTIONS[style](rng, index % 10)


def encode(picture: np.ndarray, quality: int) -> bytes:
    """The file's bytes: JPEG at `quality`, or PNG when quality is 0."""
    out = io.BytesIO()
    image = Image.fromarray(picture)
    if quality:
        image.save(out, format="JPEG", quality=quality)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def usable_styles() -> list[str]:
    """STYLES whose fonts are installed; a skipped style is reported once."""
    usable = []
    for style in STYLES:
        if installed(STYLE_FONTS[style]):
            usable.append(style)
        else:
            packages = sorted({PACKAGES[name] for name in STYLE_FONTS[style]})
            print(f"style {style} skipped: none of its fonts is installed "
                  f"(apt-get install {' '.join(packages)})", file=sys.stderr)
    return usable


# --- fonts and glyphs ---------------------------------------------------------------------


@functools.cache
def font_files() -> dict[str, Path]:
    """Every installed font file by its name: fontconfig's list, else a walk of the
    system's font folder. Sorted, so that a name found twice always gives the same file."""
    try:
        listing = subprocess.run(["fc-list", ":", "file"], capture_output=True, text=True,
                                 check=True).stdout
        paths = [Path(line.split(":")[0].strip()) for line in listing.splitlines()
                 if line.strip()]
    except (OSError, subprocess.CalledProcessError):
        paths = []
    if not paths and FONT_FOLDER.is_dir():
        paths = [p for p in FONT_FOLDER.rglob("*") if p.suffix.lower() in (".ttf", ".otf")]
    found: dict[str, Path] = {}
    for path in sorted(paths, reverse=True):
        found[path.name] = path
    return found


@functools.cache
def font_path(name: str) -> Path | None:
    """The file of the font `name`, or None, said once on stderr."""
    path = font_files().get(name)
    if path is None:
        print(f"font {name} not found (apt-get install {PACKAGES[name]}): left out",
              file=sys.stderr)
    return path


def installed(names: tuple[str, ...]) -> tuple[Path, ...]:
    """The files of those fonts that are installed, in the order given."""
    return tuple(path for name in names if (path := font_path(name)) is not None)


@functools.cache
def glyph(font: Path, digit: int, grow: int = 0) -> np.ndarray:
    """The digit in `font` at RENDER_SIZE, ink 0–255 (uint8), cropped to its ink, with
    `grow` px added to every stroke's edge (Pillow's stroke)."""
    typeface = ImageFont.truetype(str(font), RENDER_SIZE)
    left, top, right, bottom = typeface.getbbox(str(digit), stroke_width=grow)
    pad = 4 + grow
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), str(digit), font=typeface, fill=255,
                                stroke_width=grow, stroke_fill=255)
    return cropped(np.asarray(canvas))


@functools.cache
def pen_glyph(font: Path, digit: int, radius: float) -> np.ndarray:
    """The glyph redrawn along the middle line of its strokes with a round pen of
    `radius` px (at RENDER_SIZE): thinner strokes that keep the glyph's shape. (Eroding
    the outline instead would break a font's narrower strokes first.)"""
    line = thinned(glyph(font, digit) > 127)
    r = math.ceil(radius)
    padded = np.pad(line, r)
    ink = np.zeros_like(padded)
    h, w = line.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx <= radius * radius:
                ink[r + dy:r + dy + h, r + dx:r + dx + w] |= line
    return cropped(ink.astype(np.uint8) * 255)


def thinned(mask: np.ndarray) -> np.ndarray:
    """The one-pixel middle line of the strokes of `mask` (Zhang–Suen thinning)."""
    image = np.pad(mask, 1).astype(np.uint8)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            c = image[1:-1, 1:-1]
            n, ne, e, se = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:], image[2:, 2:]
            s, sw, w, nw = image[2:, 1:-1], image[2:, :-2], image[1:-1, :-2], image[:-2, :-2]
            ring = (n, ne, e, se, s, sw, w, nw, n)
            neighbours = sum(p.astype(np.int16) for p in ring[:8])
            rises = sum(((a == 0) & (b == 1)).astype(np.int16) for a, b in zip(ring, ring[1:]))
            if step == 0:
                side = ((n & e & s) == 0) & ((e & s & w) == 0)
            else:
                side = ((n & e & w) == 0) & ((n & s & w) == 0)
            delete = (c == 1) & (neighbours >= 2) & (neighbours <= 6) & (rises == 1) & side
            if delete.any():
                c[delete] = 0
                changed = True
    return image[1:-1, 1:-1].astype(bool)


def cropped(ink: np.ndarray) -> np.ndarray:
    """`ink` cut down to the rows and columns that hold any."""
    rows, cols = np.nonzero(ink > 8)
    return ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


@functools.cache
def stroke_width(font: Path, digit: int) -> float:
    """The glyph's mean stroke width in px at RENDER_SIZE: its ink's area over the length
    of its middle line (each line pixel counts half the distance to each neighbour on the
    line: 1 across, √2 diagonally)."""
    mask = glyph(font, digit) > 127
    line = np.pad(thinned(mask), 1).astype(np.float32)
    centre = line[1:-1, 1:-1]
    across = line[:-2, 1:-1] + line[2:, 1:-1] + line[1:-1, :-2] + line[1:-1, 2:]
    diagonal = line[:-2, :-2] + line[:-2, 2:] + line[2:, :-2] + line[2:, 2:]
    length = float((centre * (across + math.sqrt(2) * diagonal)).sum()) / 2
    return float(mask.sum()) / max(length, 1.0)


def weighted_glyph(font: Path, digit: int, weight: float | None) -> np.ndarray:
    """The glyph with strokes about `weight` of its height wide (None: as the font has
    them): thickened with Pillow's stroke as far as its loops stay open, thinned by
    redrawing it with a finer pen."""
    if weight is None:
        return glyph(font, digit)
    width = stroke_width(font, digit)
    target = weight * glyph(font, digit).shape[0]
    if target >= width:
        return glyph(font, digit, min(round((target - width) / 2), widest_grow(font, digit)))
    return pen_glyph(font, digit, max(1.0, round(target) / 2))  # whole px: fewer to cache


@functools.cache
def widest_grow(font: Path, digit: int) -> int:
    """The most px Pillow's stroke may add before one of the glyph's loops (a 6's, an
    8's, a closed 4's) fills in: a filled loop would change the digit a person reads."""
    loops = open_loops(glyph(font, digit))
    low, high = 0, MAX_GROW
    while low < high:  # the loops only close as the stroke grows
        middle = (low + high + 1) // 2
        if open_loops(glyph(font, digit, middle)) == loops:
            low = middle
        else:
            high = middle - 1
    return low


def open_loops(ink: np.ndarray) -> int:
    """How many loops of the glyph stay open at least OPEN_LOOP of its height across.
    Counted on a glyph LOOP_SCALE times smaller: the same answer, far sooner."""
    small = Image.fromarray(ink).reduce(LOOP_SCALE)
    paper = np.pad(np.asarray(small) <= 127, 1)
    outside = np.zeros_like(paper)
    outside[0, :] = outside[-1, :] = outside[:, 0] = outside[:, -1] = True
    while True:  # spread the outside through the paper it touches
        grown = outside.copy()
        grown[1:] |= outside[:-1]
        grown[:-1] |= outside[1:]
        grown[:, 1:] |= outside[:, :-1]
        grown[:, :-1] |= outside[:, 1:]
        grown &= paper
        if np.array_equal(grown, outside):
            break
        outside = grown
    holes = Image.fromarray(((paper & ~outside) * 255).astype(np.uint8))
    across = 2 * round(OPEN_LOOP * small.height / 2) + 1
    return euler_number(np.asarray(holes.filter(ImageFilter.MinFilter(across))) > 0)


def euler_number(mask: np.ndarray) -> int:
    """Pieces minus holes of a 4-connected `mask` (Gray's count of 2×2 patterns); for the
    holes of a glyph, which have no holes themselves, the number of them."""
    m = np.pad(mask, 1).astype(np.int8)
    quad = m[:-1, :-1] + m[:-1, 1:] + m[1:, :-1] + m[1:, 1:]
    diagonal = ((m[:-1, :-1] == m[1:, 1:]) & (m[:-1, 1:] == m[1:, :-1])
                & (m[:-1, :-1] != m[:-1, 1:]) & (quad == 2))
    return int(((quad == 1).sum() - (quad == 3).sum() + 2 * diagonal.sum()) // 4)


def digit_alpha(rng: np.random.Generator, fonts: tuple[Path, ...], digit: int, height: float,
                weight: float | None = None, rotation: tuple[float, float] = (0.0, 6.0),
                shear: float = 0.15) -> np.ndarray:
    """The digit's coverage (float32 0–1), `height` px tall before rotation, in a font
    drawn from `fonts`: turned either way by an angle within `rotation` (degrees), sheared
    by up to ±shear, 0.85–1.15 as wide as the font has it (people write narrow or wide)."""
    if weight is not None:
        fonts = able_fonts(fonts, digit, weight)
    font = fonts[int(rng.integers(len(fonts)))]
    ink = Image.fromarray(weighted_glyph(font, digit, weight))
    angle = rng.uniform(*rotation) * rng.choice([-1, 1])
    return transformed(ink, height, angle, rng.uniform(-shear, shear), rng.uniform(0.85, 1.15))


def able_fonts(fonts: tuple[Path, ...], digit: int, weight: float) -> tuple[Path, ...]:
    """Those of `fonts` whose `digit` takes strokes of 0.8 × `weight` with its loops open
    (all of them if none does): a bold digit must look bold."""
    able = tuple(font for font in fonts if heaviest(font, digit) >= 0.8 * weight)
    return able or fonts


def heaviest(font: Path, digit: int) -> float:
    """The widest stroke, as a share of the digit's height, its loops allow."""
    grow = widest_grow(font, digit)
    return (stroke_width(font, digit) + 2 * grow) / glyph(font, digit).shape[0]


def transformed(ink: Image.Image, height: float, degrees: float, shear: float,
                widen: float) -> np.ndarray:
    """`ink` sheared, widened and rotated at full size (so the edges stay smooth), cropped
    and then shrunk with a proper filter to `height` × its rotated proportion."""
    theta = math.radians(degrees)
    rotate = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    forward = rotate @ np.array([[widen, -shear], [0.0, 1.0]])  # (x, y) -> (x', y')
    w, h = ink.size
    corners = forward @ np.array([[0, w, 0, w], [0, 0, h, h]], dtype=float)
    low, high = corners.min(axis=1), corners.max(axis=1)
    size = (math.ceil(high[0] - low[0]) + 2, math.ceil(high[1] - low[1]) + 2)
    back = np.linalg.inv(forward)
    offset = back @ (low - 1)
    coefficients = (*back[0], offset[0], *back[1], offset[1])
    turned = ink.transform(size, Image.Transform.AFFINE, coefficients,
                           Image.Resampling.BICUBIC)
    turned = Image.fromarray(cropped(np.asarray(turned)))
    scale = height / h
    small = turned.resize((max(1, round(turned.width * scale)),
                           max(1, round(turned.height * scale))), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255


# --- pages and ink ------------------------------------------------------------------------


def page(rng: np.random.Generator, colour: np.ndarray, side: tuple[int, int] = SIDE,
         aspect: tuple[float, float] = ASPECT) -> np.ndarray:
    """A blank page (float32 RGB, (H, W, 3)) of `colour`, its longer side within `side`,
    with a faint paper texture."""
    longer = int(rng.integers(side[0], side[1] + 1))
    ratio = rng.uniform(*aspect)
    h, w = (longer, round(longer * ratio)) if ratio < 1 else (round(longer / ratio), longer)
    texture = smooth_noise(rng, h, w, 3.0) * rng.uniform(1.0, 3.0)
    return np.asarray(colour, np.float32) + texture[..., None]


def paper_colour(rng: np.random.Generator) -> np.ndarray:
    """White, off-white or cream."""
    level = rng.uniform(232, 252)
    return np.array([level, level - rng.uniform(0, 6), level - rng.uniform(0, 16)])


def pen_colour(rng: np.random.Generator) -> np.ndarray:
    """A dark pen: black or blue, a little varied."""
    base = np.array(DARK_INKS[int(rng.integers(len(DARK_INKS)))], float)
    return np.clip(base + rng.uniform(-10, 10, 3), 0, 255)


def fit_height(page_rgb: np.ndarray, share: float) -> float:
    """A digit height of `share` of the page's height, kept within the page's width too
    (a digit is at most about 0.8 as wide as high)."""
    h, w = page_rgb.shape[:2]
    return min(share * h, 0.85 * w / 0.8)


def put_ink(page_rgb: np.ndarray, alpha: np.ndarray, colour: np.ndarray,
            rng: np.random.Generator, margin: float = 0.05,
            at: tuple[int, int] | None = None) -> None:
    """Lay `alpha` of ink `colour` onto the page at `at` (top, left), or anywhere at least
    `margin` of the page from its edges; a digit larger than the page is shrunk first."""
    h, w = page_rgb.shape[:2]
    if alpha.shape[0] > h - 4 or alpha.shape[1] > w - 4:
        alpha = shrunk(alpha, min((h - 4) / alpha.shape[0], (w - 4) / alpha.shape[1]))
    ah, aw = alpha.shape
    if at is None:
        top = placed(rng, h, ah, margin)
        left = placed(rng, w, aw, margin)
    else:
        top = int(np.clip(at[0], 0, h - ah))
        left = int(np.clip(at[1], 0, w - aw))
    region = page_rgb[top:top + ah, left:left + aw]
    region += (np.asarray(colour, np.float32) - region) * alpha[..., None]


def placed(rng: np.random.Generator, room: int, size: int, margin: float) -> int:
    """Where a digit `size` long starts along a side `room` long, `margin` clear if it
    fits."""
    low = round(margin * room)
    high = room - size - low
    if high <= low:
        return max(0, (room - size) // 2)
    return int(rng.integers(low, high + 1))


def shrunk(alpha: np.ndarray, scale: float) -> np.ndarray:
    """Coverage `alpha` made `scale` times as large (smaller), smoothly."""
    image = Image.fromarray(np.clip(alpha * 255, 0, 255).astype(np.uint8))
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), np.float32) / 255


def camera(picture: np.ndarray, rng: np.random.Generator, blur: tuple[float, float],
           noise: tuple[float, float]) -> np.ndarray:
    """Lens blur and sensor noise (mostly in brightness), then uint8."""
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
    out = np.asarray(image, np.float32)
    sigma = rng.uniform(*noise)
    grain = rng.standard_normal(out.shape).astype(np.float32)
    out = out + sigma * (grain[..., :1] + 0.4 * grain)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Noise varying over about `cell` px, standard deviation about 1 (float32 (H, W)):
    paper texture, pencil pressure, uneven light."""
    small = rng.standard_normal((max(2, round(h / cell) + 1), max(2, round(w / cell) + 1)))
    big = Image.fromarray(small.astype(np.float32)).resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(big, np.float32)


def soft_line(coordinate: np.ndarray, at: float, width: float) -> np.ndarray:
    """Coverage of a line `width` px wide at `at` along `coordinate`, edges antialiased."""
    return np.clip(width / 2 + 0.5 - np.abs(coordinate - at), 0, 1)


def draw_lines(page_rgb: np.ndarray, axis: int, start: float, spacing: float, width: float,
               colour: np.ndarray) -> None:
    """Lines across the page every `spacing` px from `start`: rows (axis 0) or columns."""
    n = page_rgb.shape[axis]
    coordinate = np.arange(n, dtype=np.float32)
    cover = np.zeros(n, np.float32)
    for at in np.arange(start % spacing, n, spacing):
        cover = np.maximum(cover, soft_line(coordinate, at, width))
    cover = cover[:, None] if axis == 0 else cover[None, :]
    page_rgb += (np.asarray(colour, np.float32) - page_rgb) * cover[..., None]


# --- styles -------------------------------------------------------------------------------


def _font_style(rng: np.random.Generator, digit: int, names: tuple[str, ...]
                ) -> tuple[np.ndarray, int]:
    """Handwriting in one of `names` with a dark pen on plain paper, scanned or photographed
    in good light: the font is the only difficulty."""
    sheet = page(rng, paper_colour(rng))
    alpha = digit_alpha(rng, installed(names), digit, fit_height(sheet, rng.uniform(0.45, 0.8)))
    put_ink(sheet, alpha, pen_colour(rng), rng)
    quality = 0 if rng.random() < 0.5 else int(rng.integers(80, 96))
    return camera(sheet, rng, (0.2, 0.6), (0.5, 2.0)), quality


def _font_print(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    return _font_style(rng, digit, PRINT_FONTS)


def _font_casual(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    return _font_style(rng, digit, CASUAL_FONTS)


def _font_script(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    return _font_style(rng, digit, SCRIPT_FONTS)


def _pencil(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """Graphite: grey (levels 70–130 on paper near 235), thin, grainy where the lead
    skipped over the paper's tooth, pressure fading along the stroke."""
    sheet = page(rng, paper_colour(rng) - rng.uniform(0, 10))
    alpha = digit_alpha(rng, installed(MONOLINE_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.45, 0.8)), rng.uniform(0.03, 0.055))
    h, w = alpha.shape
    tooth = rng.uniform(0.35, 1.0, (h, w)).astype(np.float32)  # the paper's grain
    pressure = np.clip(0.85 + 0.15 * smooth_noise(rng, h, w, max(h, w) / 3), 0.6, 1.0)
    grey = rng.uniform(70, 130)
    put_ink(sheet, alpha * tooth * pressure, np.array([grey, grey, grey + 5]), rng)
    quality = 0 if rng.random() < 0.3 else int(rng.integers(80, 93))
    return camera(sheet, rng, (0.3, 0.7), (1.0, 3.0)), quality


def _marker(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """A felt tip: strokes 10–15 % of the digit's height, saturated colour, its edge
    blurred where the ink soaked into the paper."""
    sheet = page(rng, paper_colour(rng))
    alpha = digit_alpha(rng, installed(BOLD_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.45, 0.8)), rng.uniform(0.10, 0.15))
    bled = Image.fromarray((alpha * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(rng.uniform(0.6, 1.6)))
    soft = np.clip(np.asarray(bled, np.float32) / 255 * 1.15, 0, 1) * rng.uniform(0.9, 1.0)
    colour = np.array(MARKER_INKS[int(rng.integers(len(MARKER_INKS)))], float)
    put_ink(sheet, soft, colour, rng)
    return camera(sheet, rng, (0.3, 0.7), (0.5, 2.0)), int(rng.integers(80, 94))


def _tilted(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """Paper turned under the camera or a slanted hand: 15–30° either way, sheared up to
    ±0.2. A 1 or a 7 only 10–15°, sheared ±0.1: further, a flagged 1 turns into a 7 or a
    Λ, a 7 into a >."""
    sheet = page(rng, paper_colour(rng), aspect=(0.85, 1.2))
    rotation, shear = ((10, 15), 0.1) if digit in (1, 7) else ((15, 30), 0.2)
    alpha = digit_alpha(rng, installed(ALL_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.4, 0.6)), rotation=rotation, shear=shear)
    put_ink(sheet, alpha, pen_colour(rng), rng)
    quality = 0 if rng.random() < 0.3 else int(rng.integers(80, 94))
    return camera(sheet, rng, (0.3, 0.8), (0.5, 2.5)), quality


def _lined_paper(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """A notebook page: light blue rules 1/8–1/5 of the page apart, mostly a red margin;
    the digit stands on a rule, 1.3–2 spacings tall, right of the margin."""
    sheet = page(rng, paper_colour(rng), side=(200, 400))
    h, w = sheet.shape[:2]
    spacing = h / rng.uniform(5, 8)
    first = rng.uniform(0, spacing)
    rule = np.array([rng.uniform(130, 175), rng.uniform(165, 200), rng.uniform(215, 240)])
    draw_lines(sheet, 0, first, spacing, rng.uniform(1.0, 2.0), rule)
    margin = round(w * rng.uniform(0.1, 0.2)) if rng.random() < 0.75 else 0
    if margin:
        red = np.array([rng.uniform(200, 235), rng.uniform(70, 120), rng.uniform(80, 130)])
        draw_lines(sheet, 1, margin, 10 * w, rng.uniform(1.0, 2.0), red)
    alpha = digit_alpha(rng, installed(ALL_FONTS), digit,
                        min(rng.uniform(1.3, 2.0) * spacing, 0.8 * h))
    rules = np.arange(first, h, spacing)
    standing = rules[rules >= alpha.shape[0] + 2]  # rules with room above for the digit
    base = standing[int(rng.integers(len(standing)))] if len(standing) else h - 2
    bottom = base + rng.uniform(-0.08, 0.05) * spacing
    left = rng.uniform(margin + 0.05 * w, max(margin + 0.05 * w, w - alpha.shape[1] - 4))
    put_ink(sheet, alpha, pen_colour(rng), rng, at=(round(bottom - alpha.shape[0]), round(left)))
    quality = 0 if rng.random() < 0.25 else int(rng.integers(80, 94))
    return camera(sheet, rng, (0.3, 0.8), (0.5, 2.5)), quality


def _tinted_paper(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """A sticky note: yellow, pink, grey-blue, green or orange, half of them squared; the
    note a little lighter at one edge (it curls); the digit small in a quarter of them."""
    colour = np.array(STICKY_NOTES[int(rng.integers(len(STICKY_NOTES)))], float)
    sheet = page(rng, colour + rng.uniform(-8, 4, 3), side=(150, 350), aspect=(0.9, 1.1))
    h, w = sheet.shape[:2]
    if rng.random() < 0.5:
        spacing = rng.uniform(10, 22)
        line = colour * rng.uniform(0.78, 0.88)
        line[2] = min(255.0, line[2] + 20)  # squared paper's lines lean blue
        for axis in (0, 1):
            draw_lines(sheet, axis, rng.uniform(0, spacing), spacing, 1.0, line)
    small = rng.random() < 0.25
    share = rng.uniform(0.2, 0.35) if small else rng.uniform(0.4, 0.75)
    alpha = digit_alpha(rng, installed(ALL_FONTS), digit, fit_height(sheet, share))
    put_ink(sheet, alpha, pen_colour(rng), rng, margin=0.08)
    sheet *= curl(rng, h, w)[..., None]
    return camera(sheet, rng, (0.4, 1.0), (1.0, 3.0)), int(rng.integers(78, 93))


def curl(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A sticky note lifting off at its loose edge: up to 12 % darker towards one side."""
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None] * np.ones((1, w), np.float32)
    ramp = ramp if rng.random() < 0.5 else ramp[::-1]
    return 1 - rng.uniform(0.03, 0.12) * ramp ** 2


def _phone_photo(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """A quick phone snapshot: the page at a slight angle, light falling off to one side,
    dark corners, a soft shadow across, a warm cast, blur, noise and heavy JPEG."""
    sheet = page(rng, paper_colour(rng), side=(240, 400))
    h, w = sheet.shape[:2]
    alpha = digit_alpha(rng, installed(ALL_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.2, 0.55)))
    put_ink(sheet, alpha, pen_colour(rng), rng, margin=0.12)
    sheet = perspective(sheet, rng)
    sheet *= light(rng, h, w)[..., None]
    sheet *= np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.86, 0.96)], np.float32)
    return camera(sheet, rng, (0.7, 1.5), (2.0, 5.0)), int(rng.integers(40, 71))


def perspective(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page seen slightly from one side: each corner of the frame looks at a point up
    to 6 % inside the page's corner, so the frame stays filled with paper."""
    h, w = picture.shape[:2]
    frame = [(0, 0), (w, 0), (w, h), (0, h)]
    inward = rng.uniform(0, 0.06, (4, 2)) * (w, h)
    signs = np.array([(1, 1), (-1, 1), (-1, -1), (1, -1)])
    source = np.array(frame, float) + inward * signs
    image = Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))
    warped = image.transform((w, h), Image.Transform.PERSPECTIVE,
                             perspective_coefficients(frame, source), Image.Resampling.BICUBIC)
    return np.asarray(warped, np.float32)


def perspective_coefficients(frame: list[tuple[int, int]], source: np.ndarray
                             ) -> tuple[float, ...]:
    """Pillow's 8 coefficients that map output point frame[k] to input point source[k]."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(frame, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return tuple(np.linalg.solve(np.array(rows, float), np.array(rhs, float)))


def light(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Light on the page, a factor per pixel: a gradient (one side 15–35 % darker),
    vignetting (corners 15–35 % darker) and, in most, a soft shadow's edge across."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = x / w - 0.5, y / h - 0.5
    angle = rng.uniform(0, 2 * math.pi)
    along = math.cos(angle) * u + math.sin(angle) * v  # -0.7..0.7
    factor = 1 - rng.uniform(0.15, 0.35) * (along + 0.71) / 1.42
    factor *= 1 - rng.uniform(0.15, 0.35) * ((u * u + v * v) / 0.5) ** 1.5
    if rng.random() < 0.7:
        turn = rng.uniform(0, 2 * math.pi)
        across = (math.cos(turn) * u + math.sin(turn) * v - rng.uniform(-0.2, 0.2)) * min(h, w)
        soft = rng.uniform(0.05, 0.2) * min(h, w)
        factor *= 1 - rng.uniform(0.2, 0.4) / (1 + np.exp(np.clip(across / soft, -30, 30)))
    return factor


def _thick(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """Bold strokes, 15–20 % of the digit's height (a broad marker or a traced-over digit),
    dark ink: loops shrink but stay open."""
    sheet = page(rng, paper_colour(rng), side=(120, 300))
    alpha = digit_alpha(rng, installed(BOLD_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.45, 0.8)), rng.uniform(0.15, 0.2))
    put_ink(sheet, alpha, pen_colour(rng), rng)
    quality = 0 if rng.random() < 0.5 else int(rng.integers(80, 94))
    return camera(sheet, rng, (0.2, 0.6), (0.5, 2.0)), quality


def _thin(rng: np.random.Generator, digit: int) -> tuple[np.ndarray, int]:
    """A fine pen in a large picture: strokes 1.5–3 % of the digit's height, a few px,
    which a careless shrink to 28×28 washes out."""
    sheet = page(rng, paper_colour(rng), side=(250, 400))
    alpha = digit_alpha(rng, installed(MONOLINE_FONTS), digit,
                        fit_height(sheet, rng.uniform(0.5, 0.85)), rng.uniform(0.015, 0.03))
    put_ink(sheet, alpha, pen_colour(rng), rng)
    quality = 0 if rng.random() < 0.5 else int(rng.integers(85, 96))
    return camera(sheet, rng, (0.1, 0.4), (0.5, 1.5)), quality


STYLE_FUNCTIONS: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, int]]] = {
    "font-print": _font_print, "font-casual": _font_casual, "font-script": _font_script,
    "pencil": _pencil, "marker": _marker, "tilted": _tilted, "lined-paper": _lined_paper,
    "tinted-paper": _tinted_paper, "phone-photo": _phone_photo, "thick": _thick,
    "thin": _thin,
}
STYLES = tuple(STYLE_FUNCTIONS)
# the fonts each style draws from (a style runs while one of them is installed)
STYLE_FONTS = {style: ALL_FONTS for style in STYLES} | {
    "font-print": PRINT_FONTS, "font-casual": CASUAL_FONTS, "font-script": SCRIPT_FONTS,
    "pencil": MONOLINE_FONTS, "thin": MONOLINE_FONTS, "marker": BOLD_FONTS, "thick": BOLD_FONTS}


if __name__ == "__main__":
    main()
