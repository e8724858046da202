"""Decision boundaries of two-input models: the grid over the input plane, what the model
computes on it, and a small standalone SVG picture of it.

Every grid goes through the model as its inputs do (raw units → `Model.prepare` → the
network) in one batched forward pass, keeping each hidden unit's a^l_j: the output gives
the decision regions (or, for regression, the output surface) and the hidden units the
heat maps of what each neuron has learned, as TensorFlow Playground draws them. The
report draws these fields with matplotlib (`figures`); `boundary_svg` draws one with
NumPy and Pillow alone, for pages that must not need matplotlib (forward-trace's).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.data import PLANAR_DATASETS
from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from fcnn_cli.model import Model

GRID = 100                # cells along each axis of the input plane
PAD = 0.08                # the data's range widened by this share of its span on each side
# One colour per class: Playground's orange and blue first, then matplotlib's tab10.
CLASS_COLOURS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
PALE = 0.45  # the strongest a region's colour gets over white (points stay legible)
SVG_POINTS = 400          # points drawn at most in the small picture (a seeded sample)


@dataclass(frozen=True)
class Extent:
    """A rectangle of the input plane in raw units: (low, high) for x1 and for x2."""

    x1: tuple[float, float]
    x2: tuple[float, float]


@dataclass
class Field:
    """What a model computes over a grid of the input plane.

    Arrays over the grid are (GRID, GRID, ...) images: row 0 is the top (the largest x2),
    column 0 the left (the smallest x1); `x1[c]`, `x2[r]` are the cells' centres.
    """

    kind: str                 # "probability" (two classes), "classes", or "surface"
    values: np.ndarray        # p(second class); the predicted class index; or output 1
    confidence: np.ndarray | None  # "classes": the predicted class's probability
    extent: Extent
    x1: np.ndarray            # (GRID,) cell centres, left to right
    x2: np.ndarray            # (GRID,) cell centres, top to bottom
    hidden: list[np.ndarray]  # a^l over the grid for each hidden layer l: (GRID, GRID, units)
    activations: list[str]    # each hidden layer's activation name


def has_two_inputs(model: Model) -> bool:
    """Whether the model's inputs are points of a plane (its pictures can be drawn)."""
    return int(np.prod(model.input_shape)) == 2


def extent_of(model: Model, points: np.ndarray | None = None,
              point: np.ndarray | None = None) -> Extent:
    """The plane to draw: the range of `points` (and `point`), else of the model's own
    data where it is a built-in 2-D set, else the training range its normaliser recorded,
    else around `point`; widened by PAD on each side."""
    rows = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in (points, point)
            if p is not None and np.size(p)]
    if points is None or not np.size(points):
        own = own_points(model)
        rows.append(np.stack(_normaliser_range(model)) if own is None else own[0])
    every = np.concatenate(rows)
    every = every[np.isfinite(every).all(axis=1)]
    if not len(every):
        every = np.stack(_normaliser_range(model))
    return _padded(every.min(axis=0), every.max(axis=0))


def own_points(model: Model) -> tuple[np.ndarray, np.ndarray] | None:
    """The training split of the model's own data (raw inputs (N, 2), class indices or
    targets) where it is a built-in 2-D set, cheap to rebuild from the config's seed;
    else None. Any trouble reading the config is None too: a picture, not a check."""
    from fcnn_cli.evaluation import choose_rows, training_config

    try:
        config = training_config(model)
        if config is None or config.data.path is not None or \
                config.data.dataset not in PLANAR_DATASETS:
            return None
        rows = choose_rows(model, None, "train")
    except FcnnError:
        return None
    return rows.x.reshape(len(rows.x), -1).astype(np.float64), rows.labels


