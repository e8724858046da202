"""The epoch loop: data, network, mini-batches, validation, early stopping, checkpoints.

Nothing here prints: progress goes to a `Reporter` the caller supplies.  Ctrl-C and
SIGTERM finish the current mini-batch, write a checkpoint and raise `Interrupted`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fcnn_cli.config import Config
from fcnn_cli.data.split import Splits, make_splits
from fcnn_cli.errors import FcnnError
from fcnn_cli.metrics import one_hot
from fcnn_cli.model import Model, in_chunks
from fcnn_cli.nn import Network, make_optimizer, scheduled_lr
from fcnn_cli.nn import diagnostics as diag
from fcnn_cli.nn.epoch import DivergenceError, EpochStats, RawInputs, count_correct
from fcnn_cli.nn.fast import EpochRunner
from fcnn_cli.sanitize import json_text
from fcnn_cli.store import Checkpoint, load_checkpoint, save_checkpoint, save_model

if TYPE_CHECKING:
    from fcnn_cli.data.augment import DeformedEpochs
    from fcnn_cli.data.sources import Dataset
    from fcnn_cli.tracking import Trackers, Tracking

HISTORY_KEYS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds")


@dataclass
class EpochRow:
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float
    samples_per_s: float
    improved: bool


class Reporter(Protocol):
    def warn(self, message: str) -> None: ...
    def loading(self, done: int, total: int) -> None: ...  # image files read so far
    def start(self, summary: dict[str, Any]) -> None: ...
    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None: ...
    def batch(self, done: int, batches: int, seen: int) -> None: ...
    def epoch_end(self, row: EpochRow) -> None: ...
    def finish(self) -> None: ...


class Diverged(FcnnError):
    """The cost became NaN or infinite: the learning rate is too high for these inputs."""


class Interrupted(FcnnError):
    """Training stopped on a signal after saving a checkpoint."""

    def __init__(self, message: str, exit_code: int, checkpoint: Path) -> None:
        super().__init__(message, exit_code)
        self.checkpoint = checkpoint


@dataclass
class Outcome:
    """What a training run gives: the model (saved at `output`), its test loss and
    accuracy (None without test data), the epoch that did best on validation."""

    model: Model
    output: Path
    test: dict[str, Any] | None  # loss, accuracy; for regression also per_output
    best_epoch: int
    stopped_early: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def history(self) -> dict[str, np.ndarray]:
        """One value per epoch: train_loss, train_accuracy, val_loss, val_accuracy, lr,
        seconds."""
        return self.model.history


def prepare_files(output: str | Path, log: str | Path | None, fresh_log: bool,
                  inputs: list[tuple[str, str | Path | None]] | None = None,
                  resume: Path | None = None, label: str = "--out",
                  name: str | None = None) -> tuple[Path, Path | None]:
    """Fail before training, not after it, when the model, its checkpoint or the log
    cannot be written or would be written over an input (the config, the data,
    fcnn_cli/outputs.py); return where the model and the log go (`output` may be a folder
    to hold `name`)."""
    from fcnn_cli.outputs import make_parents, output_path

    read = [*(inputs or []), ("the checkpoint to resume from", resume)]
    output = output_path(output, label, read, name=name, example="model.h5")
    checkpoint = output_path(checkpoint_path(output), "the checkpoint", read[:-1])
    if log is not None:
        log = output_path(log, "--log", [*read, ("the model", output),
                                         ("the checkpoint", checkpoint)], example="log.jsonl")
    make_parents(output, label)
    if not os.access(output.parent, os.W_OK):
        raise FcnnError(f"cannot write into {output.parent}; choose another --out")
    if log is not None:
        make_parents(log, "--log")
        try:
            with log.open("w" if fresh_log else "a"):
                pass
        except OSError as error:
            raise FcnnError(f"cannot write the log {log}: {error.strerror}") from None
    return output, log


def changed_settings(before: str, after: str) -> list[str]:
    """The config keys whose values differ between two resolved configs (YAML texts),
    leaving out those that may change freely on resume (epochs, output)."""
    from fcnn_cli.yamlfile import parse

    def flat(node: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, value in node.items()
                    for k, v in flat(value, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): node}

    if not before or not after:
        return []
    old = flat(parse(before, "the checkpoint's stored config"))
    new = flat(parse(after, "the config"))
    free = {"training.epochs", "output"}
    return [f"{key}: {old.get(key)!r} → {new.get(key)!r}" for key in sorted(old.keys() | new.keys())
            if key not in free and old.get(key) != new.get(key)]


def checkpoint_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.ckpt.h5")


def output_units(config: Config, splits: Splits) -> int:
    """The output layer's width, after checking it fits the data's classes or targets."""
    units = config.model.layers[-1].units
    where = f"model.layers[{len(config.model.layers) - 1}].units"
    if splits.class_names is None:
        targets = splits.y_train.shape[1]
        if units != targets:
            raise FcnnError(f"{where} is {units} but the data has {targets} target column(s); "
                            f"set the output layer's units to {targets}")
    else:
        classes = len(splits.class_names)
        if units != classes and not (classes == 2 and units == 1):
            raise FcnnError(f"{where} is {units} but the data has {classes} classes; "
                            f"set the output layer's units to {classes}")
    return units


def targets(y: np.ndarray, units: int, classify: bool, dtype: np.dtype) -> np.ndarray:
    return one_hot(y, units, dtype) if classify else y.astype(dtype, copy=False)


def training_inputs(splits: Splits, dtype: np.dtype) -> np.ndarray | RawInputs:
    """The training inputs as the epoch runner takes them, in one copy.

    Pixels stay as stored and are normalised a chunk at a time (a quarter of the memory,
    and of the bytes each epoch gathers), giving the very numbers that normalising them
    up front would; other data are normalised up front and converted once to `dtype`.
    """
    if splits.raw_train:
        norm = splits.normalizer
        return RawInputs(splits.x_train, norm.mean, norm.std, dtype)
    if splits.x_train.dtype != dtype:
        splits.x_train = splits.x_train.astype(dtype)
    return splits.x_train


def build_network(config: Config, n_inputs: int, rng: np.random.Generator) -> Network:
    from fcnn_cli.config import memory_problem

    problem = memory_problem(config, n_inputs)  # the config's check, now the data tell inputs
    if problem:
        raise FcnnError(problem)
    layers = config.model.layers
    return Network.create(
        [n_inputs] + [layer.units for layer in layers], [layer.activation for layer in layers],
        config.cost, config.model.init, rng, np.dtype(config.model.dtype),
        [layer.dropout for layer in layers], config.model.slope)


def evaluate(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cost and accuracy over (x, y)."""
    if len(x) == 0:
        return math.nan, math.nan
    a = in_chunks(net.predict, x)
    return net.cost.fn(a, y), count_correct(a, y) / len(x)


