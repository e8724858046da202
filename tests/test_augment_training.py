"""data.augment in training: only training batches deformed, reproducible, exactly resumable."""

from pathlib import Path

import numpy as np
import pytest
from test_reliability import SignalAt
from typer.testing import CliRunner

import fcnn_cli.training as training
from fcnn_cli.cli import app
from fcnn_cli.config import json_schema, load_config
from fcnn_cli.errors import FcnnError
from fcnn_cli.training import Interrupted, Trainer
from fcnn_cli.ui import QuietReporter

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "configs" / "digits.yaml"
AUGMENTED = ["data.augment={shift: 1, rotate: {max: 10, p: 0.5}, scale: 0.1, "
             "elastic: {alpha: 8, sigma: 2, p: 0.5}}",
             "training.epochs=4", "training.early_stopping=null",
             "model.layers[0].dropout=0.2"]


def trainer(out: Path, reporter: QuietReporter | None = None,
            settings: list[str] = AUGMENTED) -> Trainer:
    return Trainer(load_config(DIGITS, settings), "", out, reporter or QuietReporter())


def weights(outcome: training.Outcome) -> list[np.ndarray]:
    return outcome.model.network.params()


def test_the_same_config_and_seed_give_bit_identical_weights(tmp_path: Path) -> None:
    first = trainer(tmp_path / "a.h5").run()
    second = trainer(tmp_path / "b.h5").run()
    assert all(np.array_equal(p, q) for p, q in zip(weights(first), weights(second)))


def test_the_weights_do_not_depend_on_how_the_pictures_are_chunked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcnn_cli.data.augment as augment

    whole = trainer(tmp_path / "a.h5").run()
    monkeypatch.setattr(augment, "CHUNK", 7)  # the training pictures deformed 7 at a time
    chunked = trainer(tmp_path / "b.h5").run()
    assert all(np.array_equal(p, q) for p, q in zip(weights(whole), weights(chunked)))


def test_augmentation_changes_what_is_learned(tmp_path: Path) -> None:
    plain = trainer(tmp_path / "a.h5", settings=AUGMENTED[1:]).run()
    augmented = trainer(tmp_path / "b.h5").run()
    assert not np.array_equal(weights(plain)[0], weights(augmented)[0])


@pytest.mark.parametrize("epoch,batch", [(2, 7), (3, 41)])  # mid-epoch; an epoch's last batch
def test_an_interrupted_augmented_run_resumes_bit_identical(tmp_path: Path, epoch: int,
                                                            batch: int) -> None:
    straight = trainer(tmp_path / "a.h5").run()
    with pytest.raises(Interrupted) as caught:
        trainer(tmp_path / "b.h5", SignalAt(epoch, batch)).run()
    resumed = trainer(tmp_path / "b.h5").run(caught.value.checkpoint)
    assert all(np.array_equal(p, q) for p, q in zip(weights(straight), weights(resumed)))


def test_only_the_training_batches_are_deformed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    trained_on: list[np.ndarray] = []
    evaluated_on: list[np.ndarray] = []

    class Recording(training.EpochRunner):
        def run(self, x, *args, **kwargs):  # type: ignore[no-untyped-def]
            trained_on.append(x.raw.copy())
            return super().run(x, *args, **kwargs)

    def evaluate(net, x, y):  # type: ignore[no-untyped-def]
        evaluated_on.append(x)
        return real_evaluate(net, x, y)

    real_evaluate = training.evaluate
    monkeypatch.setattr(training, "EpochRunner", Recording)
    monkeypatch.setattr(training, "evaluate", evaluate)
    run = trainer(tmp_path / "m.h5")
    run.run()
    originals = run.splits.x_train
    assert len(trained_on) == 4
    assert all(not np.array_equal(x, originals) for x in trained_on)
    assert not np.array_equal(trained_on[0], trained_on[1])  # drawn afresh each epoch
    assert all(x is run.splits.x_val for x in evaluated_on)  # validation as it is


