"""`fcnn init`: a commented starter config for the user's own data, ready for `fcnn train`.

The data are read to find what the config needs: the input size, the classes or the
number of regression targets, whether there is an official test split, whether the
inputs are pixels (a .csv's columns are first profiled in one pass, to choose the
features). The choices are plain, safe defaults; the comments say what to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from fcnn_cli.config import validate
from fcnn_cli.data import IMAGE_SUFFIXES, PLANAR_DATASETS
from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.sources import DATASETS, Dataset, load_dataset
from fcnn_cli.data.table import Profile, read_table
from fcnn_cli.errors import FcnnError, clipped
from fcnn_cli.sanitize import visible


@dataclass
class Starter:
    """A starter config, and the columns of a .csv it leaves out of the features."""

    text: str
    left_out: list[tuple[str, str]]  # (column, why)


def write_starter(data: str, path: str | None = None, *, force: bool = False,
                  label_column: str | None = None, drop: Sequence[str] = (),
                  features: list[str] | None = None) -> tuple[Path, Starter]:
    """Write a starter config for `data` (see `starter`) to `path`, default
    `<data name>.yaml` (a folder: that name inside it), whole or not at all; never over
    the data, nor over an existing file unless `force`. Returns the file and the config."""
    from fcnn_cli.atomic import replaced
    from fcnn_cli.outputs import output_path

    name = f"{Path(data).stem or 'model'}.yaml"
    # (a dataset's name is no file: "mnist" must not read as the same file as PATH mnist)
    target = output_path(path or name, "PATH", name=name,
                         inputs={"the data": data if Path(data).exists() else None})
    if target.exists() and not force:
        raise FcnnError(f"{target} exists; choose another PATH or add --force")
    made = starter(data, label_column, drop, features)
    with replaced(target) as temporary:
        temporary.write_text(made.text, encoding="utf-8")
    return target, made


def starter(data: str, label_column: str | None = None, drop: Sequence[str] = (),
            features: list[str] | None = None) -> Starter:
    """A starter config for `data` (a dataset name or a path). The label column of a .csv
    is `label_column`, else `label`, else the last column; its features are `features`,
    else every column that holds numbers, less `drop` (see `choose_columns`)."""
    named = data in DATASETS
    columns, left_out = None, []
    if not named and Path(data).suffix.lower() == ".csv" and Path(data).exists():
        label_column, columns, left_out = choose_columns(Path(data), label_column, drop,
                                                         features)
    elif (drop or features) and Path(data).suffix.lower() != ".csv":
        raise FcnnError(f"--drop and --features choose a .csv file's columns; {data} is not "
                        "a .csv file")
    image = None if named or not Path(data).is_dir() else _image_spec_for(Path(data))
    dataset = load_dataset(data if named else None, None if named else data,
                           label_column or "label", image=image, feature_columns=columns)
    if _looks_like_regression(dataset):
        dataset = load_dataset(None, data, label_column or "label", task="regression",
                               feature_columns=columns)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", dataset.name).strip("-") or "model"
    source = f"dataset: {data}" if named else f"path: {yaml.safe_dump(data).splitlines()[0]}"
    if label_column not in (None, "label"):
        source += f"\n  label_column: {_flow(label_column)}"
    if columns is not None:
        source += _feature_block(columns, left_out, features is not None)
    if dataset.class_names is None and dataset.feature_names is not None:
        source += "\n  task: regression                # the label column holds numbers"
    if named and data in PLANAR_DATASETS and data != "xor":  # (xor: the four points)
        source += ("\n  samples: 500                    # points drawn from the seed"
                   "\n  noise: 0.0                      # 0.1 to 0.5 makes it harder")
    if image is not None:
        source += _IMAGE_BLOCK.format(pipeline=image.pipeline, size=list(image.size),
                                      channels=image.channels)
    text = _TEMPLATE.format(
        summary=_plain(_summary(dataset, data), None), source=source,
        test_fraction=f"{'0.0' if dataset.x_test is not None else '0.1':<17}",
        test_note="the dataset has its own test split" if dataset.x_test is not None
        else "held out for the final test score",
        normalize=f"{'scale' if dataset.pixel_max is not None else 'standardize':<21}",
        normalize_note="pixels / their maximum" if dataset.pixel_max is not None
        else "each feature to zero mean, unit variance (fitted on train)",
        hidden=_hidden_layers(dataset), output=_output_layer(dataset),
        cost="log-likelihood" if dataset.class_names else "quadratic",
        # a few hundred examples make few, noisy steps an epoch: Adam copes, and early
        # stopping needs more patience
        optimizer="{name: sgd, lr: 0.1, momentum: 0.9, nesterov: true}"
        if dataset.class_names and len(dataset.x_train) >= 5000 else "{name: adam, lr: 0.001}",
        patience=5 if len(dataset.x_train) >= 5000 else 20,
        epochs=30 if len(dataset.x_train) >= 5000 else 200,
        batch=64 if len(dataset.x_train) >= 2000 else 16, name=name)
    validate(yaml.safe_load(text), "the starter config")  # never hand out a broken config
    return Starter(text, left_out)


def _image_spec_for(root: Path) -> ImageSpec:
    """The pipeline a few of the folder's pictures suggest: on a plain background, thin
    strokes are `digit`s and filled shapes `object`s; anything else is a photo to
    `resize`, in colour (32×32) when the pictures have colour."""
    votes = [_kind_of_picture(file) for file in sorted(
        p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)[:9]]
    votes = [vote for vote in votes if vote is not None]
    if not votes:
        return ImageSpec()
    kind = max(("digit", "object", "colour", "gray"), key=votes.count)
    if kind in ("digit", "object"):
        return ImageSpec(kind, (28, 28))
    return ImageSpec("resize", (32, 32), 3 if kind == "colour" else 1)


def _kind_of_picture(file: Path) -> str | None:
    """digit, object, colour (a colour photo) or gray (a gray photo); None if unreadable."""
    from PIL import Image

    try:
        with Image.open(file) as picture:
            picture.draft("RGB", (128, 128))
            rgb = np.asarray(picture.convert("RGB").resize((64, 64)), dtype=np.float32)
    except (OSError, ValueError):
        return None
    gray = rgb.mean(axis=2)
    border = np.concatenate([gray[:2].ravel(), gray[-2:].ravel(),
                             gray[:, :2].ravel(), gray[:, -2:].ravel()])
    background = float(np.median(border))
    if float(np.median(np.abs(border - background))) < 6:  # a plain background
        mask = np.abs(gray - background) > 40
        if mask.any():
            # stroke width (area over half the outline) against the shape's size: pen
            # strokes are a small part of it (MNIST about 0.15), a filled shape half of it
            outline = np.count_nonzero(np.diff(mask, axis=0)) + \
                np.count_nonzero(np.diff(mask, axis=1)) + 1
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            size = min(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
            width = 2 * np.count_nonzero(mask) / outline
            return "digit" if width / size < 0.25 else "object"
    colourful = (rgb.max(axis=2) - rgb.min(axis=2) > 32).mean() > 0.05
    return "colour" if colourful else "gray"


def _looks_like_regression(dataset: Dataset) -> bool:
    """Whole-number CSV labels with many different values (counts, prices in cents, ages)
    are quantities more likely than class numbers."""
    names = dataset.class_names
    if dataset.feature_names is None or names is None or len(names) <= 20:
        return False
    if names != [str(k) for k in range(len(names))]:
        return False  # text labels: classes
    return len(np.unique(dataset.y_train)) > 20


# --- a .csv file's columns ------------------------------------------------------------

LEFT_OUT_SHOWN = 20  # left-out columns listed one by one in the config's comment


def choose_columns(path: Path, label: str | None, drop: Sequence[str],
                   features: list[str] | None) -> tuple[str, list[str] | None,
                                                         list[tuple[str, str]]]:
    """The label column, the feature columns (None: every other column, nothing left
    out) and the columns left out with why. Without `features`, every column that holds
    numbers is a feature, except one named like an id whose whole numbers all differ;
    text columns are left out, since the network takes numbers and fcnn has no one-hot
    encoding: ids and free text carry nothing to learn from, and a category can be
    turned into 0/1 columns by the user."""
    table = read_table(path)
    label = label or ("label" if "label" in table.names else table.names[-1])
    table.require([label], "label column", "give the label column with --label-column")
    table.require(list(drop), "column", "check --drop")
    if features is not None:
        table.require(features, "column", "check --features")
        seen: set[str] = set()
        for column in features:
            if column in seen:
                raise FcnnError(f"--features names column '{column}' twice; name each once")
            seen.add(column)
    if label in drop or label in (features or []):
        raise FcnnError(f"column '{label}' is the label column; leave it out of --drop and "
                        "--features (or choose another with --label-column)")
    chosen = features if features is not None else [c for c in table.names if c != label]
    chosen = [column for column in chosen if column not in drop]
    profiles = table.profile([*chosen, label])
    _check_label(path, label, profiles[label])
    left_out = [(column, "left out with --drop") for column in drop]
    kept = []
    for column in chosen:
        why = _why_left_out(profiles[column])
        if why is None:
            kept.append(column)
        elif features is not None:
            raise FcnnError(f"{path}: --features column '{column}' {why}; fcnn takes numbers "
                            "as features")
        else:
            left_out.append((column, why))
    if not kept:
        raise FcnnError(f"{path}: no column holds numbers to learn from ("
                        + "; ".join(f"{c}: {why}" for c, why in left_out[:3])
                        + "); a network's features must be numbers")
    return label, kept if left_out or features is not None else None, left_out


def _check_label(path: Path, label: str, profile: Profile) -> None:
    """Refuse a label column that names the rows instead of classing them."""
    if profile.numbers == 0 and profile.text > 20 and len(profile.values) == profile.text:
        raise FcnnError(f"{path}: the label column '{label}' has a different value in every "
                        "row, like an id; give the column to predict with --label-column")


def _why_left_out(p: Profile) -> str | None:
    """Why a column cannot be a feature as it is, or None when it can."""
    filled = p.rows - p.empty
    if filled == 0:
        return "is empty"
    if p.text == 0:
        if p.id_name and p.whole and len(p.values) == filled > 1:
            return "is named like an id and its whole numbers all differ: an id"
        return None
    assert p.first_text is not None
    row, first = p.first_text
    if p.numbers >= 0.8 * filled:
        return (f"holds numbers but also text (first {_plain(first)!r}, row {row}); "
                "clean it to use it")
    if p.words * 2 > p.text:  # sentences, however many differ
        return f"is free text ({len(p.values):,} different values)"
    if p.numbers == 0 and len(p.values) == filled > 1:
        return "is text with a different value in every row: an id"
    if len(p.values) > min(20, filled // 2):
        return f"is text with {len(p.values):,} different values (free text)"
    shown = ", ".join(_plain(v, 16) for v in sorted(p.values)[:4])
    more = ", …" if len(p.values) > 4 else ""
    return (f"is a category of {len(p.values)} values ({shown}{more}); fcnn has no one-hot "
            "encoding: add one 0/1 column per value to use it")


def _feature_block(columns: list[str], left_out: list[tuple[str, str]], chosen: bool) -> str:
    """data.feature_columns, with a comment naming each column left out and why."""
    note = ("# chosen with --features" if chosen and not left_out else
            "# the columns that hold numbers; left out:" if left_out else "")
    lines = [f"\n  feature_columns: {_flow(columns)}   {note}".rstrip()]
    for column, why in left_out[:LEFT_OUT_SHOWN]:
        lines.append(f"  #   {_plain(column)}: {why}")
    if len(left_out) > LEFT_OUT_SHOWN:
        lines.append(f"  #   … and {len(left_out) - LEFT_OUT_SHOWN} more")
    return "\n".join(lines)


def _flow(value: object) -> str:
    """A YAML value on one line: `[a, b, 'c d']`; as JSON (which YAML reads too) when a
    name holds a line break that YAML would write over two lines."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"),
                          allow_unicode=True).removesuffix("\n...\n").rstrip("\n")
    return json.dumps(value, ensure_ascii=False) if "\n" in text else text