def _normaliser_range(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """The training inputs' range as the normaliser knows it: min-max scaling stored it;
    standardising stored mean and spread (±2.5 σ holds nearly all of most data)."""
    norm = model.normalizer
    mean = np.broadcast_to(np.asarray(norm.mean, np.float64), (2,))
    std = np.broadcast_to(np.asarray(norm.std, np.float64), (2,))
    if norm.kind == "scale":
        return mean, mean + std
    if norm.kind == "standardize":
        return mean - 2.5 * std, mean + 2.5 * std
    return np.full(2, -1.0), np.full(2, 1.0)  # no record of the range: the unit square's


def _padded(low: np.ndarray, high: np.ndarray) -> Extent:
    span = np.where(high - low > 0, high - low, 2.0)  # one value: a range of 2 around it
    centre = (low + high) / 2
    low, high = centre - span * (0.5 + PAD), centre + span * (0.5 + PAD)
    return Extent((float(low[0]), float(high[0])), (float(low[1]), float(high[1])))


def grid_inputs(extent: Extent, cells: int = GRID) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The centres of cells × cells cells covering `extent`: x1 (left to right), x2 (top
    to bottom), and every cell as a row of raw inputs (cells², 2), row-major."""
    def centres(low: float, high: float) -> np.ndarray:
        step = (high - low) / cells
        return low + step * (np.arange(cells) + 0.5)

    x1 = centres(*extent.x1)
    x2 = centres(*extent.x2)[::-1]
    g1, g2 = np.meshgrid(x1, x2)
    return x1, x2, np.column_stack([g1.ravel(), g2.ravel()])


def compute_field(model: Model, extent: Extent, cells: int = GRID) -> Field:
    """The model over a grid of `extent`: one batched forward pass of all cells² inputs
    through `Model.prepare` and the network, every layer's activations kept."""
    if not has_two_inputs(model):
        raise FcnnError(f"{model.display_name} takes {int(np.prod(model.input_shape))} "
                        "inputs; decision boundaries are drawn for models with two")
    x1, x2, rows = grid_inputs(extent, cells)
    with np.errstate(over="ignore", invalid="ignore"):
        _, activations, _ = model.network.feedforward(model.prepare(rows))
    hidden = [a.astype(np.float64).reshape(cells, cells, -1) for a in activations[1:-1]]
    names = [act.name for act in model.network.activations[:-1]]
    out = activations[-1]
    if not np.isfinite(out).all():
        raise FcnnError(f"{model.display_name} computes outputs that are not finite over "
                        "its data's range: a model whose training diverged; retrain it")
    if not model.is_classifier:
        values = np.asarray(model.in_target_units(out), np.float64)[:, 0]
        return Field("surface", values.reshape(cells, cells), None, extent, x1, x2,
                     hidden, names)
    p = np.asarray(model.results(out), np.float64)
    if p.shape[1] == 2:
        return Field("probability", p[:, 1].reshape(cells, cells), None, extent, x1, x2,
                     hidden, names)
    return Field("classes", p.argmax(axis=1).reshape(cells, cells),
                 p.max(axis=1).reshape(cells, cells), extent, x1, x2, hidden, names)


# --- colours -----------------------------------------------------------------------------

def class_colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)


def _blend(colours: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Each cell's colour (..., 3) laid over white with `strength` in [0, 1], as uint8."""
    s = np.clip(strength, 0, 1)[..., None] * PALE
    return np.rint(255 * (1 - s) + colours * s).astype(np.uint8)


def region_rgb(field: Field) -> np.ndarray:
    """The output field as pale colours (GRID, GRID, 3): two classes (and a surface) fade
    from the first colour through white (p = ½, the boundary) to the second; several
    classes take their own colours, paler where the model is less sure."""
    first, second = _rgb(class_colour(0)), _rgb(class_colour(1))
    if field.kind == "classes":
        assert field.confidence is not None
        k = int(field.values.max()) + 1
        palette = np.stack([_rgb(class_colour(j)) for j in range(max(k, 2))])
        chance = 1 / max(k, 2)
        sure = (field.confidence - chance) / (1 - chance)
        return _blend(palette[field.values.astype(int)], 0.35 + 0.65 * sure)
    if field.kind == "probability":
        t = 2 * field.values - 1
    else:
        low, high = float(field.values.min()), float(field.values.max())
        t = 2 * (field.values - low) / (high - low) - 1 if high > low else \
            np.zeros_like(field.values)
    colours = np.where(t[..., None] > 0, second, first)
    return _blend(colours, np.abs(t))


UNIT_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}  # drawn on their whole range


