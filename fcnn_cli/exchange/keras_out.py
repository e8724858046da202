"""Export a model as a Keras 3 `.keras` archive, written by hand: Keras is not needed.

The archive is what `keras.Model.save` writes (Keras 3.15): an uncompressed zip of
`metadata.json`, `config.json` (the serialized `Sequential` model) and `model.weights.h5`,
in that order. The model takes the same raw inputs as `fcnn predict` and gives the same
outputs as `Model.predict_proba` (or a regression's `predict`):

    Input (features,)                 raw units, e.g. pixels 0–255, flattened
    Normalization "preprocess"        (x − mean) / sqrt(variance), variance = std²: fcnn's
                                      own float32 arithmetic, to the bit; left out when
                                      the model has no normalisation
    Dense "dense_l", activation       relu, sigmoid, tanh, linear, softmax; swish is "silu"
    LeakyReLU "leaky_relu_l"          after a linear Dense, for leaky-relu
    PReLU "prelu_l"                   after a linear Dense, with the learned slopes
    Rescaling "to_target_units"       regression only: a · std + mean

Layer configs carry the keys older Keras 3 releases accept too and leave out those only
new ones know (Dense's quantization_config, the initializers' axes), which take their
defaults; vectors are plain lists, not Keras' "__numpy__" objects. Keras 3.4, 3.6 and
3.15 load the archives and agree with fcnn.
float64 networks stay float64: their Dense and activation layers declare the "float64"
dtype policy, and Keras casts the float32 normalised inputs up, as fcnn does. The
weights file follows Keras' layout: `layers/<class in snake case, numbered>/vars/<i>`,
each `vars` group naming its layer; Keras finds weights by that path, not by layer name.
The model's name gives its architecture ("fcnn_784-800-800-10"); the class names and the
rest of fcnn's description are in `metadata.json` under "fcnn" (Keras reads only its own
keys there), since a Keras model has no place for them that survives loading.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.nn.activations import Activation, LeakyReLU, PReLU
from fcnn_cli.sanitize import json_text

KERAS_VERSION = "3.15.1"  # the Keras whose archive layout this reproduces
_DENSE_ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
                      "linear": "linear", "softmax": "softmax", "swish": "silu"}


@dataclass
class _Layer:
    """One Keras layer: its class, its config, the weights Keras stores for it."""

    class_name: str
    config: dict[str, Any]
    input_units: int | None = None  # set: the layer is built from this input shape
    weights: list[np.ndarray] = field(default_factory=list)


def write_keras(model: Model, path: Path) -> None:
    """Write `model` to `path` as a Keras 3 `.keras` archive, without importing Keras."""
    layers = _layers(model)
    name = "fcnn_" + "-".join(map(str, model.architecture))
    features = model.architecture[0]
    members = {
        "metadata.json": json_text(_metadata(model)).encode(),  # NaN in a curve: null
        "config.json": json.dumps(_model_config(name, features, layers)).encode(),
        "model.weights.h5": _weights_h5(name, layers),
    }
    # ZIP_STORED, as Keras writes it: the weights barely compress, and loading is faster.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)


def _layers(model: Model) -> list[_Layer]:
    """The Keras layers after the Input, in order."""
    network = model.network
    dtype = _dtype_name(network.dtype)
    layers = _preprocess(model)
    n_in = model.architecture[0]
    for l, (w, b, act) in enumerate(zip(network.w, network.b, network.activations), start=1):
        layers += _dense_and_activation(l, w, b, act, n_in, dtype)
        n_in = w.shape[0]
    if model.class_names is None and model.target_normalizer is not None:
        t = model.target_normalizer
        layers.append(_Layer("Rescaling", {
            **_base("to_target_units", "float32"),
            "scale": _number_or_list(t.std), "offset": _number_or_list(t.mean)}, n_in))
    return layers


def _preprocess(model: Model) -> list[_Layer]:
    """A Normalization layer with fixed statistics (no `adapt`), or none for the identity.

    Normalization computes (x − mean) / max(sqrt(variance), 1e-7) in float32: with
    variance = std² (exact in float64), sqrt(float32(std²)) is std again, so this is
    fcnn's subtract-then-divide exactly. Rescaling would multiply by a rounded 1/std.
    """
    norm, features = model.normalizer, model.architecture[0]
    # One value per feature even for a scalar: Keras 3.6 cannot build a Normalization
    # from a scalar mean (it reshapes it to the input's width).
    mean = np.broadcast_to(np.asarray(norm.mean, np.float32), (features,))
    std = np.broadcast_to(np.asarray(norm.std, np.float32), (features,))
    if not mean.any() and np.all(std == 1):
        return []
    variance = np.asarray(std, np.float64) ** 2
    return [_Layer("Normalization", {
        **_base("preprocess", "float32"), "axis": [-1], "invert": False,
        "mean": mean.astype(np.float64).tolist(), "variance": variance.tolist()}, features)]


def _dense_and_activation(l: int, w: np.ndarray, b: np.ndarray, act: Activation,
                          n_in: int, dtype: str) -> list[_Layer]:
    """Layer l's Dense (kernel (inputs, units): w transposed), and its activation layer
    when Keras has no Dense activation with fcnn's parameters."""
    keras_activation = _DENSE_ACTIVATIONS.get(act.name, "linear")
    if act.name not in _DENSE_ACTIVATIONS and not isinstance(act, (LeakyReLU, PReLU)):
        raise FcnnError(f"cannot export activation {act.name!r} to Keras")
    as_dtype = np.float64 if dtype == "float64" else np.float32
    dense = _Layer("Dense", {**_base(f"dense_{l}", dtype), **_dense_config(w.shape[0]),
                             "activation": keras_activation}, n_in,
                   [np.ascontiguousarray(w.T, as_dtype), np.asarray(b, as_dtype)])
    if isinstance(act, LeakyReLU):
        return [dense, _Layer("LeakyReLU", {**_base(f"leaky_relu_{l}", dtype),
                                            "negative_slope": float(act.slope)})]
    if isinstance(act, PReLU):
        return [dense, _Layer("PReLU", {
            **_base(f"prelu_{l}", dtype), "alpha_initializer": _serialized("Zeros", {}),
            "alpha_regularizer": None, "alpha_constraint": None, "shared_axes": None},
            w.shape[0], [np.asarray(act.alpha, as_dtype)])]
    return [dense]


