"""`fcnn eval` and `fcnn predict`: a saved model on a dataset split, or on the user's inputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.metrics import (
    Report,
    classification_report,
    in_chunks,
    one_hot,
    regression_report,
)
from fcnn_cli.store import Model, load_model

SPLITS = ("test", "val", "train")


def model_config(model: Model, source: Path):  # type: ignore[no-untyped-def]
    import yaml

    from fcnn_cli.config import validate

    raw = yaml.safe_load(model.config_text) if model.config_text else None
    if not isinstance(raw, dict):
        raise FcnnError(f"{source} carries no training config; give --data to evaluate it")
    return validate(raw, f"{source} (its stored config)")


def evaluate_model(path: Path, data: str | None, split: str) -> tuple[Report, str]:
    """The model's report on one split of its own dataset, or of `data`."""
    from fcnn_cli.data.sources import DATASETS, load_dataset
    from fcnn_cli.data.split import make_splits

    if split not in SPLITS:
        raise FcnnError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    model = load_model(path)
    config = model_config(model, path)
    cfg = config.data
    name, where = cfg.dataset, cfg.path
    if data is not None:
        name, where = (data, None) if data in DATASETS else (None, data)
    dataset = load_dataset(name, where, cfg.label_column)
    width = int(np.prod(model.input_shape))
    if int(np.prod(dataset.input_shape)) != width:
        raise FcnnError(f"{name or where} has {int(np.prod(dataset.input_shape))} inputs per "
                        f"example but the model takes {width} "
                        f"(input shape {tuple(model.input_shape)})")
    if (dataset.class_names is None) != (model.class_names is None):
        kinds = {True: "numeric targets", False: "classes"}
        raise FcnnError(f"{name or where} has {kinds[dataset.class_names is None]} but the "
                        f"model predicts {kinds[model.class_names is None]}")
    if dataset.class_names is not None and len(dataset.class_names) != len(model.class_names):
        raise FcnnError(f"{name or where} has {len(dataset.class_names)} classes but the model "
                        f"knows {len(model.class_names)}")
    if split == "test" and dataset.x_test is not None:  # the official test set: no re-split
        x, labels = dataset.x_test, dataset.y_test
    else:
        # Raw units ("none"): the model applies its own stored normalisation.
        splits = make_splits(dataset, cfg.val_fraction, cfg.test_fraction, config.seed, "none")
        x, labels = {"test": (splits.x_test, splits.y_test), "val": (splits.x_val, splits.y_val),
                     "train": (splits.x_train, splits.y_train)}[split]
    if len(x) == 0:
        raise FcnnError(f"the {split} split of {name or where} is empty; choose another --split "
                        "or set data.test_fraction / data.val_fraction when training")
    a = in_chunks(model.predict, x)
    title = f"{path} on {name or where} ({split}, n = {len(x):,})"
    if model.class_names is None:
        y = labels.astype(a.dtype)
        return regression_report(a, y, model.network.cost.fn(a, y)), title
    loss = model.network.cost.fn(a, one_hot(labels, a.shape[1], a.dtype))
    return classification_report(a, labels, loss, model.class_names), title


@dataclass
class Prediction:
    name: str
    label: str
    probabilities: np.ndarray
    class_names: list[str]
    looked_empty: bool
    pixels: np.ndarray | None    # the prepared image, for --show

    def top(self, k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(self.class_names[i], float(self.probabilities[i])) for i in order]


def predict_inputs(path: Path, inputs: list[Path]) -> list[Prediction]:
    from fcnn_cli.inputs import read_inputs

    model = load_model(path)
    named = read_inputs(inputs, model)
    a = model.predict(np.stack([item.x for item in named]))
    if a.shape[1] == 1 and model.class_names is not None:  # one sigmoid unit: P(class 1)
        a = np.hstack([1 - a, a])
    names = model.class_names or [f"output {j}" for j in range(a.shape[1])]
    results = []
    for item, row in zip(named, a):
        label = names[int(row.argmax())] if model.class_names else \
            ", ".join(f"{v:.4g}" for v in row)
        pixels = item.x.reshape(model.input_shape) if len(model.input_shape) == 2 else None
        results.append(Prediction(item.name, label, row, names, item.looked_empty, pixels))
    return results
