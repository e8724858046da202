"""One playground session: the real `Trainer` of `fcnn train` in a thread, held at a gate.

The Trainer runs with a reporter whose `epoch_start` waits until play or step opens the
gate and whose `epoch_end` publishes a frame: a snapshot of the network (a copy taken on
the training thread, never a network mid-epoch), its test loss and accuracy, and the
pictures the page draws. Nothing else trains, so the numbers are those `fcnn train`
computes with the exported config, epoch by epoch. Reset and close end the thread by
raising a private exception at the gate (or between mini-batches).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.config import config_warnings
from fcnn_cli.errors import FcnnError
from fcnn_cli.serving.playground import frames
from fcnn_cli.serving.playground.state import CsvFiles, PlaygroundState, check_csv, exported_text

if TYPE_CHECKING:
    from fcnn_cli.boundary import Extent
    from fcnn_cli.model import Model
    from fcnn_cli.training import EpochRow, LoopState, Trainer

HISTORY = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")
RATE_WINDOW = 2.0   # seconds of recent updates that `updates_per_s` measures
JOIN_SECONDS = 30.0  # how long reset and close wait for a training thread to end


class _Stop(BaseException):
    """Ends a session's training thread (reset, close, the epoch cap): a BaseException, so
    that no handler on the way out takes it for a training error."""


@dataclasses.dataclass
class Snapshot:
    """The network as one frame shows it: a copy, with the test split's numbers; its model
    has no history: `played`, the run's own, holds it up to this epoch (and grows on)."""

    epoch: int
    model: Model
    test_loss: float
    test_accuracy: float
    played: LoopState


