"""Every picture fcnn draws, as inline SVG: the one module that imports matplotlib.

Only the commands that draw import this module, and only when they run, so `fcnn --help`
and `fcnn predict` never pay for matplotlib (an optional extra: `pip install 'fcnn[report]'`).
The callers compute each figure's numbers; the functions here only draw them (the split
scikit-learn's `*Display` classes make). Each returns an `<svg>` element with no XML
prolog, ready to sit inside an HTML page: text stays text (`svg.fonttype: none`), pictures
are embedded PNGs, and nothing refers to a file or a server.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

INSTALL_HINT = ("fcnn report draws with matplotlib, which is not installed; "
                "pip install 'fcnn[report]'")
COLOURS = {"train": "#1f77b4", "val": "#d62728", "lr": "#555555", "best": "#2ca02c"}
STYLE = {
    "svg.fonttype": "none",          # text as text: small files, searchable, crisp in print
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed), or the install hint."""
    try:
        import matplotlib
    except ImportError:
        raise FcnnError(INSTALL_HINT) from None
    matplotlib.use("Agg")  # before pyplot: a server or a CI job has no display
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def _svg(fig: Figure, name: str) -> str:
    """The figure as an `<svg>` element; `name` salts its element ids so that several
    figures on one page never share an id (matplotlib derives them from content)."""
    import matplotlib

    plt = pyplot()
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"fcnn-{name}"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML prolog or doctype inside HTML
    # The RDF metadata block only names its vocabularies' URLs; the page does not need it.
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)


