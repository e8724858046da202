"""Every control of the playground as one frozen state: the URL query <-> the state <->
the fcnn config that `fcnn train` runs (a commented YAML file a teacher can read).

The query is the whole state, TensorFlow Playground's way: a link reproduces a run
exactly. `PlaygroundState.query()` writes every key in a fixed order (so a link stays
complete if a default changes), and `from_query(state.query()) == state`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import parse_qsl, urlencode

from pydantic import BaseModel, ConfigDict

from fcnn_cli.config import Activation, Config, config_warnings, validate
from fcnn_cli.data import PLANAR_DATASETS
from fcnn_cli.errors import FcnnError, clipped, did_you_mean

if TYPE_CHECKING:
    from fcnn_cli.data.sources import Dataset

DATASETS = (*PLANAR_DATASETS, "csv")
ACTIVATIONS: tuple[str, ...] = get_args(Activation)
COSTS = ("quadratic", "cross-entropy", "log-likelihood")
OPTIMIZERS = ("sgd", "adam")
INITS = ("he", "glorot", "nielsen", "normal")
# The query's keys, in the canonical query's order.
KEYS = ("dataset", "csv", "samples", "noise", "train", "batch", "layers", "activation",
        "dropout", "output", "cost", "optimizer", "lr", "l2", "init", "seed")
HIDE = "_hide"
MAX_HIDDEN, MAX_UNITS = 6, 16
SAMPLES = (20, 5000)
MAX_NOISE = 0.5
TRAIN_PERCENT = (10, 90)
BATCH = (1, 1000)
MAX_LR, MAX_L2 = 10.0, 1.0
MAX_SEED = 2**31 - 1
# A CSV for the playground: points of a plane in a few classes, small enough to redraw live.
CSV_CLASSES = (2, 10)
CSV_MAX_ROWS = 20_000
CSV_MIN_ROWS = 10


@dataclass(frozen=True)
class CsvFile:
    """A CSV the server knows: where it is, which column holds the labels, and the path
    the exported config names (an upload's own file name rather than the server's
    temporary copy; None: `path`)."""

    path: Path
    label_column: str = "label"
    export_path: str | None = None


CsvFiles = Mapping[str, "Path | str | CsvFile"]


class PlaygroundState(BaseModel):
    """The page's controls (the contract's table); hidden controls in `hide`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str = "circle"
    csv: str | None = None
    samples: int = 500
    noise: float = 0.0
    train: int = 50
    batch: int = 10
    layers: tuple[int, ...] = (4, 2)
    activation: tuple[str, ...] = ("tanh",)   # one for every hidden layer, or one each
    dropout: tuple[float, ...] = (0.0,)       # likewise
    output: str = "sigmoid"
    cost: str = "cross-entropy"
    optimizer: str = "sgd"
    lr: float = 0.03
    l2: float = 0.0
    init: str = "glorot"
    seed: int = 1
    hide: tuple[str, ...] = ()                # the controls the page hides, sorted

    # --- the query ------------------------------------------------------------------

    @classmethod
    def from_query(cls, query: Mapping[str, Any], csv_files: CsvFiles) -> PlaygroundState:
        """The state a URL query describes (absent keys: defaults); a bad key or value is
        one FcnnError line naming the key and what it allows."""
        values: dict[str, Any] = {}
        hide: set[str] = set()
        for key, raw in query.items():
            text = _one_value(key, raw)
            if key.endswith(HIDE) and key != HIDE:
                if _hidden(key, text):
                    hide.add(key.removesuffix(HIDE))
            elif key in _PARSERS:
                values[key] = _PARSERS[key](key, text.strip())
            else:
                raise FcnnError(f"unknown playground setting {clipped(key, 40)!r}"
                                f"{did_you_mean(key, KEYS)}; the settings are "
                                f"{', '.join(KEYS)} (and <setting>{HIDE}=true)")
        if values.get("csv") is None:
            values.pop("csv", None)
        _check_combination(values, csv_files)
        for key in ("activation", "dropout"):
            if key in values and len(set(values[key])) == 1:  # one value for every layer
                values[key] = values[key][:1]
        return cls(**values, hide=tuple(sorted(hide)))

    @classmethod
    def from_query_string(cls, text: str, csv_files: CsvFiles) -> PlaygroundState:
        """`from_query` of a query string ("dataset=circle&noise=0.1"; a leading ? is fine)."""
        pairs = parse_qsl(text.removeprefix("?"), keep_blank_values=True)
        query: dict[str, str] = {}
        for key, value in pairs:
            if key in query:
                raise FcnnError(f"{clipped(key, 40)!r} is given twice in the query; give it once")
            query[key] = value
        return cls.from_query(query, csv_files)

    def query(self) -> str:
        """The canonical query: every key that applies, in KEYS order, then the hidden
        controls (csv only with dataset=csv; samples and noise only without it)."""
        pairs = [(key, _text(getattr(self, key))) for key in KEYS if self._applies(key)]
        pairs += [(f"{key}{HIDE}", "true") for key in self.hide]
        return urlencode(pairs, safe=",")

    def _applies(self, key: str) -> bool:
        if key == "csv":
            return self.dataset == "csv"
        return not (key in ("samples", "noise") and self.dataset == "csv")

    def as_json(self) -> dict[str, Any]:
        """Every control for the page: per-layer lists written out (one entry per hidden
        layer), `csv` null without a CSV, `hide` the hidden controls."""
        return {**{key: getattr(self, key) for key in KEYS},
                "layers": list(self.layers),
                "activation": self.per_layer(self.activation),
                "dropout": self.per_layer(self.dropout),
                "hide": list(self.hide)}

    def per_layer(self, values: tuple[Any, ...]) -> list[Any]:
        """`activation` or `dropout` as one value per hidden layer ([] without any)."""
        return list(values) * len(self.layers) if len(values) == 1 else list(values)

    # --- the config -----------------------------------------------------------------

    def classes(self, csv_files: CsvFiles) -> list[str]:
        """The data's class names (a CSV is read once, while the file stays the same)."""
        if self.dataset != "csv":
            from fcnn_cli.data.planar import CLASS_NAMES

            return list(CLASS_NAMES)
        source = self.csv_file(csv_files)
        stat = _stat(source.path)
        return list(_csv_classes(str(source.path), source.label_column, stat))

    def csv_file(self, csv_files: CsvFiles) -> CsvFile:
        if self.csv is None or self.csv not in csv_files:
            raise FcnnError(_unknown_csv(self.csv, csv_files))
        return as_csv_file(csv_files[self.csv])

    def config_dict(self, epochs: int, csv_files: CsvFiles, exported: bool = False
                    ) -> dict[str, Any]:
        """The raw config (for fcnn_cli.config.validate) that trains this state for
        `epochs` epochs; `exported`: data.path is the CSV's `export_path` where it has one."""
        classes = len(self.classes(csv_files))
        units = 1 if classes == 2 and self.output != "softmax" else classes
        hidden = [{"units": n, "activation": a, "dropout": p} for n, a, p in zip(
            self.layers, self.per_layer(self.activation), self.per_layer(self.dropout))]
        return {
            "name": f"playground-{self.dataset}",
            "seed": self.seed,
            "data": self._data(csv_files, exported),
            "model": {"layers": [*hidden, {"units": units, "activation": self.output}],
                      "init": self.init, "dtype": "float32"},
            "cost": self.cost,
            "training": {"epochs": epochs, "batch_size": self.batch,
                         "optimizer": {"name": self.optimizer, "lr": self.lr},
                         "l2": self.l2, "lr_schedule": {"name": "constant"},
                         "threads": 1, "checkpoint_every": 0},
            "output": f"runs/playground-{self.dataset}.h5",
        }

    def _data(self, csv_files: CsvFiles, exported: bool) -> dict[str, Any]:
        split = {"task": "classification", "val_fraction": 0.0,
                 "test_fraction": (100 - self.train) / 100, "normalize": "standardize"}
        if self.dataset == "csv":
            source = self.csv_file(csv_files)
            shown = source.export_path if exported else None
            return {"path": shown or str(source.path.expanduser().resolve()),
                    "label_column": source.label_column, **split}
        return {"dataset": self.dataset, "samples": self.samples, "noise": self.noise, **split}

    def config(self, epochs: int, csv_files: CsvFiles) -> Config:
        """The validated Config of `config_dict`."""
        return validate(self.config_dict(epochs, csv_files), "the playground's config")

    def config_text(self, epochs: int, csv_files: CsvFiles, link: str | None = None) -> str:
        """The YAML `fcnn train` runs to these numbers, commented for a teacher."""
        return exported_text(self.config_dict(epochs, csv_files, exported=True), epochs, link)

    def warnings(self, csv_files: CsvFiles) -> list[str]:
        """Legal but unwise choices (sigmoid output with log-likelihood, ...), as `fcnn
        train` warns of them."""
        return config_warnings(self.config(1, csv_files))


