"""The Python API: what the `fcnn` commands do, for notebooks and scripts.

    import fcnn_cli as fcnn

    model = fcnn.load_model("mnist")         # a model file, or a model shipped with fcnn
    model.predict("digit.png")               # array(['7'], dtype=object)
    model.predict_proba(x_raw)               # (N, 10), x_raw in pixels 0–255
    model.evaluate().accuracy                # on the test split of its own dataset
    model.trace("digit.png").layers[0].delta # backprop on one input, every number kept

    result = fcnn.train("digits", training__epochs=3, progress=print)
    result.model.predict(...), result.history["val_accuracy"], result.test

The commands are thin layers over these functions and the `Model` methods. Nothing here
prints: progress goes to the optional callback, warnings into `result.warnings`. A
problem the user can fix raises `FcnnError`, whose message says what, where and how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model

if TYPE_CHECKING:  # loaded by `train` and `load_config`: predicting needs no pydantic
    import numpy as np

    from fcnn_cli.compare import Comparison
    from fcnn_cli.config import Config
    from fcnn_cli.tracking import Tracking
    from fcnn_cli.training import EpochRow, Outcome, Reporter
    from fcnn_cli.tuning.search import SearchOutcome, TrialRow

__all__ = ["FcnnError", "Model", "augmented", "compare", "export", "import_onnx",
           "load_config", "load_model", "report", "train", "tune"]


def load_model(path_or_name: str | Path) -> Model:
    """A model file written by `fcnn train`, or the name of a model shipped with fcnn
    (`"mnist"`); a file of that name wins over the shipped model."""
    from fcnn_cli.shipped import model_path
    from fcnn_cli.store import load_model as read

    return read(model_path(path_or_name))


def load_config(source: str | Path | dict[str, Any] | Config,
                overrides: list[str] | None = None, **changes: Any) -> Config:
    """A validated config from a YAML file, a built-in recipe name, a mapping or a Config,
    with `overrides` ("key=value" strings) and keyword `changes` (`training__epochs=3`)."""
    from fcnn_cli.config import load_config as load

    return load(source, overrides, **changes)


def train(config: str | Path | dict[str, Any] | Config, *,
          out: str | Path | None = None, resume: str | Path | None = None,
          log: str | Path | None = None,
          progress: Callable[[EpochRow], Any] | Reporter | None = None,
          track: str | None = None, tensorboard: str | Path | None = None,
          overrides: list[str] | None = None, **changes: Any) -> Outcome:
    """Train as `config` says (a YAML file, a built-in recipe name, a mapping or a
    Config), save the model to `out` (default: the config's `output`) and return it
    with its history and test scores.

    Change settings with keywords, `training__epochs=3` (or `**{"training.epochs": 3}`),
    or with `overrides=["training.epochs=3"]` as `--set` takes them. `progress` is
    called with each epoch's `EpochRow` (or is a full `Reporter`, as the CLI passes).
    `resume` continues from a checkpoint; `log` appends one JSON object per epoch. On
    Ctrl-C a checkpoint is written and `fcnn_cli.training.Interrupted` (an FcnnError)
    says where. `track="mlflow"` logs the run to MLflow and `tensorboard` writes event
    files into that folder (as the config's `tracking` section does); a tracker that
    fails is a warning, never a lost run.
    """
    import yaml

    from fcnn_cli.config import config_warnings, input_files
    from fcnn_cli.training import Trainer, prepare_files

    cfg = load_config(config, overrides, **changes)
    tracking = _tracking(cfg, track, tensorboard)  # a missing package: said before any file
    reporter = _Recording(progress)
    for message in config_warnings(cfg):
        reporter.warn(message)
    # an --out folder holds the config's file name; never written over the config or data
    output, log_file = prepare_files(
        out if out is not None else cfg.output, log,  # as typed: `runs/` means a folder
        fresh_log=resume is None, inputs=input_files(config, cfg),
        resume=Path(resume) if resume else None,
        label="--out" if out is not None else "the config's output",
        name=Path(cfg.output).name if out is not None else None)
    if cfg.data.path is not None:  # so eval finds the data from any folder later
        cfg.data.path = str(Path(cfg.data.path).expanduser().resolve())
    # where the run is logged is no part of the model (and a tracking URI may hold secrets)
    text = yaml.safe_dump(cfg.model_dump(mode="json", exclude={"tracking"}), sort_keys=False)
    trainer = Trainer(cfg, text, output, reporter, log_file, tracking=tracking)
    outcome = trainer.run(Path(resume) if resume is not None else None)
    outcome.warnings = reporter.warnings
    return outcome


def _tracking(cfg: Config, track: str | None, tensorboard: str | Path | None) -> Tracking:
    """The config's `tracking` section with `--track` and `--tensorboard` set in."""
    from fcnn_cli.tracking import Tracking

    if track is not None and track != "mlflow":
        raise FcnnError(f"--track {track!r}: the tracker is mlflow (TensorBoard: "
                        "--tensorboard DIR)")
    section = cfg.tracking
    mlflow = section.mlflow.model_dump() if section and section.mlflow else None
    board = section.tensorboard.model_dump() if section and section.tensorboard else None
    if track == "mlflow" and mlflow is None:
        mlflow = {}
    if tensorboard is not None:
        board = {**(board or {"histograms_every": 5}), "dir": str(tensorboard)}
    if board is not None and board.get("dir") is None:
        raise FcnnError("tracking.tensorboard: give the folder for the event files, as "
                        "tracking.tensorboard.dir or --tensorboard DIR")
    tracking = Tracking(mlflow, board)
    tracking.check()
    return tracking


def augmented(config: str | Path | dict[str, Any] | Config, count: int = 4, variants: int = 3,
              overrides: list[str] | None = None, **changes: Any) -> np.ndarray:
    """A few training pictures and deformed copies of them, drawn as `data.augment` would
    draw them in training: (count, 1 + variants, H, W[, C]) pixels, each row's first
    picture as it is. For judging the settings by eye (`fcnn train CONFIG --show-augment`).
    """
    import numpy as np

    from fcnn_cli.data.augment import picture_deformer
    from fcnn_cli.data.split import is_raw_pixels

    cfg = load_config(config, overrides, **changes)
    if cfg.data.augment is None:
        raise FcnnError("the config has no data.augment to show; add one, e.g. "
                        "--set 'data.augment={shift: 2, rotate: 10}'")
    x = cfg.data.load().x_train
    shape = tuple(x.shape[1:])
    deformer = picture_deformer(cfg.data.augment.spec(), shape, is_raw_pixels(x),
                                str(cfg.data.dataset or cfg.data.path))
    rng = np.random.default_rng([cfg.seed, 4])
    chosen = x[rng.choice(len(x), size=min(count, len(x)), replace=False)]
    rows = chosen.reshape(len(chosen), -1)
    copies = [deformer(rows, rng) for _ in range(variants)]
    return np.stack([rows, *copies], axis=1).reshape(len(rows), 1 + variants, *shape)


def export(model: str | Path | Model, out: str | Path) -> Path:
    """Write a model (a file, a shipped name, or a Model) as ONNX (`.onnx`) or a Keras 3
    archive (`.keras`), its preprocessing inside, taking the raw inputs `predict` takes."""
    from fcnn_cli import exchange

    return exchange.export(model if isinstance(model, Model) else load_model(model), out)


def import_onnx(source: str | Path, out: str | Path, add_softmax: bool = False, *,
                image: str | None = None, input_shape: str | Sequence[int] | None = None,
                scale: float | str | None = None, mean: float | Sequence[float] | None = None,
                std: float | Sequence[float] | None = None,
                classes: str | Sequence[str] | None = None,
                class_names_file: str | Path | None = None) -> Model:
    """An MLP from an ONNX file (PyTorch's `torch.onnx.export` of Linear layers and
    activations, or fcnn's own export), saved as an fcnn model at `out` and returned.
    `add_softmax` makes a graph that ends in logits a softmax classifier.

    fcnn's own export brings its preprocessing, picture spec and class names back by
    itself. For a graph from another tool, say what its inputs are: `image` (digit,
    object or resize: the inputs are pictures), `input_shape` ("28x28", "32x32x3", or
    PyTorch's "3x32x32"), `scale` (raw pixels 0–255 are divided by it before the graph:
    255 for a graph trained on [0, 1]), `mean`/`std` (then (x − mean)/std, per channel,
    as torchvision's Normalize), `classes` or `class_names_file` (one name a line)."""
    from fcnn_cli import exchange
    from fcnn_cli.exchange.input_options import parse

    options = parse(image, input_shape, scale, mean, std, classes, class_names_file)
    return exchange.import_onnx(source, out, add_softmax, options)


def tune(config: str | Path | dict[str, Any] | Config, space: str | Path, *,
         trials: int = 20, timeout: float | None = None, jobs: int = 1,
         storage: str | None = None, study: str | None = None, out: str | Path | None = None,
         prune: bool = True, progress: Callable[[list[TrialRow]], Any] | Any = None,
         track: str | None = None, tensorboard: str | Path | None = None,
         overrides: list[str] | None = None, **changes: Any) -> SearchOutcome:
    """Search the values `space` (a YAML file) lists for `config`, on Optuna: TPE seeded
    from the config's seed, the median pruner, each trial scored on the validation split
    (accuracy for classifiers, loss for regression; the test split is never looked at).

    The study (`study`, default the config's name) lives in `storage`: an SQLite file
    `<study>.db` beside `out` by default, or a database URL (`postgresql://...`) that
    processes on many machines share. It grows to `trials` trials in all, so running the
    same search again continues it. `jobs` runs that many worker processes here.
    `progress` is called with every trial (a `TrialRow` list) about once a second; an
    object with `start(plan)` and `show(rows)` (the CLI's display) also works. The best
    config is written to `out` (default `<study>.best.yaml`): `result.best_config` is that
    path. `result.trials` lists every trial of the study, `result.best` the best complete
    one (None if none completed), `result.plan.earlier` how many earlier runs had finished.
    `track="mlflow"` logs the study as an MLflow run and each trial as its child run;
    `tensorboard` writes each trial's event files into `<tensorboard>/trial-NNNN`.
    Tracking problems are in `result.warnings`.
    """
    import dataclasses

    from fcnn_cli.tuning import search
    from fcnn_cli.tuning.best import write_best_config
    from fcnn_cli.tuning.plan import make_plan

    # checked before the study is made: a bad tracking URI writes nothing
    tracking = _tracking(load_config(config, overrides, **changes), track, tensorboard)
    plan, study_, dataset, best_path = make_plan(config, space, trials, timeout, jobs, storage,
                                                 study, out, prune, overrides, changes)
    plan = dataclasses.replace(plan, tracking=tracking or None)
    if hasattr(progress, "start"):
        progress.start(plan)
    show = getattr(progress, "show", progress) or (lambda rows: None)
    outcome = search.search(plan, study_, dataset, show, getattr(progress, "warn", None))
    if outcome.best is not None:
        outcome.best_config = write_best_config(plan, outcome.best, len(outcome.rows),
                                                best_path)
    return outcome


class _Recording:
    """A Reporter that keeps every warning and passes events on to the caller's
    reporter, or each finished epoch to the caller's function."""

    def __init__(self, progress: Callable[[EpochRow], Any] | Reporter | None) -> None:
        self.warnings: list[str] = []
        self.inner = progress if hasattr(progress, "epoch_end") else None
        self.on_epoch = progress if self.inner is None else None

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.inner is not None:
            self.inner.warn(message)

    def loading(self, done: int, total: int) -> None:
        if self.inner is not None and hasattr(self.inner, "loading"):
            self.inner.loading(done, total)

    def start(self, summary: dict[str, Any]) -> None:
        if self.inner is not None:
            self.inner.start(summary)

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        if self.inner is not None:
            self.inner.epoch_start(epoch, epochs, batches, samples)

    def batch(self, done: int, batches: int, seen: int) -> None:
        if self.inner is not None:
            self.inner.batch(done, batches, seen)

    def epoch_end(self, row: EpochRow) -> None:
        if self.inner is not None:
            self.inner.epoch_end(row)
        elif self.on_epoch is not None:
            self.on_epoch(row)  # type: ignore[operator]

    def finish(self) -> None:
        if self.inner is not None:
            self.inner.finish()


def report(model: str | Path, data: str | None = None, split: str | None = None,
           out: str | Path | None = None, warn: Callable[[str], Any] | None = None) -> Path:
    """Write a self-contained HTML page about a model (a file, or a shipped model's name):
    its card, learning curves, evaluation (the rows `Model.evaluate(data, split)` scores),
    mistakes and first-layer weights. `out` defaults to `<model stem>.report.html`
    beside the model file (in the current folder for a shipped model). Returns the path.
    `data` or `split` that cannot be scored is an error; when the model's own data cannot
    be (moved, or an imported model that names none), the page leaves the evaluation out
    and `warn` is called with the reason."""
    from fcnn_cli import report as page

    target = out if out is not None else page.default_path(model)
    return page.write(load_model(model), target, data, split, warn)


def compare(models: Sequence[str | Path | Model], out: str | Path | None = None
            ) -> Comparison:
    """Several trained models side by side (files, shipped names or Models; two at
    least): `result.models` holds each one's name and summary (history, final and best
    numbers); with `out`, a self-contained HTML page overlaying their learning curves on
    shared axes, with a table of their final numbers, is written there (`result.page`)."""
    from fcnn_cli.compare import compare as run

    return run(models, out)
