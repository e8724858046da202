"""Per-layer diagnostics kept in the model file, carried through checkpoints, shown by info."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli.api import load_model
from fcnn_cli.cli import app
from fcnn_cli.config import load_config
from fcnn_cli.training import Interrupted, Trainer
from fcnn_cli.ui import QuietReporter

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
# Momentum, dropout and a learning-rate schedule all have to survive the interruption.
RESUME = ["training.epochs=4", "training.early_stopping=null", "model.layers[0].dropout=0.3",
          "training.lr_schedule.name=exponential"]


class SignalAt(QuietReporter):
    """Asks the loop to stop (as Ctrl-C does) after batch `batch` of epoch `epoch`."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at, self.epoch = (epoch, batch), 0

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        self.epoch = epoch

    def batch(self, done: int, batches: int, seen: int) -> None:
        if (self.epoch, done) == self.at:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGINT)


def trainer(out: Path, reporter: QuietReporter) -> Trainer:
    return Trainer(load_config("digits", RESUME), "", out, reporter)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diagnostics") / "m.h5"
    trainer(out, QuietReporter()).run()
    return out


def info_json(path: Path) -> dict:
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- through save and load, and through a checkpoint -----------------------------------

def test_the_diagnostics_round_trip_through_save_and_load(tmp_path: Path) -> None:
    outcome = trainer(tmp_path / "m.h5", QuietReporter()).run()
    loaded = load_model(tmp_path / "m.h5").diagnostics
    assert loaded == outcome.model.diagnostics
    assert [len(layer["speed"]) for layer in loaded] == [4, 4]
    assert loaded[0]["saturated"] is None and loaded[1]["dead"] is None  # relu, softmax


@pytest.mark.parametrize("epoch,batch", [(2, 7), (2, 40), (3, 41)])  # mid-epoch; just
def test_an_interrupted_and_resumed_run_records_the_same_diagnostics_bit_for_bit(  # before
        tmp_path: Path, epoch: int, batch: int) -> None:  # the last batch; the epoch's end
    straight = trainer(tmp_path / "a.h5", QuietReporter()).run()
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "b.h5", SignalAt(epoch, batch)).run()
    resumed = trainer(tmp_path / "b.h5", QuietReporter()).run(caught.value.checkpoint)
    assert resumed.model.diagnostics == straight.model.diagnostics
    assert load_model(tmp_path / "b.h5").diagnostics == straight.model.diagnostics


def test_a_checkpoint_from_before_diagnostics_resumes_with_the_missing_epochs_nan(
        tmp_path: Path) -> None:
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "m.h5", SignalAt(3, 7)).run()
    with h5py.File(caught.value.checkpoint, "r+") as f:
        state = json.loads(f["training"].attrs["state"])
        del state["diagnostics"]
        f["training"].attrs["state"] = json.dumps(state)
        del f["history/diagnostics"]
    resumed = trainer(tmp_path / "m.h5", QuietReporter()).run(caught.value.checkpoint)
    speed = resumed.model.diagnostics[0]["speed"]
    assert len(speed) == 4 and all(math.isnan(v) for v in speed[:2]) and speed[2] > 0


def test_a_checkpoint_with_damaged_diagnostics_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "m.h5", SignalAt(2, 7)).run()
    with h5py.File(caught.value.checkpoint, "r+") as f:
        state = json.loads(f["training"].attrs["state"])
        state["diagnostics"][0]["speed"] = ["fast"]
        f["training"].attrs["state"] = json.dumps(state)
    result = runner.invoke(app, ["train", "digits", "--out", str(tmp_path / "m.h5"),
                                 *[f"--set={item}" for item in RESUME],
                                 "--resume", str(caught.value.checkpoint)])
    assert result.exit_code == 2
    assert "is damaged: its training state diagnostics are not one record per layer" \
        in result.output
    assert "Traceback" not in result.output and not (tmp_path / "m.h5").exists()


# --- old and damaged files ---------------------------------------------------------------

