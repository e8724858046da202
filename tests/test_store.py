"""Model files: the DESIGN §6 layout, symmetric save/load, atomic writes, clear load errors."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.nn import Network
from fcnn_cli.store import FORMAT_VERSION, Model, load_model, save_model


def small_model() -> Model:
    net = Network.create([4, 5, 3, 3], ["prelu", "leaky-relu", "softmax"], "log-likelihood",
                         rng=np.random.default_rng(0), slope=0.2)
    normalizer = Normalizer("standardize", np.arange(4, dtype=np.float32),
                            np.full(4, 2.0, dtype=np.float32))
    return Model(net, normalizer, (4,), ["cat", "dog", "eel"], None, "seed: 1\n",
                 {"train_loss": np.array([0.5, 0.4])})


def test_a_saved_model_loads_and_predicts_identically(tmp_path: Path) -> None:
    model = small_model()
    save_model(tmp_path / "m.h5", model)
    loaded = load_model(tmp_path / "m.h5")
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    assert np.array_equal(loaded.outputs(x), model.outputs(x))
    assert loaded.class_names == ["cat", "dog", "eel"]
    assert loaded.input_shape == (4,) and loaded.config_text == "seed: 1\n"
    assert loaded.history["train_loss"].tolist() == [0.5, 0.4]


def test_the_file_follows_the_documented_layout(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    with h5py.File(tmp_path / "m.h5") as f:
        assert f.attrs["format"] == "fcnn-model" and f.attrs["format_version"] == 1
        assert {"fcnn_version", "created", "config", "cost"} <= set(f.attrs)
        assert f["layers/1/w"].shape == (5, 4) and f["layers/1/w"].dtype == np.float32
        assert f["layers/2/b"].shape == (3,)
        assert f["layers/1/w"].attrs["activation"] == "prelu"
        assert f["layers/1/w"].attrs["alpha"].shape == (5,)
        assert f["layers/3/w"].attrs["activation"] == "softmax"
        assert f["preprocess"].attrs["normalize"] == "standardize"
        assert list(f["preprocess"].attrs["input_shape"]) == [4]
        assert f["preprocess/mean"].shape == (4,)
        assert "history/train_loss" in f


def test_saving_leaves_no_temporary_files(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    save_model(tmp_path / "m.h5", small_model())
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def test_a_new_model_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        save_model(tmp_path / "m.h5", small_model())
    finally:
        os.umask(umask)
    assert (tmp_path / "m.h5").stat().st_mode & 0o777 == 0o644


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    broken = small_model()
    broken.network.w[0] = "not an array"  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        save_model(tmp_path / "m.h5", broken)
    assert load_model(tmp_path / "m.h5").class_names == ["cat", "dog", "eel"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def load_error(path: Path) -> str:
    with pytest.raises(FcnnError) as caught:
        load_model(path)
    assert caught.value.exit_code == 2
    return caught.value.message


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    assert "model file not found" in load_error(tmp_path / "none.h5")


def test_an_empty_model_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_bytes(b"")
    assert "is empty (0 bytes)" in load_error(tmp_path / "m.h5")


def test_a_file_that_is_not_hdf5_is_reported(tmp_path: Path) -> None:
    (tmp_path / "m.h5").write_text("hello")
    assert "is not an HDF5 file" in load_error(tmp_path / "m.h5")


def test_an_hdf5_file_that_is_not_a_model_is_reported(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "m.h5", "w") as f:
        f["x"] = [1, 2, 3]
    assert "not an fcnn model" in load_error(tmp_path / "m.h5")


def test_a_newer_format_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    assert "upgrade fcnn" in load_error(tmp_path / "m.h5")


def test_a_truncated_model_file_is_reported(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "m.h5").write_bytes(data[: len(data) // 2])
    message = load_error(tmp_path / "m.h5")
    assert "damaged or truncated" in message or "not a complete fcnn model" in message


def test_a_model_missing_a_layer_dataset_is_reported(tmp_path: Path) -> None:
    save_model(tmp_path / "m.h5", small_model())
    with h5py.File(tmp_path / "m.h5", "a") as f:
        del f["layers/2/b"]
    assert "not a complete fcnn model" in load_error(tmp_path / "m.h5")