class Session:
    """A training thread and the frames it publishes (fcnn_cli/serving/playground)."""

    MAX_EPOCHS = 100_000   # the Trainer's cap; the exported config says the epochs played
    GRID = 32              # cells along each axis of a neuron's picture
    BOUNDARY_GRID = 96     # ... and of the decision boundary

    def __init__(self, state: PlaygroundState, csv_files: CsvFiles, work_dir: Path,
                 max_rate: float = 30.0) -> None:
        """Load the data and build the network (a bad CSV raises FcnnError here), start the
        paused training thread and publish frame 0 (epoch 0, the initial weights)."""
        self.id = secrets.token_urlsafe(9)
        self.state, self.csv_files = state, dict(csv_files)
        self.max_rate = max_rate
        self.work_dir = Path(work_dir)
        self._made_dir = not self.work_dir.exists()  # made when first written into
        self.config = state.config(self.MAX_EPOCHS, csv_files)
        # what the exports say, read now: a CSV may be gone or changed by the time they come
        self._exported = state.config_dict(self.MAX_EPOCHS, csv_files, exported=True)
        self.dataset = self.config.data.load()
        if state.dataset == "csv":
            check_csv(self.dataset, state.csv_file(csv_files))
        self.warnings = config_warnings(self.config)
        self._cond = threading.Condition()
        self._control = threading.Lock()     # one reset or close at a time
        self._names = itertools.count()
        self._version = 0
        self._frame: dict[str, Any] = {}
        self._snapshot: Snapshot | None = None
        self._listeners: list[Callable[[], None]] = []
        self._closed = False
        self.info: dict[str, Any] = {}
        self._start_run()

    # --- the controls ---------------------------------------------------------------

    def play(self) -> None:
        with self._cond:
            if self._closed or self._stopped:
                return
            self._playing, self._steps = True, 0
            self._cond.notify_all()
        self._republish()

    def pause(self) -> None:
        with self._cond:
            if self._closed or not self._playing:
                return
            self._playing = False
            self._cond.notify_all()
        self._republish()

    def step(self) -> bool:
        """Exactly one epoch, then paused; while playing, pause after the current one.
        Whether a frame is on its way (none once the run has stopped or closed)."""
        with self._cond:
            if self._closed or self._stopped:
                return False
            if not (self._playing and self._run.in_epoch):
                self._steps += 1
            self._playing = False
            self._cond.notify_all()
            return True

    def reset(self) -> None:
        """Back to epoch 0 from the same state, paused, with a new training thread."""
        with self._control:
            if self._closed:
                return
            self._end_run()
            self._start_run()

    def close(self) -> None:
        """Stop the thread and remove the session's files; idempotent."""
        with self._control:
            if self._closed:
                return
            with self._cond:
                self._closed, self._playing = True, False
                if self._frame:
                    self._frame = {**self._frame, "playing": False}
                self._cond.notify_all()
            self._end_run()
            if self._made_dir:
                with contextlib.suppress(OSError):
                    self.work_dir.rmdir()  # (only if empty: never another's files)

    # --- what the app reads ---------------------------------------------------------

    @property
    def version(self) -> int:
        return self._version

    def frame(self) -> dict[str, Any]:
        with self._cond:
            return self._frame

    def wait(self, after: int, timeout: float) -> int:
        """Block until a frame newer than `after` is published (or `timeout` seconds pass,
        or the session closes); the version then."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > after or self._closed, timeout)
            return self._version

    def listen(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` after each publish (on the training thread; for play and
        pause, on their caller's); returns the function that stops it. It must not block."""
        with self._cond:
            self._listeners.append(callback)

        def stop() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._listeners.remove(callback)
        return stop

    def history(self) -> dict[str, list[float | None]]:
        """Every epoch's train and test loss and accuracy, unthinned."""
        with self._cond:
            return {key: [v if key == "epoch" else frames.number(v) for v in values]
                    for key, values in self._history.items()}

    @property
    def epochs(self) -> int:
        """The epochs played since the start (or the last reset)."""
        with self._cond:
            return len(self._history["epoch"])

    def config_text(self, link: str | None = None) -> str:
        """The YAML `fcnn train` runs to these numbers: epochs = the latest frame's epoch
        (at least 1)."""
        with self._cond:
            epoch = self._snapshot.epoch if self._snapshot else 0
        return exported_text(self._exported, max(1, epoch), link)

    def model_bytes(self) -> bytes:
        """The latest frame's weights as an .h5 model file, as `fcnn train` with the
        exported config would save it."""
        from fcnn_cli.store import save_model

        model = self.snapshot_model()
        with self._control:  # never while close tidies the folder up
            if self._closed:
                raise FcnnError("this playground session is closed; reload the page")
            self.work_dir.mkdir(parents=True, exist_ok=True)
            path = self.work_dir / f".playground-{self.id}-{next(self._names)}.h5"
            try:
                save_model(path, model)
                return path.read_bytes()
            finally:
                path.unlink(missing_ok=True)

    def snapshot_model(self) -> Model:
        """The latest frame's model, its stored config the exported one (epochs played)."""
        import yaml

        with self._cond:
            snapshot = self._snapshot
        assert snapshot is not None
        training = self.config.training.model_copy(update={"epochs": max(1, snapshot.epoch)})
        config = self.config.model_copy(update={"training": training})
        text = yaml.safe_dump(config.model_dump(mode="json", exclude={"tracking"}),
                              sort_keys=False)
        epochs, played = snapshot.epoch, snapshot.played  # (index e is epoch e + 1)
        return dataclasses.replace(
            snapshot.model, config_text=text,
            history={key: np.asarray(values[:epochs]) for key, values in played.history.items()},
            diagnostics=[{key: value[:epochs] if isinstance(value, list) else value
                          for key, value in layer.items()} for layer in played.diagnostics])

    def inspect(self, layer: int, unit: int, point: str) -> dict[str, Any]:
        """One unit on one example, for the latest frame's weights (inspector.py)."""
        from fcnn_cli.serving.playground.inspector import inspect

        with self._cond:
            snapshot = self._snapshot
        assert snapshot is not None
        return inspect(self, snapshot, layer, unit, point)

    # --- the training thread --------------------------------------------------------

    def _start_run(self) -> None:
        with self._cond:
            self._playing, self._steps, self._stopped = False, 0, None
            self._history: dict[str, list[float]] = {key: [] for key in HISTORY}
            self._times: deque[float] = deque(maxlen=256)
            self._next_start = 0.0
        run = _Run(self)
        self._run = run
        run.thread.start()
        run.ready.wait()
        if run.error is not None:
            run.thread.join(JOIN_SECONDS)
            self._remove_files()
            raise run.error

    def _end_run(self) -> None:
        run = self._run
        with self._cond:
            run.stopping = True
            self._cond.notify_all()
        if run.thread is not threading.current_thread():
            run.thread.join(JOIN_SECONDS)
        self._remove_files()

    def _remove_files(self) -> None:
        self._run.trainer.output.unlink(missing_ok=True)
        self._run.trainer.checkpoint.unlink(missing_ok=True)

    def _gate(self, run: _Run) -> None:
        """Wait until play or step allows the next epoch (at most max_rate a second)."""
        with self._cond:
            while True:
                if run.stopping:
                    raise _Stop
                if self._steps:
                    self._steps -= 1
                    break
                wait = None
                if self._playing:
                    wait = self._next_start - time.perf_counter()
                    if wait <= 0:
                        break
                self._cond.wait(wait)
            now = time.perf_counter()
            self._next_start = now + (1 / self.max_rate if self.max_rate > 0 else 0.0)
            run.in_epoch = True

    def _publish_epoch(self, run: _Run, row: EpochRow | None) -> None:
        """Take the snapshot, score it on the test split, publish its frame."""
        trainer = run.trainer
        if run.model is None:  # (what stays the same all run, built once: its history
            run.model = trainer.model_now()  # would cost more each epoch, and a frame needs none)
        model = dataclasses.replace(run.model, network=copy.deepcopy(trainer.net))
        test_loss, test_accuracy = run.test_scores(model)
        snapshot = Snapshot(row.epoch if row else 0, model, test_loss, test_accuracy,
                            trainer.state)
        pictures = (frames.boundary_json(model, self.extent, self.BOUNDARY_GRID),
                    frames.neurons_json(model, self.extent, self.GRID))
        with self._cond:
            if run.stopping:  # (a thread that outlived its join: its frames are stale)
                raise _Stop
            if row is not None:
                values = (row.epoch, row.train_loss, row.train_accuracy, test_loss,
                          test_accuracy)
                for key, value in zip(HISTORY, values):
                    self._history[key].append(value)
                self._times.append(time.perf_counter())
            history = frames.thinned(self._history)
        frame = {
            "epoch": snapshot.epoch, "playing": False, "stopped": None, "updates_per_s": 0.0,
            "train": {"loss": frames.number(row.train_loss) if row else None,
                      "accuracy": frames.number(row.train_accuracy) if row else None},
            "test": {"loss": frames.number(test_loss),
                     "accuracy": frames.number(test_accuracy)},
            "history": history,
            "boundary": pictures[0], "neurons": pictures[1],
            "weights": frames.weights_json(model.network),
            "diagnostics": frames.diagnostics_json(trainer.state.diagnostics),
        }
        self._publish(frame, snapshot)

    def _publish(self, frame: dict[str, Any], snapshot: Snapshot | None = None) -> None:
        with self._cond:
            if snapshot is not None:
                self._snapshot = snapshot
            self._version += 1  # in the frame too: a page keeps the newest of two answers
            frame = {**frame, "playing": self._playing, "stopped": self._stopped,
                     "updates_per_s": self._rate(), "version": self._version}
            self._frame = frame
            self._cond.notify_all()
            listeners = list(self._listeners)
        for callback in listeners:
            with contextlib.suppress(Exception):  # a reader's trouble never stops training
                callback()

    def _republish(self) -> None:
        """The latest frame again, saying whether the session plays now."""
        with self._cond:
            frame = self._frame
        if frame:
            self._publish(frame)

    def _rate(self) -> float:
        """Updates per second over the last RATE_WINDOW seconds while playing."""
        now = time.perf_counter()
        recent = [t for t in self._times if now - t <= RATE_WINDOW]
        if not self._playing or len(recent) < 2 or recent[-1] <= recent[0]:
            return 0.0
        return round((len(recent) - 1) / (recent[-1] - recent[0]), 2)

    def _stop_playing(self, run: _Run, message: str) -> None:
        """Divergence or the epoch cap: the frame says why; reset starts again."""
        with self._cond:
            if run.stopping:
                return
            self._playing, self._steps, self._stopped = False, 0, message
        self._republish()

    def _started(self, run: _Run) -> None:
        """The Trainer has built its splits and network: the static info, frame 0."""
        model = run.trainer.model_now()
        if not self.info:
            self.info = self._info(run, model)
        self._publish_epoch(run, None)

    def _info(self, run: _Run, model: Model) -> dict[str, Any]:
        from fcnn_cli.boundary import extent_of
        from fcnn_cli.data.split import split_indices

        data = self.config.data
        train_rows, _, test_rows = split_indices(self.dataset, data.val_fraction,
                                                 data.test_fraction, self.config.seed)
        x, y = self.dataset.x_train, self.dataset.y_train

        def points(rows: np.ndarray) -> list[list[float]]:
            return [[float(x[i, 0]), float(x[i, 1]), int(y[i])] for i in rows]

        self.points = {"train": train_rows, "test": test_rows}
        self.extent: Extent = extent_of(model, np.asarray(x, np.float64))
        net = model.network
        return {
            "session": self.id, "query": self.state.query(), "state": self.state.as_json(),
            "architecture": net.sizes, "activations": [a.name for a in net.activations],
            "cost": net.cost.name, "classes": list(model.class_names or []),
            "features": list(self.dataset.feature_names or ["x1", "x2"]),
            "extent": {"x1": list(self.extent.x1), "x2": list(self.extent.x2)},
            "points": {"train": points(train_rows), "test": points(test_rows)},
            "warnings": list(self.warnings), "grid": self.GRID, "boundary_grid": self.BOUNDARY_GRID,
        }