def _plain(text: str, most: int | None = 40) -> str:
    """Text for a one-line YAML comment: whitespace (new lines too) as single spaces, other
    control characters as escapes (YAML refuses them, a terminal would obey them)."""
    text = visible(" ".join(text.split()))
    return text if most is None else clipped(text, most)


def _summary(dataset: Dataset, data: str) -> str:
    shape = "×".join(map(str, dataset.input_shape))
    kind = "images" if dataset.pixel_max is not None else "examples"
    n = len(dataset.x_train) + (0 if dataset.x_test is None else len(dataset.x_test))
    if dataset.class_names is None:
        targets = f"{dataset.y_train.shape[1]} numeric target(s) (regression)"
    else:
        names = ", ".join(dataset.class_names[:6]) + (", …" if len(dataset.class_names) > 6
                                                       else "")
        targets = f"{len(dataset.class_names)} classes ({names})"
    return f"{data}: {n:,} {kind} of {shape} inputs, {targets}"


def _hidden_layers(dataset: Dataset) -> str:
    inputs = 1
    for size in dataset.input_shape:
        inputs *= size
    if dataset.pixel_max is not None:
        return "    - {units: 256, activation: relu, dropout: 0.2}"
    units = max(16, min(128, 2 * inputs))
    return f"    - {{units: {units}, activation: relu}}"


