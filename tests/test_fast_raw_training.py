"""Training on pixels kept as uint8 gives the weights of training on data normalised up front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fcnn_cli.training as training
from fcnn_cli.config import load_config
from fcnn_cli.nn.epoch import RawInputs
from fcnn_cli.training import Trainer
from fcnn_cli.ui import QuietReporter

DIGITS = Path(__file__).resolve().parents[1] / "configs" / "digits.yaml"


def train(tmp_path: Path, name: str, overrides: list[str]):  # type: ignore[no-untyped-def]
    return Trainer(load_config(DIGITS, overrides), "", tmp_path / f"{name}.h5",
                   QuietReporter()).run()


@pytest.mark.parametrize("normalize", ["scale", "standardize"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uint8_training_data_give_bit_identical_weights(tmp_path, monkeypatch, normalize, dtype):
    overrides = ["training.epochs=2", f"data.normalize={normalize}", f"model.dtype={dtype}",
                 "model.layers[0].dropout=0.2"]
    seen = []
    real = training.training_inputs

    def spy(splits, dt):  # type: ignore[no-untyped-def]
        seen.append(real(splits, dt))
        return seen[-1]

    monkeypatch.setattr(training, "training_inputs", spy)
    raw = train(tmp_path, "raw", overrides)
    assert isinstance(seen[-1], RawInputs) and seen[-1].raw.dtype == np.uint8

    def up_front(*args, **kwargs):  # type: ignore[no-untyped-def]
        return make_splits(*args, **{**kwargs, "keep_raw": False})

    make_splits = training.make_splits
    monkeypatch.setattr(training, "make_splits", up_front)
    ready = train(tmp_path, "ready", overrides)
    assert isinstance(seen[-1], np.ndarray) and seen[-1].dtype == np.dtype(dtype)

    for a, b in zip(raw.model.network.params(), ready.model.network.params()):
        np.testing.assert_array_equal(a, b)
    assert raw.model.history["train_loss"].tolist() == ready.model.history["train_loss"].tolist()
