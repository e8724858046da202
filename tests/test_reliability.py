"""Nothing lost: interruption, resume, atomic saves, divergence."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.config import load_config
from fcnn_cli.store import load_checkpoint, load_model
from fcnn_cli.training import Interrupted, Trainer
from fcnn_cli.ui import QuietReporter

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "configs" / "digits.yaml"
# Momentum, dropout and early-stopping state all have to survive the interruption.
RESUME_SETTINGS = ["training.epochs=4", "training.early_stopping=null",
                   "model.layers[0].dropout=0.3", "training.lr_schedule.name=exponential"]


class SignalAt(QuietReporter):
    """Sends this process a signal after batch `batch` of epoch `epoch`."""

    def __init__(self, epoch: int, batch: int, signum: int = signal.SIGINT) -> None:
        self.at, self.signum, self.epoch = (epoch, batch), signum, 0

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        self.epoch = epoch

    def batch(self, done: int, batches: int, seen: int) -> None:
        if (self.epoch, done) == self.at:
            os.kill(os.getpid(), self.signum)


def trainer(out: Path, reporter: QuietReporter, overrides: list[str]) -> Trainer:
    return Trainer(load_config(DIGITS, overrides), "", out, reporter)


@pytest.mark.parametrize("epoch,batch,dtype", [
    (2, 7, "float32"), (3, 41, "float32"),  # mid-epoch; the epoch's last batch
    (2, 7, "float64"),
])
def test_an_interrupted_and_resumed_run_ends_bit_identical(tmp_path: Path, epoch: int,
                                                           batch: int, dtype: str) -> None:
    settings = [*RESUME_SETTINGS, f"model.dtype={dtype}"]
    straight = trainer(tmp_path / "a.h5", QuietReporter(), settings).run()
    stopped = trainer(tmp_path / "b.h5", SignalAt(epoch, batch), settings)
    with pytest.raises(Interrupted) as caught:
        stopped.run()
    assert caught.value.exit_code == 130
    resumed = trainer(tmp_path / "b.h5", QuietReporter(), settings).run(caught.value.checkpoint)
    for p, q in zip(straight.model.network.params(), resumed.model.network.params()):
        assert np.array_equal(p, q)
    assert resumed.model.history["val_loss"].tolist() == straight.model.history["val_loss"].tolist()


def test_sigterm_checkpoints_and_exits_143(tmp_path: Path) -> None:
    stopped = trainer(tmp_path / "m.h5", SignalAt(1, 3, signal.SIGTERM), RESUME_SETTINGS)
    with pytest.raises(Interrupted) as caught:
        stopped.run()
    assert caught.value.exit_code == 143
    state = load_checkpoint(caught.value.checkpoint).state
    assert (state["epoch"], state["batch"]) == (0, 3)


def start_training(tmp_path: Path, epochs: int = 100000) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fcnn_cli", "train", str(DIGITS), "--out", str(tmp_path / "m.h5"),
         "--set", f"training.epochs={epochs}", "--set", "training.early_stopping=null"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_ctrl_c_saves_a_checkpoint_prints_the_resume_command_and_exits_130(tmp_path) -> None:
    process = start_training(tmp_path)
    wait_for(tmp_path / "m.ckpt.h5")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "checkpoint saved to" in stderr and "Traceback" not in stderr
    assert f"resume with: fcnn train {DIGITS}" in stderr and "--resume" in stderr
    assert load_checkpoint(tmp_path / "m.ckpt.h5").state["epoch"] >= 1


def test_a_resumed_run_continues_from_the_checkpoint(tmp_path: Path) -> None:
    process = start_training(tmp_path, epochs=60)
    wait_for(tmp_path / "m.ckpt.h5")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    result = CliRunner().invoke(app, [
        "train", str(DIGITS), "--out", str(tmp_path / "m.h5"), "--set", "training.epochs=60",
        "--set", "training.early_stopping=null", "--resume", str(tmp_path / "m.ckpt.h5")])
    assert result.exit_code == 0, result.output
    assert "resumed at epoch" in result.output
    assert len(load_model(tmp_path / "m.h5").history["train_loss"]) == 60


def test_resuming_with_another_architecture_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "m.h5", SignalAt(1, 2), RESUME_SETTINGS).run()
    result = CliRunner().invoke(app, ["train", str(DIGITS), "--set", "model.layers[0].units=9",
                                      "--out", str(tmp_path / "m.h5"),
                                      "--resume", str(caught.value.checkpoint)])
    assert result.exit_code == 2
    assert "resume with the config it was trained with" in result.output


WRITER = """
import sys, numpy as np
from fcnn_cli.nn import Network
from fcnn_cli.data.split import Normalizer
from fcnn_cli.store import Model, save_model
net = Network.create([2000, 2000, 10], ["relu", "softmax"], rng=np.random.default_rng(0))
model = Model(net, Normalizer("none", np.zeros(()), np.ones(())), (2000,), list("0123456789"))
i = 0
while True:
    net.b[1][:] = i
    save_model(sys.argv[1], model)
    i += 1
    print(i, flush=True)
