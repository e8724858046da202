"""`fcnn eval` and `fcnn predict`: a model on a dataset split, or on the user's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model, Progress

if TYPE_CHECKING:
    from fcnn_cli.data.sources import Dataset
    from fcnn_cli.metrics import Report

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
    x, labels, label = split_rows(model, data, split)
    report, _ = score(model, x, labels)
    report.data, report.split = str(label), split
    return report


def split_rows(model: Model, data: str | None, split: str
               ) -> tuple[np.ndarray, np.ndarray, str]:
    """The raw inputs and labels of one split of the model's own dataset (or of `data`),
    chosen as training chose them, and what the data are called."""
    from fcnn_cli.data.split import make_splits

    if split not in SPLITS:
        raise FcnnError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    config = model_config(model)
    cfg = config.data
    if model.feature_names is not None:  # a CSV's columns by name, in the model's order
        cfg = cfg.model_copy(update={"feature_columns": model.feature_names})
    dataset = cfg.load(data)
    label = str(data or cfg.dataset or cfg.path or "the data")
    _check_fits(model, dataset, label)
    if split == "test" and dataset.x_test is not None:  # the official test set: no re-split
        x, labels = dataset.x_test, dataset.y_test
    else:
        # Raw units ("none"): the model applies its own stored normalisation.
        splits = make_splits(dataset, cfg.val_fraction, cfg.test_fraction, config.seed, "none")
        x, labels = {"test": (splits.x_test, splits.y_test), "val": (splits.x_val, splits.y_val),
                     "train": (splits.x_train, splits.y_train)}[split]
    if len(x) == 0:
        raise FcnnError(f"the {split} split of {label} is empty; choose another --split "
                        "or set data.test_fraction / data.val_fraction when training")
    return x, labels, label


def score(model: Model, x: np.ndarray, labels: np.ndarray) -> tuple[Report, np.ndarray]:
    """The model's metrics on (x, labels), and its outputs a^L."""
    # Imported here: `fcnn predict` never scores, and starts faster without them.
    from fcnn_cli.metrics import classification_report, one_hot, regression_report

    a = model.outputs(x)
    if model.class_names is None:
        y = labels.astype(a.dtype)
        scaled = y if model.target_normalizer is None else model.target_normalizer(y)
        return regression_report(model.in_target_units(a), y, model.network.cost.fn(a, scaled),
                                 model.output_names), a
    loss = model.network.cost.fn(a, one_hot(labels, a.shape[1], a.dtype))
    return classification_report(a, labels, loss, model.class_names), a


def _check_fits(model: Model, dataset: Dataset, label: str) -> None:
    width = int(np.prod(model.input_shape))
    if int(np.prod(dataset.input_shape)) != width:
        raise FcnnError(f"{label} has {int(np.prod(dataset.input_shape))} inputs per "
                        f"example but the model takes {width} "
                        f"(input shape {tuple(model.input_shape)})")
    if dataset.target_names is not None and model.target_names is not None and \
            len(dataset.target_names) != len(model.target_names):
        raise FcnnError(f"{label} has {len(dataset.target_names)} target column(s) but the "
                        f"model predicts {len(model.target_names)}")
    if (dataset.class_names is None) != (model.class_names is None):
        kinds = {True: "numeric targets", False: "classes"}
        raise FcnnError(f"{label} has {kinds[dataset.class_names is None]} but the "
                        f"model predicts {kinds[model.class_names is None]}")
    if dataset.class_names is not None and len(dataset.class_names) != len(model.class_names):
        raise FcnnError(f"{label} has {len(dataset.class_names)} classes but the model "
                        f"knows {len(model.class_names)}")


@dataclass
class Prediction:
    """One input's result: class probabilities, or a regression's outputs (target units)."""

    name: str
    values: np.ndarray            # one per class, or one per regression output
    names: list[str]              # the classes, or the regression outputs
    is_classifier: bool
    looked_empty: bool
    pixels: np.ndarray | None     # the prepared picture, for --show

    @property
    def label(self) -> str:
        """The predicted class; for regression the outputs, as text."""
        if self.is_classifier:
            return self.names[int(self.values.argmax())]
        return ", ".join(f"{v:.6g}" for v in self.values)

    def top(self, k: int) -> list[tuple[str, float]]:
        order = np.argsort(-self.values, kind="stable")[:k]
        return [(self.names[i], float(self.values[i])) for i in order]

    def to_json(self) -> dict[str, Any]:
        if self.is_classifier:
            return {"input": self.name, "label": self.label,
                    "probabilities": [float(v) for v in self.values]}
        return {"input": self.name,
                "outputs": {name: float(v) for name, v in zip(self.names, self.values)}}

    def csv_row(self) -> list[str]:
        """The row under `csv_header`: full float32 precision, so nothing is lost."""
        values = [repr(float(v)) for v in self.values]
        return [self.name, self.label, *values] if self.is_classifier else [self.name, *values]


def csv_header(model: Model) -> list[str]:
    """`input`, then `label` and one `p_<class>` column per class, or one column per
    regression output, named after its target column."""
    if model.is_classifier:
        return ["input", "label", *(f"p_{name}" for name in model.output_names)]
    return ["input", *model.output_names]


def iter_predictions(model: Model, inputs: list[Path], workers: int | None = None,
                     progress: Progress | None = None, keep_pixels: bool = False
                     ) -> Iterator[Prediction]:
    """One Prediction per input, in order, streamed a chunk at a time (see inputs.py)."""
    names = model.output_names
    shape = model.image.shape if keep_pixels and model.image is not None else None
    for batch, results in model.iter_outputs(inputs, workers, progress):
        for name, x, row, empty in zip(batch.names, batch.x, results, batch.looked_empty):
            pixels = x.reshape(shape) if shape is not None else None
            yield Prediction(name, row, names, model.is_classifier, bool(empty), pixels)
