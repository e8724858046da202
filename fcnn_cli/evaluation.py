"""`fcnn eval` and `fcnn predict`: a model on a dataset split, or on the user's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.metrics import (
    Report,
    classification_report,
    one_hot,
    regression_report,
)
from fcnn_cli.model import Model, Progress

if TYPE_CHECKING:
    from fcnn_cli.data.sources import Dataset

SPLITS = ("test", "val", "train")


def model_config(model: Model):  # type: ignore[no-untyped-def]
    import yaml

    from fcnn_cli.config import validate

    raw = yaml.safe_load(model.config_text) if model.config_text else None
    if not isinstance(raw, dict):
        raise FcnnError(f"{model.display_name} carries no training config; "
                        "give --data to evaluate it")
    return validate(raw, f"{model.display_name} (its stored config)")


def evaluate(model: Model, data: str | None, split: str) -> Report:
    """The model's report on one split of its own dataset, or of `data`."""
    from fcnn_cli.data.sources import DATASETS, load_dataset
    from fcnn_cli.data.split import make_splits

    if split not in SPLITS:
        raise FcnnError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    config = model_config(model)
    cfg = config.data
    name, where = cfg.dataset, cfg.path
    if data is not None:
        name, where = (data, None) if data in DATASETS else (None, data)
    dataset = load_dataset(name, where, cfg.label_column)
    _check_fits(model, dataset, str(name or where))
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
    a = model.outputs(x)
    if model.class_names is None:
        y = labels.astype(a.dtype)
        report = regression_report(a, y, model.network.cost.fn(a, y))
    else:
        loss = model.network.cost.fn(a, one_hot(labels, a.shape[1], a.dtype))
        report = classification_report(a, labels, loss, model.class_names)
    report.data, report.split = str(name or where), split
    return report


def _check_fits(model: Model, dataset: Dataset, label: str) -> None:
    width = int(np.prod(model.input_shape))
    if int(np.prod(dataset.input_shape)) != width:
        raise FcnnError(f"{label} has {int(np.prod(dataset.input_shape))} inputs per "
                        f"example but the model takes {width} "
                        f"(input shape {tuple(model.input_shape)})")
    if (dataset.class_names is None) != (model.class_names is None):
        kinds = {True: "numeric targets", False: "classes"}
        raise FcnnError(f"{label} has {kinds[dataset.class_names is None]} but the "
                        f"model predicts {kinds[model.class_names is None]}")
    if dataset.class_names is not None and len(dataset.class_names) != len(model.class_names):
        raise FcnnError(f"{label} has {len(dataset.class_names)} classes but the model "
                        f"knows {len(model.class_names)}")


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


def iter_predictions(model: Model, inputs: list[Path], workers: int | None = None,
                     progress: Progress | None = None, keep_pixels: bool = False
                     ) -> Iterator[Prediction]:
    """One Prediction per input, in order, streamed a chunk at a time (see inputs.py)."""
    names = model.class_names or [f"output {j}" for j in range(model.architecture[-1])]
    for batch, a in model.iter_outputs(inputs, workers, progress):
        for name, x, row, empty in zip(batch.names, batch.x, a, batch.looked_empty):
            label = names[int(row.argmax())] if model.class_names else \
                ", ".join(f"{v:.4g}" for v in row)
            pixels = x.reshape(model.input_shape) if keep_pixels and \
                len(model.input_shape) == 2 else None
            yield Prediction(name, label, row, names, bool(empty), pixels)
