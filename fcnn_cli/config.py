"""The YAML config: a pydantic schema (DESIGN §3), loading, `--set` overrides, clear errors.

One schema serves validation, the error messages, the documented defaults and
`fcnn config-schema` (JSON Schema for editors).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fcnn_cli.data import PLANAR_DATASETS
from fcnn_cli.data.augment_spec import AugmentSpec, Draw, Elastic
from fcnn_cli.data.image_spec import ImageSpec, default_pipeline
from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.limits import nbytes, over_budget
from fcnn_cli.yamlfile import NotYaml, named, parse, read_yaml, shown

if TYPE_CHECKING:
    from fcnn_cli.data.sources import Dataset

Activation = Literal["linear", "sigmoid", "tanh", "relu", "leaky-relu", "prelu", "swish", "softmax"]
CostName = Literal["quadratic", "cross-entropy", "log-likelihood"]
DatasetName = Literal["mnist", "fashion-mnist", "digits", "xor", "circle", "gauss", "spiral",
                      "moons"]
# The inputs of the named datasets, known before any file is read (for the memory check).
DATASET_INPUTS = {"mnist": 784, "fashion-mnist": 784, "digits": 64,
                  **{name: 2 for name in PLANAR_DATASETS}}
_DATASET_NAMES = get_args(DatasetName)
# data.samples of a 2-D dataset: enough for a train, a validation and a test part of both
# classes; at most a million points (8 MB), far more than a 2-D picture needs.
MIN_SAMPLES, MAX_SAMPLES = 10, 1_000_000
MAX_COUNT = 2**31 - 1  # units, batch size, pixels: beyond any machine, and safe to multiply


class Strict(BaseModel):
    # allow_inf_nan: NaN passes every `gt`/`ge` bound (all comparisons are false), so a
    # `lr: .nan` would only show up as a diverged first batch.
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class ImageConfig(Strict):
    pipeline: Literal["digit", "object", "resize"] | None = Field(
        None, description="How a picture becomes an input. digit: handwritten digits (crop to "
                          "the ink, MNIST's box and centring); object: a thing on a plain "
                          "background (Fashion-MNIST's way); resize: any photo, resized. "
                          "Default: object for fashion-mnist, digit otherwise.")
    size: tuple[int, int] | None = Field(
        None, description="[height, width] of the prepared picture; default 28×28, or the "
                          "dataset's own size.")
    channels: Literal[1, 3] = Field(1, description="1: gray; 3: RGB (resize only).")
    fit: Literal["pad", "crop", "stretch"] = Field(
        "pad", description="resize: keep the aspect ratio and pad, or crop; or stretch.")
    skip_unreadable: bool = Field(
        False, description="Leave out image files that cannot be read (and say how many) "
                           "instead of stopping at the first.")

    @model_validator(mode="after")
    def _fits_the_pipeline(self) -> ImageConfig:
        if self.size is not None and min(self.size) < 4:
            raise ValueError(f"size {list(self.size)}: pictures need at least 4×4 pixels")
        if self.size is not None:
            if max(self.size) > MAX_COUNT:
                raise ValueError(f"size {shown(list(self.size))}: at most {MAX_COUNT:,} pixels "
                                 "a side")
            problem = over_budget(nbytes((*self.size, self.channels), FLOAT32))
            if problem:
                raise ValueError(f"size {list(self.size)}: one picture takes {problem}; give "
                                 "a size near the pictures' own, e.g. [28, 28]")
        if self.channels == 3 and self.pipeline != "resize":
            raise ValueError("channels: 3 (RGB) goes with pipeline: resize; digit and object "
                             "pictures are gray")
        return self


class DrawConfig(Strict):
    max: float = Field(gt=0, description="Drawn uniformly from [−max, max] for each picture.")
    p: float = Field(1.0, ge=0, le=1, description="The probability a picture gets it.")


def _draw(unit: str, example: str) -> Any:
    """A transform's field: `{max, p}`, or just the max (p 1)."""
    return Field(None, description=f"{unit}; a number (the max, always applied) or "
                                   f"{{max, p}}, e.g. {example}.")


