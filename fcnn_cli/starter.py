"""`fcnn init`: a commented starter config for the user's own data, ready for `fcnn train`.

The data are read once to find what the config needs: the input size, the classes or
the number of regression targets, whether there is an official test split, whether the
inputs are pixels. The choices are plain, safe defaults; the comments say what to change.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from fcnn_cli.config import validate
from fcnn_cli.data.sources import DATASETS, Dataset, load_dataset


def starter_config(data: str, label_column: str | None = None) -> str:
    """The YAML text of a starter config for `data` (a dataset name or a path). The label
    column of a .csv is `label_column`, else `label`, else the last column."""
    named = data in DATASETS
    label_column = label_column or _csv_label_column(Path(data))
    dataset = load_dataset(data if named else None, None if named else data,
                           label_column or "label")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", dataset.name).strip("-") or "model"
    source = f"dataset: {data}" if named else f"path: {yaml.safe_dump(data).splitlines()[0]}"
    if label_column not in (None, "label"):
        source += f"\n  label_column: {yaml.safe_dump(label_column).splitlines()[0]}"
    text = _TEMPLATE.format(
        summary=_summary(dataset, data), source=source,
        test_fraction="0.0" if dataset.x_test is not None else "0.1",
        test_note="the dataset has its own test split" if dataset.x_test is not None
        else "held out for the final test score",
        normalize="scale" if dataset.pixel_max is not None else "standardize",
        normalize_note="pixels / their maximum" if dataset.pixel_max is not None
        else "each feature to zero mean, unit variance (fitted on train)",
        hidden=_hidden_layers(dataset), output=_output_layer(dataset),
        cost="log-likelihood" if dataset.class_names else "quadratic",
        optimizer="{name: sgd, lr: 0.1, momentum: 0.9, nesterov: true}"
        if dataset.class_names else "{name: adam, lr: 0.001}",
        batch=64 if len(dataset.x_train) >= 2000 else 16, name=name)
    validate(yaml.safe_load(text), "the starter config")  # never hand out a broken config
    return text


def _csv_label_column(path: Path) -> str | None:
    """`label` when a .csv has it, else its last column; None for anything but a .csv."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return None
    import csv

    with path.open(newline="", encoding="utf-8-sig") as file:
        header = next(csv.reader(file, skipinitialspace=True), [])
    header = [cell.strip() for cell in header]
    return "label" if "label" in header or not header else header[-1]


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


_TEMPLATE = """\
# {summary}
# Train with `fcnn train THIS_FILE`; every key is explained in the README (Configs) and
# checked by `fcnn config-schema`. Change one thing at a time and watch val acc / val loss.
name: {name}
seed: 42                          # the same seed gives bit-identical weights
data:
  {source}
  val_fraction: 0.1               # carved from the training data, stratified
  test_fraction: {test_fraction}              # {test_note}
  normalize: {normalize}              # {normalize_note}
model:
  layers:                         # hidden layers, then the output layer
{hidden}
{output}
  init: he
cost: {cost}
training:
  epochs: 30
  batch_size: {batch}
  optimizer: {optimizer}
  lr_schedule: {{name: cosine}}     # η decays smoothly to 0 over the epochs
  early_stopping: {{patience: 5, monitor: val_loss}}   # keeps the best weights
output: models/{name}.h5
"""
