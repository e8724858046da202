"""TensorBoard event files for one run (`--tensorboard DIR`), written with tensorboardX.

One run is one folder under DIR (`<config name>-<date>-<time>`, or the name the caller
gives, such as a tune trial's), so TensorBoard shows each run as its own line:

- scalars, step = epoch: loss/train, loss/val, accuracy/train, accuracy/val, lr, seconds,
  diagnostics/layer<l>/<speed|saturated|dead|update_ratio>, and at the end loss/test and
  accuracy/test;
- histograms every `histograms_every` epochs and at the last one: weights/layer<l>,
  biases/layer<l> and the gradients ∂C/∂w^l, ∂C/∂b^l on the diagnostics' probe batch
  (dropout off) as gradients/layer<l>/weights and gradients/layer<l>/biases;
- the HParams plugin's session (the flattened config and the run's tags), so runs
  compare in one table whose metric columns are the scalars above.

Events are written synchronously by this thread (tensorboardX's own writer queues them
for a background thread that, once a write fails, blocks every later one: a full disk
would hang training) and flushed at most every FLUSH_SECONDS, and at the end.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.tracking import EXTRA, EpochEnd, RunEnd, RunStart

if TYPE_CHECKING:
    from fcnn_cli.nn import Network

FLUSH_SECONDS = 2.0   # fsync'ed at most this often: xor's 1500 one-millisecond epochs stay fast
SCALARS = {"train_loss": "loss/train", "val_loss": "loss/val",
           "train_accuracy": "accuracy/train", "val_accuracy": "accuracy/val",
           "lr": "lr", "seconds": "seconds"}
SERIES = ("speed", "saturated", "dead", "update_ratio")
# How a run ended, as the HParams table's status. None other gets an end record: an
# interrupted run goes on after --resume (TensorBoard keeps a folder's first end record),
# and a pruned tune trial neither succeeded nor failed (its status shows as unknown).
END_STATUS = {"finished": "STATUS_SUCCESS", "diverged": "STATUS_FAILURE",
              "failed": "STATUS_FAILURE"}
# Equal-width bins from the smallest value to the largest: TensorBoard draws about 30 of
# them. (tensorboardX's default, TensorFlow's 1549 fixed edges, makes a record tens of
# times larger, and tensorboardX checksums each record in pure Python.)
BINS = 64
HPARAMS_START, HPARAMS_END = "_hparams_/session_start_info", "_hparams_/session_end_info"


class TensorBoardTracker:
    """Writes one run's event files under `directory`. `run`: the run's folder name under
    it (a tune trial's "trial-0003"); None names it for the config and the start time.
    A resumed run (its `state()` given back in `RunStart.state`) continues its folder."""

    def __init__(self, directory: Path, histograms_every: int = 5, run: str | None = None
                 ) -> None:
        if histograms_every < 1:
            raise ValueError(f"histograms_every must be at least 1, not {histograms_every}")
        self.directory = Path(directory)
        self.histograms_every = histograms_every
        self.run = run
        self.folder: Path | None = None
        self._file: Any = None          # tensorboardX's EventsWriter, None once closed
        self._step = 0                  # the last epoch written
        self._pending: Network | None = None   # the last epoch's weights, not yet drawn
        self._probe: tuple[np.ndarray, np.ndarray] | None = None
        self._flushed = 0.0

    def state(self) -> dict[str, Any]:
        return {"run": self.folder.relative_to(self.directory).as_posix()} if self.folder else {}

    def start(self, run: RunStart) -> None:
        try:
            from tensorboardX.event_file_writer import EventsWriter
        except ImportError:
            raise FcnnError(f"--tensorboard needs the tensorboardX package; {EXTRA}") from None
        resumed = run_name(run.state.get("run"))
        folder = self.directory / (resumed or self.run or fresh_name(run.name))
        continuing = resumed is not None and folder.is_dir() and any(folder.glob("*tfevents*"))
        try:
            # Only a resumed run continues a folder: a new one never mixes into another's.
            folder = claim(folder, exclusive=resumed is None)
            # A suffix that sorts later on every start: TensorBoard reads a folder's event
            # files in name order, and two starts in one second must not share a file.
            self._file = EventsWriter(str(folder / "events"), f".{time.time_ns()}")
        except OSError as error:
            raise self._failure(folder, error) from None
        self.folder, self._step = folder, run.resumed_epoch
        self._guarded(lambda: self._open(run, continuing))

    def epoch_end(self, epoch: EpochEnd) -> None:
        if self._file is None:
            return
        self._step = epoch.epoch
        self._guarded(lambda: self._epoch(epoch))

    def end(self, run: RunEnd) -> None:
        if self._file is None:
            return
        try:
            self._guarded(lambda: self._finish(run))
        finally:
            self._close()

    def _open(self, run: RunStart, continuing: bool) -> None:
        from tensorboardX.proto.event_pb2 import SessionLog

        # Each start is a session start, as TensorFlow's writers mark it. TensorBoard takes
        # a folder's later ones for restarts and drops what it holds from their step on:
        # here the epochs an interrupted run did after its last checkpoint, done again now.
        self._event(SessionLog(status=SessionLog.START),
                    run.resumed_epoch + 1 if continuing else 0)
        if not continuing:  # TensorBoard keeps the first session record a folder holds
            self._summary(hparams_start(run), 0)
        self._flush()

    def _epoch(self, epoch: EpochEnd) -> None:
        for key, tag in SCALARS.items():
            self._scalar(tag, epoch.metrics.get(key), epoch.epoch)
        for layer in epoch.diagnostics:
            for key in SERIES:
                values = layer.get(key) or []
                if len(values) >= epoch.epoch:  # index e holds epoch e + 1
                    self._scalar(f"diagnostics/layer{layer['layer']}/{key}",
                                 values[epoch.epoch - 1], epoch.epoch)
        self._probe = epoch.probe
        if epoch.epoch % self.histograms_every == 0:
            self._histograms(epoch.network, epoch.epoch)
            self._pending = None
        else:
            # Drawn at the end if this epoch turns out to be the last one (early stopping
            # may then restore other weights into the live network).
            self._pending = snapshot(epoch.network)
        self._flush(force=False)

    def _finish(self, run: RunEnd) -> None:
        if self._pending is not None:
            self._histograms(self._pending, self._step)
        for key, value in run.test.items():
            self._scalar(f"{key.removeprefix('test_')}/test", value, self._step)
        if run.status in END_STATUS:
            self._summary(hparams_end(END_STATUS[run.status]), self._step)
        self._flush()

    def _histograms(self, network: Network, step: int) -> None:
        from tensorboardX.summary import histogram

        with np.errstate(all="ignore"):  # a diverged run's weights: NaN gradients, said already
            grads = network.backprop(*self._probe)[0] if self._probe is not None else None
        for l, (w, b) in enumerate(zip(network.w, network.b), start=1):
            drawn = [(f"weights/layer{l}", w), (f"biases/layer{l}", b)]
            if grads is not None:
                drawn += [(f"gradients/layer{l}/weights", grads.w[l - 1]),
                          (f"gradients/layer{l}/biases", grads.b[l - 1])]
            for tag, values in drawn:
                finite = values[np.isfinite(values)]  # a diverged run's NaNs cannot be binned
                if finite.size:
                    self._summary(histogram(tag, finite, BINS), step)

    def _scalar(self, tag: str, value: float | None, step: int) -> None:
        from tensorboardX.summary import scalar

        if value is not None and math.isfinite(value):  # NaN: not measured this run
            self._summary(scalar(tag, float(value)), step)

    def _summary(self, summary: Any, step: int) -> None:
        from tensorboardX.proto.event_pb2 import Event

        self._file.write_event(Event(wall_time=time.time(), step=step, summary=summary))

    def _event(self, session_log: Any, step: int) -> None:
        from tensorboardX.proto.event_pb2 import Event

        self._file.write_event(Event(wall_time=time.time(), step=step, session_log=session_log))

    def _flush(self, force: bool = True) -> None:
        now = time.monotonic()
        if force or now - self._flushed >= FLUSH_SECONDS:
            self._file.flush()
            self._flushed = now

    def _guarded(self, action: Any) -> None:
        """Run `action`; a failed write (a full disk, a folder gone) closes the file and
        becomes one FcnnError naming the folder, which the caller reports as a warning."""
        try:
            action()
        except OSError as error:
            self._close()
            raise self._failure(self.folder, error) from None

    def _close(self) -> None:
        file, self._file, self._pending = self._file, None, None
        if file is not None:
            try:
                file.close()
            except OSError:
                pass  # already reported by the write that failed

    @staticmethod
    def _failure(folder: Path | None, error: OSError) -> FcnnError:
        reason = error.strerror or str(error)
        if isinstance(error, (FileExistsError, NotADirectoryError)):
            reason = "a file is in the way of the folder"
        return FcnnError(f"cannot write TensorBoard logs to {folder}: {reason}; "
                         "give --tensorboard (tracking.tensorboard.dir) a folder you can write to")


def fresh_name(config_name: str) -> str:
    """`<config name>-<YYYYmmdd-HHMMSS>` in local time: runs sort by start, and read as such."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", config_name).strip("-.") or "run"
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}"


