"""How well digit models read handwriting styles that the example pictures do not cover.

    python benchmarks/user_digits.py [--model mnist ...] [--per-style 40] [--seed 7]
        [--failures DIR]

People bring digits from hands other than MNIST's: neat print, quick scrawls, a script's
flagged 1 or crossed 7, pencil, marker, a tilted page, a notebook page, a sticky note, a
dim phone photo, very thick or very thin strokes. This renders --per-style pictures of
each style of `examples/make_user_digits.py` (handwriting fonts from Debian packages, see
that module's docstring; a style whose fonts are missing is skipped, and says so) into a
temporary folder, reads them with every --model (a model file or a shipped model's name;
repeat the option to compare models) through `fcnn_cli.api.load_model(model).predict`,
and prints one table, a column of accuracies per model:

- one row per style, with its number of pictures;
- overall: every style together;
- examples: the committed pictures in examples/images/ (the label from the name:
  `-label-D.`, or the digit after `user-`), which a model must keep reading;

then how long rendering took and, per model, reading.

--failures DIR writes, for every misread picture (of the styles and of the examples), one
PNG: the picture (200 px high) beside what the network saw (the pipeline's 28×28 input,
×7), named <model>-<picture>-true-<t>-pred-<p>.png, where <picture> is <style>-<index> or
examples-<file name>.

The same seed and the same fonts give the same pictures; more pictures per style keep the
first ones. Rendering 440 pictures takes about 20 s on two cores, reading them a few
seconds per model.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "examples"))
sys.path.insert(0, str(REPO / "benchmarks"))

from digit_photos import side_by_side  # noqa: E402
from make_user_digits import STYLES, write_pictures  # noqa: E402

from fcnn_cli.api import load_model  # noqa: E402
from fcnn_cli.data.images import load_image  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402

EXAMPLES = REPO / "examples" / "images"
EXAMPLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
# the label in an example's name: mnist-test-0000-label-7.png, user-3-thin-strokes-300px.png
EXAMPLE_LABEL = re.compile(r"-label-(\d)\.|^user-(\d)-")

Row = tuple[Path, int, str]  # a picture, its label and its style ("examples" for those)


def main() -> None:
    args = parse_args()
    examples = example_rows()
    with tempfile.TemporaryDirectory(prefix="user-digits-") as temp:
        started = time.perf_counter()
        rows = write_pictures(Path(temp), args.per_style, args.seed)
        print(f"{len(rows)} pictures rendered in {time.perf_counter() - started:.1f} s "
              f"(seed {args.seed}); {len(examples)} example pictures")
        columns = {}
        for label, name in model_labels(args.model).items():
            model = load_model(name)
            started = time.perf_counter()
            right = read(model, rows + examples, args.failures, label)
            print(f"{label}: {model.display_name}, read in "
                  f"{time.perf_counter() - started:.1f} s")
            columns[label] = right
        print_table(rows, examples, columns)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append",
                        help="a model file or a shipped name (default mnist); repeatable")
    parser.add_argument("--per-style", type=int, default=40, help="pictures per style")
    parser.add_argument("--seed", type=int, default=7, help="the same seed, the same pictures")
    parser.add_argument("--failures", type=Path, metavar="DIR",
                        help="write each misread picture beside the network's input here")
    args = parser.parse_args()
    if not 1 <= args.per_style <= 1000:
        parser.error("--per-style must be between 1 and 1000")
    args.model = args.model or ["mnist"]
    return args


def model_labels(names: list[str]) -> dict[str, str]:
    """A short column label per model (a file's stem, a shipped model's name), made unique
    by a number where two files share a stem."""
    labels: dict[str, str] = {}
    for k, name in enumerate(names, 1):
        label = Path(name).stem
        labels[label if label not in labels else f"{label}-{k}"] = name
    return labels


def example_rows() -> list[Row]:
    """The committed example pictures that carry their label in their name."""
    rows = []
    for path in sorted(EXAMPLES.iterdir()):
        match = EXAMPLE_LABEL.search(path.name)
        if path.suffix.lower() in EXAMPLE_SUFFIXES and match:
            rows.append((path, int(match.group(1) or match.group(2)), "examples"))
    return rows


def read(model: Model, rows: list[Row], failures: Path | None, label: str) -> np.ndarray:
    """Whether the model reads each picture right (bool per row); the misread ones go to
    `failures` when given."""
    if not model.is_classifier:
        raise SystemExit(f"{model.display_name} is not a classifier")
    predicted = model.predict([path for path, _, _ in rows])
    truth = np.array([str(digit) for _, digit, _ in rows], dtype=object)
    right = predicted == truth
    if failures is not None:
        count = save_failures(model, failures, label, rows, predicted, right)
        print(f"{label}: {count} misread pictures in {failures}")
    return right


def print_table(rows: list[Row], examples: list[Row], columns: dict[str, np.ndarray]) -> None:
    """style | n | one accuracy per model; then overall and the examples."""
    styles = np.array([style for _, _, style in rows + examples])
    width = max(8, *(len(label) for label in columns))
    print(f"\n{'style':<14} {'n':>5}" + "".join(f" {label:>{width}}" for label in columns))
    groups = [style for style in STYLES if (styles == style).any()]
    for group in groups + ["overall", "examples"]:
        chosen = (styles != "examples") if group == "overall" else (styles == group)
        cells = "".join(f" {right[chosen].mean():>{width}.1%}" for right in columns.values())
        print(f"{group:<14} {int(chosen.sum()):>5}{cells}")


def save_failures(model: Model, folder: Path, label: str, rows: list[Row],
                  predicted: np.ndarray, right: np.ndarray) -> int:
    """For each misread picture, it and the network's input side by side; how many."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = model.image if model.image is not None else model.input_shape
    pixel_max = model.pixel_max or 255.0
    for (path, digit, style), guess, ok in zip(rows, predicted, right):
        if ok:
            continue
        # a rendered picture's stem is <style>-<index>-label-<digit>: keep what comes first
        picture = f"examples-{path.stem}" if style == "examples" else path.stem.rsplit(
            "-label-", 1)[0]
        seen = load_image(path, spec, pixel_max).pixels
        out = folder / f"{label}-{picture}-true-{digit}-pred-{guess}.png"
        side_by_side(Image.open(path), seen, pixel_max).save(out)
    return int((~right).sum())


if __name__ == "__main__":
    main()
