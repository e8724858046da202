"""`--tensorboard DIR`: event files that TensorBoard's own reader reads back: scalars per
epoch, weight/gradient histograms, the HParams session, resumed runs, failures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
hparams_metadata = pytest.importorskip("tensorboard.plugins.hparams.metadata")

from fcnn_cli.errors import FcnnError  # noqa: E402
from fcnn_cli.nn import Network  # noqa: E402
from fcnn_cli.nn import diagnostics as diag  # noqa: E402
from fcnn_cli.tracking import EpochEnd, RunEnd, RunStart  # noqa: E402
from fcnn_cli.tracking.tensorboard_log import TensorBoardTracker  # noqa: E402

PARAMS = {"seed": 3, "training.optimizer.lr": 0.25, "training.optimizer.nesterov": True,
          "training.optimizer.name": "sgd", "training.lr_schedule": None,
          "model.layers.0.units": 5, "data.classes": [0, 1]}
TAGS = {"dataset": "tiny", "architecture": "3-5-2", "fcnn_version": "0.0.0"}


class Run:
    """A tiny real network trained by plain SGD, driving a tracker as training does."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.net = Network.create([3, 5, 2], ["relu", "softmax"], rng=rng)
        self.x = rng.normal(size=(16, 3)).astype(np.float32)
        self.y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 16)]
        self.series = diag.empty_series(self.net)
        self.history: dict[int, dict[str, float]] = {}
        self.weights: dict[int, list[np.ndarray]] = {}

    def epochs(self, tracker: TensorBoardTracker, first: int, last: int,
               val: bool = True) -> None:
        for epoch in range(first, last + 1):
            before = [w.copy() for w in self.net.w]
            grads = self.net.backprop(self.x, self.y)[0]
            for l in range(len(self.net.w)):
                self.net.w[l] -= 0.5 * grads.w[l]
                self.net.b[l] -= 0.5 * grads.b[l]
            ratios = [diag.update_ratio(w0, w) for w0, w in zip(before, self.net.w)]
            diag.record(self.series, epoch - 1, diag.measure(self.net, self.x, self.y), ratios)
            metrics = {"train_loss": self.net.cost_value(self.x, self.y) + epoch,
                       "train_accuracy": 0.5 + epoch / 100, "lr": 0.5 / epoch, "seconds": 0.01,
                       "val_loss": 2.0 * epoch if val else float("nan"),
                       "val_accuracy": 0.4 + epoch / 100 if val else float("nan")}
            self.history[epoch] = metrics
            self.weights[epoch] = [w.copy() for w in self.net.w]
            tracker.epoch_end(EpochEnd(epoch, metrics, self.series, self.net, (self.x, self.y)))


def start(tracker: TensorBoardTracker, resumed: int = 0, state: dict | None = None,
          name: str = "tiny") -> None:
    tracker.start(RunStart(name, f"name: {name}\n", dict(PARAMS), dict(TAGS),
                           Path("tiny.h5"), resumed, state or {}))


def read(folder: Path) -> event_accumulator.EventAccumulator:
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0,
                                    event_accumulator.HISTOGRAMS: 0,
                                    event_accumulator.TENSORS: 0})
    return acc.Reload()


def served_steps(folder: Path, tag: str) -> list[int]:
    """The steps of `tag` as the TensorBoard server reads them (its plugin accumulator,
    which purges a restarted run's stale steps by rules of its own)."""
    from tensorboard.backend.event_processing import plugin_event_accumulator

    acc = plugin_event_accumulator.EventAccumulator(str(folder), size_guidance={"tensors": 0})
    return [event.step for event in acc.Reload().Tensors(tag)]