def unit_range(a: np.ndarray, activation: str) -> tuple[float, float]:
    """The values a hidden unit's heat map spans: sigmoid and tanh their whole range (a
    saturated unit looks flat), others ±max|a| of the unit itself (a dead one is white)."""
    if activation in UNIT_RANGES:
        return UNIT_RANGES[activation]
    top = float(np.abs(a).max()) or 1.0
    return -top, top


def unit_rgb(a: np.ndarray, activation: str) -> np.ndarray:
    """One hidden unit's a^l_j over the grid (cells, cells) as colours, Playground's way:
    orange for the low end, white in the middle, blue for the high end."""
    low, high = unit_range(a, activation)
    t = np.clip(2 * (a - low) / (high - low) - 1, -1, 1)
    colours = np.where(t[..., None] > 0, _rgb(class_colour(1)), _rgb(class_colour(0)))
    s = np.abs(t)[..., None]
    return np.rint(255 * (1 - s) + colours * s).astype(np.uint8)


def png_uri(rgb: np.ndarray, colours: int | None = None) -> str:
    """An RGB image (H, W, 3) as a `data:` URI of a PNG; `colours`: a palette of that many
    (a smooth map in 64 colours is a third of the bytes, and looks the same)."""
    return f"data:image/png;base64,{_png(rgb, colours)}"