class _Run:
    """One Trainer thread and the Reporter it talks to."""

    def __init__(self, session: Session) -> None:
        import yaml

        from fcnn_cli.training import Trainer

        self.session = session
        self.stopping = False
        self.in_epoch = False
        self.ready = threading.Event()
        self.error: FcnnError | None = None
        self.y_test: np.ndarray | None = None
        self.model: Model | None = None  # the run's model, its network replaced each frame
        config = session.config
        text = yaml.safe_dump(config.model_dump(mode="json", exclude={"tracking"}),
                              sort_keys=False)
        output = session.work_dir / f"playground-{session.id}.h5"  # (never written)
        self.trainer: Trainer = Trainer(config, text, output, self, dataset=session.dataset)
        self.thread = threading.Thread(target=self._main, daemon=True,
                                       name=f"fcnn-playground-{session.id}")

    def _main(self) -> None:
        from fcnn_cli.training import Diverged

        try:
            self.trainer.run()
        except _Stop:
            pass
        except Diverged as error:  # worded for the page: η is a control, scaling is not
            where = error.message.split(":")[0]  # "training diverged at epoch E, batch B"
            self.session._stop_playing(self, f"{where}: the cost became NaN or infinite; "
                                             "lower η and press reset")
        except FcnnError as error:  # before frame 0, bad data
            if not self.ready.is_set():
                self.error = error
            else:
                self.session._stop_playing(self, error.message)
        except Exception as error:  # a bug: said in the frame, never a dead silent thread
            message = f"internal error ({type(error).__name__}: {error}); please report it"
            if not self.ready.is_set():
                self.error = FcnnError(message, 1)
            else:
                self.session._stop_playing(self, message)
        finally:
            self.ready.set()

    def test_scores(self, model: Model) -> tuple[float, float]:
        """The snapshot's loss and accuracy on the test split, as `fcnn train` scores the
        trained model (the Trainer's own targets and evaluation)."""
        from fcnn_cli.training import evaluate, targets

        trainer = self.trainer
        splits, net = trainer.splits, model.network
        if self.y_test is None:
            self.y_test = targets(splits.y_test, net.sizes[-1], trainer.classify, net.dtype)
        loss, accuracy = evaluate(net, splits.x_test, self.y_test)
        return float(loss), float(accuracy)

    # --- the Reporter ---------------------------------------------------------------

    def warn(self, message: str) -> None:
        if message not in self.session.warnings:
            self.session.warnings.append(message)

    def loading(self, done: int, total: int) -> None:
        pass

    def start(self, summary: dict[str, Any]) -> None:
        self.session._started(self)
        self.ready.set()

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        self.session._gate(self)

    def batch(self, done: int, batches: int, seen: int) -> None:
        if self.stopping:
            raise _Stop

    def epoch_end(self, row: EpochRow) -> None:
        self.in_epoch = False
        self.session._publish_epoch(self, row)

    def finish(self) -> None:
        """The epoch cap: stop playing, and never let the Trainer save its model."""
        self.session._stop_playing(self, f"stopped at the playground's cap of "
                                   f"{self.session.MAX_EPOCHS:,} epochs; reset to start again")
        raise _Stop
