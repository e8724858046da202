"""The search: trials that train sampled configs, workers that run them, a watcher.

A worker asks the study for a trial, trains the config with that trial's values set in,
reports each epoch's validation value (the pruner may stop the trial there) and returns
the best one. The test split is never scored. Workers stop when the study holds `trials`
trials that finished or are running (failed ones don't count, so a re-run after Ctrl-C
tops the study up), at the timeout, or on Ctrl-C. `--jobs J` starts J worker processes;
every display reads the trials back from the storage, so it shows all workers' trials,
those of other machines too.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from fcnn_cli.data import PLANAR_DATASETS
from fcnn_cli.errors import FcnnError
from fcnn_cli.tuning import study as optuna_side
from fcnn_cli.tuning.plan import Plan

if TYPE_CHECKING:
    from fcnn_cli.config import Config
    from fcnn_cli.data.sources import Dataset
    from fcnn_cli.training import EpochRow, StopSignals

FAILURES_IN_A_ROW = 3  # then the search stops: something is wrong with every trial


@dataclass
class TrialRow:
    """One trial as the storage holds it: its values, state and progress."""

    number: int
    state: str                      # running, complete, pruned, failed, waiting
    params: dict[str, Any]
    value: float | None             # the best validation value so far
    epochs: int                     # epochs run
    planned: int | None             # epochs the config asked for
    seconds: float | None
    note: str = ""
    epoch_seconds: float | None = None  # a pruned trial's mean epoch time

    @property
    def saved_seconds(self) -> float:
        """For a pruned trial, the training time its remaining epochs would have taken at
        most (early stopping might have ended it sooner)."""
        if self.state != "pruned" or not self.planned or self.epoch_seconds is None:
            return 0.0
        return max(0, self.planned - self.epochs) * self.epoch_seconds


@dataclass
class SearchOutcome:
    plan: Plan
    rows: list[TrialRow]
    best: TrialRow | None
    importances: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None       # the signal that ended the search early, if one did
    exit_code: int = 0
    best_config: Path | None = None  # the best values written into the base config
    warnings: list[str] = field(default_factory=list)  # tracking problems, said once each

    @property
    def trials(self) -> list[TrialRow]:
        """`rows` under the name Optuna's `Study.trials` has: every trial of the study."""
        return self.rows

    @property
    def storage(self) -> str:
        return optuna_side.shown_url(self.plan.url)

    def count(self, state: str) -> int:
        return sum(row.state == state for row in self.rows)

    @property
    def saved_seconds(self) -> float:
        return sum(row.saved_seconds for row in self.rows)

    @property
    def trained_seconds(self) -> float:
        return sum(row.seconds or 0.0 for row in self.rows if row.state != "running")


def rows_of(study: Any) -> list[TrialRow]:
    now = time.time()
    rows = []
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower().replace("fail", "failed")
        steps = t.intermediate_values
        value = t.value if t.value is not None else _best(steps.values(), study)
        end = t.datetime_complete.timestamp() if t.datetime_complete else now
        seconds = end - t.datetime_start.timestamp() if t.datetime_start else None
        rows.append(TrialRow(t.number, state, dict(t.params), value, len(steps),
                             t.user_attrs.get("epochs_planned"), seconds,
                             t.user_attrs.get("note", ""), t.user_attrs.get("epoch_seconds")))
    return rows


def best_of(rows: list[TrialRow], maximize: bool) -> TrialRow | None:
    """The complete trial with the best value (the first of equals), or None."""
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    sign = -1 if maximize else 1
    return min(done, key=lambda r: sign * r.value) if done else None  # type: ignore[operator]


def _best(values: Any, study: Any) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    return max(finite) if study.direction.name == "MAXIMIZE" else min(finite)


