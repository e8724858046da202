"""Classification metrics from predicted and true class indices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fcnn_cli.nn.epoch import predicted_classes

Array = np.ndarray


def one_hot(labels: Array, classes: int, dtype: np.dtype | type = np.float32) -> Array:
    """Targets for the output layer: one-hot rows, or one column for a single-unit output."""
    if classes == 1:  # one sigmoid unit: the target is the label itself (0 or 1)
        return labels.reshape(-1, 1).astype(dtype)
    out = np.zeros((len(labels), classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


@dataclass
class Report:
    accuracy: float
    loss: float
    n: int
    confusion: Array                      # confusion[true, predicted]
    class_names: list[str]
    mae: list[float] | None = None        # regression: mean |a − y| of each output
    per_output: dict[str, dict[str, float | None]] | None = None  # regression: mae, rmse, r2
    data: str = ""                        # what was evaluated: a dataset name or a path
    split: str = ""                       # test, val, train or all
    total: int = 0                        # examples in the whole data the split is of
    unit: str = "examples"                # what an example is called: "rows" in a table

    def per_class(self) -> dict[str, dict[str, float]]:
        tp = np.diag(self.confusion).astype(np.float64)
        predicted = self.confusion.sum(axis=0)
        actual = self.confusion.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(actual > 0, tp / actual, 0.0)
            f1 = np.where(precision + recall > 0,
                          2 * precision * recall / (precision + recall), 0.0)
        return {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                       "f1": float(f1[i]), "support": int(actual[i])}
                for i, name in enumerate(self.class_names)}

    def to_json(self) -> dict[str, Any]:
        report = {"accuracy": None if np.isnan(self.accuracy) else self.accuracy,
                  "loss": self.loss, "n": self.n, "per_class": self.per_class(),
                  "confusion": self.confusion.tolist()}
        if self.split:  # what was scored (additive keys)
            report["data"], report["split"] = self.data, self.split
        if self.per_output is not None:
            report["mae"] = self.mae
            report["per_output"] = self.per_output
        return report


def classification_report(a: Array, labels: Array, loss: float,
                          class_names: list[str]) -> Report:
    predicted = predicted_classes(a)
    k = len(class_names)
    confusion = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    accuracy = float((predicted == labels).mean()) if len(labels) else 0.0
    return Report(accuracy, loss, int(len(labels)), confusion, class_names)


def regression_report(values: Array, y: Array, loss: float, names: list[str]) -> Report:
    """For numeric targets (`values` and `y` in the targets' units): the cost, and each
    output's mean absolute error, root mean squared error and R² (1 − SSE/SST: 1 is a
    perfect fit, 0 no better than predicting the mean; NaN for a target that never varies)."""
    error = values.astype(np.float64) - y
    mae = np.abs(error).mean(axis=0) if len(y) else np.zeros(y.shape[1])
    rmse = np.sqrt((error ** 2).mean(axis=0)) if len(y) else np.zeros(y.shape[1])
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0) if len(y) else np.zeros(y.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1 - (error ** 2).sum(axis=0) / total, np.nan)
    per_output = {name: {"mae": float(mae[j]), "rmse": float(rmse[j]),
                         "r2": None if np.isnan(r2[j]) else float(r2[j])}
                  for j, name in enumerate(names)}
    return Report(float("nan"), loss, int(len(y)), np.zeros((0, 0), np.int64), [],
                  mae.tolist(), per_output)