class ElasticConfig(Strict):
    alpha: float = Field(gt=0, description="α: how far pixels move, in pixels (Simard: 34).")
    sigma: float = Field(gt=0, description="σ: the smoothing of the displacement field, in "
                                           "pixels (Simard: 4); smaller is more jagged.")
    p: float = Field(1.0, ge=0, le=1, description="The probability a picture gets it.")


class AugmentConfig(Strict):
    shift: DrawConfig | None = _draw("Shift in pixels, on each axis", "{max: 2, p: 0.5}")
    rotate: DrawConfig | None = _draw("Rotation in degrees", "{max: 12}")
    scale: DrawConfig | None = _draw("Scale: the factor is 1 ± max", "{max: 0.1}")
    shear: DrawConfig | None = _draw("Shear along x as a factor: x moves by shear·y "
                                     "(0.1 ≈ 6°)", "{max: 0.1}")
    elastic: ElasticConfig | None = Field(
        None, description="Elastic distortion (Simard, Steinkraus & Platt 2003), "
                          "e.g. {alpha: 34, sigma: 4, p: 0.5}.")
    hflip: bool | float = Field(
        False, description="Horizontal flip: true flips half the pictures, a number is the "
                           "probability. For clothes, not for digits.")

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_maxima(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {k: {"max": v} if k in ("shift", "rotate", "scale", "shear")
                    and isinstance(v, int | float) and not isinstance(v, bool) else v
                    for k, v in values.items()}
        return values

    @model_validator(mode="after")
    def _in_range(self) -> AugmentConfig:
        if not isinstance(self.hflip, bool) and not 0 <= self.hflip <= 1:
            raise ValueError(f"hflip: {self.hflip} is no probability; give true, false or a "
                             "number from 0 to 1")
        if self.scale is not None and self.scale.max >= 1:
            raise ValueError(f"scale: max {self.scale.max} would shrink some pictures to "
                             "nothing; give less than 1 (0.1 is ±10 %)")
        return self

    def spec(self) -> AugmentSpec:
        def draw(d: DrawConfig | None) -> Draw | None:
            return None if d is None else Draw(d.max, d.p)

        e = self.elastic
        return AugmentSpec(draw(self.shift), draw(self.rotate), draw(self.scale),
                           draw(self.shear), None if e is None else Elastic(e.alpha, e.sigma, e.p),
                           self.flip_probability)

    @property
    def flip_probability(self) -> float:
        return 0.5 if self.hflip is True else float(self.hflip)


class DataConfig(Strict):
    dataset: DatasetName | None = Field(None, description="A named dataset; or give `path`.")
    path: str | None = Field(
        None, description="A folder or file: IDX folder, .npz (x, y), .csv, or image folder "
                          "root/<class>/*.png. Relative to the current directory.")
    samples: int | None = Field(
        None, ge=MIN_SAMPLES, le=MAX_SAMPLES,
        description="The 2-D datasets (xor, circle, gauss, spiral, moons) only: how many "
                    "points to draw from the seed (default 500). xor without it is the "
                    "four points of the truth table.")
    noise: float | None = Field(
        None, ge=0, description="The 2-D datasets only: how noisy (default 0; Playground's "
                                "slider goes to 0.5). xor, circle: labels mix near the "
                                "boundary; gauss: wider clouds; spiral, moons: points move.")
    label_column: str | list[str] = Field(
        "label", description="The label column of a .csv file; several columns (a list) "
                             "make a multi-output regressor.")
    feature_columns: list[str] | None = Field(
        None, description="The feature columns of a .csv file (default: every other column).")
    task: Literal["auto", "classification", "regression"] = Field(
        "auto", description="auto: whole-number or text labels are classes, numbers with a "
                            "decimal point regression targets.")
    val_fraction: float = Field(0.1, ge=0, lt=1,
                                description="Carved from training data, stratified.")
    test_fraction: float = Field(
        0.0, ge=0, lt=1, description="Held out only when the dataset has no official test split.")
    normalize: Literal["scale", "standardize", "none"] = Field(
        "scale", description="scale: pixels/255 or min-max; standardize: zero mean, unit variance.")
    target_normalize: Literal["standardize", "none"] = Field(
        "standardize", description="Regression targets: standardised on the training split "
                                   "for training; predictions come back in the original units.")
    image: ImageConfig = Field(ImageConfig(), description="How image files become inputs.")
    augment: AugmentConfig | None = Field(
        None, description="Random deformations of the training pictures, drawn afresh every "
                          "epoch (never of validation, test or predicted pictures).")
    # The config's seed, which draws the 2-D datasets (set by Config; not a key of `data`).
    _seed: int = PrivateAttr(42)

    @field_validator("samples", "noise")
    @classmethod
    def _only_for_2d_data(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None or "dataset" not in info.data:  # (a bad dataset is said already)
            return value
        dataset, key = info.data["dataset"], info.field_name
        if info.data.get("path") is not None or dataset not in PLANAR_DATASETS:
            raise ValueError(f"applies only to the 2-D datasets {', '.join(PLANAR_DATASETS)}, "
                             f"not to {'data.path' if dataset is None else dataset}; "
                             f"remove {key} (or --set data.{key}=null)")
        if key == "noise" and dataset == "xor" and info.data.get("samples") is None:
            raise ValueError("xor without data.samples is the four points of the truth table, "
                             "which take no noise; give data.samples (e.g. 200) for "
                             "Playground's XOR cloud, or remove noise")
        return value

    @model_validator(mode="after")
    def _needs_a_source(self) -> DataConfig:
        if self.dataset is None and self.path is None:
            raise ValueError(f"give `dataset:` ({', '.join(_DATASET_NAMES)}) or `path:`")
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must leave some training data (< 1)")
        if isinstance(self.label_column, list):
            if not self.label_column:
                raise ValueError("label_column: give at least one column")
            if self.task == "classification" and len(self.label_column) > 1:
                raise ValueError("label_column: several label columns make a regression; "
                                 "classification takes one")
        return self

    def image_spec(self) -> ImageSpec:
        """How picture files become inputs, the defaults filled in."""
        image = self.image
        return ImageSpec(image.pipeline or default_pipeline(self.dataset),
                         image.size or (28, 28), image.channels, image.fit)

    def load(self, data: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> Dataset:
        """The dataset this section names, or `data` (a dataset name or a path) read with
        its settings; `progress(done, total)` follows an image folder's loading."""
        from fcnn_cli.data.sources import DATASETS, load_dataset

        name, path = self.dataset, self.path
        if data is not None:
            name, path = (data, None) if data in DATASETS else (None, data)
        # samples and noise describe this section's own 2-D dataset, not another one named
        drawn = {"samples": self.samples, "noise": self.noise} \
            if path is None and name == self.dataset else {}
        dataset = load_dataset(name, path, self.label_column,
                               feature_columns=self.feature_columns, task=self.task,
                               image=self.image_spec(), skip_unreadable=self.image.skip_unreadable,
                               progress=progress, seed=self._seed, **drawn)
        size = self.image.size
        if size is not None and dataset.image is not None and dataset.image.size != tuple(size):
            shown = "×".join(map(str, dataset.image.size))
            raise FcnnError(f"data.image.size is {list(size)} but {name or path} holds "
                            f"{shown} pictures; remove data.image.size or set it to "
                            f"{list(dataset.image.size)}")
        return dataset


class LayerConfig(Strict):
    units: int = Field(gt=0, le=MAX_COUNT, description="Neurons in this layer.")
    activation: Activation = Field("relu", description="The layer's activation function.")
    dropout: float = Field(0.0, ge=0, lt=1,
                           description="Inverted dropout rate (hidden layers only).")


class ModelConfig(Strict):
    layers: list[LayerConfig] = Field(min_length=1,
                                      description="Hidden layers then the output layer.")
    init: Literal["he", "glorot", "nielsen", "normal"] = Field(
        "he", description="Initial weights. he, glorot: scaled to keep the activations' "
                          "variance through depth, biases 0; nielsen: N(0, 1/n_in) weights, "
                          "normal: N(0, 1) weights, both with N(0, 1) biases (the lecture's).")
    slope: float = Field(0.01, ge=0,
                         description="Negative slope of leaky-relu; initial slope of prelu.")
    dtype: Literal["float32", "float64"] = Field(
        "float32", description="The floating-point type of the weights and the arithmetic.")

    @model_validator(mode="after")
    def _no_dropout_on_output(self) -> ModelConfig:
        if self.layers[-1].dropout:
            raise ValueError(f"layers[{len(self.layers) - 1}].dropout: dropout applies to hidden "
                             "layers only; remove it from the output layer")
        return self


class OptimizerConfig(Strict):
    name: Literal["sgd", "adam"] = Field("sgd", description="Stochastic gradient descent "
                                                            "(with momentum) or Adam.")
    lr: float = Field(0.1, gt=0, description="The learning rate η.")
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd: the momentum μ (0: plain SGD).")
    nesterov: bool = Field(False, description="sgd: Nesterov's momentum instead of the classic.")
    beta1: float = Field(0.9, ge=0, lt=1, description="adam: decay of the gradient's mean.")
    beta2: float = Field(0.999, ge=0, lt=1, description="adam: decay of the squared gradient's "
                                                         "mean.")
    eps: float = Field(1e-8, gt=0, description="adam: added to the denominator's root.")


class ScheduleConfig(Strict):
    name: Literal["constant", "step", "exponential", "cosine"] = Field(
        "constant", description="How the learning rate changes from epoch to epoch.")
    gamma: float = Field(0.5, gt=0, le=1, description="Decay factor (step, exponential).")
    step_size: int = Field(10, gt=0, description="Epochs between decays (step).")
    min_lr: float = Field(0.0, ge=0, description="Final learning rate (cosine).")


class EarlyStoppingConfig(Strict):
    patience: int = Field(5, gt=0, description="Epochs without improvement before stopping.")
    monitor: Literal["val_loss", "val_accuracy"] = Field(
        "val_loss", description="The validation figure that must improve.")
    min_delta: float = Field(0.0, ge=0, description="The least change that counts as an "
                                                    "improvement.")


class TrainingConfig(Strict):
    epochs: int = Field(10, gt=0, description="Passes over the training data.")
    batch_size: int = Field(64, gt=0, le=MAX_COUNT, description="Examples per gradient step.")
    optimizer: OptimizerConfig = Field(OptimizerConfig(), description="How the weights move.")
    lr_schedule: ScheduleConfig = Field(ScheduleConfig(),
                                        description="The learning rate over the epochs.")
    l2: float = Field(0.0, ge=0, description="L2 weight decay λ on weights (not biases).")
    early_stopping: EarlyStoppingConfig | None = Field(
        None, description="Stop when the validation figure stops improving, keeping the best "
                          "epoch's weights (default: train every epoch).")
    threads: int | None = Field(
        None, gt=0, description="BLAS threads; default all cores. 1 is steadier on a busy machine.")
    checkpoint_every: int = Field(1, ge=0, description="Epochs between checkpoints; 0 = never.")


class MlflowConfig(Strict):
    tracking_uri: str | None = Field(
        None, description="The MLflow store or server: http://host:5000, sqlite:///mlflow.db, "
                          "file:./mlruns (default: MLFLOW_TRACKING_URI, else ./mlflow.db). "
                          "Credentials belong in MLFLOW_TRACKING_USERNAME/PASSWORD, not here.")
    experiment: str | None = Field(
        None, description="The experiment (default: MLFLOW_EXPERIMENT_NAME, else the "
                          "config's name).")
    run_name: str | None = Field(None, description="The run's name (default: MLflow's).")


class TensorBoardConfig(Strict):
    dir: str | None = Field(None, description="The folder for the event files (tensorboard "
                                              "--logdir); or give --tensorboard DIR.")
    histograms_every: int = Field(5, gt=0, description="Epochs between weight and gradient "
                                                       "histograms.")


class TrackingConfig(Strict):
    mlflow: MlflowConfig | None = Field(
        None, description="Log the run to MLflow ({} or true: the defaults).")
    tensorboard: TensorBoardConfig | None = Field(
        None, description="Write TensorBoard event files.")

    @field_validator("mlflow", mode="before")
    @classmethod
    def _true_is_defaults(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value


class Config(Strict):
    name: str = Field("fcnn-model", description="The model's name, shown by info, report "
                                                "and the trackers.")
    seed: int = Field(42, ge=0, description="Seeds every random draw: the split, the initial "
                                            "weights, the batches, dropout, augmentation, "
                                            "the 2-D datasets (a whole number ≥ 0, as "
                                            "NumPy takes).")
    data: DataConfig = Field(description="What the network learns from.")
    model: ModelConfig = Field(description="The layers.")
    cost: CostName = Field("log-likelihood", description="log-likelihood: −ln a_y, with a "
                                                         "softmax output; cross-entropy: "
                                                         "−Σ [y ln a + (1 − y) ln(1 − a)], with "
                                                         "sigmoid outputs; quadratic: "
                                                         "½ Σ (y − a)².")
    training: TrainingConfig = Field(TrainingConfig(), description="How it learns.")
    output: str = Field("model.h5", description="Where the trained model is saved.")
    tracking: TrackingConfig | None = Field(
        None, description="Where the run is logged besides the model file: MLflow, "
                          "TensorBoard (the `track` extra). Not stored in the model.")

    @model_validator(mode="after")
    def _seed_draws_the_data(self) -> Config:
        self.data._seed = self.seed  # `data.load()` draws the 2-D datasets from it
        return self


FLOAT32 = 4  # bytes: pictures become float32 inputs


def memory_problem(config: Config, inputs: int | None = None) -> str | None:
    """What in `config` cannot fit fcnn's memory budget, as `place: why; fix`, or None.

    Checked at validation, before any data is read: `inputs` is then the named dataset's
    (or the pictures' size, or 1 when only the data will tell); give the real count once
    the data are loaded. Counted: the weights and biases, and one batch's activations
    (z, f′(z) and δ of every layer, as the training step keeps them).
    """
    weights, batch = declared_bytes(config, inputs)
    problem = over_budget(weights)
    if problem:
        shapes = _shapes(config, inputs)
        widest = max(range(len(shapes)), key=lambda i: shapes[i][0] * shapes[i][1])
        units, fan_in = shapes[widest]
        count = weights // _itemsize(config)
        return (f"model.layers: the network's {count:,} weights and biases take {problem} "
                f"(layers[{widest}] alone: {units:,} units × {fan_in:,} "
                "inputs); use fewer units, or raise the budget with FCNN_MEMORY_BUDGET")
    problem = over_budget(batch)
    if problem:
        batch = config.training.batch_size
        return (f"training.batch_size: the activations of a batch of {batch:,} examples take "
                f"{problem}; use a smaller batch_size (32 to 256 is usual), or raise the "
                "budget with FCNN_MEMORY_BUDGET")
    return None


def declared_bytes(config: Config, inputs: int | None = None) -> tuple[int, int]:
    """What the network's weights and biases, and one batch's activations, take in bytes."""
    shapes = _shapes(config, inputs)
    weights = sum(units * (fan_in + 1) for units, fan_in in shapes)
    batch = config.training.batch_size * (shapes[0][1] + 3 * sum(n for n, _ in shapes))
    return weights * _itemsize(config), batch * _itemsize(config)


def _shapes(config: Config, inputs: int | None) -> list[tuple[int, int]]:
    """(units, inputs) of each layer: its weight matrix's shape."""
    units = [layer.units for layer in config.model.layers]
    return list(zip(units, [_inputs(config, inputs), *units[:-1]]))


def _inputs(config: Config, inputs: int | None) -> int:
    """`inputs`, or what the config tells of them: the named dataset's, the pictures' size,
    or 1 (a lower bound) when only the data will tell."""
    if inputs is not None:
        return inputs
    data = config.data
    if data.dataset is not None or data.image.size is None:
        return DATASET_INPUTS.get(data.dataset or "", 1)
    return data.image.size[0] * data.image.size[1] * data.image.channels


def _itemsize(config: Config) -> int:
    return 4 if config.model.dtype == "float32" else 8


def load_config(source: str | Path | dict[str, Any] | Config,
                overrides: list[str] | None = None, **changes: Any) -> Config:
    """Read, override and validate a config; any problem is one FcnnError line.

    `source`: a YAML file, the name of a built-in recipe (`fcnn config list`), a mapping
    or a Config. `overrides`: "key.path=value" strings, the value parsed as YAML
    (`--set`); `changes`: the same as keywords, `training__epochs=3` or
    `**{"training.epochs": 3}`, the value taken as it is.
    """
    return validate(*raw_config(source, overrides, **changes))


def input_files(source: str | Path | dict[str, Any] | Config, cfg: Config
                ) -> list[tuple[str, Path | None]]:
    """The files training on `cfg` reads (the config file a path or a recipe's name came
    from, the data file): what its outputs must never be."""
    from fcnn_cli.shipped import config_path

    config = config_path(source) if isinstance(source, (str, Path)) else None
    data = Path(cfg.data.path).expanduser() if cfg.data.path is not None else None
    return [("the config", config), ("the data", data)]


def raw_config(source: str | Path | dict[str, Any] | Config,
               overrides: list[str] | None = None, **changes: Any) -> tuple[dict[str, Any], str]:
    """`load_config`'s mapping before validation, and where it came from (for messages):
    the keys as the user wrote them, the overrides and changes set in."""
    if isinstance(source, Config):
        raw, where = source.model_dump(mode="json"), "the config"
    elif isinstance(source, dict):
        raw, where = copy.deepcopy(source), "the config"
    else:
        from fcnn_cli.shipped import config_path

        path = config_path(source)
        raw, where = read_yaml_mapping(path), str(source)
    for item in overrides or []:
        set_value(raw, *parse_override(item))
    for key, value in changes.items():
        set_value(raw, key.replace("__", "."), value)
    return raw, where


def validate(raw: dict[str, Any], source: str, sizes_checked_later: bool = False) -> Config:
    """`raw` as a Config, or one FcnnError line; `sizes_checked_later` leaves out the
    memory check (a search space checks its largest values together)."""
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise FcnnError(f"{source}: {describe(error)}") from None
    problem = None if sizes_checked_later else memory_problem(config)
    if problem:
        raise FcnnError(f"{source}: {problem}")
    return config


SPACE_EXAMPLE = "training.optimizer.lr: {low: 0.01, high: 1.0, log: true}"


def read_yaml_mapping(path: Path, kind: str = "config") -> dict[str, Any]:
    """A YAML file's top-level mapping; `kind` ("config" or "space") picks the hints."""
    raw = read_yaml(path, "config" if kind == "config" else "search space")
    example = "`fcnn config show mnist` prints an example" if kind == "config" else \
        f"a space maps config keys to values to try, e.g. {SPACE_EXAMPLE}"
    if raw is None:
        raise FcnnError(f"{path} is empty; {example}")
    if not isinstance(raw, dict):
        raise FcnnError(f"{path}: a {kind} is a mapping of keys, not a "
                        f"{type(raw).__name__}; {example}")
    return raw


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_override(item: str) -> tuple[str, Any]:
    """`key.path=value` → (key path, value parsed as YAML; text when it is not YAML)."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise FcnnError(f"--set {shown(item)}: expected KEY=VALUE, e.g. training.epochs=3")
    try:
        return key, parse(text, f"--set {named(key)}")
    except NotYaml:
        return key, text


def set_value(raw: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` (`training.epochs`, `model.layers[0].units`) in a raw config mapping;
    the schema types the value later."""
    try:  # isdecimal, not isdigit: int() refuses "²"; and an index of 5,000 digits
        parts: list[str | int] = [int(index) if index else
                                  (int(name) if name.isdecimal() else name)
                                  for name, index in _PATH_PART.findall(key)]
    except ValueError:
        parts = []
    if not parts:
        raise FcnnError(f"--set {shown(key)}: no such place in the config")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        try:
            if isinstance(node, dict) and part not in node:
                node[part] = [] if isinstance(parts[i + 1], int) else {}
            node = node[part]
        except (IndexError, KeyError, TypeError):
            raise FcnnError(f"--set {named(key)}: no such place in the config") from None
    try:
        node[parts[-1]] = value
    except (IndexError, TypeError):
        raise FcnnError(f"--set {named(key)}: no such place in the config") from None


def describe(error: ValidationError) -> str:
    """The first validation problem as `path: what is wrong (how to fix)`."""
    problems = error.errors()
    first = problems[0]
    loc = first["loc"]
    kind = first["type"]
    where = _format_loc(loc)
    value = first.get("input")
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", first["ctx"]["expected"])
        message = (f"{shown(value)} is not one of {', '.join(allowed)}"
                   f"{did_you_mean(str(value)[:80], allowed)}")
    elif kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = (f"unknown key{did_you_mean(str(loc[-1])[:80], allowed)}; "
                   f"allowed here: {', '.join(allowed)}")
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(first["msg"]).removeprefix("Value error, ")
    else:
        message = first["msg"].lower()
        message += "" if "got" in message else f", got {shown(value)}"
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" \
        if len(problems) > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:  # a key may be anything the file held: shown cut short
        name = named(part, 40)
        text += f"[{part}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text




def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            inner = getattr(candidate, "__args__", (candidate,))[0] \
                if getattr(candidate, "__origin__", None) is list else candidate
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                model = inner
                break
    return list(model.model_fields)


def config_warnings(config: Config) -> list[str]:
    """Legal but unwise choices, worth a warning before training starts."""
    warnings = []
    out = config.model.layers[-1].activation
    if out == "softmax" and config.cost == "cross-entropy":
        warnings.append("softmax with the binary cross-entropy cost: log-likelihood is the "
                        "matching cost for softmax outputs")
    mismatch = _output_cost_mismatch(out, config.cost)
    if mismatch:
        warnings.append(mismatch)
    sigmoid_hidden = sum(layer.activation == "sigmoid" for layer in config.model.layers[:-1])
    if sigmoid_hidden >= 4:
        warnings.append(f"{sigmoid_hidden} sigmoid hidden layers: gradients vanish through deep "
                        "sigmoid stacks; relu or tanh train far better")
    augment = config.data.augment
    if augment is not None and augment.flip_probability and (
            config.data.dataset in ("mnist", "digits") or config.data.image.pipeline == "digit"):
        warnings.append("data.augment.hflip on digits: a mirrored 2, 3, 4, 5, 7 or 9 is no "
                        "digit; flipping suits clothes and objects")
    if config.training.optimizer.lr > 10:
        warnings.append(f"learning rate {config.training.optimizer.lr} is above 10; "
                        "training will probably diverge")
    if config.training.early_stopping is not None and config.data.val_fraction == 0:
        warnings.append("training.early_stopping watches the validation split, but "
                        "data.val_fraction is 0: every epoch runs and the last one's weights "
                        "are kept")
    return warnings


def _output_cost_mismatch(out: str, cost: str) -> str | None:
    """The warning for an output layer whose values the cost cannot read as probabilities."""
    if cost == "log-likelihood" and out != "softmax":
        # −ln a_y only pulls the right output up: without softmax's competition nothing
        # pulls the others down, and an unbounded output makes the logarithm meaningless.
        why = ("sigmoid outputs do not sum to 1, so nothing pulls the wrong classes down"
               if out == "sigmoid" else f"{out} outputs are not probabilities")
        return (f"{out} output layer with the log-likelihood cost: {why}; use a softmax "
                "output layer with log-likelihood (or the quadratic cost for regression)")
    if cost == "cross-entropy" and out not in ("sigmoid", "softmax"):
        return (f"{out} output layer with the cross-entropy cost: cross-entropy needs outputs "
                "in (0, 1); use a softmax output layer with log-likelihood (or sigmoid with "
                "cross-entropy for independent yes/no outputs)")
    return None


def json_schema() -> dict[str, Any]:
    return Config.model_json_schema()