def run_folders(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*tfevents*")})


def scalars(acc: event_accumulator.EventAccumulator, tag: str) -> dict[int, float]:
    """step -> value; a step written twice is a failure."""
    written = [(s.step, s.value) for s in acc.Scalars(tag)]
    assert len({step for step, _ in written}) == len(written), f"{tag}: a step repeats"
    return dict(written)


def finished(tmp_path: Path, epochs: int = 5, every: int = 2, **kwargs: bool
             ) -> tuple[Run, TensorBoardTracker, event_accumulator.EventAccumulator]:
    run, tracker = Run(), TensorBoardTracker(tmp_path / "tb", histograms_every=every)
    start(tracker)
    run.epochs(tracker, 1, epochs, **kwargs)
    tracker.end(RunEnd("finished", {"test_loss": 0.125, "test_accuracy": 0.875}))
    return run, tracker, read(tmp_path / "tb" / tracker.state()["run"])


def test_scalars_are_the_history_with_epochs_as_steps(tmp_path: Path) -> None:
    run, _, acc = finished(tmp_path)
    for key, tag in (("train_loss", "loss/train"), ("val_loss", "loss/val"),
                     ("train_accuracy", "accuracy/train"), ("val_accuracy", "accuracy/val"),
                     ("lr", "lr"), ("seconds", "seconds")):
        written = scalars(acc, tag)
        assert list(written) == [1, 2, 3, 4, 5], tag
        expected = [np.float32(run.history[e][key]) for e in written]
        assert list(written.values()) == pytest.approx(expected, rel=1e-6), tag
    assert scalars(acc, "loss/test") == {5: 0.125}
    assert scalars(acc, "accuracy/test") == {5: 0.875}


def test_metrics_not_measured_are_left_out(tmp_path: Path) -> None:
    _, _, acc = finished(tmp_path, val=False)
    assert "loss/train" in acc.Tags()["scalars"]
    assert "loss/val" not in acc.Tags()["scalars"]
    assert "accuracy/val" not in acc.Tags()["scalars"]


def test_each_layers_diagnostics_are_scalars_per_epoch(tmp_path: Path) -> None:
    run, _, acc = finished(tmp_path, epochs=3)
    tags = acc.Tags()["scalars"]
    for layer in run.series:
        l = layer["layer"]
        for key in ("speed", "saturated", "dead", "update_ratio"):
            tag = f"diagnostics/layer{l}/{key}"
            if layer[key] is None:  # relu has no saturation, softmax neither
                assert tag not in tags
                continue
            assert list(scalars(acc, tag).values()) == pytest.approx(layer[key], rel=1e-6)
    assert "diagnostics/layer1/dead" in tags and "diagnostics/layer2/dead" not in tags


def test_histograms_every_n_epochs_and_at_the_last(tmp_path: Path) -> None:
    run, _, acc = finished(tmp_path, epochs=5, every=2)
    sizes = {"weights/layer1": 15, "biases/layer1": 5, "gradients/layer1/weights": 15,
             "gradients/layer1/biases": 5, "weights/layer2": 10, "biases/layer2": 2,
             "gradients/layer2/weights": 10, "gradients/layer2/biases": 2}
    assert set(acc.Tags()["histograms"]) == set(sizes)
    for tag, count in sizes.items():
        drawn = acc.Histograms(tag)
        assert [h.step for h in drawn] == [2, 4, 5], tag
        assert all(h.histogram_value.num == count for h in drawn), tag
    weights = {h.step: h.histogram_value for h in acc.Histograms("weights/layer1")}
    assert weights[4].sum == pytest.approx(float(run.weights[4][0].sum()), rel=1e-5)
    assert weights[4].min == pytest.approx(float(run.weights[4][0].min()), rel=1e-6)


def test_gradient_histograms_are_backprop_on_the_probe_batch(tmp_path: Path) -> None:
    run, _, acc = finished(tmp_path, epochs=2, every=2)
    grads = run.net.backprop(run.x, run.y)[0]
    drawn = acc.Histograms("gradients/layer1/weights")[0].histogram_value
    assert drawn.sum == pytest.approx(float(grads.w[0].sum()), rel=1e-5, abs=1e-9)
    assert drawn.sum_squares == pytest.approx(float((grads.w[0] ** 2).sum()), rel=1e-5)


def test_the_last_epoch_is_drawn_as_it_was_not_as_restored(tmp_path: Path) -> None:
    # Early stopping puts the best epoch's weights back after the last epoch_end: the
    # histogram at the last step must still show that last epoch's weights.
    run, tracker = Run(), TensorBoardTracker(tmp_path / "tb", histograms_every=10)
    start(tracker)
    run.epochs(tracker, 1, 3)
    run.net.w[0][...] = 7.0
    tracker.end(RunEnd("finished"))
    acc = read(tmp_path / "tb" / tracker.state()["run"])
    (drawn,) = acc.Histograms("weights/layer1")
    assert drawn.step == 3
    assert drawn.histogram_value.max == pytest.approx(float(run.weights[3][0].max()), rel=1e-6)


def session(acc: event_accumulator.EventAccumulator) -> tuple[object, object | None]:
    content = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start_info = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG])
    end = content.get(hparams_metadata.SESSION_END_INFO_TAG)
    return start_info, end and hparams_metadata.parse_session_end_info_plugin_data(end)