def learning_curves(history: dict[str, np.ndarray], best_epoch: int | None,
                    best_label: str) -> str:
    """Loss and accuracy per epoch, train and validation, and the learning rate on a small
    axis of its own; `best_epoch` (1-based) marked on each with a labelled line."""
    plt = pyplot()
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    has_accuracy = _finite(history.get("train_accuracy")) or _finite(history.get("val_accuracy"))
    has_lr = _finite(history.get("lr"))
    fig = plt.figure(figsize=(9.5, 4.6 if has_lr else 3.4))
    grid = fig.add_gridspec(2 if has_lr else 1, 2 if has_accuracy else 1,
                            height_ratios=[3, 1] if has_lr else [1], hspace=0.45, wspace=0.25)
    loss_ax = fig.add_subplot(grid[0, 0])
    _curves(loss_ax, epochs, history, "loss", "loss")
    axes = [loss_ax]
    if has_accuracy:
        acc_ax = fig.add_subplot(grid[0, 1])
        _curves(acc_ax, epochs, history, "accuracy", "accuracy")
        axes.append(acc_ax)
    if has_lr:
        lr_ax = fig.add_subplot(grid[1, :])
        lr_ax.plot(epochs, history["lr"], color=COLOURS["lr"], lw=1.2)
        lr_ax.set_ylim(bottom=0)  # a constant rate reads as constant, not as noise
        lr_ax.set_ylabel("learning rate")
        lr_ax.set_xlabel("epoch")
        lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        axes.append(lr_ax)
    else:
        loss_ax.set_xlabel("epoch")
    for ax in axes:
        ax.set_xlim(epochs[0] - 0.5, epochs[-1] + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if best_epoch is not None:
            ax.axvline(best_epoch, color=COLOURS["best"], ls="--", lw=1,
                       label=f"{best_label} (epoch {best_epoch})")
    # One legend for all the axes, above them: inside an axis it would lie over a curve or
    # the best-epoch line wherever it went, and the curves share their colours anyway.
    handles, labels = loss_ax.get_legend_handles_labels()
    if labels:  # (none where every loss is NaN: matplotlib refuses a legend of 0 columns)
        fig.legend(handles, labels, loc="lower center", frameon=False, ncol=len(labels),
                   bbox_to_anchor=(0.5, 0.93 if has_lr else 0.96))
    return _svg(fig, "curves")


def _curves(ax: Axes, epochs: np.ndarray, history: dict[str, np.ndarray], metric: str,
            title: str) -> None:
    for part in ("train", "val"):
        values = history.get(f"{part}_{metric}")
        if _finite(values):
            label = "training" if part == "train" else "validation"
            ax.plot(epochs, values, color=COLOURS[part], lw=1.5, label=label,
                    marker="o" if len(epochs) <= 30 else None, ms=3)
    ax.set_title(title)


def _finite(values: np.ndarray | None) -> bool:
    return values is not None and len(values) > 0 and bool(np.isfinite(values).any())


def confusion(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix as a heat map: counts in the cells, true classes down the side.
    Colour is the share of each true class (row), on a square-root scale so that a handful
    of mistakes beside a thousand right answers still shows."""
    from matplotlib.colors import PowerNorm

    plt = pyplot()
    k = len(class_names)
    side = min(8.0, max(3.0, 0.34 * k + 1.4))
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    image = ax.imshow(share, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=1))
    ax.grid(False)
    ticks = np.arange(k)
    ax.set_xticks(ticks, [str(name) for name in class_names], rotation=45 if k > 10 else 0,
                  ha="right" if k > 10 else "center")
    ax.set_yticks(ticks, [str(name) for name in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 25:  # beyond that the numbers would not fit in their cells
        _annotate_counts(ax, matrix, share, fontsize=8 if k <= 12 else 6)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    return _svg(fig, "confusion")


def _annotate_counts(ax: Axes, matrix: np.ndarray, share: np.ndarray, fontsize: float) -> None:
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if share[i, j] > 0.35 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour,
                    fontsize=fontsize)


def picture_grid(pictures: np.ndarray, captions: Sequence[str], pixel_max: float | None,
                 columns: int = 6) -> str:
    """Pictures (N, H, W) or (N, H, W, 3) in raw units, each over its caption; gray
    pictures as dark ink on white paper, as they would be printed."""
    plt = pyplot()
    rows = max(1, -(-len(pictures) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.55, rows * 1.85),
                             squeeze=False)
    top = pixel_max if pixel_max is not None else float(np.max(pictures, initial=1.0))
    for ax in axes.flat:
        ax.axis("off")
    for ax, picture, caption in zip(axes.flat, pictures, captions):
        if picture.ndim == 3:
            ax.imshow(np.clip(picture / top, 0, 1), interpolation="none")
        else:
            ax.imshow(picture, cmap="gray_r", vmin=0, vmax=top, interpolation="none")
        ax.set_title(caption, fontsize=7.5, pad=3, linespacing=1.1)
    fig.subplots_adjust(wspace=0.15, hspace=0.55)
    return _svg(fig, "mistakes")


def first_layer(weights: np.ndarray, shape: tuple[int, int], columns: int = 8) -> str:
    """Incoming weights of first-layer units (units, H·W), each drawn as an H×W picture on
    a diverging scale centred on 0 (red positive, blue negative). Each unit is scaled by
    its own largest |w|: the pattern matters here, and units differ in overall size."""
    plt = pyplot()
    units = len(weights)
    rows = -(-units // columns)
    height, width = shape
    mosaic = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for index, w in enumerate(weights):
        scale = float(np.abs(w).max()) or 1.0
        r, c = divmod(index, columns)
        top, left = r * (height + 1), c * (width + 1)
        mosaic[top:top + height, left:left + width] = w.reshape(shape) / scale
    # One picture for the whole mosaic, the gaps (NaN) left white: one small PNG.
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="white")
    fig, ax = plt.subplots(figsize=(min(9.0, 1.1 * columns), min(9.0, 1.1 * rows) + 0.3))
    image = ax.imshow(mosaic, cmap=cmap, vmin=-1, vmax=1, interpolation="none")
    ax.axis("off")
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, ticks=[-1, 0, 1],
                 label="w / max |w| of the unit")
    return _svg(fig, "weights")


def predicted_vs_true(predicted: np.ndarray, true: np.ndarray, names: Sequence[str]) -> str:
    """One scatter per regression output, predicted against true, with the line y = x."""
    plt = pyplot()
    outputs = len(names)
    columns = min(outputs, 3)
    rows = -(-outputs // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.0 * rows), squeeze=False)
    for ax in axes.flat[outputs:]:
        ax.axis("off")
    for j, (ax, name) in enumerate(zip(axes.flat, names)):
        y, p = true[:, j], predicted[:, j]
        # Thousands of points as vector marks would make the page heavy: raster them.
        ax.scatter(y, p, s=10, alpha=0.6, color=COLOURS["train"], edgecolors="none",
                   rasterized=len(y) > 2000)
        low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        ax.plot([low, high], [low, high], color="black", lw=1, ls="--", label="y = x")
        ax.set_title(str(name))
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return _svg(fig, "regression")


# --- per-layer diagnostics ---------------------------------------------------------------

def layer_colour(index: int, layers: int) -> str:
    """One colour per layer, the output layer always black: the eye finds it first."""
    if index == layers - 1:
        return "#000000"
    return ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
            "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")[index % 10]


def layer_name(index: int, layers: int) -> str:
    """Nielsen's legend: "hidden layer 1", …, "output layer"."""
    return "output layer" if index == layers - 1 else f"hidden layer {index + 1}"


def _diagnostics_axes(plt: Any, gid: str, title: str, ylabel: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(4.3, 3.3))
    ax.set_gid(gid)  # the panel's id in the page (tests count panels by it)
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return fig, ax


def _positive(values: Sequence[float]) -> np.ndarray:
    """Values for a log axis: zeros and non-finite values left out (NaN), not drawn as −∞."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(v) & (v > 0), v, np.nan)


def _epoch_axis(ax: Axes, epochs: int) -> None:
    ax.set_xlim(0.5, max(epochs, 1) + 0.5)


def _legend_below(ax: Axes) -> None:
    """The legend under the axis: inside it, one line per layer of a deep network would
    cover the very lines it names."""
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  frameon=False, fontsize=8, ncol=2 if len(labels) > 2 else len(labels),
                  columnspacing=1.2, handlelength=1.8)


def speed_of_learning(diagnostics: Sequence[dict[str, Any]]) -> str:
    """Each layer's speed of learning ‖∂C/∂b^l‖ against epoch on a log axis, one line per
    layer (Nielsen's chapter 5 figure)."""
    plt = pyplot()
    fig, ax = _diagnostics_axes(plt, "diagnostics-speed", "speed of learning",
                                "‖∂C/∂b‖ (log scale)")
    _log_lines_per_layer(ax, diagnostics, "speed")
    return _svg(fig, "speed")


def _log_lines_per_layer(ax: Axes, diagnostics: Sequence[dict[str, Any]], key: str) -> None:
    """One line per layer of the series `key` against epoch, on a log axis."""
    layers = len(diagnostics)
    epochs = 0
    for i, layer in enumerate(diagnostics):
        values = _positive(layer[key])
        epochs = max(epochs, len(values))
        ax.plot(np.arange(1, len(values) + 1), values, color=layer_colour(i, layers), lw=1.5,
                marker="o" if len(values) <= 30 else None, ms=3, label=layer_name(i, layers))
    ax.set_yscale("log")
    _epoch_axis(ax, epochs)
    _legend_below(ax)


def unit_fractions(diagnostics: Sequence[dict[str, Any]]) -> str:
    """The share of each layer's units saturated (solid lines) and dead (dashed) against
    epoch; layers whose activation can do neither are left out. A layer is one or the
    other (sigmoid and tanh saturate, the relu family dies), so the legend names layers
    and two grey entries say what the line styles mean."""
    plt = pyplot()
    fig, ax = _diagnostics_axes(plt, "diagnostics-units", "saturated and dead units",
                                "share of the layer's units")
    layers = len(diagnostics)
    epochs, styles = 0, {}
    for i, layer in enumerate(diagnostics):
        for key, style in (("saturated", "-"), ("dead", "--")):
            values = layer.get(key)
            if values is None:
                continue
            v = np.asarray(values, dtype=np.float64)
            epochs = max(epochs, len(v))
            styles[key] = style
            ax.plot(np.arange(1, len(v) + 1), v, color=layer_colour(i, layers), ls=style,
                    lw=1.5, marker="o" if len(v) <= 30 else None, ms=3,
                    label=layer_name(i, layers))
    for key, style in styles.items():
        ax.plot([], [], color="#888888", ls=style, lw=1.5, label=key)
    ax.set_ylim(-0.03, 1.03)
    ax.yaxis.set_major_formatter(_percent())
    _epoch_axis(ax, epochs)
    _legend_below(ax)
    return _svg(fig, "units")


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def update_ratios(diagnostics: Sequence[dict[str, Any]], band: tuple[float, float],
                  target: float) -> str:
    """Each layer's ‖Δw‖/‖w‖ per epoch on a log axis, with the rule of thumb's target
    (a line) and the band around it that reads as healthy (shaded)."""
    plt = pyplot()
    fig, ax = _diagnostics_axes(plt, "diagnostics-update-ratio", "update ratio",
                                "‖Δw‖ / ‖w‖ (log scale)")
    ax.axhspan(*band, color=COLOURS["best"], alpha=0.12, lw=0)
    ax.axhline(target, color=COLOURS["best"], lw=1, ls="--", label=f"{target:.0e} rule of thumb")
    _log_lines_per_layer(ax, diagnostics, "update_ratio")
    return _svg(fig, "ratio")


# --- decision boundaries of two-input models ---------------------------------------------

def _boundary_cmap(strong: bool = False) -> Any:
    """Orange (low) through white to blue (high), as the regions are shaded; `strong`
    is the full colours, for points and unit maps that must stand out."""
    from matplotlib.colors import LinearSegmentedColormap

    from fcnn_cli.boundary import class_colour

    low, high = class_colour(0), class_colour(1)
    if not strong:
        low, high = (_paled(c) for c in (low, high))
    return LinearSegmentedColormap.from_list("fcnn-boundary", [low, "#ffffff", high])


def _paled(colour: str) -> str:
    from fcnn_cli.boundary import PALE

    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    mixed = np.rint(255 * (1 - PALE) + rgb * PALE).astype(int)
    return "#" + "".join(f"{v:02x}" for v in mixed)


def decision_regions(field: Any, regions: np.ndarray, train: tuple[np.ndarray, np.ndarray],
                     test: tuple[np.ndarray, np.ndarray], names: Sequence[str],
                     outputs: Sequence[str], test_label: str) -> str:
    """The output over the input plane (`field`, a `boundary.Field`: regions `regions`
    as RGB, or the probability / surface with a colour bar) with the training points as
    circles and the evaluated points as triangles, coloured by class (or target)."""
    from fcnn_cli.boundary import class_colour

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    ax.set_gid("decision-output")
    ext = (*field.extent.x1, *field.extent.x2)
    ax.grid(False)
    if field.kind == "classes":
        ax.imshow(regions, extent=ext, interpolation="bilinear", aspect="auto")
    else:
        vmin, vmax = (0.0, 1.0) if field.kind == "probability" else \
            (float(field.values.min()), float(field.values.max()))
        image = ax.imshow(field.values, extent=ext, cmap=_boundary_cmap(), vmin=vmin,
                          vmax=vmax, interpolation="bilinear", aspect="auto")
        label = (f"p(class {outputs[1]})" if field.kind == "probability" else str(outputs[0]))
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label=label)
        level = 0.5 if field.kind == "probability" else None
        lines = ax.contour(field.x1, field.x2, field.values,
                           levels=[level] if level is not None else 6, colors="#333",
                           linewidths=1.0 if level is not None else 0.6)
        if level is None:
            ax.clabel(lines, fontsize=7, fmt="%.3g")
    for (x, y), marker, part in ((train, "o", "training"), (test, "^", test_label)):
        if len(x) == 0:
            continue
        size = (40 if len(x) <= 100 else 16) * (1.4 if marker == "^" else 1.0)
        if field.kind == "surface":
            colours: Any = y.reshape(len(y), -1)[:, 0].astype(np.float64)
            ax.scatter(x[:, 0], x[:, 1], c=colours, cmap=_boundary_cmap(strong=True),
                       vmin=field.values.min(), vmax=field.values.max(), marker=marker, s=size,
                       edgecolors="#222", linewidths=0.6, rasterized=len(x) > 1000)
        else:
            colours = [class_colour(int(k)) for k in y]
            ax.scatter(x[:, 0], x[:, 1], c=colours, marker=marker, s=size, edgecolors="#222",
                       linewidths=0.6, rasterized=len(x) > 1000)
        ax.scatter([], [], marker=marker, s=size, c="#bbbbbb", edgecolors="#222",
                   linewidths=0.6, label=f"{part} ({len(x):,})")
    if field.kind != "surface":
        for k, name in enumerate(outputs):
            ax.scatter([], [], marker="s", s=40, c=class_colour(k), label=f"class {name}")
    ax.set_xlim(ext[0], ext[1])
    ax.set_ylim(ext[2], ext[3])
    ratio = (ext[1] - ext[0]) / (ext[3] - ext[2])
    if 0.4 <= ratio <= 2.5:  # inputs in like units: a circle in the data stays round
        ax.set_aspect("equal")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    # Above the plane: beside it the legend would push the plot small on a narrow page.
    handles, labels = ax.get_legend_handles_labels()
    if labels:  # (a regression model with no data to show has none)
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.01),
                  frameon=False, fontsize=8, ncol=min(len(labels), 4), handletextpad=0.3,
                  columnspacing=1.2)
    return _svg(fig, "boundary")


