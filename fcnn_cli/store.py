"""Everything h5py: models and checkpoints as HDF5 files (DESIGN §6), written atomically.

`save_model` and `load_model` are a symmetric pair; a checkpoint is a model file
with the optimiser and the training loop's state added under /optimizer and /training.
A model may keep its weights as float16 on disk (`compact=True`, for the models shipped
in the package: half the size); they are float32 again once loaded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fcnn_cli import __version__
from fcnn_cli.data.image_spec import ImageSpec, spec_for_shape
from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.nn import Network, make_activation, make_cost
from fcnn_cli.nn.activations import LeakyReLU, PReLU

FORMAT = "fcnn-model"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    model: Model
    optimizer_state: dict[str, np.ndarray]
    state: dict[str, Any]                 # epoch, batch, RNG states, stats: JSON-able
    arrays: dict[str, np.ndarray]         # e.g. best weights so far, keyed by name


def save_model(path: str | Path, model: Model, compact: bool = False) -> None:
    """Write `model` to `path`; `compact` stores the weights and biases as float16."""
    dtype = np.dtype(np.float16 if compact else np.float32)
    _atomic_write(Path(path), lambda f: _write_model(f, model, dtype))


def save_checkpoint(path: str | Path, checkpoint: Checkpoint) -> None:
    def write(f: h5py.File) -> None:
        # A checkpoint keeps the training dtype, so a float64 run resumes bit-identically.
        _write_model(f, checkpoint.model, checkpoint.model.network.dtype)
        opt = f.create_group("optimizer")
        for key, value in checkpoint.optimizer_state.items():
            opt.create_dataset(key, data=value)
        training = f.create_group("training")
        training.attrs["state"] = json.dumps(checkpoint.state)
        for key, value in checkpoint.arrays.items():
            training.create_dataset(key, data=value)
    _atomic_write(Path(path), write)


def load_model(path: str | Path) -> Model:
    with _open(Path(path)) as f:
        model = _read_model(f, Path(path))
    model.source = str(path)
    return model


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    with _open(path) as f:
        model = _read_model(f, path)
        if "training" not in f or "optimizer" not in f:
            raise FcnnError(f"{path} is a model, not a checkpoint; resume from the "
                            "<output>.ckpt.h5 file that training writes")
        try:
            optimizer_state: dict[str, np.ndarray] = {}
            f["optimizer"].visititems(lambda name, obj: optimizer_state.update(
                {name: obj[()]}) if isinstance(obj, h5py.Dataset) else None)
            state = json.loads(f["training"].attrs["state"])
            arrays: dict[str, np.ndarray] = {}
            f["training"].visititems(lambda name, obj: arrays.update(
                {name: obj[()]}) if isinstance(obj, h5py.Dataset) else None)
        except (KeyError, OSError, ValueError) as error:
            raise FcnnError(f"{path}: the checkpoint is damaged ({error})") from None
    return Checkpoint(model, optimizer_state, state, arrays)


def _write_model(f: h5py.File, model: Model, dtype: np.dtype) -> None:
    net = model.network
    f.attrs.update({
        "format": FORMAT, "format_version": FORMAT_VERSION, "fcnn_version": __version__,
        "created": model.created or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": model.config_text, "cost": net.cost.name,
    })
    layers = f.create_group("layers")
    for l, (w, b, act) in enumerate(zip(net.w, net.b, net.activations), start=1):
        group = layers.create_group(str(l))
        dw = group.create_dataset("w", data=w.astype(dtype, copy=False))
        group.create_dataset("b", data=b.astype(dtype, copy=False))
        dw.attrs["activation"] = act.name
        if isinstance(act, PReLU):
            dw.attrs["alpha"] = act.alpha.astype(dtype)
        if isinstance(act, LeakyReLU):
            dw.attrs["slope"] = act.slope
    pre = f.create_group("preprocess")
    pre.attrs["input_shape"] = np.asarray(model.input_shape, dtype=np.int64)
    pre.attrs["normalize"] = model.normalizer.kind
    if model.pixel_max is not None:
        pre.attrs["pixel_max"] = model.pixel_max
    if model.class_names is not None:
        pre.attrs["class_names"] = np.array(model.class_names, dtype=h5py.string_dtype())
    pre.create_dataset("mean", data=np.asarray(model.normalizer.mean, dtype=np.float32))
    pre.create_dataset("std", data=np.asarray(model.normalizer.std, dtype=np.float32))
    if model.image is not None:
        pre.attrs["image"] = model.image.to_json()
    for key in ("feature_names", "target_names"):
        names = getattr(model, key)
        if names is not None:
            pre.attrs[key] = np.array(names, dtype=h5py.string_dtype())
    if model.target_normalizer is not None:
        pre.attrs["target_normalize"] = model.target_normalizer.kind
        pre.create_dataset("target_mean", data=model.target_normalizer.mean)
        pre.create_dataset("target_std", data=model.target_normalizer.std)
    if model.split_sizes is not None:
        f.attrs["split_sizes"] = json.dumps(model.split_sizes)
    history = f.create_group("history")
    for key, values in model.history.items():
        history.create_dataset(key, data=np.asarray(values, dtype=np.float64))


def _read_model(f: h5py.File, path: Path) -> Model:
    if f.attrs.get("format") != FORMAT:
        raise FcnnError(f"{path} is an HDF5 file but not an fcnn model (no format='{FORMAT}' "
                        "attribute); give a file written by `fcnn train`")
    if "format_version" not in f.attrs:
        raise FcnnError(f"{path} has no format_version attribute; it was not written by "
                        "`fcnn train`, or it is damaged")
    version = int(f.attrs["format_version"])
    if version > FORMAT_VERSION:
        raise FcnnError(f"{path} has format_version {version}, newer than this fcnn reads "
                        f"({FORMAT_VERSION}); upgrade fcnn")
    try:
        network = _read_network(f, str(f.attrs["cost"]))
        pre = f["preprocess"]
        normalizer = Normalizer(str(pre.attrs["normalize"]), pre["mean"][()], pre["std"][()])
        names = pre.attrs.get("class_names")
        input_shape = tuple(int(n) for n in pre.attrs["input_shape"])
        _check_preprocess(network, normalizer, input_shape, names)
        history = {key: value[()] for key, value in f["history"].items()} \
            if "history" in f else {}
        pixel_max = float(pre.attrs["pixel_max"]) if "pixel_max" in pre.attrs else None
        config_text = _text(f.attrs.get("config", ""))
        return Model(
            network=network, normalizer=normalizer,
            input_shape=input_shape,
            class_names=None if names is None else [_text(n) for n in names],
            pixel_max=pixel_max, config_text=config_text, history=history,
            created=_text(f.attrs.get("created", "")),
            image=_image_spec(pre, input_shape, pixel_max, config_text),
            feature_names=_names(pre, "feature_names"),
            target_names=_names(pre, "target_names"),
            target_normalizer=Normalizer(_text(pre.attrs["target_normalize"]),
                                         pre["target_mean"][()], pre["target_std"][()])
            if "target_normalize" in pre.attrs else None,
            split_sizes=json.loads(_text(f.attrs["split_sizes"]))
            if "split_sizes" in f.attrs else None,
            fcnn_version=_text(f.attrs.get("fcnn_version", "")),
        )
    except (KeyError, OSError, ValueError, TypeError) as error:
        raise FcnnError(f"{path} is not a complete fcnn model ({error}); retrain it") from None


def _image_spec(pre: h5py.Group, input_shape: tuple[int, ...], pixel_max: float | None,
                config_text: str) -> ImageSpec | None:
    """The stored picture spec; a model from fcnn 0.2 or before stored none: then image
    data (it has a pixel_max) were pictures of its input shape, prepared as digits, or as
    objects for Fashion-MNIST (the pipeline that dataset was made with)."""
    if "image" in pre.attrs:
        return ImageSpec.from_json(_text(pre.attrs["image"]))
    if pixel_max is None:
        return None
    fashion = re.search(r"^\s+dataset:\s*fashion-mnist\s*$", config_text, re.MULTILINE)
    return spec_for_shape(input_shape, "object" if fashion else "digit")


def _names(pre: h5py.Group, key: str) -> list[str] | None:
    return [_text(n) for n in pre.attrs[key]] if key in pre.attrs else None


def _check_preprocess(net: Network, normalizer: Normalizer, input_shape: tuple[int, ...],
                      names: Any) -> None:
    inputs, outputs = net.sizes[0], net.sizes[-1]
    if int(np.prod(input_shape)) != inputs:
        raise ValueError(f"input_shape {input_shape} does not fit the {inputs} inputs of layer 1")
    for name, array in (("mean", normalizer.mean), ("std", normalizer.std)):
        if np.size(array) not in (1, inputs):
            raise ValueError(f"preprocess/{name} has {np.size(array)} values for {inputs} inputs")
    if names is not None and len(names) != outputs and not (len(names) == 2 and outputs == 1):
        raise ValueError(f"{len(names)} class_names for {outputs} output units")


def _read_network(f: h5py.File, cost: str) -> Network:
    group = f["layers"]
    ws, bs, acts = [], [], []
    for l in range(1, len(group) + 1):
        dw = group[str(l)]["w"]
        w, b = _widened(dw[()]), _widened(group[str(l)]["b"][()])
        name = _text(dw.attrs["activation"])
        act = make_activation(name, w.shape[0], w.dtype, float(dw.attrs.get("slope", 0.01)))
        if isinstance(act, PReLU):
            act.alpha = np.asarray(dw.attrs["alpha"], dtype=w.dtype)
        ws.append(w)
        bs.append(b)
        acts.append(act)
    if not ws or any(w.shape[1] != p.shape[0] for p, w in zip(ws, ws[1:])) \
            or any(b.shape != (w.shape[0],) for w, b in zip(ws, bs)):
        raise ValueError("its layers' shapes do not chain")
    return Network(ws, bs, acts, make_cost(cost))


def _widened(values: np.ndarray) -> np.ndarray:
    """float16 weights (a compact model file) compute in float32."""
    return values.astype(np.float32) if values.dtype == np.float16 else values


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@contextlib.contextmanager
def _open(path: Path):  # type: ignore[no-untyped-def]
    if not path.exists():
        raise FcnnError(f"model file not found: {path}")
    if path.is_dir():
        raise FcnnError(f"{path} is a folder; give a model file (.h5)")
    if path.stat().st_size == 0:
        raise FcnnError(f"{path} is empty (0 bytes); it holds no model: retrain or restore it")
    if not h5py.is_hdf5(path):
        raise FcnnError(f"{path} is not an HDF5 file; give a model written by `fcnn train`")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise FcnnError(f"{path} is damaged or truncated ({error}); retrain it") from None
    with f:
        try:
            yield f
        except OSError as error:
            raise FcnnError(f"{path} is damaged or truncated ({error}); retrain it") from None


def _atomic_write(path: Path, write: Any) -> None:
    """Write the HDF5 file whole or not at all (fcnn_cli/atomic.py)."""
    from fcnn_cli.atomic import replaced

    with replaced(path) as temporary:
        with h5py.File(temporary, "w") as f:
            write(f)
            f.flush()
