"""Property tests: any valid config trains; no junk file ever produces a traceback."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.config import ModelConfig, validate
from fcnn_cli.training import Trainer
from fcnn_cli.ui import QuietReporter

ACTIVATIONS = list(ModelConfig.model_fields["layers"].annotation.__args__[0]  # type: ignore
                   .model_fields["activation"].annotation.__args__)
runner = CliRunner()
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

hidden_layer = st.fixed_dictionaries({
    "units": st.integers(1, 24), "activation": st.sampled_from(ACTIVATIONS),
    "dropout": st.sampled_from([0.0, 0.0, 0.2, 0.5])})
configs = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "data": st.fixed_dictionaries({
        "dataset": st.just("digits"), "val_fraction": st.sampled_from([0.0, 0.1, 0.3]),
        "test_fraction": st.sampled_from([0.0, 0.2]),
        "normalize": st.sampled_from(["scale", "standardize", "none"])}),
    "model": st.fixed_dictionaries({
        "layers": st.lists(hidden_layer, max_size=3),
        "init": st.sampled_from(["he", "glorot", "nielsen", "normal"]),
        "dtype": st.sampled_from(["float32", "float64"]),
        "output": st.sampled_from(ACTIVATIONS)}),
    "cost": st.sampled_from(["quadratic", "cross-entropy", "log-likelihood"]),
    "training": st.fixed_dictionaries({
        "epochs": st.just(1), "batch_size": st.integers(1, 2000),
        "l2": st.sampled_from([0.0, 1e-4]),
        "optimizer": st.fixed_dictionaries({
            "name": st.sampled_from(["sgd", "adam"]), "lr": st.sampled_from([1e-3, 0.01, 0.1]),
            "momentum": st.sampled_from([0.0, 0.9]), "nesterov": st.booleans()}),
        "lr_schedule": st.fixed_dictionaries({
            "name": st.sampled_from(["constant", "step", "exponential", "cosine"])})}),
})


@SETTINGS
@given(raw=configs)
def test_any_valid_config_trains_an_epoch_without_error(raw: dict, tmp_path: Path) -> None:
    output = raw["model"].pop("output")
    raw["model"]["layers"] = [*raw["model"]["layers"], {"units": 10, "activation": output}]
    config = validate(raw, "generated")
    try:
        Trainer(config, "", tmp_path / "m.h5", QuietReporter()).run()
    except Exception as error:  # divergence is the one legitimate failure of a wild config
        assert "training diverged" in str(error), error


def invoke(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert result.output.startswith("error: ")


@SETTINGS
@given(junk=st.binary(max_size=300))
def test_junk_bytes_as_a_config_give_one_error_line(junk: bytes, tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_bytes(junk)
    invoke(["train", str(tmp_path / "c.yaml")])


@SETTINGS
@given(junk=st.binary(max_size=300))
def test_junk_bytes_as_a_model_give_one_error_line(junk: bytes, tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_bytes(junk)
    (tmp_path / "x.npy").write_bytes(b"")
    invoke(["predict", str(tmp_path / "m.h5"), str(tmp_path / "x.npy")])


@SETTINGS
@given(junk=st.binary(max_size=300), suffix=st.sampled_from([".png", ".jpg", ".gif", ".bmp"]))
def test_junk_bytes_as_an_image_give_one_error_line(junk: bytes, suffix: str, tmp_path: Path,
                                                    digits_model: Path) -> None:
    (tmp_path / f"i{suffix}").write_bytes(junk)
    invoke(["predict", str(digits_model), str(tmp_path / f"i{suffix}")])
