"""What a newcomer meets in the first hour: warnings for an output layer its cost cannot
read, `predict --json` lines that name their classes, whole phrases in `--help`, a start
line that tells the truth about the data, a tune that says it continues a study, a
missing-MNIST error that needs no other file, and runs that repeat bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.main import get_command
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.config import config_warnings, load_config
from fcnn_cli.data import sources
from fcnn_cli.errors import FcnnError
from fcnn_cli.store import load_model

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
DIGITS = str(ROOT / "configs" / "digits.yaml")


def _config(output: str, cost: str) -> dict:
    return {"data": {"dataset": "digits"}, "cost": cost,
            "model": {"layers": [{"units": 16}, {"units": 10, "activation": output}]}}


# --- an output layer the cost cannot read as probabilities ----------------------------


@pytest.mark.parametrize("output", ["relu", "linear", "leaky-relu", "prelu", "swish", "tanh"])
def test_an_unbounded_output_with_log_likelihood_is_warned_against(output: str) -> None:
    warnings = config_warnings(load_config(_config(output, "log-likelihood")))
    assert warnings == [f"{output} output layer with the log-likelihood cost: {output} outputs "
                        "are not probabilities; use a softmax output layer with log-likelihood "
                        "(or the quadratic cost for regression)"]


def test_sigmoid_with_log_likelihood_is_warned_against() -> None:
    (warning,) = config_warnings(load_config(_config("sigmoid", "log-likelihood")))
    assert warning.startswith("sigmoid output layer with the log-likelihood cost: sigmoid "
                              "outputs do not sum to 1")


@pytest.mark.parametrize("output", ["relu", "linear", "tanh", "swish"])
def test_an_output_outside_0_1_with_cross_entropy_is_warned_against(output: str) -> None:
    (warning,) = config_warnings(load_config(_config(output, "cross-entropy")))
    assert warning.startswith(f"{output} output layer with the cross-entropy cost: "
                              "cross-entropy needs outputs in (0, 1); use a softmax output layer")


@pytest.mark.parametrize(("output", "cost"), [("softmax", "log-likelihood"),
                                              ("sigmoid", "cross-entropy"),
                                              ("relu", "quadratic"), ("linear", "quadratic")])
def test_matching_output_and_cost_give_no_warning(output: str, cost: str) -> None:
    assert config_warnings(load_config(_config(output, cost))) == []


def test_fcnn_train_prints_the_output_cost_warning(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", DIGITS, "--quiet", "--set", "training.epochs=1",
                                 "--set", "model.layers[1].activation=relu",
                                 "--out", str(tmp_path / "m.h5")])
    assert "warning: relu output layer with the log-likelihood cost" in result.output


# --- predict --json -------------------------------------------------------------------


def test_predict_json_names_the_class_of_each_probability(digits_model: Path,
                                                         tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 17, (3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = runner.invoke(app, ["predict", str(digits_model), str(tmp_path / "x.npy"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert line["classes"] == [str(d) for d in range(10)]
        best = int(np.argmax(line["probabilities"]))
        assert line["label"] == line["classes"][best]


# --- --help ---------------------------------------------------------------------------


def _commands() -> list[tuple[str, object]]:
    group = get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.append((name, command))
        for sub, inner in getattr(command, "commands", {}).items():
            found.append((f"{name} {sub}", inner))
    return found


def test_every_command_is_listed_with_a_whole_phrase_even_in_a_narrow_terminal() -> None:
    commands = _commands()
    assert {"train", "tune", "config", "config show", "config list"} <= {n for n, _ in commands}
    for name, command in commands:
        short = command.get_short_help_str(limit=30)  # type: ignore[attr-defined]
        assert short.endswith(".") and not short.endswith(("...", "e.g.")), (name, short)


def test_config_help_lists_show_with_its_whole_phrase() -> None:
    result = runner.invoke(app, ["config", "--help"])
    assert "show  Print a recipe's YAML, to start your own." in result.output
    assert "e.g.\n" not in result.output


def test_forward_trace_names_its_learning_rate_plainly() -> None:
    result = runner.invoke(app, ["forward-trace", "--help"])
    assert "--lr LR " in result.output and "float range" not in result.output
    assert "learning rate η" in result.output


# --- the training start line ----------------------------------------------------------


def _start_line(config: str | dict, tmp_path: Path) -> str:
    result = runner.invoke(app, ["train", config if isinstance(config, str) else
                                 _write(tmp_path / "c.yaml", config),
                                 "--set", "training.epochs=1", "--out", str(tmp_path / "m.h5")])
    assert result.exit_code == 0, result.output
    return next(line for line in result.stdout.splitlines() if line.startswith("training "))


def _write(path: Path, config: dict) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_training_on_pixel_arrays_claims_no_picture_files(tmp_path: Path) -> None:
    line = _start_line(DIGITS, tmp_path)
    assert line.startswith("training digits-mlp: 64-64-10")
    assert "picture files" not in line


def test_training_on_an_image_folder_says_how_its_pictures_were_prepared(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for kind in ("a", "b"):
        (tmp_path / "pics" / kind).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 256, (10, 10), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pics" / kind / f"{i}.png")
    config = {"data": {"path": str(tmp_path / "pics"), "val_fraction": 0.25,
                       "test_fraction": 0.25, "image": {"pipeline": "resize", "size": [8, 8]}},
              "model": {"layers": [{"units": 4}, {"units": 2, "activation": "softmax"}]}}
    line = _start_line(config, tmp_path)
    assert line.endswith("; picture files prepared as resize (pad), 8×8 gray")


# --- fcnn tune ------------------------------------------------------------------------


def test_tune_says_in_one_line_that_it_continues_a_study_it_found(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    import fcnn_cli as fcnn

    config = _write(tmp_path / "c.yaml", {
        "name": "tiny", "data": {"dataset": "digits", "val_fraction": 0.2},
        "model": {"layers": [{"units": 8}, {"units": 10, "activation": "softmax"}]},
        "training": {"epochs": 1}})
    (tmp_path / "space.yaml").write_text("training.optimizer.lr: {low: 0.01, high: 0.5}\n")
    best = tmp_path / "tiny.best.yaml"
    first = fcnn.tune(config, tmp_path / "space.yaml", trials=1, out=best)
    assert first.plan.earlier == 0
    assert first.trials == first.rows and [t.number for t in first.trials] == [0]
    assert first.best_config == best and load_config(best).name == "tiny"

    result = runner.invoke(app, ["tune", config, "--space", str(tmp_path / "space.yaml"),
                                 "--trials", "2", "--out", str(best)])
    assert result.exit_code == 0, result.output
    (start,) = [line for line in result.stdout.splitlines() if line.startswith("study tiny in")]
    assert start == (f"study tiny in sqlite:///{(tmp_path / 'tiny.db').resolve()}: 2 trials, "
                     "scored on val accuracy; continuing the study: 1 earlier trial "
                     "(--study NAME starts a fresh one)")
    assert result.stdout.count("continuing the study") == 1
    assert "nothing to run" not in result.stdout

    again = runner.invoke(app, ["tune", config, "--space", str(tmp_path / "space.yaml"),
                                "--trials", "2", "--out", str(best)])
    assert again.exit_code == 0, again.output
    assert "nothing to run: the study already has 2 of --trials 2; give --trials 4 to run 2 " \
        "more" in again.stdout


# --- a dataset that is not there ------------------------------------------------------


def test_the_missing_mnist_error_says_everything_itself(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCNN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sources, "_REPO_ROOT", tmp_path / "installed")  # no checkout

    def offline(url: str) -> bytes:
        raise OSError("no network")

    monkeypatch.setattr(sources, "fetch_url", offline)
    with pytest.raises(FcnnError) as caught:
        sources.load_dataset("mnist")
    message = caught.value.message
    assert "README" not in message and "\n" not in message
    for stem in sources.IDX_FILES.values():
        assert f"{stem}.gz" in message
    assert f"into {tmp_path / 'data' / 'mnist'}/" in message
    assert "into DIR/mnist/ of your choice and set FCNN_DATA_DIR=DIR" in message
    assert sources.IDX_SOURCES["mnist"].mirrors[0] in message
    assert not (tmp_path / "cache" / "fcnn" / "mnist").exists()


# --- the same config and seed, run twice ----------------------------------------------


def test_two_separate_runs_of_one_config_give_bit_identical_weights(tmp_path: Path) -> None:
    """Each run in a fresh process, as a user runs it twice (same machine, BLAS, threads)."""
    for name in ("a", "b"):
        done = subprocess.run(
            [sys.executable, "-m", "fcnn_cli", "train", DIGITS, "--quiet",
             "--set", "training.epochs=2", "--out", str(tmp_path / f"{name}.h5")],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    a, b = (load_model(tmp_path / f"{n}.h5").network for n in ("a", "b"))
    assert all(p.tobytes() == q.tobytes() for p, q in zip(a.params(), b.params(), strict=True))


def test_a_trial_line_names_the_best_of_the_trials_up_to_it(capsys: pytest.CaptureFixture
                                                            ) -> None:
    """Several trials read in one poll: each line's best is of the trials so far, not a
    later one's."""
    from types import SimpleNamespace

    from fcnn_cli.tuning.search import TrialRow
    from fcnn_cli.ui import TrialsDisplay

    display = TrialsDisplay(live=False)
    display.start(SimpleNamespace(trials=3, metric="val_accuracy", study="s", earlier=0,
                                  url="sqlite:///s.db"))
    display.printed = set()
    display.show([TrialRow(n, "complete", {"lr": 0.1}, value, 2, 2, 0.1)
                  for n, value in enumerate([0.9, 0.5, 0.99])])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trial")]
    assert "(best 90.00%, trial 0)" in lines[1]
    assert "(best 99.00%, trial 2)" in lines[2]
