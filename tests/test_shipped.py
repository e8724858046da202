"""Built-in names: recipes, the shipped model and the example images work without a checkout."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli import shipped
from fcnn_cli.cli import app
from fcnn_cli.config import load_config
from fcnn_cli.errors import FcnnError

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_every_config_in_configs_is_a_recipe_by_its_name() -> None:
    assert list(shipped.recipes()) == sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))


def test_every_recipe_is_a_valid_config() -> None:
    for name in shipped.recipes():
        assert load_config(name).model.layers


def test_config_list_names_and_describes_every_recipe() -> None:
    result = runner.invoke(app, ["config", "list"])
    assert result.exit_code == 0, result.output
    for name in shipped.recipes():
        assert name in result.output
    assert "headline recipe" in result.output


def test_config_show_prints_the_recipe_as_it_is() -> None:
    result = runner.invoke(app, ["config", "show", "mnist"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "configs" / "mnist.yaml").read_text(encoding="utf-8")


def test_config_show_of_an_unknown_name_lists_the_recipes() -> None:
    result = runner.invoke(app, ["config", "show", "mnsit"])
    assert result.exit_code == 2
    assert "did you mean 'mnist'" in result.stderr and "fashion-mnist" in result.stderr


def test_train_takes_a_recipe_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", "digits", "--set", "training.epochs=1",
                                 "--out", str(tmp_path / "d.h5"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d.h5").is_file()


def test_a_file_wins_over_a_recipe_of_the_same_name(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("digits").write_text((ROOT / "configs" / "xor.yaml").read_text(encoding="utf-8"))
    assert load_config("digits").data.dataset == "xor"


def test_a_missing_path_with_folders_is_not_taken_for_a_name() -> None:
    with pytest.raises(FcnnError, match="config file not found: configs/nope.yaml"):
        shipped.config_path("configs/nope.yaml")


def test_an_unknown_recipe_name_is_one_line_listing_the_names() -> None:
    result = runner.invoke(app, ["train", "mnits"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "did you mean 'mnist'" in result.stderr
    for name in shipped.recipes():
        assert name in result.stderr


def test_the_shipped_model_is_the_committed_one_stored_as_float16() -> None:
    committed, packaged = ROOT / "models" / "mnist.h5", shipped.models()["mnist"]
    assert packaged.stat().st_size < 0.55 * committed.stat().st_size
    with h5py.File(committed) as full, h5py.File(packaged) as small:
        assert small.attrs["config"] == full.attrs["config"]
        for l in full["layers"]:
            for name in ("w", "b"):
                stored = small[f"layers/{l}/{name}"]
                assert stored.dtype == np.float16
                assert np.array_equal(stored[()], full[f"layers/{l}/{name}"][()].astype(np.float16))
        for key in ("mean", "std"):
            assert np.array_equal(small[f"preprocess/{key}"][()], full[f"preprocess/{key}"][()])


def test_the_shipped_model_loads_as_float32() -> None:
    from fcnn_cli.api import load_model

    model = load_model("mnist")
    assert all(w.dtype == np.float32 for w in model.network.w)
    assert model.architecture == [784, 800, 800, 10]


def test_the_shipped_and_committed_models_give_the_same_mnist_test_labels(
        mnist_dir: Path) -> None:
    from fcnn_cli.api import load_model
    from fcnn_cli.data.sources import load_dataset

    x = load_dataset(None, mnist_dir).x_test
    full = load_model(ROOT / "models" / "mnist.h5").predict(x)
    small = load_model("mnist").predict(x)
    assert np.array_equal(full, small)


def test_predict_takes_the_shipped_model_and_an_example_image_by_name() -> None:
    result = runner.invoke(app, ["predict", "mnist", "user-7-dark-on-white.png", "--json"])
    assert result.exit_code == 0, result.output
    assert '"label": "7"' in result.stdout


def test_predict_without_inputs_reads_every_example_image() -> None:
    result = runner.invoke(app, ["predict", "mnist", "--json"])
    assert result.exit_code == 0, result.output
    assert "example images shipped with fcnn" in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(shipped.example_images()) >= 10


def test_forward_trace_takes_the_shipped_model_by_name() -> None:
    result = runner.invoke(app, ["forward-trace", "--model", "mnist", "--input",
                                 "mnist-test-0000-label-7.png", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"architecture": [784, 800, 800, 10]' in result.stdout


def test_eval_of_an_unknown_model_name_suggests_the_shipped_one() -> None:
    result = runner.invoke(app, ["eval", "mnsit"])
    assert result.exit_code == 2 and "did you mean 'mnist'" in result.stderr