def _png(rgb: np.ndarray, colours: int | None = None) -> str:
    from PIL import Image

    picture = Image.fromarray(rgb, "RGB")
    if colours is not None:
        picture = picture.quantize(colours, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# --- the small picture -------------------------------------------------------------------

def boundary_svg(model: Model, point: np.ndarray | None = None,
                 points: tuple[np.ndarray, np.ndarray] | None = None,
                 size: int = 240) -> str:
    """A standalone `<svg>` of the model's decision regions (or output surface) over the
    data's range: the regions as an embedded PNG, `points` (raw inputs (N, 2) and their
    labels: class indices or names, or regression targets) as dots with dark outlines,
    and `point` (one example in raw units, shape (2,)) as a black ring. The range comes
    from `points` when given, else from the model's own data (built-in 2-D sets), else
    from its normaliser, and always holds `point`."""
    xs = None if points is None else np.asarray(points[0], np.float64).reshape(-1, 2)
    spot = None if point is None else np.asarray(point, np.float64).reshape(2)
    extent = extent_of(model, xs, spot)
    field = compute_field(model, extent)
    box = _Box(size, extent)
    parts = [f'<image x="{box.left}" y="{box.top}" width="{box.side}" height="{box.side}" '
             f'preserveAspectRatio="none" href="data:image/png;base64,{_png(region_rgb(field))}"/>',
             f'<rect x="{box.left}" y="{box.top}" width="{box.side}" height="{box.side}" '
             'fill="none" stroke="#666" stroke-width="1"/>']
    if points is not None and xs is not None:
        parts += _dots(model, box, xs, np.asarray(points[1]))
    if spot is not None:
        parts += _marked(box, spot)
    parts += _axis_labels(model, box, extent)
    title = html.escape(f"{_what(field)} of {model.display_name}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}" role="img" font-family="sans-serif">'
            f"<title>{title}</title>{''.join(parts)}</svg>")


@dataclass
class _Box:
    """Where the plot area sits in the picture, and raw units → picture coordinates."""

    size: int
    extent: Extent

    @property
    def left(self) -> float:
        return round(self.size * 0.12, 1)  # room for x2's name and range

    @property
    def top(self) -> float:
        return round(self.size * 0.03, 1)

    @property
    def side(self) -> float:
        return round(self.size - self.left - self.size * 0.12, 1)  # the bottom axis below

    def at(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        (a1, b1), (a2, b2) = self.extent.x1, self.extent.x2
        u = self.left + (x[:, 0] - a1) / (b1 - a1) * self.side
        v = self.top + (b2 - x[:, 1]) / (b2 - a2) * self.side
        return u, v


def _dots(model: Model, box: _Box, xs: np.ndarray, labels: np.ndarray) -> list[str]:
    keep = np.isfinite(xs).all(axis=1)
    if keep.sum() > SVG_POINTS:  # a few hundred dots say as much, and stay legible
        chosen = np.random.default_rng(0).choice(np.flatnonzero(keep), SVG_POINTS, replace=False)
        keep = np.zeros(len(xs), bool)
        keep[chosen] = True
    colours = _point_colours(model, labels, len(xs))
    u, v = box.at(xs)
    radius = box.size / (60 if keep.sum() <= 60 else 90)  # few points: large enough to see
    return [f'<circle cx="{u[i]:.1f}" cy="{v[i]:.1f}" r="{radius:.1f}" fill="{colours[i]}" '
            f'stroke="#222" stroke-width="0.7"/>' for i in np.flatnonzero(keep)]


def _point_colours(model: Model, labels: np.ndarray, n: int) -> list[str]:
    """Class colours for class indices or names; for regression targets, the surface's
    two colours by the first target's value."""
    if model.is_classifier:
        assert model.class_names is not None
        where = {name: k for k, name in enumerate(model.class_names)}
        flat = labels.reshape(n, -1)[:, 0] if labels.size else labels
        indices = [where.get(str(y), -1) if labels.dtype.kind in "OUS" else int(y) for y in flat]
        return [class_colour(k) if k >= 0 else "#ffffff" for k in indices]
    y = labels.astype(np.float64).reshape(n, -1)[:, 0] if n else np.zeros(0)
    middle = float(np.median(y)) if n else 0.0
    return [class_colour(1) if value > middle else class_colour(0) for value in y]


def _marked(box: _Box, spot: np.ndarray) -> list[str]:
    u, v = box.at(spot.reshape(1, 2))
    r = box.size / 40
    return [f'<circle cx="{u[0]:.1f}" cy="{v[0]:.1f}" r="{r * 1.6:.1f}" fill="none" '
            f'stroke="#fff" stroke-width="{r * 0.9:.1f}"/>',
            f'<circle cx="{u[0]:.1f}" cy="{v[0]:.1f}" r="{r * 1.6:.1f}" fill="none" '
            f'stroke="#000" stroke-width="{r * 0.45:.1f}"/>',
            f'<circle cx="{u[0]:.1f}" cy="{v[0]:.1f}" r="{r * 0.55:.1f}" fill="#000"/>']


def _axis_labels(model: Model, box: _Box, extent: Extent) -> list[str]:
    names = model.feature_names if model.feature_names and len(model.feature_names) == 2 \
        else ["x1", "x2"]
    font = max(8.0, box.size / 24)
    below = box.top + box.side + font * 1.15
    right = box.left + box.side
    left_of = box.left - font * 0.35
    mid_v = box.top + box.side / 2
    text = (f'font-size="{font:.1f}" fill="#333"')
    n1, n2 = (html.escape(_short(name)) for name in names)
    return [
        f'<text x="{box.left}" y="{below:.1f}" {text} text-anchor="start">'
        f"{_number(extent.x1[0])}</text>",
        f'<text x="{right}" y="{below:.1f}" {text} text-anchor="end">'
        f"{_number(extent.x1[1])}</text>",
        f'<text x="{box.left + box.side / 2:.1f}" y="{below:.1f}" {text} '
        f'text-anchor="middle" font-style="italic">{n1}</text>',
        f'<text x="{left_of:.1f}" y="{box.top + box.side:.1f}" {text} text-anchor="end">'
        f"{_number(extent.x2[0])}</text>",
        f'<text x="{left_of:.1f}" y="{box.top + font * 0.8:.1f}" {text} text-anchor="end">'
        f"{_number(extent.x2[1])}</text>",
        f'<text x="{left_of:.1f}" y="{mid_v:.1f}" {text} text-anchor="end" '
        f'dominant-baseline="middle" font-style="italic">{n2}</text>',
    ]


def _short(name: str, most: int = 12) -> str:
    return name if len(name) <= most else name[:most - 1] + "…"


def _number(value: float) -> str:
    return html.escape(f"{value:.3g}")


def _what(field: Field) -> str:
    return {"probability": "Decision regions (probability shading)",
            "classes": "Decision regions", "surface": "Output surface"}[field.kind]
