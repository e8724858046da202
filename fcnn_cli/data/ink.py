"""Finding a digit's ink on a photographed page: what the digit pipeline needs beyond a
threshold when the picture is a phone photo (shadows, lamps, ruled paper, dust).

- the page's own light (shadows, a lamp's hot spot, dark corners) is estimated at a scale
  larger than a stroke, by a morphological closing (dark strokes vanish, the light stays,
  step edges included) and divided out;
- ruled and grid lines, a margin line, a page edge: straight runs of ink across most of
  the page, found by an opening along rows and columns, are taken away;
- a hysteresis threshold keeps a faint pencil stroke whole when it touches a strong one;
- of what is left, the digit is the largest piece and the pieces close to it; specks and
  far-away marks are dropped.

Pure NumPy, on pictures of at most a few hundred pixels a side: scipy.ndimage would take
0.4 s to import, more than all of `fcnn predict` takes to start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LINE_SPAN = 0.85     # a ruled line runs across at least this share of the page
LINE_TILT_PX = 2     # rows (columns) a line may drift over its length: slightly tilted paper
SPECK_SHARE = 0.02   # a piece under this share of the largest one is a speck
NEAR = 0.5           # pieces within this share of the digit's size belong to it
DARKEST_PAGE = 32.0  # levels: the page's light is divided out down to this, no further
FEW_LINKS = 400      # up to this many links where strokes meet, union-find in plain Python
EDGE_WEIGHT = 0.3    # a piece touching the picture's edge counts as this share of its area


def running(values: np.ndarray, size: int, axis: int,
            extreme: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Centred running max or min (`extreme`: np.maximum, np.minimum) over `size` cells
    along `axis` of a 2-D array, the edges repeated: the same shape back, in log2(size)
    passes."""
    if size <= 1:
        return values
    height, width = values.shape
    before, after = size // 2, size - 1 - size // 2
    if axis == 0:
        return _doubled(_edge_padded(values, before, after, 0), size, extreme)
    # Along rows, each pass runs over the padded rows laid end to end, one contiguous
    # array (3x faster than strided slices): a window that starts in a row's own cells
    # ends in its padding, so the cells that mix two rows are the ones thrown away.
    stride = width + size - 1
    flat = np.empty(height * stride + size - 1, values.dtype)
    flat[height * stride:] = 0
    _edge_padded(values, before, after, 1, out=flat[:height * stride].reshape(height, stride))
    return _doubled(flat, size, extreme).reshape(height, stride)[:, :width]