# --- reading the query ---------------------------------------------------------------

def _one_value(key: str, raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Sequence) and len(raw) == 1 and isinstance(raw[0], str):
        return raw[0]
    raise FcnnError(f"{clipped(str(key), 40)!r} is not given once in the query; give it once, "
                    "as text")


def _hidden(key: str, text: str) -> bool:
    control = key.removesuffix(HIDE)
    if control not in KEYS:
        raise FcnnError(f"unknown control in {clipped(key, 40)!r}{did_you_mean(control, KEYS)}; "
                        f"hide one of {', '.join(KEYS)} with <control>{HIDE}=true")
    if text not in ("true", "false"):
        raise FcnnError(f"{key} is {clipped(text, 20)!r}; give true or false")
    return text == "true"


def _bad(key: str, text: str, rule: str) -> FcnnError:
    return FcnnError(f"{key} is {clipped(text, 30)!r}; {rule}")


def _whole(key: str, text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,12}", text) or not low <= int(text) <= high:
        raise _bad(key, text, f"give a whole number from {low} to {high}")
    return int(text)


def _number(key: str, text: str, low: float, high: float, *, above: bool = False,
            below: bool = False) -> float:
    lower = f"above {_text(low)}," if above else f"from {_text(low)}"
    upper = f"below {_text(high)}" if below else f"at most {_text(high)}" if above else \
        f"to {_text(high)}"
    rule = f"give a number {lower}{',' if below else ''} {upper}"
    try:
        value = float(text)
    except ValueError:
        raise _bad(key, text, rule) from None
    if not math.isfinite(value) or value < low or value > high or (above and value == low) or \
            (below and value == high) or len(text) > 40:
        raise _bad(key, text, rule)
    return value + 0.0  # (-0.0 is 0)