def test_table_data_cannot_be_augmented(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    config = load_config({"data": {"path": str(table), "augment": {"shift": 1}},
                          "model": {"layers": [{"units": 2, "activation": "softmax"}]}})
    with pytest.raises(FcnnError, match="data.augment deforms pictures.*remove data.augment"):
        Trainer(config, "", tmp_path / "m.h5", QuietReporter()).run()


def test_the_cli_says_which_deformations_it_draws(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", str(DIGITS), "--out", str(tmp_path / "m.h5"),
                                      "--set", "training.epochs=1", "--set",
                                      "data.augment={shift: 1, elastic: {alpha: 8, sigma: 2}}"])
    assert result.exit_code == 0, result.output
    assert "deformed: shift ±1 px, elastic α=8 σ=2" in result.output


def test_show_augment_draws_pictures_and_their_deformed_copies_without_training(
        tmp_path: Path) -> None:
    out = tmp_path / "m.h5"
    result = CliRunner().invoke(app, ["train", str(DIGITS), "--out", str(out), "--show-augment",
                                      "--set", "data.augment={rotate: 15}"])
    assert result.exit_code == 0, result.output
    assert "as they are (left) and 3 deformed copies" in result.output
    assert not out.exists()


def test_augmented_gives_each_picture_then_its_deformed_copies() -> None:
    from fcnn_cli.api import augmented

    pictures = augmented(DIGITS, count=5, variants=2, overrides=["data.augment={shift: 2}"])
    assert pictures.shape == (5, 3, 8, 8) and pictures.dtype == np.uint8
    assert not np.array_equal(pictures[:, 0], pictures[:, 1])


def test_show_augment_without_augment_settings_says_how_to_add_them() -> None:
    result = CliRunner().invoke(app, ["train", str(DIGITS), "--show-augment"])
    assert result.exit_code == 2
    assert "no data.augment to show" in result.output


def test_flipping_digits_is_warned_about() -> None:
    from fcnn_cli.config import config_warnings

    config = load_config(DIGITS, ["data.augment={hflip: true}"])
    assert any("mirrored" in warning for warning in config_warnings(config))


def test_a_number_is_the_maximum_applied_to_every_picture() -> None:
    augment = load_config(DIGITS, ["data.augment={shift: 2, rotate: {max: 9, p: 0.3}}"]
                          ).data.augment
    assert augment is not None
    spec = augment.spec()
    assert (spec.shift.amount, spec.shift.p) == (2, 1.0)
    assert (spec.rotate.amount, spec.rotate.p) == (9, 0.3)


@pytest.mark.parametrize("setting,complaint", [
    ("{scale: 1.5}", "scale: max 1.5"),
    ("{shift: {max: 2, p: 1.5}}", "shift.p: input should be less than or equal to 1"),
    ("{elastic: {alpha: 34}}", "elastic.sigma: is required"), ("{spin: 3}", "spin: unknown key"),
    ("{hflip: 2}", "hflip: 2.0 is no probability"),
])
def test_bad_augment_settings_are_one_clear_error(setting: str, complaint: str) -> None:
    with pytest.raises(FcnnError, match=complaint):
        load_config(DIGITS, [f"data.augment={setting}"])


def test_the_design_example_is_a_valid_augment_block() -> None:
    augment = load_config(DIGITS, ["data.augment={shift: 2, rotate: 10, scale: 0.1, shear: 0.1, "
                                   "elastic: {alpha: 34, sigma: 4}, hflip: false}"]).data.augment
    assert augment is not None and augment.spec().hflip == 0
    assert load_config(DIGITS, ["data.augment={hflip: true}"]).data.augment.spec().hflip == 0.5
    assert load_config(DIGITS, ["data.augment={hflip: 0.2}"]).data.augment.spec().hflip == 0.2


def test_the_json_schema_documents_augment() -> None:
    schema = json_schema()
    assert "AugmentConfig" in schema["$defs"]
    assert "elastic" in schema["$defs"]["AugmentConfig"]["properties"]