@dataclass
class LoopState:
    """Everything that, with the weights and the optimiser, fixes the rest of the run."""

    epoch: int = 0                  # 0-based epoch to run next
    batch: int = 0                  # first batch of that epoch still to run
    shuffle_state: dict[str, Any] | None = None   # shuffle RNG at the start of `epoch`
    dropout_state: dict[str, Any] | None = None
    stats: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    best_score: float | None = None
    best_epoch: int = 0
    stale_epochs: int = 0
    epoch_seconds: float = 0.0      # time already spent on `epoch` before an interruption
    diagnostics: list[dict[str, Any]] = field(default_factory=list)  # Model.diagnostics
    tracking: dict[str, Any] = field(default_factory=dict)  # each tracker's state (a run id)


def loop_state(raw: dict[str, Any], path: Path) -> LoopState:
    """A checkpoint's loop state, each field checked: a damaged or hand-edited checkpoint
    is one line, not a crash halfway into training."""
    def damaged(what: str) -> FcnnError:
        return FcnnError(f"{path} is damaged: its training state {what}; resume from "
                         "another checkpoint or train afresh")

    fields = {f.name: f for f in dataclasses.fields(LoopState)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise damaged(f"has unknown entries ({', '.join(map(repr, unknown[:3]))})")
    for name in ("epoch", "batch", "best_epoch", "stale_epochs"):
        value = raw.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise damaged(f"{name} is not a whole number ≥ 0")
    for name in ("best_score", "epoch_seconds"):
        if not isinstance(raw.get(name, 0.0), (int, float, type(None))):
            raise damaged(f"{name} is not a number")
    tracking = raw.get("tracking", {})
    if not isinstance(tracking, dict) or not all(isinstance(v, dict) for v in tracking.values()):
        raise damaged("tracking state is not one mapping per tracker")
    for name in ("shuffle_state", "dropout_state"):
        state = raw.get(name)
        if state is not None:
            try:
                np.random.default_rng().bit_generator.state = state
            except (TypeError, ValueError, KeyError):
                raise damaged(f"{name} is not a random generator's state") from None
    try:
        history = {k: [float(v) for v in raw.get("history", {}).get(k, [])]
                   for k in HISTORY_KEYS}
        stats = {str(k): float(v) for k, v in raw.get("stats", {}).items()}
    except (TypeError, ValueError, AttributeError):
        raise damaged("history or statistics are not numbers") from None
    series = _diagnostics_state(raw.get("diagnostics", []), len(history["train_loss"]))
    if series is None:
        raise damaged("diagnostics are not one record per layer of numbers per epoch")
    return LoopState(**{**raw, "history": history, "stats": stats, "diagnostics": series})


def _diagnostics_state(raw: Any, epochs: int) -> list[dict[str, Any]] | None:
    """A checkpoint's per-layer diagnostics, checked (None when malformed): each layer's
    series hold numbers, one per recorded epoch at most."""
    if not isinstance(raw, list) or not all(isinstance(layer, dict) for layer in raw):
        return None
    layers = []
    for layer in raw:
        if set(layer) != {"layer", "units", "activation", *diag.SERIES} or \
                not isinstance(layer["activation"], str) or \
                not all(type(layer[k]) is int for k in ("layer", "units")):
            return None
        record = {k: layer[k] for k in ("layer", "units", "activation")}
        for key in diag.SERIES:
            values = layer[key]
            if values is None and key in ("saturated", "dead"):
                record[key] = None
                continue
            if not isinstance(values, list) or len(values) > epochs or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                return None
            record[key] = [float(v) for v in values]
        layers.append(record)
    return layers


class StopSignals:
    """First SIGINT/SIGTERM asks the loop to stop after the current batch; a second
    SIGINT aborts at once (the last complete checkpoint is untouched)."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        try:
            previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: no signal handling
            yield self
            return
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _status(error: BaseException) -> str:
    """How a run that raised `error` ended, as trackers record it."""
    if isinstance(error, (Interrupted, KeyboardInterrupt)):
        return "interrupted"
    if isinstance(error, Diverged):
        return "diverged"
    return str(getattr(error, "tracking_status", "failed"))  # a pruned trial says "pruned"


class Trainer:
    def __init__(self, config: Config, config_text: str, output: Path, reporter: Reporter,
                 log_file: Path | None = None, dataset: Dataset | None = None,
                 score_test: bool = True, diagnostics: bool = True,
                 tracking: Tracking | None = None, trial: int | None = None,
                 params: dict[str, Any] | None = None) -> None:
        """`dataset`: the data `config.data` names, when already loaded (a search reuses
        it); `score_test`: False leaves the test split unseen (a search must not look);
        `diagnostics`: False records no per-layer diagnostics (to measure what they cost);
        `tracking`: where the run is logged (MLflow, TensorBoard); `trial`: a tune trial's
        number (a child run); `params`: what the trackers log as its hyperparameters
        (default: the whole resolved config, flattened)."""
        self.config = config
        self.config_text = config_text
        self.output = output
        self.checkpoint = checkpoint_path(output)
        self.reporter = reporter
        self.log_file = log_file
        self.dataset = dataset
        self.score_test = score_test
        self.record_diagnostics = diagnostics
        self.tracking, self.trial, self.params = tracking, trial, params
        self.trackers: Trackers | None = None

    def run(self, resume: Path | None = None) -> Outcome:
        config = self.config
        data = config.data
        dataset = self.dataset or data.load(progress=self.reporter.loading)
        if dataset.skipped:
            self.reporter.warn(f"left out {len(dataset.skipped)} unreadable image file(s) "
                               f"(data.image.skip_unreadable); the first: {dataset.skipped[0]}")
        self.dataset = dataset
        self.splits = splits = make_splits(dataset, data.val_fraction, data.test_fraction,
                                           config.seed, data.normalize, keep_raw=True,
                                           target_normalize=data.target_normalize)
        units = output_units(config, splits)
        self.classify = splits.class_names is not None
        dtype = np.dtype(config.model.dtype)
        x = training_inputs(splits, dtype)
        y = targets(splits.y_train, units, self.classify, dtype)
        self.y_val = targets(splits.y_val, units, self.classify, dtype)
        self.net = build_network(config, x.shape[1], np.random.default_rng(config.seed))
        opt = config.training.optimizer
        self.optimizer = make_optimizer(opt.name, opt.lr, config.training.l2, opt.momentum,
                                        opt.nesterov, opt.beta1, opt.beta2, opt.eps)
        state = self._resume(resume) if resume else LoopState()
        self.state = state  # for a reporter that looks on (the playground's frames)
        self.probe = self._probe(x, y)
        if self.probe is not None and not state.diagnostics:
            state.diagnostics = diag.empty_series(self.net)
        self.reporter.start({
            "name": config.name, "architecture": self.net.sizes, "train": len(x),
            "val": len(splits.x_val), "test": len(splits.x_test),
            "resumed_at": (state.epoch + 1, state.batch) if resume else None,
            # Only picture files go through the pipeline; IDX/npz pixel arrays are used as is.
            "pictures": dataset.image.describe()
            if dataset.image and dataset.picture_files else None,
            "augment": data.augment.spec().describe() if data.augment else None,
        })
        self._start_tracking(state)
        try:
            outcome = self._train(x, y, state)
        except BaseException as error:
            self._end_tracking(_status(error))
            raise
        self._end_tracking("finished", outcome)
        net, accuracy = self.net, state.history["train_accuracy"]
        outcome.warnings = diag.advice(state.diagnostics,
                                       net.cost.fused_with == net.activations[-1].name,
                                       fitted=diag.fitted(accuracy))
        for line in outcome.warnings:
            self.reporter.warn(line)
        return outcome

    def _train(self, x: np.ndarray | RawInputs, y: np.ndarray, state: LoopState) -> Outcome:
        from fcnn_cli.threads import blas_threads, default_threads
        config = self.config
        default = default_threads(self.net.sizes, config.training.batch_size)
        with blas_threads(config.training.threads, default) as problem, \
                StopSignals().installed() as stop, self._deformations(x) as deformed:
            if problem:
                self.reporter.warn(problem)
            # Overflow shows up as a non-finite cost, which _loop reports as divergence.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                stopped_early = self._loop(x, y, state, stop, deformed)
        self.reporter.finish()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._finish(state, stopped_early)

    def _start_tracking(self, state: LoopState) -> None:
        if not self.tracking:
            return
        from fcnn_cli import __version__
        from fcnn_cli.tracking import RunStart, flat_params
        from fcnn_cli.yamlfile import parse

        self.trackers = self.tracking.trackers(self.reporter.warn, self.trial)
        data = self.config.data
        tags = {"fcnn_version": __version__,
                "dataset": data.dataset or Path(data.path or "").name,
                "architecture": "-".join(map(str, self.net.sizes))}
        if self.trial is not None:
            tags["trial_number"] = str(self.trial)
        params = self.params if self.params is not None else flat_params(
            parse(self.config_text, "the config") if self.config_text else {})
        self.trackers.start(RunStart(self.config.name, self.config_text, params, tags,
                                     self.output, state.epoch, state.tracking))

    def _end_tracking(self, status: str, outcome: Outcome | None = None) -> None:
        if not self.trackers:
            return
        import tempfile

        from fcnn_cli.tracking import RunEnd

        test = {k: float(v) for k, v in (outcome.test or {}).items()
                if isinstance(v, (int, float))} if outcome else {}
        with tempfile.TemporaryDirectory(prefix="fcnn-track-") as folder:
            try:
                files = self._artifacts(Path(folder), outcome) if outcome else {}
            except Exception as error:  # (the model is saved: a missing file costs nothing)
                self.reporter.warn(f"no files attached to the tracked run ({error})")
                files = {}
            self.trackers.end(RunEnd(status, test, files))

    def _artifacts(self, folder: Path, outcome: Outcome) -> dict[str, Path]:
        """What a tracker attaches to a finished run: the resolved config, the model, its
        history, and its report page when matplotlib (the report extra) is there."""
        import importlib.util

        if self.trackers is None or not self.trackers.wants_files or self.trial is not None:
            return {}
        config = folder / f"{self.output.stem}.config.yaml"
        config.write_text(self.config_text, encoding="utf-8")
        history = folder / f"{self.output.stem}.history.json"
        history.write_text(json_text({k: [float(v) for v in values] for k, values
                                      in outcome.history.items()}), encoding="utf-8")
        files = {"config": config, "model": outcome.output, "history": history}
        if importlib.util.find_spec("matplotlib") is None:
            self.reporter.warn("no report page attached to the tracked run: it needs "
                               "matplotlib (pip install 'fcnn[report]')")
            return files
        from fcnn_cli import report

        try:
            files["report"] = report.write(outcome.model, folder / f"{self.output.stem}."
                                           "report.html", warn=lambda message: None)
        except FcnnError as error:
            self.reporter.warn(f"no report page attached to the tracked run: {error.message}")
        return files

    def _probe(self, x: np.ndarray | RawInputs, y: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray] | None:
        """The fixed, seeded batch of training examples the diagnostics are measured on
        (None: diagnostics are off)."""
        if not self.record_diagnostics or len(x) == 0:
            return None
        rows = diag.probe_rows(len(x), self.config.seed)
        return x[rows], y[rows]

    def _weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.net.w]

    def _diagnose(self, epoch: int, before: list[np.ndarray], state: LoopState) -> None:
        """Record epoch `epoch`'s diagnostics; `before`: the weights before its last step."""
        if self.probe is None:
            return
        measured = diag.measure(self.net, *self.probe)
        ratios = [diag.update_ratio(w0, w) for w0, w in zip(before, self.net.w)]
        diag.record(state.diagnostics, epoch, measured, ratios)

    def _loop(self, x: np.ndarray | RawInputs, y: np.ndarray, state: LoopState,
              stop: StopSignals, deformed: DeformedEpochs | None) -> bool:
        cfg = self.config.training
        shuffle_rng = np.random.default_rng([self.config.seed, 1])
        dropout_rng = np.random.default_rng([self.config.seed, 2])
        if state.shuffle_state is not None:
            shuffle_rng.bit_generator.state = state.shuffle_state
        if state.dropout_state is not None:
            dropout_rng.bit_generator.state = state.dropout_state
        runner = EpochRunner(self.net, self.optimizer, cfg.batch_size).run
        n_batches = -(-len(x) // cfg.batch_size)
        for epoch in range(state.epoch, cfg.epochs):
            sched = cfg.lr_schedule
            self.optimizer.lr = scheduled_lr(sched.name, cfg.optimizer.lr, epoch, cfg.epochs,
                                             sched.gamma, sched.step_size, sched.min_lr)
            state.epoch, state.shuffle_state = epoch, shuffle_rng.bit_generator.state
            perm = shuffle_rng.permutation(len(x))
            snapshot = self._snapshot()
            # w^l before the epoch's last step, for its update ratio: the epoch's start
            # (or the resume point) unless another batch comes before the last.
            before = snapshot[0][:len(self.net.w)]
            stats = EpochStats(**state.stats) if state.batch else EpochStats()
            earlier_seconds, earlier_seen = state.epoch_seconds, stats.seen
            self.reporter.epoch_start(epoch + 1, cfg.epochs, n_batches, len(x))
            started = time.perf_counter()

            def on_batch(done: int, total: int, s: EpochStats) -> bool:
                nonlocal before
                if done == total - 1 and self.probe is not None:
                    before = self._weights()
                self.reporter.batch(done, total, s.seen)
                return stop.signal is None

            inputs = x
            if deformed is not None:  # this epoch's pictures; the next one's are begun
                pictures = deformed.get(epoch, more=epoch + 1 < cfg.epochs)
                inputs = RawInputs(pictures, x.offset, x.scale, x.dtype)
            try:
                stats = runner(inputs, y, perm, state.batch, stats, dropout_rng, on_batch)
            except DivergenceError as error:
                self._diverged(epoch, error.batch, snapshot, state)
            seconds = time.perf_counter() - started
            state.dropout_state = dropout_rng.bit_generator.state
            if stats.batches < n_batches:  # stopped by a signal mid-epoch
                state.batch, state.stats = stats.batches, vars(stats).copy()
                state.epoch_seconds = earlier_seconds + seconds
                self._interrupted(stop.signal or signal.SIGINT, state)
            state.batch, state.stats, state.epoch_seconds = 0, {}, 0.0
            rate = (stats.seen - earlier_seen) / max(seconds, 1e-9)
            self._diagnose(epoch, before, state)
            done = self._end_epoch(epoch, stats, earlier_seconds + seconds, rate, state)
            state.epoch, state.shuffle_state = epoch + 1, shuffle_rng.bit_generator.state
            if cfg.checkpoint_every and (epoch + 1) % cfg.checkpoint_every == 0:
                self._save_checkpoint(state)
            if stop.signal is not None:
                self._interrupted(stop.signal, state)
            if done:
                return True
        return False

    def _deformations(self, x: np.ndarray | RawInputs) -> contextlib.AbstractContextManager[Any]:
        """`data.augment`'s deformed training pictures, one copy per epoch; or nothing."""
        augment = self.config.data.augment
        if augment is None:
            return contextlib.nullcontext()
        from fcnn_cli.data.augment import DeformedEpochs, picture_deformer

        data = self.config.data
        deformer = picture_deformer(augment.spec(), tuple(self.splits.input_shape),
                                    isinstance(x, RawInputs), str(data.dataset or data.path))
        assert isinstance(x, RawInputs)
        return DeformedEpochs(deformer, x.raw, self.config.seed)

    def _end_epoch(self, epoch: int, stats: EpochStats, seconds: float, rate: float,
                   state: LoopState) -> bool:
        """Record the epoch; return True when early stopping says stop."""
        val_loss, val_acc = evaluate(self.net, self.splits.x_val, self.y_val)
        train_acc = stats.accuracy if self.classify else math.nan
        val_acc = val_acc if self.classify else math.nan
        values = (stats.cost, train_acc, val_loss, val_acc, self.optimizer.lr, seconds)
        for key, value in zip(HISTORY_KEYS, values):
            state.history[key].append(float(value))
        improved = self._track_best(epoch, val_loss, val_acc, state)
        row = EpochRow(epoch + 1, self.config.training.epochs, stats.cost, train_acc, val_loss,
                       val_acc, self.optimizer.lr, seconds, rate, improved)
        if self.trackers:  # before the reporter, which may stop the run (a pruned trial)
            from fcnn_cli.tracking import EpochEnd

            metrics = {key: state.history[key][-1] for key in HISTORY_KEYS}
            self.trackers.epoch_end(EpochEnd(epoch + 1, metrics, state.diagnostics, self.net,
                                             self.probe))
        self.reporter.epoch_end(row)
        if self.log_file is not None:
            with self.log_file.open("a") as log:
                log.write(json_text(vars(row)) + "\n")  # NaN, inf: null (valid JSON)
        stopping = self.config.training.early_stopping
        return stopping is not None and state.stale_epochs >= stopping.patience

    def _track_best(self, epoch: int, val_loss: float, val_acc: float, state: LoopState) -> bool:
        if math.isnan(val_loss):
            return False
        stopping = self.config.training.early_stopping
        monitor = stopping.monitor if stopping else "val_loss"
        min_delta = stopping.min_delta if stopping else 0.0
        score = -val_acc if monitor == "val_accuracy" else val_loss  # lower is better
        if state.best_score is None or score < state.best_score - min_delta:
            state.best_score, state.best_epoch, state.stale_epochs = score, epoch + 1, 0
            self.best = [p.copy() for p in self.net.params()]
            return True
        state.stale_epochs += 1
        return False

    def _finish(self, state: LoopState, stopped_early: bool) -> Outcome:
        best = getattr(self, "best", None)
        if best is not None and self.config.training.early_stopping is not None:
            # With early stopping, the weights that did best on the monitored metric.
            for p, saved in zip(self.net.params(), best):
                p[...] = saved
        model = self._model(state)
        test: dict[str, Any] | None = None
        if self.score_test and len(self.splits.x_test):
            y_test = targets(self.splits.y_test, self.net.sizes[-1], self.classify, self.net.dtype)
            a = in_chunks(self.net.predict, self.splits.x_test)
            loss = self.net.cost.fn(a, y_test)
            if self.classify:
                test = {"loss": loss, "accuracy": count_correct(a, y_test) / len(a)}
            else:  # the errors in the targets' own units too
                from fcnn_cli.metrics import regression_report

                test = {"loss": loss, "accuracy": math.nan, "per_output": regression_report(
                    model.in_target_units(a), model.in_target_units(y_test), loss,
                    model.output_names).per_output}
        save_model(self.output, model)
        self.checkpoint.unlink(missing_ok=True)
        return Outcome(model, self.output, test, state.best_epoch, stopped_early)

    def _model(self, state: LoopState) -> Model:
        s, d = self.splits, self.dataset
        return Model(self.net, s.normalizer, tuple(s.input_shape), s.class_names, s.pixel_max,
                     self.config_text, {k: np.asarray(v) for k, v in state.history.items()},
                     image=d.image, feature_names=d.feature_names, target_names=d.target_names,
                     target_normalizer=s.target_normalizer,
                     split_sizes={"train": len(s.x_train), "val": len(s.x_val),
                                  "test": len(s.x_test)},
                     diagnostics=[{k: list(v) if isinstance(v, list) else v
                                   for k, v in layer.items()} for layer in state.diagnostics])

    def model_now(self) -> Model:
        """The model as it stands, as a checkpoint would save it (its network is the live
        one, not a copy): for a reporter that looks on between epochs."""
        return self._model(self.state)

    def _snapshot(self) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        return ([p.copy() for p in self.net.params()],
                {k: np.array(v, copy=True) for k, v in self.optimizer.state().items()})

    def _save_checkpoint(self, state: LoopState) -> None:
        if self.trackers:
            state.tracking = self.trackers.state()
        arrays = {f"best/{i}": p for i, p in enumerate(getattr(self, "best", []))}
        save_checkpoint(self.checkpoint, Checkpoint(
            self._model(state), self.optimizer.state(), dataclasses.asdict(state), arrays))

    def _resume(self, path: Path) -> LoopState:
        ckpt = load_checkpoint(path)
        theirs = ckpt.model.network
        if theirs.sizes != self.net.sizes or \
                [a.name for a in theirs.activations] != [a.name for a in self.net.activations]:
            raise FcnnError(f"{path} holds a {theirs.sizes} network but the config builds "
                            f"{self.net.sizes}; resume with the config it was trained with")
        changed = changed_settings(ckpt.model.config_text, self.config_text)
        if changed:
            self.reporter.warn(f"resuming with settings that differ from the checkpoint's "
                               f"({', '.join(changed)}); the result will not match an "
                               "uninterrupted run")
        for p, saved in zip(self.net.params(), theirs.params()):
            p[...] = saved
        self.optimizer.load_state(ckpt.optimizer_state)
        best = [ckpt.arrays[f"best/{i}"] for i in range(len(self.net.params()))
                if f"best/{i}" in ckpt.arrays]
        if best:
            self.best = best
        state = loop_state(ckpt.state, path)
        layers = [(layer["units"], layer["activation"]) for layer in state.diagnostics]
        if layers and layers != [(len(w), a.name) for w, a in zip(theirs.w, theirs.activations)]:
            raise FcnnError(f"{path} is damaged: its training state's diagnostics do not "
                            "describe its network's layers; resume from another checkpoint "
                            "or train afresh")
        return state

    def _diverged(self, epoch: int, batch: int, snapshot: Any, state: LoopState) -> None:
        state.batch, state.stats = 0, {}
        if self.config.training.checkpoint_every:
            # Training ends here, so the broken weights can simply be overwritten.
            params, opt_state = snapshot
            for p, saved in zip(self.net.params(), params):
                p[...] = saved
            self.optimizer.load_state(opt_state)
            self._save_checkpoint(state)
            kept = f"; the weights from the start of epoch {epoch + 1} are in {self.checkpoint}"
        else:
            kept = ""
        raise Diverged(
            f"training diverged at epoch {epoch + 1}, batch {batch}: the cost became NaN or "
            f"infinite. Lower the learning rate (now {self.optimizer.lr:g}) or check the input "
            f"scaling (data.normalize){kept}", exit_code=1)

    def _interrupted(self, signum: int, state: LoopState) -> None:
        self._save_checkpoint(state)
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        where = f"epoch {state.epoch + 1}, batch {state.batch}" if state.batch \
            else f"the end of epoch {state.epoch}"
        raise Interrupted(f"{name}: stopped at {where}; checkpoint saved to {self.checkpoint}",
                          128 + int(signum), self.checkpoint)
