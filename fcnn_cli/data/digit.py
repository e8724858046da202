"""The digit pipeline: a gray picture -> the digit as MNIST made its digits (the `digit`
pipeline of fcnn_cli/data/images.py), a step or two of OpenCV each: polarity; the page's
own light (shadows, a lamp's hot spot, dark corners) estimated by a closing wider than
the strokes and divided out (an evenly lit page, most scans and drawings, needs no
closing: its light is one level, its brightest); ruled and grid lines found by openings
and taken away (ink written along one stays); Otsu's threshold on a median-filtered
copy, and half of it for pieces joined to those pixels (faint pencil stays whole); the
digit's pieces (the largest and those near it, no specks, far marks or shadows cut by
the picture's edge); the crop, contrast stretched, thickened when shrinking a lot,
resized into MNIST's 20/28 box and moved by whole pixels so its centre of mass sits at
the centre.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

# one thread: the pictures are small, a folder is prepared on worker processes (one a
# core), and a thread pool started before they are forked would be missing in them
cv2.setNumThreads(1)

BOX_FRACTION = 20 / 28  # MNIST's 20 px box in its 28 px field
STROKE_PX = 2.5  # MNIST's stroke width at 28×28
THICKEN_BELOW_SCALE = 0.5  # only shrinking 2× or more loses strokes; thin small digits are real
EMPTY_CONTRAST = 24  # ink must differ from the background by this much (of 255) to count
FAINTEST = 4  # levels: fainter is no ink (the page's light is estimated, not known)
MEDIAN_MIN_SIDE = 56  # below this a 3×3 median would erase real strokes, not noise
MEDIAN_WIDE = 132  # px: OpenCV's median is 20× slower on narrower pictures (plain code)
PAGE_WINDOW = 0.5  # the page's light: a closing over half of the shorter side ...
STROKE_WINDOWS = 4  # ... or over four stroke widths when that is smaller
LIGHT_STEPS = 12  # ... on a copy reduced so the window is this many pixels wide
EVEN_LIGHT = 8  # levels: a page's brightest pixels this close to its median: evenly lit ...
EVEN_SQUARE = 0.25  # ... unless something darker holds a square this share of the shorter side
STROKE_CORE = 0.7  # the strokes' core: ink above this share of its full contrast ...
FULL_INK = 0.99  # ... the level of this quantile of a picture (the strokes' darkest pixels)
SHADOW_WIDENS = 2  # strokes over twice their cores' area at Otsu's threshold: a shadow counted in
DARKEST_PAGE = 32  # levels: the page's light is divided out down to this, no further
HYSTERESIS = 0.5  # a fainter pixel is ink when it joins pixels above Otsu's threshold
CLEAR_POLARITY = 0.2  # the median this far (of the range) from the middle settles it
POLARITY_TAIL = 0.001  # the share of a picture at each end of its levels that decides it
LINE_SPAN = 0.85  # a ruled line runs across at least this share of the page
LINE_TILT_PX = 2  # rows (columns) a line may drift over its length: slightly tilted paper
LINE_INK = 1.6  # on a ruled line, a pixel this much darker than the line is ink on it
LINE_FAINT = 0.35  # of Otsu's threshold: lines are looked for in ink this faint
LINE_LEVEL = 0.75  # a line's level: this quantile of its pixels (its core, not its edges)
SPECK_SHARE = 0.02  # a piece under this share of the largest one is a speck
NEAR = 0.5  # pieces within this share of the digit's size belong to it
EDGE_WEIGHT = 0.3  # a piece touching the picture's edge counts as this share of its area
SAMPLED_ABOVE = 4096  # pixels: statistics of a larger picture look at every fourth one

Steps = list[tuple[str, np.ndarray]] | None


def digit_field(gray: np.ndarray, height: int, width: int,
                steps: Steps = None) -> np.ndarray | None:
    """The digit of a gray picture (levels 0..255, white 255; float32 or uint8) as a
    height×width float32 field, white ink 0..255 on black (module doc); None when the
    picture holds no ink. `steps` collects the pictures on the way (`predict --show`)."""
    levels = gray if gray.dtype == np.uint8 else cv2.convertScaleAbs(gray)  # rounds, clips
    page = _ink_of_page(levels)
    if page is None:
        return None
    strong = _above(page.smooth, page.threshold)
    weak = _above(page.smooth, max(HYSTERESIS * page.threshold, FAINTEST))
    mask = _digit_pixels(weak, strong)
    if steps is not None:
        kept = np.zeros_like(weak) if mask is None else cv2.bitwise_and(page.smooth, mask)
        lines = ", lines removed" if page.lined else ""
        steps += [(f"the ink, the page's light divided out{lines}", page.smooth.astype(np.float32)),
                  ("the pieces kept as the digit", kept.astype(np.float32))]
    floor = max(int(min(page.grain, HYSTERESIS * page.threshold)), FAINTEST)
    found = None if mask is None else _cropped(page.ink, mask, floor)
    return None if found is None else _placed(*found, height, width)


def _placed(crop: np.ndarray, stroke_width: float, height: int, width: int) -> np.ndarray:
    """The crop in a height×width float32 field: thin strokes widened when it shrinks a lot,
    resized into MNIST's 20/28 box, moved by whole pixels so that its centre of mass lands
    at the centre (MNIST's (14, 14) in 28×28); what falls outside is cut off."""
    box = (max(1, round(BOX_FRACTION * height)), max(1, round(BOX_FRACTION * width)))
    scale = min(box[0] / crop.shape[0], box[1] / crop.shape[1])
    target = STROKE_PX * min(height, width) / 28 / scale  # MNIST's stroke width, crop pixels
    size = 2 * round((target - stroke_width) / 2) + 1  # odd: the max filter stays centred
    if scale < THICKEN_BELOW_SCALE and stroke_width < 0.75 * target and size >= 3:
        pad = size // 2  # (the crop grows with its strokes)
        grown = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        crop = cv2.dilate(grown, np.ones((size, size), np.uint8))
    patch = resized(crop, box, fit=True)
    moments = cv2.moments(patch)
    if moments["m00"] <= 0:  # faint ink averaged away
        return np.zeros((height, width), np.float32)
    move = np.float32([[1, 0, round(width / 2 - moments["m10"] / moments["m00"])],
                       [0, 1, round(height / 2 - moments["m01"] / moments["m00"])]])
    return cv2.warpAffine(patch.astype(np.float32), move, (width, height), flags=cv2.INTER_NEAREST)


def resized(values: np.ndarray, size: tuple[int, int], fit: bool = False) -> np.ndarray:
    """`values` at `size` (height, width), or with `fit` as large as fits in it, aspect ratio
    kept: area-averaged where it shrinks (no aliasing), Lanczos where it grows (all pipelines)."""
    height, width = values.shape[:2]
    if fit:
        scale = min(size[0] / height, size[1] / width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
    if size == (height, width):
        return values
    method = cv2.INTER_AREA if size[0] * size[1] < height * width else cv2.INTER_LANCZOS4
    return cv2.resize(values, size[::-1], interpolation=method)


# --- the ink, the digit's pieces, the crop (masks: uint8 0 or 255) ---------------------


class _Page(NamedTuple):
    ink: np.ndarray  # 0..255 on black, the page's light divided out
    smooth: np.ndarray  # the same median-filtered
    threshold: float  # Otsu's, of `smooth`
    grain: float  # 3σ of the paper's grain and JPEG noise (never ink)
    lined: bool  # ruled lines were taken away


def _ink_of_page(levels: np.ndarray) -> _Page | None:
    """The ink on the page; None when nothing stands out."""
    levels, paper, brightest = _upright(levels)
    small = min(levels.shape) < MEDIAN_MIN_SIDE  # a small picture: a scan or a drawing
    light = _even_light(levels, paper, brightest)
    if light is not None:  # (most scans and drawings: no closing needed)
        ink = _divided(levels, light)
    else:
        ink = _flattened(levels, _light_window(levels, small))
    if small:
        return _page(ink, ink) if ink.max() >= EMPTY_CONTRAST else None
    smooth = _smoothed(ink)
    if smooth is None:
        return None
    page = _page(ink, smooth)
    ruled = _lines(_above(smooth, max(LINE_FAINT * page.threshold, FAINTEST)))
    if ruled is None:
        return page
    # the lines go, not the ink written along one (darker); Otsu then sees the ink alone
    on_line = (ruled > 0) & (smooth <= LINE_INK * _quantile(smooth, LINE_LEVEL, ~ruled))
    ink[on_line], smooth[on_line] = 0, 0
    if smooth.max() < EMPTY_CONTRAST:
        return None
    return page._replace(threshold=_otsu(smooth), lined=True)


def _page(ink: np.ndarray, smooth: np.ndarray) -> _Page:
    threshold = _otsu(smooth)
    paper = _quantile(ink, 0.5, outside=_above(smooth, threshold))  # 0.67σ, half-normal
    return _Page(ink, smooth, threshold, 3.0 * paper / 0.6745, False)


def _upright(levels: np.ndarray) -> tuple[np.ndarray, float, int]:
    """`levels` as dark ink on a light page (chalk on a board inverted), the page's level (the
    median: ink is the smaller part) and the brightest level."""
    low, high = (int(level) for level in cv2.minMaxLoc(levels)[:2])
    middle = _quantile(levels, 0.5)
    if _light_page(levels, low, high, middle):
        return levels, middle, high
    return cv2.bitwise_not(levels), 255 - middle, 255 - low


def _light_page(levels: np.ndarray, low: int, high: int, middle: float) -> bool:
    """Dark ink on a light page (True), or chalk on a board: the median level (the page's, ink
    being the smaller part) near the light end; where a big shadow pulls it to the middle, whether
    the picture less its blur stands out further darker or lighter (strokes stand out sharply)."""
    if abs(middle - (low + high) / 2) > CLEAR_POLARITY * (high - low):
        return middle > (low + high) / 2
    window = _odd(PAGE_WINDOW * min(levels.shape))
    blurred = cv2.blur(levels, (window, window))
    darker = _quantile(cv2.subtract(blurred, levels), 1 - POLARITY_TAIL)
    return darker >= _quantile(cv2.subtract(levels, blurred), 1 - POLARITY_TAIL)


def _flattened(levels: np.ndarray, window: int) -> np.ndarray:
    """The ink's contrast against the page's own light, divided out as it falls on paper and ink
    alike (paper 0 .. 255): a closing of a copy reduced by block means, its edges mirrored through
    them (2·edge − mirror: the light keeps falling past them, a dark corner no valley to fill)."""
    height, width = levels.shape
    block = max(1, window // LIGHT_STEPS)
    small = cv2.resize(levels, (-(-width // block), -(-height // block)),
                       interpolation=cv2.INTER_AREA).astype(np.int16)
    size = _odd(window / block)
    margin = size // 2
    edges, mirror = (cv2.copyMakeBorder(small, margin, margin, margin, margin, border)
                     for border in (cv2.BORDER_REPLICATE, cv2.BORDER_REFLECT_101))
    padded = cv2.addWeighted(edges, 2, mirror, -1, 0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    light = cv2.convertScaleAbs(closed[margin:-margin, margin:-margin])  # (a closing only grows)
    return _divided(levels, cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR))


def _divided(levels: np.ndarray, light: np.ndarray | int) -> np.ndarray:
    """The ink's contrast against the light, a level or one per pixel: paper 0 .. 255."""
    darkest = max(light, DARKEST_PAGE) if isinstance(light, int) else cv2.max(light, DARKEST_PAGE)
    return cv2.divide(cv2.subtract(light, levels), darkest, scale=255)


def _even_light(levels: np.ndarray, paper: float, high: int) -> int | None:
    """The page's light when it is the same all over (a scan, a drawing): the brightest level,
    when the median (the paper's) is within EVEN_LIGHT of it, nothing darker than the paper
    touches the picture's edge (where shadows, dark corners and the page's rim come in) and
    nothing darker holds a square wider than EVEN_SQUARE of the shorter side or four stroke
    widths; else None. A photo's grain alone puts its brightest pixels further from its median."""
    if high - paper > EVEN_LIGHT:
        return None
    dark = cv2.threshold(levels, paper - EVEN_LIGHT - 1, 255, cv2.THRESH_BINARY_INV)[1]
    x, y, width, height = cv2.boundingRect(dark)
    if width == 0:  # a blank page
        return high
    if min(x, y) == 0 or x + width == levels.shape[1] or y + height == levels.shape[0]:
        return None
    dark = dark[y:y + height, x:x + width]  # every dark pixel: a scan's box is a third smaller
    square = min(EVEN_SQUARE * min(levels.shape), STROKE_WINDOWS * _stroke_width(dark))
    return None if _holds_square(dark, max(1, round(square))) else high


def _holds_square(mask: np.ndarray, side: int) -> bool:
    """Whether a 0/255 mask holds a side×side square of 255s: a window of its integral image
    that sums to 255·side² (what an erosion by the square tells, in 60 % of its time)."""
    if side > min(mask.shape):
        return False
    sums = cv2.integral(mask, sdepth=cv2.CV_32S)
    windows = sums[side:, side:] - sums[:-side, side:] - sums[side:, :-side] + sums[:-side, :-side]
    return bool((windows == 255 * side * side).any())


def _light_window(levels: np.ndarray, small: bool) -> int:
    """The closing's window for the page's light: half the shorter side, or four stroke widths
    when that is smaller (the tip of a shadow, narrower than the page window, would pass for
    a stroke), measured on a copy reduced to about MEDIAN_MIN_SIDE (not in a small picture)."""
    window = _odd(PAGE_WINDOW * min(levels.shape))
    if small:
        return window
    factor = min(4, min(levels.shape) // MEDIAN_MIN_SIDE)
    rough = cv2.resize(levels, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
    smooth = _smoothed(_flattened(rough, _odd(window / factor)))
    if smooth is None:  # nothing left in the copy: the page window it is
        return window
    return min(window, _odd(STROKE_WINDOWS * factor * _rough_strokes(smooth)))


def _rough_strokes(smooth: np.ndarray) -> float:
    """The strokes' width in the reduced copy: at Otsu's threshold, or at their cores when
    those are much smaller. A shadow narrower than the page window is left half divided out,
    between paper and ink; Otsu's threshold counts it as a broad stroke, and four such widths
    give a window too wide to follow it. Faint ink (pencil) has no core above its noise."""
    otsu = _otsu(smooth)
    strokes = _above(smooth, otsu)
    core = max(otsu, STROKE_CORE * _quantile(smooth, FULL_INK))
    if core >= EMPTY_CONTRAST:
        cores = _above(smooth, core)
        if cv2.countNonZero(strokes) > SHADOW_WIDENS * cv2.countNonZero(cores):
            strokes = cores
    return _stroke_width(strokes)


def _smoothed(ink: np.ndarray) -> np.ndarray | None:
    """`ink` median-filtered (widened by its edge first, as the median pads); None if no ink."""
    width = ink.shape[1]
    wide = cv2.copyMakeBorder(ink, 0, 0, 0, max(0, MEDIAN_WIDE - width), cv2.BORDER_REPLICATE)
    smooth = cv2.medianBlur(wide, 3)[:, :width]
    if smooth.max() >= EMPTY_CONTRAST:
        return smooth
    return ink if ink.max() >= EMPTY_CONTRAST else None  # 1-px strokes: no median


def _lines(mask: np.ndarray) -> np.ndarray | None:
    """The pixels of straight lines, a few pixels' drift allowed, across most of the page
    (ruled and grid lines, a margin, a page edge: no digit spans that much), or None."""
    found = None
    for along, span in zip((1, 0), cv2.boundingRect(mask)[2:]):  # along rows (1), columns (0)
        length = round(LINE_SPAN * mask.shape[along])
        if span < max(length, 8):
            continue
        across = (2 * LINE_TILT_PX + 1, 1) if along else (1, 2 * LINE_TILT_PX + 1)
        # thickened across first, so a slightly tilted line still forms one run
        thick = cv2.dilate(mask, np.ones(across, np.uint8))
        if cv2.reduce(thick, along, cv2.REDUCE_SUM, dtype=cv2.CV_32S).max() < 255 * length:
            continue  # no row (column) holds that many pixels
        # an opening, its erosion checked first; nothing past the picture's edge counts
        line = np.ones((1, length) if along else (length, 1), np.uint8)
        cores = cv2.erode(thick, line, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        if cv2.countNonZero(cores):
            pixels = cv2.bitwise_and(cv2.dilate(cores, line), mask)
            found = pixels if found is None else found | pixels
    return found if found is not None and cv2.countNonZero(found) else None


def _digit_pixels(weak: np.ndarray, strong: np.ndarray) -> np.ndarray | None:
    """The pieces of `weak` that hold a `strong` pixel (faint texture alone is no ink): the
    largest and every piece near its box (a 5's flag, a broken loop), no specks; or None."""
    # pieces a pixel apart are one: the grain of a pencil stroke breaks it into dots
    bridged = cv2.dilate(weak, np.ones((3, 3), np.uint8))
    # most pictures hold one piece, and the pieces' stats take five times their labels
    if cv2.connectedComponents(bridged, connectivity=8)[0] <= 2:
        return weak if cv2.countNonZero(weak) else None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bridged, connectivity=8)
    left, top, wide, high, area = stats.T.astype(np.int64)
    keep = np.bincount(labels[strong > 0], minlength=count) > 0
    keep[0] = False  # the background
    if not keep.any():
        return None
    # the digit is rarely cut by the picture's edge, a shadow's or a page's rim often is
    on_edge = (left == 0) | (top == 0) | (left + wide == weak.shape[1]) | \
        (top + high == weak.shape[0])
    largest = int(np.argmax(np.where(keep, np.where(on_edge, EDGE_WEIGHT, 1.0) * area, -1)))
    reach = NEAR * max(wide[largest], high[largest])
    # the gap between each piece's box and the largest one's (0 where they overlap)
    gap_x = np.maximum(left - (left[largest] + wide[largest]), left[largest] - (left + wide))
    gap_y = np.maximum(top - (top[largest] + high[largest]), top[largest] - (top + high))
    keep &= (area >= SPECK_SHARE * area[largest]) & (np.maximum(gap_x, gap_y) <= reach)
    if keep[1:].all():
        return weak
    return cv2.bitwise_and(np.where(keep, 255, 0).astype(np.uint8)[labels], weak)


def _cropped(ink: np.ndarray, mask: np.ndarray, floor: int) -> tuple[np.ndarray, float] | None:
    """The box around the digit's pixels, other marks left out, stretched (`floor` to 0, the
    ink's 90th percentile to 255), and the stroke width; None when no ink clears the floor."""
    x, y, w, h = cv2.boundingRect(mask)
    full = max(_quantile(ink[y:y + h, x:x + w], 0.9, ~mask[y:y + h, x:x + w]), floor + 1)
    margin = 2 + round(0.01 * max(ink.shape))  # the strokes' anti-aliased edges
    rows = slice(max(y - margin, 0), y + h + margin)  # (a slice stops at the picture's end)
    cols = slice(max(x - margin, 0), x + w + margin)
    near = cv2.dilate(mask[rows, cols], np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    region = cv2.subtract(cv2.bitwise_and(ink[rows, cols], near), floor)
    x, y, w, h = cv2.boundingRect(region)
    if w == 0:
        return None
    stretched = cv2.convertScaleAbs(region[y:y + h, x:x + w], alpha=255 / (full - floor))
    return stretched, _stroke_width(mask[rows, cols])


def _above(levels: np.ndarray, threshold: float) -> np.ndarray:
    return cv2.threshold(levels, threshold, 255, cv2.THRESH_BINARY)[1]


def _otsu(levels: np.ndarray) -> float:
    """Otsu's threshold (every fourth pixel of a large picture tells as well)."""
    return cv2.threshold(_sampled(levels), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]


def _quantile(levels: np.ndarray, q: float, outside: np.ndarray | None = None) -> float:
    """The level at or below which a share q of `levels` lies, leaving `outside` out: the
    ceil(q·n)-th smallest, by a partial sort of a few levels (a small picture's, twice as
    fast) or from a histogram of many (a partial sort of 60,000 takes ten times as long)."""
    values = _sampled(levels)
    if values.size <= SAMPLED_ABOVE:
        values = values.ravel() if outside is None else values[_sampled(outside) == 0]
        k = max(math.ceil(q * values.size) - 1, 0)
        return float(np.partition(values, k)[k]) if values.size else 0.0
    left_out = 0
    if outside is not None:  # those pixels go to level 0 and are counted off
        values, left_out = cv2.subtract(values, _sampled(outside)), \
            cv2.countNonZero(_sampled(outside))
    counts = cv2.calcHist([values], [0], None, [256], [0, 256]).ravel().cumsum()
    return float(np.searchsorted(counts, left_out + q * (counts[-1] - left_out)))


def _sampled(values: np.ndarray) -> np.ndarray:
    """Every fourth pixel of a large picture (a page's many equal levels count slowly)."""
    return values[::2, ::2] if values.size > SAMPLED_ABOVE else values


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a 0/255 mask: area over half the outline, the changes between
    neighbours (a stroke of length L and width w has area L·w and an outline of about 2·L)."""
    edged = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    # the sums of the differences (255 a change) down the columns and along the rows
    changes = cv2.norm(edged[1:], edged[:-1], cv2.NORM_L1) + \
        cv2.norm(edged[:, 1:], edged[:, :-1], cv2.NORM_L1)
    return 2.0 * cv2.countNonZero(mask) / max(changes / 255, 1)


def _odd(size: float) -> int:
    return max(3, 2 * round(size / 2) + 1)