def test_hparams_session_holds_the_config_and_the_tags(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import api_pb2

    _, _, acc = finished(tmp_path)
    start_info, end_info = session(acc)
    hp = start_info.hparams
    assert hp["training.optimizer.lr"].number_value == 0.25
    assert hp["seed"].number_value == 3
    assert hp["training.optimizer.nesterov"].bool_value is True
    assert hp["training.optimizer.name"].string_value == "sgd"
    assert hp["data.classes"].string_value == "[0, 1]"
    assert hp["architecture"].string_value == "3-5-2"
    assert "training.lr_schedule" not in hp
    assert end_info.status == api_pb2.STATUS_SUCCESS


def test_an_interrupted_run_resumes_in_its_folder_without_going_back(tmp_path: Path) -> None:
    root = tmp_path / "tb"
    first, tracker = Run(), TensorBoardTracker(root)
    start(tracker)
    first.epochs(tracker, 1, 3)  # the checkpoint holds epoch 2; epoch 3 is done again
    tracker.end(RunEnd("interrupted"))
    state = tracker.state()

    again, resumed = Run(seed=1), TensorBoardTracker(root)
    start(resumed, resumed=2, state=state)
    again.epochs(resumed, 3, 4)
    resumed.end(RunEnd("finished"))

    assert resumed.state() == state
    (folder,) = run_folders(root)
    acc = read(folder)
    losses = scalars(acc, "loss/train")
    assert list(losses) == [1, 2, 3, 4]
    assert served_steps(folder, "loss/train") == [1, 2, 3, 4]
    assert served_steps(folder, "weights/layer1") == [4]
    assert losses[2] == pytest.approx(first.history[2]["train_loss"], rel=1e-6)
    assert losses[3] == pytest.approx(again.history[3]["train_loss"], rel=1e-6)
    from tensorboard.plugins.hparams import api_pb2

    assert session(acc)[1].status == api_pb2.STATUS_SUCCESS


def test_new_runs_never_share_a_folder(tmp_path: Path) -> None:
    root = tmp_path / "tb"
    for _ in range(2):
        tracker = TensorBoardTracker(root)
        start(tracker)
        Run().epochs(tracker, 1, 1)
        tracker.end(RunEnd("finished"))
    folders = run_folders(root)
    assert len(folders) == 2
    assert all(f.parent == root and f.name.startswith("tiny-") for f in folders)
    assert all(scalars(read(f), "lr") == {1: 0.5} for f in folders)


def test_a_given_run_name_is_the_folder(tmp_path: Path) -> None:
    tracker = TensorBoardTracker(tmp_path / "tb", run="study/trial-0003")
    start(tracker)
    tracker.end(RunEnd("finished"))
    assert tracker.state() == {"run": "study/trial-0003"}
    assert run_folders(tmp_path / "tb") == [tmp_path / "tb" / "study" / "trial-0003"]


def test_a_damaged_state_cannot_send_logs_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "tb"
    tracker = TensorBoardTracker(root)
    start(tracker, resumed=2, state={"run": "../escaped"})
    tracker.end(RunEnd("finished"))
    assert not (tmp_path / "escaped").exists()
    assert [f.parent for f in run_folders(root)] == [root]


def test_a_file_in_the_way_fails_at_start_naming_the_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "tb"
    blocker.write_text("keep me")
    tracker = TensorBoardTracker(blocker)
    with pytest.raises(FcnnError, match="cannot write TensorBoard logs to .*tb.*a file is in "
                                        "the way"):
        start(tracker)
    assert blocker.read_text() == "keep me"
    tracker.epoch_end(EpochEnd(1, {}, [], Run().net, None))  # nothing to write to: no error
    tracker.end(RunEnd("finished"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_folder_fails_at_start(tmp_path: Path) -> None:
    root = tmp_path / "tb"
    root.mkdir(mode=0o500)
    with pytest.raises(FcnnError, match=r"cannot write TensorBoard logs to .*tb.*ermission"):
        start(TensorBoardTracker(root))
    assert list(root.iterdir()) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_error_then_nothing(tmp_path: Path, monkeypatch) -> None:
    import fcnn_cli.tracking.tensorboard_log as tensorboard_log

    monkeypatch.setattr(tensorboard_log, "FLUSH_SECONDS", 0.0)
    run, tracker = Run(), TensorBoardTracker(tmp_path / "tb")
    start(tracker)
    # Every later write lands on a device that is always full.
    tracker._file._py_recordio_writer._writer = open("/dev/full", "wb")  # noqa: SIM115
    with pytest.raises(FcnnError, match="cannot write TensorBoard logs to .*tb.*No space left"):
        run.epochs(tracker, 1, 1)
    run.epochs(tracker, 2, 3)  # given up: no more errors, training goes on
    tracker.end(RunEnd("finished"))


@pytest.mark.filterwarnings("error")  # NaN weights: no numpy warnings on stderr either
def test_a_diverged_run_ends_as_a_failure(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import api_pb2

    run, tracker = Run(), TensorBoardTracker(tmp_path / "tb", histograms_every=1)
    start(tracker)
    run.epochs(tracker, 1, 1)
    run.net.w[0][0, 0] = np.inf  # cannot be binned; the other weights still are
    tracker.epoch_end(EpochEnd(2, {"train_loss": float("nan")}, [], run.net, (run.x, run.y)))
    tracker.end(RunEnd("diverged"))
    acc = read(tmp_path / "tb" / tracker.state()["run"])
    assert [h.histogram_value.num for h in acc.Histograms("weights/layer1")] == [15, 14]
    assert session(acc)[1].status == api_pb2.STATUS_FAILURE


def test_without_tensorboardx_start_says_how_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboardX.event_file_writer", None)
    with pytest.raises(FcnnError, match=r"--tensorboard needs the tensorboardX package.*"
                                        r"fcnn\[track\]"):
        start(TensorBoardTracker(tmp_path / "tb"))
    assert not (tmp_path / "tb").exists()


ROOT = Path(__file__).resolve().parents[1]


def test_fcnn_train_tensorboard_writes_one_run_tensorboard_reads(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app
    from fcnn_cli.store import load_model

    root = tmp_path / "tb"
    result = CliRunner().invoke(app, [
        "train", "digits", "--tensorboard", str(root), "--out", str(tmp_path / "m.h5"),
        "--set", "training.epochs=3", "--quiet"])
    assert result.exit_code == 0, result.output
    history = load_model(tmp_path / "m.h5").history
    (folder,) = run_folders(root)
    assert folder.parent == root and folder.name.startswith("digits-mlp-")
    acc = read(folder)
    for key, tag in (("train_loss", "loss/train"), ("val_accuracy", "accuracy/val")):
        written = scalars(acc, tag)
        assert list(written) == [1, 2, 3]
        assert list(written.values()) == pytest.approx(history[key].tolist(), rel=1e-6)
    assert set(scalars(acc, "accuracy/test")) == {3}
    assert [h.step for h in acc.Histograms("gradients/layer1/weights")] == [3]  # every 5, last
    assert acc.Histograms("weights/layer1")[0].histogram_value.num == 64 * 64
    start_info, _ = session(acc)
    assert start_info.hparams["training.optimizer.lr"].number_value == pytest.approx(0.1)
    assert start_info.hparams["architecture"].string_value == "64-64-10"


def test_an_interrupted_training_resumes_into_the_same_run(tmp_path: Path) -> None:
    import signal

    from typer.testing import CliRunner

    from fcnn_cli.cli import app
    from fcnn_cli.config import load_config
    from fcnn_cli.tracking import Tracking
    from fcnn_cli.training import Interrupted, Trainer
    from fcnn_cli.ui import QuietReporter

    class InterruptAt(QuietReporter):  # Ctrl-C after batch 3 of epoch 3
        epoch = 0

        def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
            self.epoch = epoch

        def batch(self, done: int, batches: int, seen: int) -> None:
            if (self.epoch, done) == (3, 3):
                os.kill(os.getpid(), signal.SIGINT)

    root, digits = tmp_path / "tb", ROOT / "configs" / "digits.yaml"
    settings = ["training.epochs=4", "training.early_stopping=null"]
    tracking = Tracking(tensorboard={"dir": str(root), "histograms_every": 2})
    with pytest.raises(Interrupted) as caught:
        Trainer(load_config(digits, settings), "", tmp_path / "m.h5", InterruptAt(),
                tracking=tracking).run()
    result = CliRunner().invoke(app, [
        "train", str(digits), "--out", str(tmp_path / "m.h5"), "--tensorboard", str(root),
        "--resume", str(caught.value.checkpoint), "--quiet",
        *[a for s in settings for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    (folder,) = run_folders(root)
    acc = read(folder)
    assert list(scalars(acc, "loss/train")) == [1, 2, 3, 4]
    assert served_steps(folder, "loss/train") == [1, 2, 3, 4]
    assert [h.step for h in acc.Histograms("weights/layer1")] == [2, 4]
    from tensorboard.plugins.hparams import api_pb2

    assert session(acc)[1].status == api_pb2.STATUS_SUCCESS


def test_the_config_sets_the_histogram_interval_while_the_flag_names_the_folder(
        tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    result = CliRunner().invoke(app, [
        "train", "digits", "--tensorboard", str(tmp_path / "tb"), "--out",
        str(tmp_path / "m.h5"), "--set", "training.epochs=4", "--set",
        "tracking.tensorboard.histograms_every=2", "--quiet"])
    assert result.exit_code == 0, result.output
    (folder,) = run_folders(tmp_path / "tb")
    assert [h.step for h in read(folder).Histograms("weights/layer1")] == [2, 4]


def test_a_tensorboard_section_without_a_folder_is_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    result = CliRunner().invoke(app, [
        "train", "digits", "--out", str(tmp_path / "m.h5"), "--set",
        "tracking.tensorboard.histograms_every=2", "--quiet"])
    assert result.exit_code == 2
    assert "tracking.tensorboard.dir or --tensorboard DIR" in result.output
    assert not (tmp_path / "m.h5").exists()


def test_each_tune_trial_is_a_run_folder_of_its_own(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    root = tmp_path / "tb"
    result = CliRunner().invoke(app, [
        "tune", "digits", "--space", "digits", "--trials", "2", "--tensorboard", str(root),
        "--out", str(tmp_path / "best.yaml"), "--set", "training.epochs=2"])
    assert result.exit_code == 0, result.output
    assert run_folders(root) == [root / "trial-0000", root / "trial-0001"]
