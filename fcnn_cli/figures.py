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