def test_a_model_from_before_diagnostics_loads_with_none(trained: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.h5"
    shutil.copy(trained, old)
    with h5py.File(old, "r+") as f:
        del f["history/diagnostics"]
    assert load_model(old).diagnostics == []
    assert info_json(old)["diagnostics"] == []
    result = runner.invoke(app, ["info", str(old)])
    assert result.exit_code == 0 and "learning curves" in result.output
    assert "how each layer learned" not in result.output


def damage(path: Path, how: str) -> None:
    with h5py.File(path, "r+") as f:
        group = f["history/diagnostics"]
        if how == "missing layer":
            del group["2"]
        elif how == "short series":
            data = group["1/update_ratio"][:-1]
            del group["1/update_ratio"]
            group["1"].create_dataset("update_ratio", data=data)
        elif how == "fraction above 1":
            group["1/dead"][0] = 1.5
        elif how == "wrong units":
            group["2"].attrs["units"] = 11
        elif how == "text series":
            del group["1/speed"]
            group["1"].create_dataset("speed", data=np.array(["a"] * 4, dtype=h5py.string_dtype()))


@pytest.mark.parametrize("how,fragment", [
    ("missing layer", "/history/diagnostics holds '1', expected the groups 1 to 2, one per "
                      "layer"),
    ("short series", "/history/diagnostics/1/update_ratio has shape (3,), expected (4,), one "
                     "value per epoch as the other series"),
    ("fraction above 1", "/history/diagnostics/1/dead has values out of range, expected "
                         "fractions in [0, 1]"),
    ("wrong units", "/history/diagnostics/2 describes 11 'softmax' units, but layer 2 has 10 "
                    "softmax"),
    ("text series", "/history/diagnostics/1/speed holds text values, expected numbers"),
])
def test_a_damaged_diagnostics_group_is_one_clear_line(trained: Path, tmp_path: Path, how: str,
                                                       fragment: str) -> None:
    broken = tmp_path / "broken.h5"
    shutil.copy(trained, broken)
    damage(broken, how)
    result = runner.invoke(app, ["info", str(broken)])
    assert result.exit_code == 2
    assert f"{broken} is damaged: {fragment}" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


# --- shown by info -------------------------------------------------------------------------

def test_info_json_gives_the_diagnostics_per_layer_not_finite_as_null(trained: Path,
                                                                       tmp_path: Path) -> None:
    model = load_model(trained)
    assert info_json(trained)["diagnostics"] == model.diagnostics
    model.diagnostics[0]["update_ratio"][1] = math.nan
    model.diagnostics[1]["update_ratio"][2] = math.inf
    model.save(tmp_path / "m.h5")
    diagnostics = info_json(tmp_path / "m.h5")["diagnostics"]
    assert [d["layer"] for d in diagnostics] == [1, 2]
    assert set(diagnostics[0]) == {"layer", "units", "activation", "speed", "saturated", "dead",
                                   "update_ratio"}
    assert diagnostics[0]["update_ratio"][1] is None and diagnostics[1]["update_ratio"][2] is None


def test_info_draws_a_sparkline_per_layer_and_diagnostic_with_its_range(trained: Path) -> None:
    result = runner.invoke(app, ["info", str(trained)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("how each layer")))
    block = "\n".join(lines[start:])
    assert "speed of learning ‖∂C/∂b‖: Euclidean norm of their mean δ; one log scale" in block
    assert "dead units: z ≤ 0 on every one of them" in block
    assert "saturated units" not in block  # relu and softmax cannot saturate
    speeds = [v for layer in load_model(trained).diagnostics for v in layer["speed"]]
    rows = [line for line in lines[start:] if line.startswith("    layer ")][:2]
    assert [row.split()[:3] for row in rows] == [["layer", "1", "relu"], ["layer", "2", "softmax"]]
    for row in rows:  # every layer on one scale: the lowest and highest of all of them
        assert row.endswith(f"[{min(speeds):.4g}, {max(speeds):.4g}]")
        assert any(bar in row for bar in "▁▂▃▄▅▆▇█")
    assert sum(line.startswith("    layer 2 softmax") for line in lines) == 2  # speed, ratio
    dead = next(line for line in lines[start:] if "dead units" in line)
    assert lines[lines.index(dead) + 1].endswith("[0%, 100%]")  # fractions on a fixed scale


def test_info_states_the_range_of_each_learning_curve(trained: Path) -> None:
    result = runner.invoke(app, ["info", str(trained)])
    history = load_model(trained).history["train_loss"]
    row = next(line for line in result.output.splitlines() if line.startswith("  train loss"))
    assert row.endswith(f"[{history.min():.4g}, {history.max():.4g}]")


def test_the_overhead_benchmark_reports_both_arms_and_their_ratio() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "diagnostics.py"),
                           "--recipe", "digits", "--repeats", "1"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "diagnostics on" in done.stdout and "ratio" in done.stdout
    assert "of the epoch" in done.stdout


def test_info_keeps_the_diagnostics_inside_80_columns(trained: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from fcnn_cli import ui

    screen = io.StringIO()
    console = type(ui._out)(file=screen, width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(ui, "_out", console)
    assert runner.invoke(app, ["info", str(trained)]).exit_code == 0
    lines = screen.getvalue().splitlines()
    assert any(line.startswith("    layer 1 relu") for line in lines)
    assert [line for line in lines if len(line) > 80] == []
