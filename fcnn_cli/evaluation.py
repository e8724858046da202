"""`fcnn eval` and `fcnn predict`: a model on its data's splits or on new data, or on the
user's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError, listing
from fcnn_cli.model import Model, Progress

if TYPE_CHECKING:
    from fcnn_cli.config import Config, DataConfig
    from fcnn_cli.data.sources import Dataset
    from fcnn_cli.data.table import RowNames
    from fcnn_cli.metrics import Report

SPLITS = ("test", "val", "train", "all")


@dataclass
class Rows:
    """The examples an evaluation scores, in raw units, and what they are."""

    x: np.ndarray        # raw inputs (N, *input_shape)
    labels: np.ndarray   # class indices in the model's order (N,), or targets (N, K)
    data: str            # what the data are called: a dataset name or a path
    split: str           # test, val, train or all
    total: int           # examples in the whole data
    unit: str            # "rows" for a table, "examples" otherwise
    index: np.ndarray    # each row's position in the data as read (an official test set
    #                      counts on after the training part)
    row_names: RowNames | None = None  # how the file names its rows (None: not a CSV)


def training_config(model: Model) -> Config | None:
    """The config the model was trained with, or None when it carries none (imported)."""
    from fcnn_cli.config import validate
    from fcnn_cli.yamlfile import parse

    source = f"{model.display_name} (its stored config)"
    raw = parse(model.config_text, source) if model.config_text.strip() else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise FcnnError(f"{model.display_name}: its stored training config is not a mapping")
    return validate(raw, source)


def evaluate(model: Model, data: str | None = None, split: str | None = None) -> Report:
    """The model's report on the rows `choose_rows` picks."""
    rows = choose_rows(model, data, split)
    report, _ = score(model, rows.x, rows.labels)
    return labelled(report, rows)


def labelled(report: Report, rows: Rows) -> Report:
    """`report` marked with what was scored."""
    report.data, report.split, report.total, report.unit = \
        rows.data, rows.split, rows.total, rows.unit
    return report


def describe(report: Report) -> str:
    """What a report scored: `new.csv (all 18 rows)`, `mnist (test split, 10,000 of
    70,000 examples)`."""
    if report.split == "all":
        return f"{report.data} (all {report.n:,} {report.unit})"
    return (f"{report.data} ({report.split} split, {report.n:,} of {report.total:,} "
            f"{report.unit})")


def choose_rows(model: Model, data: str | None = None, split: str | None = None) -> Rows:
    """The rows `fcnn eval` scores.

    Without `data`, or when `data` is the model's own training data: `split` (default
    test) chosen exactly as training chose it. Other data are the user's new examples:
    all of them by default; `test` takes their official test set where they have one,
    and otherwise `test`, `val` and `train` split them with the model's training
    fractions and seed (asked for explicitly only: it needs the model's config).
    Labels come back in the model's class order, matched by class name.
    """
    if split is not None and split not in SPLITS:
        raise FcnnError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    config = training_config(model)
    if data is None and config is None:
        raise FcnnError(f"{model.display_name} carries no training config, so its own data "
                        "are unknown; give --data DATASET_OR_PATH to evaluate it")
    own = config is not None and (data is None or _is_own(config.data, data))
    dataset = _load(model, config, data)
    name = str(data or (config and (config.data.dataset or config.data.path)))
    positions = _check_fits(model, dataset, name)
    chosen = split or ("test" if own else "all")
    x, labels, index = _pick(dataset, chosen, config, model, name)
    if len(x) == 0:
        raise FcnnError(_empty(chosen, name, own))
    if positions is not None:
        labels = positions[labels]
    total = len(dataset.x_train) + (0 if dataset.x_test is None else len(dataset.x_test))
    unit = "rows" if dataset.feature_names is not None else "examples"
    return Rows(x, labels, name, chosen, total, unit, index, dataset.row_names)


def _is_own(cfg: DataConfig, data: str) -> bool:
    """Whether `data` names the data the model was trained on (a dataset name, or the
    same file or folder however it is spelled)."""
    from fcnn_cli.data.sources import IDX_SOURCES, candidate_folders

    if cfg.path is None and data == cfg.dataset:
        return True
    try:
        given = Path(data).expanduser().resolve()
        if cfg.path is not None:
            return given == Path(cfg.path).expanduser().resolve()
        # a named dataset's folder given by its path (where fcnn finds `mnist`)
        return cfg.dataset in IDX_SOURCES and given.is_dir() and \
            any(given == folder.resolve() for folder in candidate_folders(cfg.dataset))
    except (OSError, RuntimeError):
        return False


