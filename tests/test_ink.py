"""Finding a digit's ink on a photographed page: the page's light divided out, ruled lines
taken away, the digit's pieces chosen (fcnn_cli/data/ink.py)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from fcnn_cli.data import ink


def _pieces_by_search(mask: np.ndarray) -> list[set[tuple[int, int]]]:
    """8-connected pieces by breadth-first search: the plain reference."""
    seen = np.zeros_like(mask)
    found = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        piece, queue = set(), deque([start])
        seen[start] = True
        while queue:
            r, c = queue.popleft()
            piece.add((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    near = (r + dr, c + dc)
                    if 0 <= near[0] < mask.shape[0] and 0 <= near[1] < mask.shape[1] \
                            and mask[near] and not seen[near]:
                        seen[near] = True
                        queue.append(near)
        found.append(piece)
    return found


@pytest.mark.parametrize("few_links", [ink.FEW_LINKS, 0], ids=["by-hand", "array-passes"])
def test_pieces_are_the_8_connected_pieces_with_their_area_and_box(
        few_links: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ink, "FEW_LINKS", few_links)
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.random(tuple(rng.integers(1, 30, 2))) < rng.uniform(0.05, 0.6)
        found = ink.pieces(mask)
        expected = _pieces_by_search(mask)  # in the order of their first pixels
        assert found.count == len(expected)
        # numbered in that order too: the digit's choice breaks ties by number
        firsts = [found.labels[min(piece)] for piece in expected]
        assert firsts == list(range(1, len(expected) + 1))
        for piece in expected:
            label = found.labels[next(iter(piece))]
            assert {tuple(p) for p in np.argwhere(found.labels == label)} == piece
            rows, cols = zip(*piece)
            assert found.area[label - 1] == len(piece)
            assert tuple(found.box[label - 1]) == (min(rows), min(cols),
                                                   max(rows) + 1, max(cols) + 1)


def test_a_winding_piece_is_one_piece() -> None:
    snake = np.zeros((40, 40), bool)
    snake[::4] = True
    snake[:, 0] = True
    for row in range(0, 40, 8):
        snake[row:row + 4, -1] = True
    assert ink.pieces(snake).count == 1


@pytest.mark.parametrize("dtype", [np.float32, np.int16, bool])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("size", [1, 2, 3, 6, 9, 14])
def test_running_max_and_min_are_centred_with_the_edges_repeated(
        size: int, axis: int, dtype: type) -> None:
    values = (np.random.default_rng(1).random((7, 11)) * 100).astype(dtype)
    pad = [(0, 0), (0, 0)]
    pad[axis] = (size // 2, size - 1 - size // 2)
    padded = np.moveaxis(np.pad(values, pad, mode="edge"), axis, 1)
    for extreme, reduce in ((np.maximum, np.max), (np.minimum, np.min)):
        expected = np.array([[reduce(row[c:c + size]) for c in range(values.shape[axis])]
                             for row in padded])
        found = ink.running(values, size, axis, extreme)
        assert found.dtype == values.dtype
        assert np.array_equal(np.moveaxis(found, axis, 1), expected)


def _plain_flatten(gray: np.ndarray, light: bool, window: int) -> np.ndarray:
    """ink.flatten as its docstring says, in float32 with NumPy's own padding and windows."""
    from numpy.lib.stride_tricks import sliding_window_view

    values = gray if light else np.float32(255.0) - gray
    margin = window // 2
    page = np.pad(values, margin, mode="reflect", reflect_type="odd")
    for extreme in (np.max, np.min):
        for axis in (0, 1):
            pad = [(0, 0), (0, 0)]
            pad[axis] = (margin, margin)
            page = extreme(sliding_window_view(np.pad(page, pad, mode="edge"), window, axis),
                           axis=-1)
    page = page[margin:-margin, margin:-margin]
    ink_ = (page - values) / np.maximum(page, np.float32(ink.DARKEST_PAGE))
    return np.clip(ink_, 0, 1) * np.float32(255)


@pytest.mark.parametrize("light", [True, False])
@pytest.mark.parametrize("levels", ["whole", "fractional"])
def test_flatten_is_a_closing_divided_out_bit_for_bit(light: bool, levels: str) -> None:
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 256, (40, 52)).astype(np.float32)  # any picture, whole levels
    if levels == "fractional":  # a 16-bit scan: levels between the 8-bit ones
        gray *= np.float32(0.999)
    for window in (3, 9, 25):
        assert np.array_equal(ink.flatten(gray, light, window),
                              _plain_flatten(gray, light, window))


def _page(shadow: bool) -> np.ndarray:
    """Paper at 230 with a stroke of ink at 40, and maybe a hard shadow over its right half
    that halves the light."""
    page = np.full((120, 160), 230.0, np.float32)
    page[30:90, 78:84] = 40.0
    if shadow:
        page[:, 81:] *= 0.5
    return page


def test_dividing_out_the_page_leaves_the_stroke_and_not_the_shadow() -> None:
    flat = ink.flatten(_page(shadow=True), light=True, window=31)
    assert flat[:, 90:].max() < 10 and flat[:, :75].max() < 10  # paper, lit or not: no ink
    assert flat[30:90, 78:84].min() > 128  # the stroke, in the light and in the shadow


def test_a_vignette_does_not_become_ink_at_the_edges() -> None:
    rows, cols = np.mgrid[0:100, 0:100]
    light = 1 - 0.6 * ((rows - 50) ** 2 + (cols - 50) ** 2) / 5000  # dark corners
    flat = ink.flatten((230 * light).astype(np.float32), light=True, window=25)
    assert flat.max() < 10


