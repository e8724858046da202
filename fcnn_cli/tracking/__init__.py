"""Runs where teams already look: MLflow and TensorBoard (the `track` extra).

Training calls a `Tracker` at the start of a run, after each epoch and at the end; each
tracker writes to one place (mlflow_log.py imports mlflow, tensorboard_log.py imports
tensorboardX; nothing else does). A tracker that fails never costs the run: `Trackers`
catches its error, says so once as a warning, and stops calling it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from fcnn_cli.nn import Network


@dataclass
class RunStart:
    """What a tracker learns when a run starts."""

    name: str                        # the config's name
    config_text: str                 # the resolved config as YAML
    params: dict[str, Any]           # the resolved config flattened: "training.optimizer.lr": 0.1
    tags: dict[str, str]             # fcnn_version, dataset, architecture ("784-800-800-10")
    output: Path                     # where the model will be saved
    resumed_epoch: int = 0           # epochs already done (a resumed run), else 0
    state: dict[str, Any] = field(default_factory=dict)  # what a tracker stored last time
                                     # (checkpoint's tracking state, e.g. an MLflow run id)


@dataclass
class EpochEnd:
    """One finished epoch: `epoch` counts from 1; metrics train_loss, train_accuracy,
    val_loss, val_accuracy, lr, seconds (NaN where not measured); `diagnostics` the
    per-layer records so far (Model.diagnostics' shape); `network` the live network (read
    only); `probe` the diagnostics' probe batch (x, y) for gradient histograms."""

    epoch: int
    metrics: dict[str, float]
    diagnostics: list[dict[str, Any]]
    network: Network
    probe: tuple[np.ndarray, np.ndarray] | None


@dataclass
class RunEnd:
    """A run that ended: `status` "finished", "interrupted" (a checkpoint was written: the
    run continues on --resume), "diverged" or "failed"; test metrics when scored;
    artifacts to attach (name -> file: the config YAML, the model, the history JSON, the
    report)."""

    status: str
    test: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)


class Tracker(Protocol):
    def start(self, run: RunStart) -> None: ...
    def epoch_end(self, epoch: EpochEnd) -> None: ...
    def end(self, run: RunEnd) -> None: ...
    def state(self) -> dict[str, Any]: ...  # kept in checkpoints, given back on resume


Warn = Callable[[str], None]
EXTRA = "install the track extra: pip install 'fcnn[track]'"


@dataclass(frozen=True)
class Tracking:
    """Where runs are tracked: the config's `tracking` section with `--track mlflow` and
    `--tensorboard DIR` set in. Picklable: tune's worker processes get it in their plan."""

    mlflow: dict[str, Any] | None = None       # tracking_uri, experiment, run_name
    tensorboard: dict[str, Any] | None = None  # dir, histograms_every
    parent_run_id: str | None = None           # tune: the study's MLflow run

    def __bool__(self) -> bool:
        return self.mlflow is not None or self.tensorboard is not None

    def check(self) -> None:
        """Fail before any training when a tracker's package is missing."""
        import importlib.util

        from fcnn_cli.errors import FcnnError

        for wanted, package, what in ((self.mlflow, "mlflow", "--track mlflow"),
                                      (self.tensorboard, "tensorboardX", "--tensorboard")):
            if wanted is not None and importlib.util.find_spec(package) is None:
                raise FcnnError(f"{what} needs the {package} package; {EXTRA}")
        if self.mlflow is not None:
            from fcnn_cli.tracking.mlflow_log import check_uri

            check_uri(self.mlflow.get("tracking_uri"))

    def trackers(self, warn: Warn, trial: int | None = None) -> Trackers:
        """The trackers for one run; `trial`: a tune trial's number (a child run, its
        own TensorBoard folder)."""
        named: list[tuple[str, Tracker]] = []
        if self.mlflow is not None:
            from fcnn_cli.tracking.mlflow_log import MlflowTracker

            options = dict(self.mlflow)
            if trial is not None:
                options["run_name"] = f"trial {trial}"
            named.append(("mlflow", MlflowTracker(warn, parent_run_id=self.parent_run_id,
                                                   files=trial is None, **options)))
        if self.tensorboard is not None:
            from fcnn_cli.tracking.tensorboard_log import TensorBoardTracker

            named.append(("tensorboard", TensorBoardTracker(
                Path(self.tensorboard["dir"]).expanduser(),
                self.tensorboard.get("histograms_every", 5),
                run=None if trial is None else f"trial-{trial:04d}")))
        return Trackers(named, warn)


class Trackers:
    """Several trackers as one. A tracker that raises is named in one warning (URLs'
    credentials masked) and not called again: tracking never costs the run."""

    def __init__(self, named: list[tuple[str, Tracker]], warn: Warn) -> None:
        self.named = list(named)
        self.warn = warn

    def __bool__(self) -> bool:
        return bool(self.named)

    @property
    def wants_files(self) -> bool:
        """Whether a tracker keeps the run's files (MLflow's artifacts) and can take them:
        a server that stopped answering gets none (the report page takes seconds)."""
        return any(name == "mlflow" and getattr(t, "online", True) for name, t in self.named)

    def start(self, run: RunStart) -> None:
        for name, tracker in list(self.named):
            mine = dataclasses.replace(run, state=run.state.get(name) or {})
            self._call(name, tracker, lambda t, r=mine: t.start(r))

    def epoch_end(self, epoch: EpochEnd) -> None:
        for name, tracker in list(self.named):
            self._call(name, tracker, lambda t: t.epoch_end(epoch))

    def end(self, run: RunEnd) -> None:
        for name, tracker in list(self.named):
            self._call(name, tracker, lambda t: t.end(run))

    def state(self) -> dict[str, Any]:
        """Each tracker's state by name: kept in checkpoints, given back on resume."""
        states: dict[str, Any] = {}
        for name, tracker in list(self.named):
            self._call(name, tracker, lambda t, n=name: states.__setitem__(n, t.state()))
        return states

    def _call(self, name: str, tracker: Tracker, action: Callable[[Tracker], Any]) -> None:
        try:
            action(tracker)
        except Exception as error:  # whatever a tracker's library raises: the run goes on
            from fcnn_cli.sanitize import mask_urls, visible

            self.named = [(n, t) for n, t in self.named if t is not tracker]
            text = visible(mask_urls(" ".join(str(error).split())))[:200]
            self.warn(f"{name} tracking stopped ({type(error).__name__}: {text}); "
                      "training goes on without it")


def flat_params(node: Any, prefix: str = "") -> dict[str, Any]:
    """A resolved config as MLflow-style params: `training.optimizer.lr`, list items by
    index (`model.layers.0.units`), the names MLflow accepts."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        items = enumerate(node)
    else:
        return {prefix.rstrip("."): node}
    flat: dict[str, Any] = {}
    for key, value in items:
        flat.update(flat_params(value, f"{prefix}{key}."))
    return flat