def _dense_config(units: int) -> dict[str, Any]:
    return {"units": int(units), "use_bias": True,
            "kernel_initializer": _serialized("GlorotUniform", {"seed": None}),
            "bias_initializer": _serialized("Zeros", {}),
            "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}


def _base(name: str, dtype: str) -> dict[str, Any]:
    """The keys every Keras layer config starts with."""
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": dtype},
              "registered_name": None}
    return {"name": name, "trainable": True, "dtype": policy}


def _serialized(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"module": "keras.initializers", "class_name": class_name, "config": config,
            "registered_name": None}


def _number_or_list(values: np.ndarray) -> float | list[float]:
    """A scalar as a number, a vector as a list: Keras 3.15 would write a vector as a
    "__numpy__" object, which Keras 3.4 cannot read back; both read a list."""
    values = np.asarray(values, np.float32)
    return float(values) if values.ndim == 0 else values.astype(np.float64).tolist()


def _dtype_name(dtype: np.dtype) -> str:
    # float16 networks (none are trained so, but a file could hold one) run as float32.
    return "float64" if dtype == np.float64 else "float32"


def _model_config(name: str, features: int, layers: list[_Layer]) -> dict[str, Any]:
    """config.json: a Sequential model whose first layer is the Input."""
    shape = [None, features]
    entries = [{"module": "keras.layers", "class_name": "InputLayer",
                "config": {"batch_shape": shape, "dtype": "float32", "sparse": False,
                           "name": "input"}, "registered_name": None}]
    for layer in layers:
        entry: dict[str, Any] = {"module": "keras.layers", "class_name": layer.class_name,
                                 "config": layer.config, "registered_name": None}
        if layer.input_units is not None:
            entry["build_config"] = {"input_shape": [None, layer.input_units]}
        entries.append(entry)
    return {"module": "keras", "class_name": "Sequential",
            "config": {**_base(name, "float32"), "layers": entries,
                       "build_input_shape": shape},
            "registered_name": None, "build_config": {"input_shape": shape}}


def _weights_h5(name: str, layers: list[_Layer]) -> bytes:
    """model.weights.h5 in memory: one `vars` group per layer, even those without weights,
    keyed as Keras keys them (the class in snake case, a counter from the second on)."""
    buffer = io.BytesIO()
    used: dict[str, int] = {}
    with h5py.File(buffer, "w") as h5:
        h5.create_group("layers")
        for layer in layers:
            key = _unique(_snake_case(layer.class_name), used)
            group = h5.create_group(f"layers/{key}/vars")
            group.attrs["name"] = layer.config["name"]
            for i, array in enumerate(layer.weights):
                group[str(i)] = array
        h5.create_group("vars").attrs["name"] = name
    return buffer.getvalue()


def _snake_case(class_name: str) -> str:
    """Keras' own rule: LeakyReLU → leaky_re_lu, PReLU → p_re_lu."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique(key: str, used: dict[str, int]) -> str:
    if key in used:
        used[key] += 1
        return f"{key}_{used[key]}"
    used[key] = 0
    return key


def _metadata(model: Model) -> dict[str, Any]:
    """Keras' two keys (its file editor shows them), then fcnn's description."""
    from fcnn_cli.exchange import description

    return {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "fcnn": description(model),
    }