def test_ruled_lines_are_found_and_a_digits_stroke_is_not() -> None:
    page = np.zeros((100, 120), np.float32)
    page[20::20, :] = 120   # ruled lines across the page
    page[15:80, 60:63] = 250  # a tall stroke: 65 % of the height
    found = ink.lines(page, 60)
    assert found[20::20].all()
    # where the stroke crosses a line, the line's pixels (allowed to drift a little) go too
    crossing = np.abs((np.arange(100) + 10) % 20 - 10) <= ink.LINE_TILT_PX
    assert not found[~crossing, 60:63].any()


def _plain_lines(values: np.ndarray, threshold: float) -> np.ndarray:
    """ink.lines as its docstring says, with NumPy's own windows: thicken across, open along."""
    from numpy.lib.stride_tricks import sliding_window_view

    def run(mask: np.ndarray, size: int, axis: int, reduce) -> np.ndarray:  # type: ignore[no-untyped-def]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (size // 2, size - 1 - size // 2)
        return reduce(sliding_window_view(np.pad(mask, pad, mode="edge"), size, axis), axis=-1)

    mask = values > threshold
    found = np.zeros_like(mask)
    for axis in (0, 1):
        length = round(ink.LINE_SPAN * mask.shape[axis])
        if length >= 8:
            thick = run(mask, 2 * ink.LINE_TILT_PX + 1, 1 - axis, np.max)
            found |= run(run(thick, length, axis, np.min), length, axis, np.max) & mask
    return found


def test_lines_are_an_opening_along_rows_and_columns() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        height, width = rng.integers(10, 60, 2)
        page = (rng.random((height, width)) < 0.05) * 200.0
        for _ in range(rng.integers(0, 4)):  # segments around half the page, edges included
            row, length = rng.integers(0, height), rng.integers(width // 3, width + 1)
            start = rng.choice([0, width - length, rng.integers(0, width - length + 1)])
            page[row, start:start + length] = 200.0
            col, length = rng.integers(0, width), rng.integers(height // 3, height + 1)
            start = rng.choice([0, height - length, rng.integers(0, height - length + 1)])
            page[start:start + length, col] = 200.0
        assert np.array_equal(ink.lines(page, 60), _plain_lines(page, 60))


@pytest.mark.parametrize("width", [40, 41])
def test_a_run_at_the_pages_edge_is_a_line_from_half_the_span(width: int) -> None:
    # the page's edge repeats, so a run that reaches it fills the window from half its size
    length = round(ink.LINE_SPAN * width)
    for shortest, at_left in ((length - length // 2, True), (length // 2 + 1, False)):
        for run in (shortest - 1, shortest):
            page = np.zeros((30, width), np.float32)
            page[10, :run] = 200 if at_left else 0
            page[10, width - run:] = 0 if at_left else 200
            found = ink.lines(page, 60)
            assert found[10].any() == (run == shortest)
            assert np.array_equal(found, _plain_lines(page, 60))


def test_a_slightly_tilted_line_is_still_a_line() -> None:
    page = np.zeros((100, 200), np.float32)
    cols = np.arange(200)
    page[50 + cols * 3 // 200, cols] = 200  # drifts three rows over its length
    assert ink.lines(page, 60)[page > 0].mean() > 0.95


def _strokes() -> tuple[np.ndarray, np.ndarray]:
    """(weak, strong): a digit-like bar, its faint tail, a detached flag near it, a speck
    and a faint smudge on their own, and a mark far away."""
    weak = np.zeros((100, 100), bool)
    strong = np.zeros_like(weak)
    strong[30:70, 40:44] = weak[30:70, 40:44] = True   # the digit's main stroke
    weak[70:78, 40:44] = True                           # its faint (pencil) tail
    strong[22:25, 42:56] = weak[22:25, 42:56] = True   # a 5's flag, a few pixels above
    strong[50, 60] = weak[50, 60] = True                # a speck of dust
    weak[80:90, 70:80] = True                           # a faint smudge, nothing strong
    strong[5:15, 88:98] = weak[5:15, 88:98] = True      # a mark in the far corner
    return weak, strong


def test_the_digit_keeps_its_faint_tail_and_detached_flag() -> None:
    weak, strong = _strokes()
    chosen = ink.digit_pixels(weak, strong)
    assert chosen[70:78, 40:44].all() and chosen[22:25, 42:56].all()


def test_specks_smudges_and_far_marks_are_left_out() -> None:
    weak, strong = _strokes()
    chosen = ink.digit_pixels(weak, strong)
    assert not chosen[50, 60] and not chosen[80:90, 70:80].any()
    assert not chosen[5:15, 88:98].any()


def test_grainy_strokes_a_pixel_apart_stay_one_piece() -> None:
    weak = np.zeros((60, 60), bool)
    weak[10:50:2, 30] = True  # a pencil line broken into dots
    strong = np.zeros_like(weak)
    strong[10, 30] = True
    assert ink.digit_pixels(weak, strong).sum() == weak.sum()


def test_a_piece_cut_by_the_edge_loses_to_the_digit() -> None:
    weak = np.zeros((80, 80), bool)
    weak[:, :3] = True         # a shadow's rim along the left edge, larger than the digit
    weak[25:55, 50:54] = True  # the digit
    chosen = ink.digit_pixels(weak, weak)
    assert chosen[25:55, 50:54].all() and not chosen[:, :3].any()
