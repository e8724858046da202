"""The fcnn command end to end: train, eval, predict, errors, and output fit for pipes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.data.sources import load_dataset
from fcnn_cli.store import load_model

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_help_lists_the_subcommands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "eval", "predict", "forward-trace", "config-schema"):
        assert command in result.output


def test_a_run_of_one_command_reads_as_with_every_command_loaded() -> None:
    from typer.main import get_command_name

    from fcnn_cli.cli import _app_for

    names = [info.name or get_command_name(info.callback.__name__)
             for info in app.registered_commands if info.callback is not None]
    assert "predict" in names and "forward-trace" in names
    for name in names:
        alone = _app_for([name, "--help"])
        assert alone is not app and len(alone.registered_commands) == 1
        for args in ([name, "--help"], [name, "--no-such-option"]):
            full, trimmed = runner.invoke(app, args), runner.invoke(alone, args)
            assert (trimmed.exit_code, trimmed.output) == (full.exit_code, full.output)
    assert _app_for(["config", "list"]) is app and _app_for([]) is app


def test_version_prints_the_version() -> None:
    from fcnn_cli import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_training_digits_reaches_90_percent_test_accuracy(digits_model: Path) -> None:
    result = runner.invoke(app, ["eval", str(digits_model), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] >= 0.90
    # DESIGN §4's keys, and (additive) what was scored
    assert set(report) == {"accuracy", "loss", "n", "per_class", "confusion", "data", "split"}
    assert report["split"] == "test" and report["data"] == "digits"
    assert report["n"] == sum(map(sum, report["confusion"]))
    assert set(report["per_class"]["3"]) == {"precision", "recall", "f1", "support"}


def test_eval_and_predict_agree(digits_model: Path, tmp_path: Path) -> None:
    digits = load_dataset("digits")
    batch = digits.x_train[:20].astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    result = runner.invoke(app, ["predict", str(digits_model), str(tmp_path / "batch.npy"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [p["input"] for p in lines] == [f"{tmp_path / 'batch.npy'}[{i}]" for i in range(20)]
    model = load_model(digits_model)
    assert [p["label"] for p in lines] == list(model.predict(batch))
    for p in lines:
        assert abs(sum(p["probabilities"]) - 1) < 1e-5 and len(p["probabilities"]) == 10


def test_predict_reads_csv_batches(digits_model: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rows = load_dataset("digits").x_train[:3].reshape(3, -1)
    Path("rows.csv").write_text("\n".join(",".join(map(str, r)) for r in rows))
    result = runner.invoke(app, ["predict", str(digits_model), "rows.csv"])
    assert result.exit_code == 0, result.output
    assert "rows.csv[2]" in result.output


def test_a_reloaded_model_predicts_identically(digits_model: Path, tmp_path: Path) -> None:
    from fcnn_cli.store import save_model

    model = load_model(digits_model)
    save_model(tmp_path / "copy.h5", model)
    x = load_dataset("digits").x_train[:50].astype(np.float32)
    assert np.array_equal(load_model(tmp_path / "copy.h5").outputs(x), model.outputs(x))


def test_a_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = (ROOT / "configs" / "digits.yaml").read_text().replace("relu", "rellu")
    (tmp_path / "bad.yaml").write_text(config)
    result = runner.invoke(app, ["train", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert "model.layers[0].activation: 'rellu'" in result.output
    assert "Traceback" not in result.output


def test_an_output_layer_that_does_not_match_the_classes_names_both_numbers(tmp_path) -> None:
    result = runner.invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"),
                                 "--set", "model.layers[1].units=7", "--out",
                                 str(tmp_path / "m.h5")])
    assert result.exit_code == 2
    assert "model.layers[1].units is 7 but the data has 10 classes" in result.output


def test_non_terminal_output_has_no_redraw_codes(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "fcnn_cli", "train", str(ROOT / "configs" / "digits.yaml"),
         "--set", "training.epochs=3", "--out", str(tmp_path / "m.h5"), "--log", str(log)],
        capture_output=True, text=True, env={**os.environ, "TERM": "xterm-256color"},
        timeout=120)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    epoch_lines = [line for line in result.stdout.splitlines() if "/3 " in line]
    assert len(epoch_lines) == 3
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert {"train_loss", "val_accuracy", "lr", "seconds", "samples_per_s"} <= set(records[0])


def test_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(ROOT / "configs" / "xor.yaml"), "--quiet",
                                 "--out", str(tmp_path / "xor.h5")])
    assert result.exit_code == 0, result.output
    assert "epoch" not in result.output.split("trained")[0]
    assert "model saved to" in result.output


def test_xor_is_learned_to_100_percent(tmp_path: Path) -> None:
    runner.invoke(app, ["train", str(ROOT / "configs" / "xor.yaml"), "--quiet",
                        "--out", str(tmp_path / "xor.h5")])
    model = load_model(tmp_path / "xor.h5")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    assert (model.outputs(x)[:, 0] > 0.5).tolist() == [False, True, True, False]


def test_config_schema_prints_json_schema() -> None:
    result = runner.invoke(app, ["config-schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "Config"


def test_the_same_config_and_seed_give_bit_identical_models(tmp_path: Path) -> None:
    for name in ("a", "b"):
        runner.invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"), "--quiet",
                            "--set", "training.epochs=3", "--set", "model.layers[0].dropout=0.2",
                            "--out", str(tmp_path / f"{name}.h5")])
    a, b = load_model(tmp_path / "a.h5").network, load_model(tmp_path / "b.h5").network
    assert all(np.array_equal(p, q) for p, q in zip(a.params(), b.params()))


def test_unwise_choices_are_warned_about_before_training(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"), "--quiet",
                                 "--set", "cost=cross-entropy", "--set", "training.epochs=1",
                                 "--out", str(tmp_path / "m.h5")])
    assert result.exit_code == 0, result.output
    assert "warning: softmax with the binary cross-entropy cost" in result.output


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--debug", "train", str(tmp_path / "none.yaml")])
    assert result.exit_code != 0
    assert "config file not found" in str(result.exception)


def test_a_missing_data_path_exits_2(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "data: {path: no/such/file.npz}\nmodel: {layers: [{units: 2, activation: softmax}]}\n")
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2, result.output
    assert "no/such/file.npz" in result.output and "Traceback" not in result.output


def test_numeric_targets_train_a_regression_with_the_quadratic_cost(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (400, 3)).astype(np.float32)
    y = (x @ np.array([[0.5], [-1.0], [2.0]], dtype=np.float32) + 0.25).astype(np.float32)
    np.savez(tmp_path / "line.npz", x=x, y=y)
    (tmp_path / "c.yaml").write_text(
        f"data: {{path: {tmp_path / 'line.npz'}, test_fraction: 0.2, normalize: none}}\n"
        "model: {layers: [{units: 1, activation: linear}]}\ncost: quadratic\n"
        "training: {epochs: 40, batch_size: 16, optimizer: {name: sgd, lr: 0.1}}\n")
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--quiet",
                                 "--out", str(tmp_path / "m.h5")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.h5")  # learned on standardised targets ...
    np.testing.assert_allclose(model.predict(x[:20]), y[:20], atol=1e-3)  # ... answers in y's
    slope = model.network.w[0] * model.target_normalizer.std
    np.testing.assert_allclose(slope, [[0.5, -1.0, 2.0]], atol=1e-3)
    evaluated = runner.invoke(app, ["eval", str(tmp_path / "m.h5"), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.output)
    assert report["accuracy"] is None and report["n"] == 80 and report["mae"][0] < 1e-3


def test_predict_show_draws_the_prepared_image(digits_model: Path) -> None:
    image = ROOT / "examples" / "images" / "user-7-dark-on-white.png"
    result = runner.invoke(app, ["predict", str(digits_model), str(image), "--show"])
    assert result.exit_code == 0, result.output
    network_input = result.output.split("what the network sees (8×8):\n")[1].splitlines()
    # two pixel rows per character: 4 lines of 8 (in shades here: the runner has no colour)
    assert [len(line) for line in network_input[:4]] == [8] * 4
    assert network_input[4].startswith("┏")  # and no fifth: the table follows
    assert "the ink, the page's light divided out" in result.output  # and the steps before


def test_the_live_display_draws_bars_and_epoch_rows(tmp_path: Path, monkeypatch) -> None:
    import io

    from rich.console import Console

    from fcnn_cli import ui
    from fcnn_cli.config import load_config
    from fcnn_cli.training import Trainer

    screen = io.StringIO()
    monkeypatch.setattr(ui, "_out", Console(file=screen, force_terminal=True, width=100))
    config = load_config(ROOT / "configs" / "digits.yaml", ["training.epochs=2"])
    Trainer(config, "", tmp_path / "m.h5", ui.make_reporter(quiet=False)).run()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "samples/s" in shown and "epochs" in shown and "batches" in shown
    assert "   1/2 " in shown and "   2/2 " in shown


def test_a_log_that_is_a_folder_is_refused_before_training(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"),
                                 "--out", str(tmp_path / "m.h5"), "--log", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "is a folder; give a file name" in result.output
    assert "epoch" not in result.output


def test_a_log_that_cannot_be_written_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "no").write_text("a file, where the log's folder would be")
    result = runner.invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"), "--out",
                                 str(tmp_path / "m.h5"), "--log", str(tmp_path / "no" / "x.jsonl")])
    assert result.exit_code == 2, result.output
    assert "cannot write --log" in result.output and "is a file, not a folder" in result.output