def claim(folder: Path, exclusive: bool) -> Path:
    """Create `folder` and return it; `exclusive`: a new run's, which never shares a
    folder: when `folder` exists, `<folder>-2`, `<folder>-3`, ... instead."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    if not exclusive:
        folder.mkdir(exist_ok=True)
        return folder
    base, n = folder.name, 1
    while True:
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            if not folder.is_dir():
                raise
            n += 1
            folder = folder.with_name(f"{base}-{n}")


def run_name(value: Any) -> str | None:
    """A run folder name kept in a checkpoint's tracking state, if it is one: relative,
    without `..`, so a damaged checkpoint cannot send the logs elsewhere."""
    if not isinstance(value, str) or not value:
        return None
    parts = Path(value).parts
    return value if not Path(value).is_absolute() and ".." not in parts else None


def snapshot(network: Network) -> Network:
    """A copy of `network` with its own weights (activations and cost shared)."""
    from fcnn_cli.nn import Network

    return Network([w.copy() for w in network.w], [b.copy() for b in network.b],
                   network.activations, network.cost, network.dropout)


def hparam_value(value: Any) -> bool | float | str | None:
    """A config value as an HParams cell: numbers, booleans and text as they are, lists
    as JSON text, None left out."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    return json.dumps(value, default=str)


def hparams_start(run: RunStart) -> Any:
    """The HParams plugin's session-start record: the flattened config and the run's
    tags (dataset, architecture, fcnn version), values the table can show."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionStartInfo

    info = SessionStartInfo(start_time_secs=time.time())
    for key, raw in {**run.tags, **run.params}.items():
        value = hparam_value(raw)
        if isinstance(value, bool):
            info.hparams[key].bool_value = value
        elif isinstance(value, float):
            info.hparams[key].number_value = value
        elif isinstance(value, str):
            info.hparams[key].string_value = value
    return plugin_summary(HPARAMS_START, HParamsPluginData(session_start_info=info))


def hparams_end(status: str) -> Any:
    from tensorboardX.proto.api_pb2 import Status
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo

    info = SessionEndInfo(status=Status.Value(status), end_time_secs=time.time())
    return plugin_summary(HPARAMS_END, HParamsPluginData(session_end_info=info))


def plugin_summary(tag: str, data: Any) -> Any:
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    data.version = 0
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
        plugin_name="hparams", content=data.SerializeToString()))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])