def _load(model: Model, config: Config | None, data: str | None) -> Dataset:
    """The data read as the model reads its inputs: with its training config's settings,
    or, without one, with the model's own columns, task and picture pipeline."""
    if config is not None:
        cfg = config.data
        if model.feature_names is not None:  # a CSV's columns by name, in the model's order
            cfg = cfg.model_copy(update={"feature_columns": model.feature_names})
        return cfg.load(data)
    from fcnn_cli.data.sources import DATASETS, load_dataset

    assert data is not None
    name, path = (data, None) if data in DATASETS else (None, data)
    labels = model.target_names if not model.is_classifier and model.target_names else \
        _label_column(model, data)
    return load_dataset(name, path, labels, feature_columns=model.feature_names,
                        task="classification" if model.is_classifier else "regression",
                        image=model.image)


def _label_column(model: Model, data: str) -> str:
    """A CSV's label column for a model with no config: `label`, or else the one column
    that is not among the model's feature columns."""
    if model.feature_names is None or not data.lower().endswith(".csv"):
        return "label"
    from fcnn_cli.data.table import read_table

    try:
        header = read_table(Path(data).expanduser()).names
    except (FcnnError, OSError, ValueError):
        return "label"  # the loader says what is wrong with the file
    others = [column for column in header if column not in model.feature_names]
    return others[0] if len(others) == 1 and "label" not in header else "label"


def _pick(ds: Dataset, split: str, config: Config | None, model: Model, name: str
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inputs, labels and row positions of `split` of `ds`."""
    n_train = len(ds.x_train)
    if split == "all" and ds.x_test is not None:
        assert ds.y_test is not None
        return (np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test]),
                np.arange(n_train + len(ds.x_test)))
    if split == "all":
        return ds.x_train, ds.y_train, np.arange(n_train)
    if split == "test" and ds.x_test is not None:  # the official test set: no re-split
        assert ds.y_test is not None
        return ds.x_test, ds.y_test, n_train + np.arange(len(ds.x_test))
    if config is None:
        official = "; its official test set is --split test" if ds.x_test is not None else ""
        raise FcnnError(f"--split {split} of {name} needs the split fractions and seed the "
                        f"model was trained with, and {model.display_name} carries no training "
                        f"config; leave --split out to score all of {name}{official}")
    from fcnn_cli.data.split import split_indices

    parts = split_indices(ds, config.data.val_fraction, config.data.test_fraction, config.seed)
    rows = dict(zip(("train", "val", "test"), parts))[split]
    return ds.x_train[rows], ds.y_train[rows], rows


def _empty(split: str, name: str, own: bool) -> str:
    if split == "all":
        return f"{name} holds no examples to score"
    trained = ("the model was trained with" if own else "the model's training config has")
    return (f"the {split} split of {name} is empty ({trained} data.{split}_fraction 0); "
            f"choose --split all or another split, or score other data with --data")


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


def _check_fits(model: Model, dataset: Dataset, name: str) -> np.ndarray | None:
    """Refuse data the model cannot score; return where each of the data's classes sits
    among the model's (None: the same order)."""
    width = int(np.prod(model.input_shape))
    if int(np.prod(dataset.input_shape)) != width:
        raise FcnnError(f"{name} has {int(np.prod(dataset.input_shape))} inputs per "
                        f"example but the model takes {width} "
                        f"(input shape {tuple(model.input_shape)})")
    if dataset.target_names is not None and model.target_names is not None and \
            len(dataset.target_names) != len(model.target_names):
        raise FcnnError(f"{name} has {len(dataset.target_names)} target column(s) but the "
                        f"model predicts {len(model.target_names)}")
    if (dataset.class_names is None) != (model.class_names is None):
        kinds = {True: "numeric targets", False: "classes"}
        raise FcnnError(f"{name} has {kinds[dataset.class_names is None]} but the "
                        f"model predicts {kinds[model.class_names is None]}")
    if dataset.class_names is None or model.class_names is None:
        return None
    return _class_positions(model.class_names, dataset.class_names, name)


def _class_positions(ours: list[str], theirs: list[str], name: str) -> np.ndarray | None:
    """Each data class's index among the model's classes, matched by name; None when the
    data's labels already are the model's class indices."""
    if theirs == ours:
        return None
    where = {class_name: k for k, class_name in enumerate(ours)}
    if all(class_name in where for class_name in theirs):
        return np.array([where[class_name] for class_name in theirs], dtype=np.int64)
    if theirs == [str(k) for k in range(len(theirs))] and len(theirs) <= len(ours):
        return None  # whole-number labels with no names: class indices, as the model counts
    unknown = [class_name for class_name in theirs if class_name not in where]
    raise FcnnError(f"{name} has classes the model does not know: "
                    f"{listing(unknown, 6, quoted=True)} (it knows "
                    f"{listing(ours, 6, quoted=True)}); label the data with the model's classes")


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
        """One JSON line. `classes` (beside DESIGN §4's `probabilities`, same order) names
        what each probability is for, so every line stands on its own."""
        if self.is_classifier:
            return {"input": self.name, "label": self.label,
                    "probabilities": [float(v) for v in self.values],
                    "classes": list(self.names)}
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