"""


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.07])
def test_killing_a_writer_mid_save_leaves_a_loadable_model(tmp_path: Path, delay: float) -> None:
    target = tmp_path / "m.h5"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()  # one complete save exists; the next one is under way
    time.sleep(delay)
    process.kill()
    process.wait()
    model = load_model(target)
    assert model.network.w[0].shape == (2000, 2000)
    assert len(set(model.network.b[1].tolist())) == 1  # one whole save, not a mix


def test_divergence_stops_with_exit_1_and_keeps_the_last_good_weights(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "train", str(DIGITS), "--out", str(tmp_path / "m.h5"), "--set", "training.optimizer.lr=1e6",
        "--set", "cost=quadratic", "--set", "model.layers[1].activation=linear"])
    assert result.exit_code == 1, result.output
    assert "training diverged at epoch 1, batch" in result.output
    assert "Lower the learning rate" in result.output
    network = load_checkpoint(tmp_path / "m.ckpt.h5").model.network
    assert all(np.isfinite(p).all() for p in network.params())
    assert not (tmp_path / "m.h5").exists()


def test_a_second_ctrl_c_aborts_at_once_and_the_last_checkpoint_stays_intact(tmp_path) -> None:
    process = start_training(tmp_path)
    wait_for(tmp_path / "m.ckpt.h5")
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    load_checkpoint(tmp_path / "m.ckpt.h5")
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written temporary file left behind


def test_resuming_with_changed_settings_warns_that_the_run_will_differ(tmp_path: Path) -> None:
    import yaml

    config = load_config(DIGITS, RESUME_SETTINGS)
    text = yaml.safe_dump(config.model_dump(mode="json"))
    with pytest.raises(Interrupted) as caught:
        Trainer(config, text, tmp_path / "m.h5", SignalAt(1, 2)).run()
    overrides = [*RESUME_SETTINGS, "training.optimizer.lr=0.01", "training.epochs=5"]
    result = CliRunner().invoke(app, [
        "train", str(DIGITS), "--quiet", "--out", str(tmp_path / "m.h5"),
        "--resume", str(caught.value.checkpoint), *[a for o in overrides for a in ("--set", o)]])
    assert result.exit_code == 0, result.output
    assert "differ from the checkpoint's (training.optimizer.lr: 0.1 → 0.01)" in result.output


def test_a_resumed_epoch_reports_its_whole_time_and_its_own_throughput(tmp_path: Path) -> None:
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "m.h5", SignalAt(2, 20), RESUME_SETTINGS).run()
    spent = load_checkpoint(caught.value.checkpoint).state["epoch_seconds"]
    assert spent > 0
    resumed = trainer(tmp_path / "m.h5", QuietReporter(), RESUME_SETTINGS).run(
        caught.value.checkpoint)
    assert resumed.model.history["seconds"][1] > spent