def _doubled(values: np.ndarray, size: int,
             extreme: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The extreme of each `size` consecutive cells along the first axis, that many fewer
    cells long, by window doubling: each pass covers twice the cells of the last."""
    span = 1
    while span < size:
        step = min(span, size - span)
        values = extreme(values[:-step], values[step:])
        span += step
    return values


def _edge_padded(values: np.ndarray, before: int, after: int, axis: int,
                 out: np.ndarray | None = None) -> np.ndarray:
    """`values` with its first and last cells along `axis` repeated (np.pad's "edge" mode,
    without its overhead: this runs a dozen times a picture), into `out` if given."""
    length = values.shape[axis]
    if out is None:
        shape = list(values.shape)
        shape[axis] = length + before + after
        out = np.empty(shape, values.dtype)
    if axis == 0:
        out[before:before + length] = values
        out[:before] = values[:1]
        out[before + length:] = values[-1:]
    else:
        out[:, before:before + length] = values
        out[:, :before] = values[:, :1]
        out[:, before + length:] = values[:, -1:]
    return out


def closing(values: np.ndarray, size: int) -> np.ndarray:
    """Grey closing with a size×size square: dark features narrower than it vanish."""
    grown = running(running(values, size, 0, np.maximum), size, 1, np.maximum)
    return running(running(grown, size, 0, np.minimum), size, 1, np.minimum)


def _mirrored(values: np.ndarray, margin: int) -> np.ndarray:
    """`values` mirrored `margin` pixels across each edge: the page's light keeps falling
    (or rising) past it, so a vignette's dark edge is no valley for a closing to fill, as
    it would be if the edge pixels were repeated."""
    if min(values.shape) <= margin:  # too small to mirror that far
        return _edge_padded(_edge_padded(values, margin, margin, 0), margin, margin, 1)
    # np.pad(mode="reflect", reflect_type="odd"), without its overhead: rows, then columns
    values = np.concatenate([2 * values[:1] - values[margin:0:-1], values,
                             2 * values[-1:] - values[-2:-margin - 2:-1]])
    return np.concatenate([2 * values[:, :1] - values[:, margin:0:-1], values,
                           2 * values[:, -1:] - values[:, -2:-margin - 2:-1]], axis=1)


def flatten(gray: np.ndarray, light: bool, window: int) -> np.ndarray:
    """The ink's contrast against the page's own light, 0 (paper) .. 255 (full contrast).

    On a light page the light falls on paper and ink alike (seen = light × reflectance), so
    the page's light is divided out: shadows and hot spots vanish and a stroke in shadow
    keeps its contrast. A dark board (chalk) is the same turned over."""
    values = gray if light else 255.0 - gray
    margin = window // 2
    page = closing(_mirrored(_as_levels(values), margin), window)[margin:-margin or None,
                                                                  margin:-margin or None]
    # (a page too dark to hold ink, black all over, gives no contrast: no ink)
    page = page.astype(np.float32)
    ink = (page - values) / np.maximum(page, DARKEST_PAGE)
    np.clip(ink, 0.0, 1.0, out=ink)
    ink *= 255.0
    return ink


def _as_levels(values: np.ndarray) -> np.ndarray:
    """Whole levels 0..255 (any 8-bit picture) as int16, else `values` as they are: a
    closing only picks among its values, so it gives the same numbers from half the
    bytes (the mirrored edges reach -255..510, within int16)."""
    if values.dtype != np.float32 or not 0.0 <= values.min() <= values.max() <= 255.0:
        return values
    levels = values.astype(np.int16)
    return levels if np.array_equal(levels, values) else values


def lines(ink: np.ndarray, threshold: float) -> np.ndarray:
    """The pixels of straight lines that cross most of the page (ruled and grid lines, a
    margin, a page edge): runs along a row or column of at least LINE_SPAN of its length,
    allowed to drift a few pixels; a digit's stroke never spans that much of its page."""
    mask = ink > threshold
    found = np.zeros_like(mask)
    for axis in (0, 1):  # axis along which a line runs: 1 horizontal, 0 vertical
        across = 1 - axis
        length = round(LINE_SPAN * mask.shape[axis])
        if length < 8:
            continue
        # thicken across the line first, so a slightly tilted line still forms one run
        thick = running(mask, 2 * LINE_TILT_PX + 1, across, np.maximum)
        # the opening keeps nothing of a line (row or column) with fewer pixels than
        # the shortest window it can fit: half of one, at the page's edge (edges repeat)
        if np.count_nonzero(thick, axis=axis).max() <= (length - 1) // 2:
            continue
        runs = running(running(thick, length, axis, np.minimum), length, axis, np.maximum)
        found |= runs & mask
    return found


@dataclass
class Pieces:
    """Connected pieces of a mask: pixel labels 1..count (0 background) and each piece's
    area and box (top, left, bottom, right; exclusive ends), indexed from 0."""

    labels: np.ndarray
    area: np.ndarray
    box: np.ndarray  # (count, 4)

    @property
    def count(self) -> int:
        return len(self.area)


def digit_pixels(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The digit's pixels in a two-level threshold: the pieces of `weak` that hold a
    `strong` pixel (a faint pencil stroke joined to clear ones stays, faint texture on its
    own does not); of those, the largest and every piece near its box (a 5's flag, a broken
    loop), without specks. Other marks on the page are left out."""
    # pieces a pixel apart are one: the grain of a pencil stroke breaks it into dots
    bridged = weak.copy()
    bridged[1:] |= weak[:-1]
    bridged[:-1] |= weak[1:]
    wide = bridged.copy()
    bridged[:, 1:] |= wide[:, :-1]
    bridged[:, :-1] |= wide[:, 1:]
    found = pieces(bridged)
    if found.count == 0:
        return weak
    keep = np.zeros(found.count + 1, bool)
    keep[found.labels[strong & weak]] = True
    keep = keep[1:]
    if not keep.any():
        return np.zeros_like(weak)
    height, width = weak.shape
    area = np.bincount(found.labels[weak], minlength=found.count + 1)[1:]  # before bridging
    on_edge = (found.box[:, 0] == 0) | (found.box[:, 1] == 0) | \
        (found.box[:, 2] == height) | (found.box[:, 3] == width)
    # the digit is rarely cut by the picture's edge, a shadow's or a page's rim often is
    weight = np.where(on_edge, EDGE_WEIGHT, 1.0) * area
    largest = int(np.argmax(np.where(keep, weight, -1)))
    top, left, bottom, right = found.box[largest]
    reach = NEAR * max(bottom - top, right - left)
    keep &= area >= SPECK_SHARE * area[largest]
    # gap between each piece's box and the largest one's (0 when they overlap)
    gap_rows = np.maximum(0, np.maximum(found.box[:, 0] - bottom, top - found.box[:, 2]))
    gap_cols = np.maximum(0, np.maximum(found.box[:, 1] - right, left - found.box[:, 3]))
    keep &= np.maximum(gap_rows, gap_cols) <= reach
    return np.concatenate(([False], keep))[found.labels] & weak


def pieces(mask: np.ndarray) -> Pieces:
    """The 8-connected pieces of a 2-D bool mask.

    Run-based: each row's runs of True are found at once, runs that touch in the next row
    are linked, and the links resolved into pieces (`_linked`); each piece's area and box
    come from its runs."""
    height, width = mask.shape
    # the rows end to end, each followed by a False, a False before the first: every
    # change from False to True starts a run, and the next change ends it
    flat = np.zeros(height * (width + 1) + 1, bool)
    flat[1:].reshape(height, width + 1)[:, :width] = mask
    changes = np.flatnonzero(flat[1:] != flat[:-1])
    if len(changes) == 0:
        return Pieces(np.zeros(mask.shape, np.int32), np.zeros(0, np.int64),
                      np.zeros((0, 4), np.int64))
    run_row = changes[0::2] // (width + 1)
    run_start = changes[0::2] - run_row * (width + 1)
    run_end = changes[1::2] - run_row * (width + 1)  # exclusive
    piece = _linked(run_row, run_start, run_end, width + 2)
    count = int(piece.max()) + 1
    lengths = run_end - run_start
    box = np.empty((count, 4), np.int64)
    box[:] = height, width, 0, 0  # beyond any run's box, for the minima and maxima below
    np.minimum.at(box[:, 0], piece, run_row)
    np.minimum.at(box[:, 1], piece, run_start)
    np.maximum.at(box[:, 2], piece, run_row + 1)
    np.maximum.at(box[:, 3], piece, run_end)
    labels = np.zeros(height * width, np.int32)
    first = np.cumsum(lengths) - lengths  # where each run's pixels start in the flat list
    at = np.repeat(run_row * width + run_start - first, lengths) + np.arange(lengths.sum())
    labels[at] = np.repeat(piece + 1, lengths)
    return Pieces(labels.reshape(height, width),
                  np.bincount(piece, weights=lengths, minlength=count).astype(np.int64), box)


def _linked(run_row: np.ndarray, run_start: np.ndarray, run_end: np.ndarray,
            stride: int) -> np.ndarray:
    """Each run's piece, numbered 0.. in order of the pieces' first runs."""
    n = len(run_row)
    start_key, end_key = run_row * stride + run_start, run_row * stride + run_end
    # runs of the next row touching each run (8-connected): they start at or before its
    # end and end at or after its start: a contiguous range of that row's runs
    below = (run_row + 1) * stride
    first = np.searchsorted(end_key, below + run_start, side="left")
    last = np.searchsorted(start_key, below + run_end, side="right")
    links = np.maximum(last - first, 0)
    upper = np.repeat(np.arange(n), links)
    # each link's lower run: its upper run's first touching run, plus its place among them
    lower = np.repeat(first - (np.cumsum(links) - links), links) + np.arange(len(upper))
    # each run hangs from the first run above that touches it, and pointer jumping takes
    # every run to its tree's top run, the smallest run number in the tree: a stroke's
    # runs, however long, in a few array passes
    root = np.arange(n)
    np.minimum.at(root, lower, upper)
    root = _jumped(root)
    # the links left join trees (the bottom of a U, the waist of an 8): a few, usually
    meet = root[upper] != root[lower]
    if meet.any():
        root = _merged(n, root[upper[meet]], root[lower[meet]])[root]
    is_root = root == np.arange(n)
    return (np.cumsum(is_root) - 1)[root]


def _jumped(parent: np.ndarray) -> np.ndarray:
    """Each node's root in a forest given by parents (a root is its own parent)."""
    while True:
        jumped = parent[parent]
        if (jumped == parent).all():  # (np.array_equal costs 3x more on a few hundred)
            return parent
        parent = jumped


def _merged(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For nodes 0..n-1 joined by the pairs (a[k], b[k]): each node's smallest connected
    node. A few pairs by union-find in plain Python, which beats a dozen NumPy calls a
    round; many by propagating the smallest node along the pairs, with pointer jumping."""
    if len(a) > FEW_LINKS:
        root = np.arange(n)
        while True:
            low = np.minimum(root[a], root[b])
            new = root.copy()
            np.minimum.at(new, a, low)
            np.minimum.at(new, b, low)
            new = _jumped(new)
            if np.array_equal(new, root):
                return root
            root = new
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        while node in parent:
            up = parent[node]
            if up in parent:  # path halving: later finds take half the steps
                parent[node] = parent[up]
            node = up
        return node

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:  # the smaller node stays the root
            parent[max(rx, ry)] = min(rx, ry)
    root = np.arange(n)
    if parent:
        root[list(parent)] = [find(node) for node in parent]
    return root