# --- compare ---

def compared_curves(names: Sequence[str], curves: dict[str, list[list[float]]]) -> str:
    """Several models' learning curves on shared axes: loss (and accuracy, where any model
    has it) per epoch, one colour per model, validation solid and training dashed. Each
    curve's SVG group is named `curve-<model>-<series>` so that a page can be checked."""
    plt = pyplot()
    has_accuracy = any(_finite(np.asarray(c, dtype=float))
                       for key in ("train_accuracy", "val_accuracy") for c in curves.get(key, []))
    panels = [("loss", "loss")] + ([("accuracy", "accuracy")] if has_accuracy else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(9.5 if has_accuracy else 6.0, 3.8),
                             squeeze=False)
    colours = plt.get_cmap("tab10").colors
    for ax, (metric, title) in zip(axes[0], panels):
        for i, name in enumerate(names):
            for part, style in (("train", "--"), ("val", "-")):
                series = curves.get(f"{part}_{metric}", [])
                values = np.asarray(series[i] if i < len(series) else [], dtype=float)
                if _finite(values):
                    where = "training" if part == "train" else "validation"
                    ax.plot(np.arange(1, len(values) + 1), values, ls=style, lw=1.5,
                            color=colours[i % len(colours)], label=f"{name} ({where})",
                            gid=f"curve-{i}-{part}-{metric}",
                            marker="o" if len(values) <= 30 else None, ms=2.5)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if labels:  # above the axes: inside, it would lie over a curve
        # a column per model, its training and validation lines one above the other
        fig.legend(handles, labels, loc="lower center", frameon=False, fontsize=8,
                   ncol=max(1, -(-len(labels) // 2)), bbox_to_anchor=(0.5, 0.98))
    fig.tight_layout()
    return _svg(fig, "compare")
