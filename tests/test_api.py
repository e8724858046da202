"""The Python API: load_model, Model.predict/predict_proba/evaluate/trace, train."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import fcnn_cli
from fcnn_cli.cli import app
from fcnn_cli.data.sources import load_dataset

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "examples" / "images"
runner = CliRunner()


def test_importing_the_package_loads_neither_numpy_nor_the_api() -> None:
    code = "import sys, fcnn_cli; print('numpy' in sys.modules, 'fcnn_cli.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_load_model_by_name_predicts_the_label_of_an_image_file() -> None:
    model = fcnn_cli.load_model("mnist")
    assert list(model.predict(IMAGES / "mnist-test-0000-label-7.png")) == ["7"]
    assert list(model.predict([str(IMAGES / "mnist-test-0001-label-2.png"), "user-9-photo.jpg"])
                ) == ["2", "9"]


def test_predict_proba_of_an_array_matches_predict_json(digits_model: Path,
                                                        tmp_path: Path) -> None:
    x = load_dataset("digits").x_train[:7].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = runner.invoke(app, ["predict", str(digits_model), str(tmp_path / "x.npy"), "--json"])
    by_cli = [json.loads(line)["probabilities"] for line in result.stdout.splitlines()]
    by_api = fcnn_cli.load_model(digits_model).predict_proba(x)
    assert by_api.shape == (7, 10)
    assert np.array_equal(by_api, np.array(by_cli, dtype=np.float32))


def test_predict_takes_one_example_in_the_models_input_shape(digits_model: Path) -> None:
    model = fcnn_cli.load_model(digits_model)
    one = load_dataset("digits").x_train[0]
    assert one.shape == (8, 8)
    assert model.predict(one).shape == (1,)
    assert model.predict(one.reshape(-1))[0] == model.predict(one[None])[0]


def test_predict_refuses_an_array_of_the_wrong_width(digits_model: Path) -> None:
    with pytest.raises(fcnn_cli.FcnnError, match="each row has 5 values but the model takes 64"):
        fcnn_cli.load_model(digits_model).predict(np.zeros((3, 5)))


def test_predict_refuses_nan_naming_the_place(digits_model: Path) -> None:
    x = np.zeros((2, 64))
    x[1, 3] = np.nan
    with pytest.raises(fcnn_cli.FcnnError, match="row 2, column 4 is nan"):
        fcnn_cli.load_model(digits_model).predict(x)


def test_evaluate_gives_what_eval_json_prints(digits_model: Path) -> None:
    report = fcnn_cli.load_model(digits_model).evaluate()
    printed = json.loads(runner.invoke(app, ["eval", str(digits_model), "--json"]).stdout)
    assert report.to_json() == printed
    assert (report.data, report.split) == ("digits", "test")


def test_trace_gives_what_forward_trace_json_prints(digits_model: Path, tmp_path: Path) -> None:
    from fcnn_cli.trace import trace_json

    x = load_dataset("digits").x_train[:1].astype(np.float32)
    np.save(tmp_path / "one.npy", x)
    by_api = trace_json(fcnn_cli.load_model(digits_model).trace(x[0], target="3"))
    result = runner.invoke(app, ["forward-trace", "--model", str(digits_model), "--input",
                                 str(tmp_path / "one.npy"), "--target", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert by_api["layers"] == json.loads(result.stdout)["layers"]


def test_trace_refuses_several_examples(digits_model: Path) -> None:
    with pytest.raises(fcnn_cli.FcnnError, match="holds 2 inputs"):
        fcnn_cli.load_model(digits_model).trace(np.zeros((2, 64)))


def test_train_returns_the_model_its_history_and_test_scores(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture
                                                              ) -> None:
    result = fcnn_cli.train("digits", out=tmp_path / "m.h5", training__epochs=2)
    assert len(result.history["val_accuracy"]) == 2
    assert result.test is not None and result.test["accuracy"] > 0.8
    saved = fcnn_cli.load_model(tmp_path / "m.h5")
    x = load_dataset("digits").x_train[:5]
    assert np.array_equal(saved.predict(x), result.model.predict(x))
    assert capsys.readouterr() == ("", "")  # the API prints nothing


def test_train_settings_by_keyword_dotted_key_or_set_string(tmp_path: Path) -> None:
    result = fcnn_cli.train("xor", out=tmp_path / "x.h5", overrides=["training.epochs=3"],
                            **{"training.batch_size": 2}, seed=5)
    assert len(result.history["lr"]) == 3
    config = fcnn_cli.load_config(ROOT / "configs" / "xor.yaml", training__batch_size=2, seed=5)
    assert (config.training.batch_size, config.seed) == (2, 5)


def test_train_calls_progress_once_per_epoch(tmp_path: Path) -> None:
    rows = []
    fcnn_cli.train("xor", out=tmp_path / "x.h5", progress=rows.append, training__epochs=4)
    assert [row.epoch for row in rows] == [1, 2, 3, 4]


def test_train_returns_its_warnings_instead_of_printing_them(tmp_path: Path) -> None:
    result = fcnn_cli.train("digits", out=tmp_path / "m.h5", cost="cross-entropy",
                            training__epochs=1)
    assert any("softmax with the binary cross-entropy" in w for w in result.warnings)


def test_train_takes_a_mapping(tmp_path: Path) -> None:
    config = {"data": {"dataset": "xor"}, "model": {"layers": [
        {"units": 4, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}]},
        "cost": "cross-entropy", "training": {"epochs": 2, "batch_size": 4}}
    result = fcnn_cli.train(config, out=tmp_path / "x.h5")
    assert result.model.architecture == [2, 4, 1]


def test_a_bad_setting_raises_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(fcnn_cli.FcnnError, match="training.epochs: input should be greater"):
        fcnn_cli.train("xor", out=tmp_path / "x.h5", training__epochs=0)


def test_a_model_describes_itself(digits_model: Path) -> None:
    model = fcnn_cli.load_model(digits_model)
    assert repr(model) == f"<fcnn Model 64-64-10, 10 classes, from {digits_model}>"