def _output_layer(dataset: Dataset) -> str:
    if dataset.class_names is None:
        targets = dataset.y_train.shape[1]
        return (f"    - {{units: {targets}, activation: linear}}"
                "          # one unit per target")
    return (f"    - {{units: {len(dataset.class_names)}, activation: softmax}}"
            "        # one unit per class")


_IMAGE_BLOCK = """
  image:                          # how each picture file becomes an input
    pipeline: {pipeline}               # digit: handwritten digits; object: one thing on a plain
    #                                 background (product shots); resize: any photo
    size: {size}
    channels: {channels}                     # 1: gray; 3: colour (resize only)"""

_TEMPLATE = """\
# {summary}
# Train with `fcnn train THIS_FILE`; every key is explained in the README (Configs) and
# checked by `fcnn config-schema`. Change one thing at a time and watch val acc / val loss.
name: {name}
seed: 42                          # the same seed gives bit-identical weights
data:
  {source}
  val_fraction: 0.1               # carved from the training data, stratified
  test_fraction: {test_fraction}# {test_note}
  normalize: {normalize}# {normalize_note}
model:
  layers:                         # hidden layers, then the output layer
{hidden}
{output}
  init: he
cost: {cost}
training:
  epochs: {epochs}
  batch_size: {batch}
  optimizer: {optimizer}
  lr_schedule: {{name: cosine}}     # η decays smoothly to 0 over the epochs
  early_stopping: {{patience: {patience}, monitor: val_loss}}   # keeps the best weights
output: runs/{name}.h5
"""