class Stopped(Exception):
    """A signal came before the trial's training began (which then has its own)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class BadTrial(Exception):
    """This trial's config could not train (an invalid combination of values): the trial
    fails, the search goes on."""


class Objective:
    """Train one trial's config; return its best validation value."""

    def __init__(self, plan: Plan, dataset: Dataset | None = None) -> None:
        self.plan = plan
        self.datasets: dict[str, Dataset] = {}
        self.failure: str | None = None  # why the last trial failed
        self.stop: StopSignals | None = None  # the worker's: a signal before training
        if dataset is not None:
            self.datasets[self._data_key(plan.space.apply(plan.raw, {}, "the config"))] = dataset

    def __call__(self, trial: Any) -> float:
        self.failure = None
        values = {p.key: p.value(optuna_side.suggest(trial, p)) for p in self.plan.space.params}
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        try:
            config = self.plan.space.apply(self.plan.raw, values, f"trial {trial.number}")
        except FcnnError as error:
            return self._bad(trial, error)
        trial.set_user_attr("epochs_planned", config.training.epochs)
        config.training.checkpoint_every = 0
        return self._train(trial, config)

    def _train(self, trial: Any, config: Config) -> float:
        from fcnn_cli.training import Diverged, Interrupted, Trainer

        reporter = TrialReporter(trial, self.plan.metric, self.plan.maximize)
        trainer = None
        try:
            dataset = self._dataset(config)
            self._share_cores(config, dataset)
            if self.stop is not None and self.stop.signal is not None:
                raise Stopped(self.stop.signal)  # came while the data loaded
            with tempfile.TemporaryDirectory(prefix="fcnn-trial-") as folder:
                trainer = Trainer(config, "", Path(folder) / "trial.h5", reporter,
                                  dataset=dataset, score_test=False,
                                  tracking=self.plan.tracking, trial=trial.number,
                                  params=dict(trial.params))
                try:
                    trainer.run()
                finally:
                    _note_tracking(trial, trainer, reporter)
        except Diverged as error:  # as bad as a trial gets: pruned, so TPE avoids it
            trial.set_user_attr("note", error.message.split(":")[0])
            raise optuna_side.pruned() from None
        except (Interrupted, Stopped):
            trial.set_user_attr("note", "stopped by a signal")
            raise
        except FcnnError as error:
            return self._bad(trial, error)
        if reporter.best is None:
            return self._bad(trial, FcnnError("no validation value: the config has no "
                                              "validation split"))
        return reporter.best

    def _bad(self, trial: Any, error: FcnnError) -> NoReturn:
        self.failure = error.message
        trial.set_user_attr("note", error.message)
        raise BadTrial(error.message)

    @staticmethod
    def _data_key(config: Config) -> str:
        key = config.data.model_dump(
            mode="json", include={"dataset", "path", "label_column", "feature_columns", "task",
                                  "image", "samples", "noise"})
        if config.data.path is None and config.data.dataset in PLANAR_DATASETS:
            key["seed"] = config.seed  # the 2-D datasets are drawn from it
        return json.dumps(key, sort_keys=True)

    def _dataset(self, config: Config) -> Dataset:
        """Loaded once per worker for every trial that reads the same data the same way."""
        key = self._data_key(config)
        if key not in self.datasets:
            self.datasets[key] = config.data.load()
        return self.datasets[key]

    def _share_cores(self, config: Config, dataset: Dataset) -> None:
        """J workers on one machine: each gets cores/J BLAS threads, unless the config
        names a number (and small networks keep their one thread)."""
        if self.plan.jobs == 1 or config.training.threads is not None:
            return
        from fcnn_cli.threads import available_cores, default_threads

        sizes = [math.prod(dataset.input_shape)] + [layer.units for layer in config.model.layers]
        share = max(1, available_cores() // self.plan.jobs)
        config.training.threads = default_threads(sizes, config.training.batch_size, share)


class TrialReporter:
    """A training Reporter that reports each epoch's validation value to the trial and
    stops the training when the pruner says so."""

    def __init__(self, trial: Any, metric: str, maximize: bool) -> None:
        self.trial, self.metric, self.maximize = trial, metric, maximize
        self.best: float | None = None
        self.seconds = 0.0  # training time so far, for the time pruning saves
        self.warnings: list[str] = []  # the trainer's and trackers' warnings

    def epoch_end(self, row: EpochRow) -> None:
        value = getattr(row, self.metric)
        if math.isnan(value):
            return
        if self.best is None or (value > self.best if self.maximize else value < self.best):
            self.best = value
        self.trial.report(value, row.epoch)
        self.seconds += row.seconds
        if self.trial.should_prune():
            self.trial.set_user_attr("epoch_seconds", self.seconds / row.epoch)
            pruned = optuna_side.pruned()
            pruned.tracking_status = "pruned"  # type: ignore[attr-defined]  # (its MLflow run)
            raise pruned

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def loading(self, done: int, total: int) -> None: ...
    def start(self, summary: dict[str, Any]) -> None: ...
    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None: ...
    def batch(self, done: int, batches: int, seen: int) -> None: ...
    def finish(self) -> None: ...


def _note_tracking(trial: Any, trainer: Any, reporter: TrialReporter) -> None:
    """Keep the trial's MLflow run id and its trackers' warnings in the study, where the
    search (in another process, perhaps) finds them."""
    if trainer.trackers is None:
        return
    run_id = trainer.trackers.state().get("mlflow", {}).get("run_id")
    if run_id:
        trial.set_user_attr("mlflow_run_id", run_id)
    problems = [m for m in reporter.warnings if "MLflow" in m or "tracking" in m]
    if problems:
        trial.set_user_attr("tracking_warning", problems[0])


def run_worker(plan: Plan, dataset: Dataset | None = None) -> int | None:
    """Run trials until the study is full, the time is up or a signal comes; return the
    signal that stopped it, if one did."""
    from fcnn_cli.training import Interrupted, StopSignals

    storage = optuna_side.open_storage(plan.url)
    study = optuna_side.open_study(storage, plan.study, plan.maximize, plan.seed, plan.prune,
                                   plan.identity())
    objective = Objective(plan, dataset)
    started, failures = time.monotonic(), 0
    with StopSignals().installed() as stop:
        objective.stop = stop
        while stop.signal is None and optuna_side.taken(study) < plan.trials:
            if plan.timeout is not None and time.monotonic() - started >= plan.timeout:
                break
            try:
                study.optimize(objective, n_trials=1, catch=(BadTrial,))
            except Interrupted as stopped:
                return int(stopped.exit_code - 128)
            except Stopped as stopped:
                return stopped.signum
            except KeyboardInterrupt:
                return int(signal.SIGINT)
            failures = failures + 1 if objective.failure else 0
            if failures >= FAILURES_IN_A_ROW:
                raise FcnnError(f"{FAILURES_IN_A_ROW} trials in a row failed; the last: "
                                f"{objective.failure}")
    return stop.signal


class Watcher:
    """Reads the study's trials every `interval` seconds in a thread and passes them to
    `show`; once more when it stops."""

    def __init__(self, plan: Plan, show: Callable[[list[TrialRow]], None],
                 interval: float = 1.0) -> None:
        self.plan, self.show, self.interval = plan, show, interval
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watcher:
        storage = optuna_side.open_storage(self.plan.url, heartbeat=False)
        self.study = optuna_side.load_study(storage, self.plan.study)
        self.show(rows_of(self.study))  # the study as this run finds it
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.show(rows_of(self.study))

    def _watch(self) -> None:
        while not self.done.wait(self.interval):
            try:
                self.show(rows_of(self.study))
            except Exception:  # a busy database: show the next reading instead
                continue


def search(plan: Plan, study: Any, dataset: Dataset, show: Callable[[list[TrialRow]], None],
           warn: Callable[[str], None] | None = None, interval: float = 1.0) -> SearchOutcome:
    """Run the search of `study` (opened by `study.open_study`) on this machine with
    `plan.jobs` workers, and say how it went; `warn` hears tracking problems as well as
    the outcome's `warnings`."""
    warnings: list[str] = []

    def said(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    parent = StudyRun(plan, study, said)
    plan = parent.plan
    try:
        with Watcher(plan, show, interval):
            if plan.jobs == 1:
                stopped = run_worker(plan, dataset)
            else:
                stopped = _run_processes(plan)
    except BaseException:
        parent.end(study, None, "failed")
        raise
    rows = rows_of(study)
    outcome = SearchOutcome(plan, rows, best_of(rows, plan.maximize),
                            optuna_side.importances(study), warnings=warnings)
    if stopped is not None:
        name = signal.Signals(stopped).name
        outcome.stopped, outcome.exit_code = name, 128 + int(stopped)
    parent.end(study, outcome.best, "interrupted" if stopped is not None else "finished")
    return outcome


class StudyRun:
    """The study's MLflow run, the trials' runs its children: made (or, for a study that
    continues, taken up again) before the first trial, its id handed to every worker."""

    def __init__(self, plan: Plan, study: Any, warn: Callable[[str], None]) -> None:
        self.plan, self.warn, self.tracker = plan, warn, None
        tracking = plan.tracking
        if tracking is None or tracking.mlflow is None:
            return
        from dataclasses import replace

        from fcnn_cli import __version__
        from fcnn_cli.tracking import RunStart
        from fcnn_cli.tracking.mlflow_log import MlflowTracker

        options = {"run_name": plan.study, **{k: v for k, v in tracking.mlflow.items() if v}}
        self.tracker = MlflowTracker(warn, files=False, **options)
        earlier = study.user_attrs.get("mlflow_run_id")
        params = {"study": plan.study, "metric": plan.metric, "trials": plan.trials,
                  **{f"space.{p.key}": p.describe()
                     for p in plan.space.params}}
        self.tracker.start(RunStart(
            str(plan.raw.get("name", plan.study)), "", params,
            {"fcnn_version": __version__, "study": plan.study}, Path(),
            state={"run_id": earlier} if isinstance(earlier, str) else {}))
        run_id = self.tracker.run_id if self.tracker.online else None
        if run_id is None:  # said already: the trials are not logged to MLflow either
            self.plan = replace(plan, tracking=replace(tracking, mlflow=None) if
                                tracking.tensorboard else None)
            return
        study.set_user_attr("mlflow_run_id", run_id)
        self.plan = replace(plan, tracking=replace(tracking, parent_run_id=run_id))

    def end(self, study: Any, best: TrialRow | None, status: str) -> None:
        if self.tracker is None:
            return
        from fcnn_cli.tracking import RunEnd

        trials = study.get_trials(deepcopy=False)
        problems = [t.user_attrs["tracking_warning"] for t in trials
                    if "tracking_warning" in t.user_attrs]
        if problems:
            self.warn(f"{len(problems)} trial(s) not fully logged to MLflow; the first: "
                      f"{problems[0]}")
        if best is not None:
            self.tracker.tag({"best_trial": best.number,
                              **{f"best.{k}": v for k, v in best.params.items()}})
            self.tracker.metric({"best_value": best.value}, None, int(time.time() * 1000))
            child = next((t.user_attrs.get("mlflow_run_id") for t in trials
                          if t.number == best.number), None)
            if child and self.tracker.online:
                self.tracker._try(lambda: self.tracker.client.set_tag(child, "best_trial",
                                                                      "true"),
                                  "did not take the best trial's tag")
        self.tracker.end(RunEnd(status))


def _run_processes(plan: Plan) -> int | None:
    """`plan.jobs` worker processes; a signal to this process is passed on to them as
    SIGTERM (each finishes its batch and records its trial), once."""
    context = multiprocessing.get_context("spawn")  # no BLAS or SQLite state inherited
    errors = context.Queue()
    workers = [context.Process(target=_worker_process, args=(plan, errors), daemon=False)
               for _ in range(plan.jobs)]
    received: list[int] = []

    def forward(signum: int, frame: Any) -> None:
        if not received:
            for worker in workers:
                if worker.pid is not None and worker.is_alive():
                    os.kill(worker.pid, signal.SIGTERM)
        received.append(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    if problems:
        raise FcnnError(problems[0][0], problems[0][1])
    if received:
        return received[0]
    codes = [w.exitcode for w in workers if w.exitcode and w.exitcode > 128]
    return codes[0] - 128 if codes else None


def _worker_process(plan: Plan, errors: Any) -> None:
    """A worker process: its problems go back to the parent, which says them once."""
    try:
        stopped = run_worker(plan)
    except FcnnError as error:
        errors.put((error.message, error.exit_code))
        raise SystemExit(error.exit_code) from None
    if stopped is not None:
        raise SystemExit(128 + stopped)