def _choice(key: str, text: str, choices: Sequence[str]) -> str:
    if text not in choices:
        raise FcnnError(f"{key} is {clipped(text, 30)!r}{did_you_mean(text, choices)}; "
                        f"choose one of {', '.join(choices)}")
    return text


def _items(key: str, text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_HIDDEN or not all(items):
        raise _bad(key, text, f"give {what}, or a comma list with one per hidden layer "
                              f"(at most {MAX_HIDDEN})")
    return items


def _layers(key: str, text: str) -> tuple[int, ...]:
    if not text:
        return ()
    rule = (f"give 0 to {MAX_HIDDEN} hidden layers as a comma list of units, each 1 to "
            f"{MAX_UNITS} (e.g. 4,2; empty for none)")
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_HIDDEN or not all(re.fullmatch(r"[0-9]{1,3}", i) for i in items) or \
            not all(1 <= int(i) <= MAX_UNITS for i in items):
        raise _bad(key, text, rule)
    return tuple(int(i) for i in items)


def _activations(key: str, text: str) -> tuple[str, ...]:
    return tuple(_choice(key, item, ACTIVATIONS)
                 for item in _items(key, text, "one activation for every hidden layer"))


def _dropouts(key: str, text: str) -> tuple[float, ...]:
    return tuple(_number(key, item, 0, 1, below=True)
                 for item in _items(key, text, "one dropout rate for every hidden layer"))


_PARSERS = {
    "dataset": lambda k, t: _choice(k, t, DATASETS),
    "csv": lambda k, t: t or None,
    "samples": lambda k, t: _whole(k, t, *SAMPLES),
    "noise": lambda k, t: _number(k, t, 0, MAX_NOISE),
    "train": lambda k, t: _whole(k, t, *TRAIN_PERCENT),
    "batch": lambda k, t: _whole(k, t, *BATCH),
    "layers": _layers,
    "activation": _activations,
    "dropout": _dropouts,
    "output": lambda k, t: _choice(k, t, ACTIVATIONS),
    "cost": lambda k, t: _choice(k, t, COSTS),
    "optimizer": lambda k, t: _choice(k, t, OPTIMIZERS),
    "lr": lambda k, t: _number(k, t, 0, MAX_LR, above=True),
    "l2": lambda k, t: _number(k, t, 0, MAX_L2),
    "init": lambda k, t: _choice(k, t, INITS),
    "seed": lambda k, t: _whole(k, t, 0, MAX_SEED),
}


def _check_combination(values: dict[str, Any], csv_files: CsvFiles) -> None:
    """What no single key can say wrong: the CSV and the per-layer lists."""
    dataset = values.get("dataset", "circle")
    if dataset == "csv":
        drawn = [key for key in ("samples", "noise") if key in values]
        if drawn:
            raise FcnnError(f"{' and '.join(drawn)} apply only to the drawn datasets "
                            f"({', '.join(PLANAR_DATASETS)}), not to dataset=csv; remove "
                            f"{' and '.join(drawn)}")
        name = values.get("csv")
        if name is None or name not in csv_files:
            raise FcnnError(_unknown_csv(name, csv_files))
    elif values.get("csv") is not None:
        raise FcnnError(f"csv={clipped(values['csv'], 30)!r} goes with dataset=csv, not "
                        f"dataset={dataset}; remove csv or set dataset=csv")
    hidden = len(values.get("layers", PlaygroundState.model_fields["layers"].default))
    for key in ("activation", "dropout"):
        given = values.get(key, ())
        if len(given) > 1 and len(given) != hidden:
            raise FcnnError(f"{key} lists {len(given)} values but there "
                            f"{'is' if hidden == 1 else 'are'} {hidden} hidden layer"
                            f"{'' if hidden == 1 else 's'}; give one value for all of them "
                            "or one per hidden layer")


def _unknown_csv(name: str | None, csv_files: CsvFiles) -> str:
    known = ", ".join(sorted(csv_files)[:5]) or "none yet"
    if name is None:
        return (f"dataset=csv needs csv=<name> of a CSV the playground knows (known: {known}); "
                "upload one, or start fcnn playground with the file")
    return (f"csv={clipped(name, 40)!r} is not a CSV this playground knows (known: {known}"
            f"){did_you_mean(name, csv_files)}; upload it, or start fcnn playground with it")


def _text(value: Any) -> str:
    """A value as the query writes it: floats in their shortest exact form (0.03, 0, 1e-05)."""
    if isinstance(value, tuple):
        return ",".join(_text(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)
        return text.removesuffix(".0")
    return str(value)


# --- the user's CSV ------------------------------------------------------------------

def as_csv_file(value: Path | str | CsvFile) -> CsvFile:
    """A `csv_files` entry as a CsvFile (a bare path has its labels in `label`)."""
    return value if isinstance(value, CsvFile) else CsvFile(Path(value))


UPLOAD_ADVICE = "the playground takes two numeric feature columns and a column named label"
# The table reader's advice names config keys and commands, which the playground has none of.
_CONFIG_ADVICE = re.compile(r"\bdata\.\w|\bfcnn \w|--set\b")


def read_csv(source: Path | str | CsvFile, advice: str = UPLOAD_ADVICE) -> Dataset:
    """A CSV as the playground takes it, or one FcnnError line: two feature columns and
    the label column, 2 to 10 classes, at most 20,000 rows. The reader's own advice about
    config keys gives way to `advice` (what to do in the playground)."""
    from fcnn_cli.data.sources import load_dataset

    source = as_csv_file(source)
    path = source.path
    if path.suffix.lower() != ".csv":
        raise FcnnError(f"{path.name}: the playground reads .csv files (two feature columns "
                        f"and a {source.label_column!r} column)")
    try:
        dataset = load_dataset(path=path, label_column=source.label_column,
                               task="classification")
    except FcnnError as error:
        kept = [part for part in error.message.split("; ") if not _CONFIG_ADVICE.search(part)]
        raise FcnnError("; ".join([*kept, advice])) from None
    return check_csv(dataset, source)


def check_csv(dataset: Dataset, source: CsvFile) -> Dataset:
    """`dataset` (read from `source`) if the playground can take it, else one FcnnError."""
    path = source.path
    assert dataset.class_names is not None
    features = dataset.feature_names or []
    if len(features) != 2:
        raise FcnnError(f"{path.name} has {len(features)} feature column(s) "
                        f"({clipped(', '.join(features), 60)}); the playground draws points "
                        f"of a plane: give exactly two feature columns and {source.label_column!r}")
    classes, rows = len(dataset.class_names), len(dataset.x_train)
    if not CSV_CLASSES[0] <= classes <= CSV_CLASSES[1]:
        raise FcnnError(f"{path.name} has {classes} class(es) in {source.label_column!r}; the "
                        f"playground takes {CSV_CLASSES[0]} to {CSV_CLASSES[1]}")
    if not CSV_MIN_ROWS <= rows <= CSV_MAX_ROWS:
        raise FcnnError(f"{path.name} has {rows:,} rows; the playground takes "
                        f"{CSV_MIN_ROWS} to {CSV_MAX_ROWS:,}")
    return dataset


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError as error:
        raise FcnnError(f"cannot read {path.name}: {error.strerror}") from None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=32)
def _csv_classes(path: str, label_column: str, stat: tuple[int, int]) -> tuple[str, ...]:
    """The class names of a CSV; `stat` (its mtime and size) keys the cache."""
    names = read_csv(CsvFile(Path(path), label_column)).class_names
    assert names is not None
    return tuple(names)


# --- the exported YAML ---------------------------------------------------------------

def exported_text(config: dict[str, Any], epochs: int, link: str | None = None) -> str:
    """`config` (an exported `config_dict`) for `epochs` epochs as the YAML `fcnn train`
    runs to these numbers, commented for a teacher."""
    return _commented_yaml({**config, "training": {**config["training"], "epochs": epochs}},
                           link)


_COMMENTS = {
    "seed": "seeds everything random: the data, the split, the initial weights, "
            "the shuffling, dropout",
    "data.dataset": "one of the 2-D teaching datasets, drawn from the seed",
    "data.path": "the CSV the playground read: point this at your copy",
    "data.label_column": "the column that holds the labels",
    "data.samples": "points drawn",
    "data.noise": "the page's noise",
    "data.val_fraction": "no validation split: the page shows train and test",
    "data.test_fraction": "the share held out as test points (the page's train %)",
    "data.normalize": "inputs to zero mean, unit variance, from the training points",
    "model.init": "how the initial weights are drawn",
    "model.dtype": "the numbers' precision",
    "model.layers": "the hidden layers, then the output layer",
    "cost": "the cost C the gradients come from",
    "training.epochs": "the epochs played",
    "training.batch_size": "examples per mini-batch (one update each)",
    "training.optimizer": "lr is the learning rate η",
    "training.l2": "L2 weight decay λ (0: none)",
    "training.lr_schedule": "η stays the same every epoch",
    "training.threads": "one BLAS thread: the same digits on every machine",
    "training.checkpoint_every": "no checkpoints",
    "output": "where `fcnn train` saves the model",
}


def _commented_yaml(config: dict[str, Any], link: str | None) -> str:
    """`config` as block YAML with a comment on each line (layers and the optimiser as
    one flow mapping each)."""
    lines = ["# Exported from fcnn playground. `fcnn train` on this file trains the very "
             "numbers",
             "# the playground showed, epoch by epoch: the same data, split, initial weights,",
             "# mini-batches and updates (fcnn's own NumPy core computed both)."]
    if link:
        lines.append("# The playground's link: " + re.sub(r"[\x00-\x1f\x7f]", "", link))
    lines += _yaml_lines(config, "")
    return "\n".join(lines) + "\n"


def _yaml_lines(node: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    indent = "  " * prefix.count(".")
    for key, value in node.items():
        path = f"{prefix}{key}"
        comment = _COMMENTS.get(path)
        if isinstance(value, dict) and path != "training.optimizer" and \
                path != "training.lr_schedule":
            lines.append(_commented(f"{indent}{key}:", comment))
            lines += _yaml_lines(value, f"{path}.")
        elif isinstance(value, list):
            lines.append(_commented(f"{indent}{key}:", comment))
            last = len(value) - 1
            lines += [_commented(f"{indent}  - {_flow(item)}",
                                 _output_comment(item) if i == last else f"hidden layer {i + 1}")
                      for i, item in enumerate(value)]
        else:
            shown = _flow(value) if isinstance(value, dict) else _scalar(value)
            lines.append(_commented(f"{indent}{key}: {shown}", comment))
    return lines


def _output_comment(layer: dict[str, Any]) -> str:
    if layer["units"] == 1:
        return "the output layer: one unit, a = the probability of the second class"
    return "the output layer: one unit per class"


def _commented(line: str, comment: str | None) -> str:
    return line if comment is None else f"{line:<38} # {comment}"


def _flow(mapping: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def _scalar(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, allow_unicode=True)
    return text.strip().removesuffix("...").strip()
