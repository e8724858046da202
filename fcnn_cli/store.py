"""Everything h5py: models and checkpoints as HDF5 files (DESIGN §6), written atomically.

`save_model` and `load_model` are a symmetric pair; a checkpoint is a model file
with the optimiser and the training loop's state added under /optimizer and /training.
A model may keep its weights as float16 on disk (`compact=True`, for the models shipped
in the package: half the size); they are float32 again once loaded.

Reading trusts nothing in the file (`_Reader`): every declared shape is checked against the
architecture and the memory budget (fcnn_cli/limits.py) before its array is read, structure
and types before they are used, and NaN or infinite weights are refused; each problem is
one FcnnError naming the file and the place in it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from fcnn_cli import __version__
from fcnn_cli.data.image_spec import ImageSpec, spec_for_shape
from fcnn_cli.data.split import NORMALIZATIONS, Normalizer
from fcnn_cli.errors import FcnnError, clipped
from fcnn_cli.limits import check_allocation, check_total, nbytes, shape_text
from fcnn_cli.model import Model
from fcnn_cli.nn import Network, make_activation, make_cost
from fcnn_cli.nn.activations import NAMES as ACTIVATIONS
from fcnn_cli.nn.activations import LeakyReLU, PReLU
from fcnn_cli.nn.costs import NAMES as COSTS
from fcnn_cli.nn.diagnostics import SERIES

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
    """The model at `path`; a damaged, hostile or foreign file is one FcnnError (_Reader)."""
    with _open(Path(path)) as f:
        model = _Reader(f, Path(path)).model()
    model.source = str(path)
    return model


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    with _open(path) as f:
        reader = _Reader(f, path)
        model = reader.model()
        if "training" not in f or "optimizer" not in f:
            raise FcnnError(f"{path} is a model, not a checkpoint; resume from the "
                            "<output>.ckpt.h5 file that training writes")
        shapes = [p.shape for p in model.network.params()]
        return Checkpoint(model, reader.state_arrays("optimizer", shapes), reader.loop_state(),
                          reader.state_arrays("training", shapes))


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
    _write_diagnostics(history, model.diagnostics)


def _write_diagnostics(history: h5py.Group, layers: list[dict[str, Any]]) -> None:
    """/history/diagnostics/<l>/{speed, saturated, dead, update_ratio} (DESIGN §6), one
    value per epoch (a series the activation has none of is left out), units and
    activation as attributes."""
    if not layers:
        return
    group = history.create_group("diagnostics")
    for layer in layers:
        part = group.create_group(str(layer["layer"]))
        part.attrs["units"] = layer["units"]
        part.attrs["activation"] = layer["activation"]
        for key in SERIES:
            if layer[key] is not None:
                part.create_dataset(key, data=np.asarray(layer[key], dtype=np.float64))


# --- reading: every object checked before its data is read ---------------------------

MAX_EPOCHS = 1_000_000  # the longest history series a model file may carry
MAX_JSON = 64 * 2**10   # the image spec and the split sizes: a line of JSON each
MAX_RANK = 8            # input_shape: (I,), (H, W) or (H, W, C) in practice
_KINDS = {"text": "a string", "int": "a whole number", "number": "a number",
          "ints": "a list of whole numbers", "floats": "a list of numbers",
          "texts": "a list of strings"}
_REQUIRED = object()  # attr(): no default, a missing attribute is an error


class _Reader:
    """One model or checkpoint file, read part by part in the order the architecture
    unfolds (input shape, layer 1, layer 2, ...). Each object's kind, dtype and declared
    shape are checked against what the file has shown so far and the memory budget (the
    arrays read so far counted in) before its values are read once; NaN or infinity is
    then refused. A refusal names the file, the place in it and what was expected."""

    def __init__(self, f: h5py.File, path: Path) -> None:
        self.f: h5py.Group = f["/"]  # (File.attrs looks "/" up again on every use)
        self.path = path
        self.file_size = path.stat().st_size
        self.declared = 0  # bytes the arrays read so far take, the next one counted first

    def damaged(self, where: str, problem: str) -> FcnnError:
        return FcnnError(f"{self.path} is damaged: {clipped(where, 100)} {problem}; retrain the "
                         "model or restore the file")

    def missing(self, where: str) -> FcnnError:
        return FcnnError(f"{self.path} is not a complete fcnn model: {clipped(where, 100)} is "
                         "missing; retrain it")

    # --- the model

    def model(self) -> Model:
        self.check_format()
        pre = self.child(self.f, "preprocess", h5py.Group)
        input_shape = self.input_shape(pre)
        inputs = math.prod(input_shape)
        network = self.network(inputs)
        outputs = network.sizes[-1]
        normalizer = self.normalizer(pre, "", inputs, "input")
        target = self.normalizer(pre, "target_", outputs, "output") \
            if "target_normalize" in pre.attrs else None
        return Model(network=network, normalizer=normalizer, input_shape=input_shape,
                     target_normalizer=target, history=self.history(),
                     diagnostics=self.diagnostics(network),
                     **self.small(pre, input_shape, outputs))

    def check_format(self) -> None:
        f, path = self.f, self.path
        stored = f.attrs.get_id("format") if "format" in f.attrs else None
        if stored is None or stored.shape != () or h5py.check_string_dtype(stored.dtype) is None \
                or _text(f.attrs["format"]) != FORMAT:
            raise FcnnError(f"{path} is an HDF5 file but not an fcnn model (no format='{FORMAT}' "
                            "attribute); give a file written by `fcnn train`")
        if "format_version" not in f.attrs:
            raise FcnnError(f"{path} has no format_version attribute; it was not written by "
                            "`fcnn train`, or it is damaged")
        version = self.attr(f, "format_version", "int")
        if version > FORMAT_VERSION:
            raise FcnnError(f"{path} has format_version {_count(version)}, newer than this fcnn "
                            f"reads ({FORMAT_VERSION}); upgrade fcnn")

    def input_shape(self, pre: h5py.Group) -> tuple[int, ...]:
        shape = tuple(self.attr(pre, "input_shape", "ints"))
        if not 1 <= len(shape) <= MAX_RANK or min(shape) < 1:
            raise self.damaged(f"{pre.name} attribute 'input_shape'", f"is {shape_text(shape)}, "
                               f"expected 1 to {MAX_RANK} positive sizes")
        return shape

    def network(self, inputs: int) -> Network:
        group = self.child(self.f, "layers", h5py.Group)
        names, count = list(group), len(group)
        if not names or set(names) != {str(l) for l in range(1, count + 1)}:
            found = ", ".join(repr(clipped(n, 20)) for n in sorted(names)[:4])
            raise self.damaged(group.name, f"holds {found or 'nothing'}{', …' if count > 4 else ''}"
                               f", expected the groups 1 to {max(count, 1)}, one per layer")
        ws: list[np.ndarray] = []
        bs: list[np.ndarray] = []
        acts: list[Any] = []
        for l in range(1, count + 1):
            w, b, act = self.layer(self.child(group, str(l), h5py.Group), l,
                                   len(ws[-1]) if ws else inputs)
            ws.append(w)
            bs.append(b)
            acts.append(act)
        return Network(ws, bs, acts, make_cost(self.choice(self.f, "cost", COSTS)))

    def layer(self, group: h5py.Group, l: int, inputs: int) -> tuple[np.ndarray, np.ndarray, Any]:
        """Layer l's weights, biases and activation (with its slopes, for prelu)."""
        stored = self.child(group, "w", h5py.Dataset)
        source = "the input" if l == 1 else f"layer {l - 1}"
        w = self.array(stored, lambda s: len(s) == 2 and s[0] >= 1 and s[1] == inputs,
                       f"(units, {_count(inputs)}): layer {l} takes the {_count(inputs)} outputs "
                       f"of {source}")
        units = len(w)
        b = self.array(self.child(group, "b", h5py.Dataset), lambda s: s == (units,),
                       f"({units},), one bias per unit of layer {l}")
        activation = self.choice(stored, "activation", ACTIVATIONS)
        slope = self.attr(stored, "slope", "number", default=0.01)
        act = make_activation(activation, units, w.dtype, slope)
        if isinstance(act, PReLU):
            where = f"{stored.name} attribute 'alpha'"
            alpha = self.attr(stored, "alpha", "floats")
            if alpha.shape != (units,):
                raise self.damaged(where, f"has {alpha.size} values, expected {units}, one "
                                   f"slope per unit of layer {l}")
            self.finite(alpha, where)
            act.alpha = alpha.astype(w.dtype)
        return w, b, act

    def history(self) -> dict[str, np.ndarray]:
        if not _has(self.f, "history"):  # (files from before fcnn kept a history)
            return {}
        group = self.child(self.f, "history", h5py.Group)
        return {key: self.array(self.child(group, key, h5py.Dataset),
                                lambda s: len(s) == 1 and s[0] <= MAX_EPOCHS,
                                f"(epochs,), one value per epoch, at most {MAX_EPOCHS:,}",
                                kinds="iuf", finite=False)  # (NaN: a metric not measured)
                for key in group if key != "diagnostics"}

    def diagnostics(self, network: Network) -> list[dict[str, Any]]:
        """Per layer, the diagnostics recorded each epoch (fcnn_cli/nn/diagnostics.py):
        one group per layer of the network, its units and activation, and series of equal
        length; [] for a file from before they were recorded."""
        if not _has(self.f, "history") or not _has(self.f["history"], "diagnostics"):
            return []
        group = self.child(self.child(self.f, "history", h5py.Group), "diagnostics", h5py.Group)
        count, names = len(network.w), list(group)
        if set(names) != {str(l) for l in range(1, count + 1)}:
            found = ", ".join(repr(clipped(n, 20)) for n in sorted(names)[:4])
            raise self.damaged(group.name, f"holds {found or 'nothing'}"
                               f"{', …' if len(names) > 4 else ''}, expected the groups 1 to "
                               f"{count}, one per layer")
        layers: list[dict[str, Any]] = []
        epochs: list[int] = []  # the first series' length: every other one must match
        for l, (w, act) in enumerate(zip(network.w, network.activations), start=1):
            part = self.child(group, str(l), h5py.Group)
            units, activation = self.attr(part, "units", "int"), self.attr(part, "activation",
                                                                           "text")
            if (units, activation) != (len(w), act.name):
                raise self.damaged(part.name, f"describes {units} {clipped(activation, 20)!r} "
                                   f"units, but layer {l} has {len(w)} {act.name} units")
            layer: dict[str, Any] = {"layer": l, "units": units, "activation": activation}
            for key in SERIES:
                optional = key in ("saturated", "dead")
                layer[key] = None if optional and not _has(part, key) else \
                    self.series(self.child(part, key, h5py.Dataset), epochs, optional)
            layers.append(layer)
        return layers

    def series(self, dataset: h5py.Dataset, epochs: list[int], fraction: bool) -> list[float]:
        """One diagnostic's values per epoch: ≥ 0 (NaN: not measured), fractions ≤ 1."""
        expected = f"({epochs[0]},), one value per epoch as the other series" if epochs else \
            f"(epochs,), one value per epoch, at most {MAX_EPOCHS:,}"
        values = self.array(dataset, lambda s: len(s) == 1 and s[0] <= MAX_EPOCHS and
                            (not epochs or s[0] == epochs[0]), expected, kinds="iuf",
                            finite=False).astype(np.float64)
        epochs[:] = epochs or [len(values)]
        if np.any(values < 0) or (fraction and np.any(values > 1)):
            wanted = "fractions in [0, 1]" if fraction else "norms ≥ 0"
            raise self.damaged(dataset.name, f"has values out of range, expected {wanted}")
        return values.tolist()

    def small(self, pre: h5py.Group, input_shape: tuple[int, ...], outputs: int) -> dict[str, Any]:
        """The Model's fields kept in attributes, each checked against the architecture."""
        f, inputs = self.f, math.prod(input_shape)
        pixel_max = self.attr(pre, "pixel_max", "number", default=None)
        if pixel_max is not None and pixel_max <= 0:
            raise self.damaged(f"{pre.name} attribute 'pixel_max'",
                               f"is {pixel_max}, expected the positive value of full ink")
        config_text = self.attr(f, "config", "text", default="")
        return {
            "class_names": self.names(pre, "class_names", outputs, "output units"),
            "pixel_max": pixel_max, "config_text": config_text,
            "created": self.attr(f, "created", "text", default=""),
            "image": self.image(pre, input_shape, pixel_max, config_text),
            "feature_names": self.names(pre, "feature_names", inputs, "inputs"),
            "target_names": self.names(pre, "target_names", outputs, "output units"),
            "split_sizes": self.split_sizes(),
            "fcnn_version": self.attr(f, "fcnn_version", "text", default=""),
        }

    def names(self, pre: h5py.Group, key: str, count: int, of: str) -> list[str] | None:
        names = self.attr(pre, key, "texts", default=None)
        if names is None:
            return None
        two_for_one = key == "class_names" and len(names) == 2 and count == 1  # one sigmoid
        if len(names) != count and not two_for_one:
            raise self.damaged(f"{pre.name} attribute {key!r}",
                               f"has {len(names)} names for the model's {count} {of}")
        return names

    def image(self, pre: h5py.Group, input_shape: tuple[int, ...], pixel_max: float | None,
              config_text: str) -> ImageSpec | None:
        """The stored picture spec; a model from fcnn 0.2 or before stored none: then image
        data (it has a pixel_max) were pictures of its input shape, prepared as digits, or as
        objects for Fashion-MNIST (the pipeline that dataset was made with)."""
        if "image" not in pre.attrs:
            if pixel_max is None:
                return None
            fashion = re.search(r"^\s+dataset:\s*fashion-mnist\s*$", config_text, re.MULTILINE)
            return spec_for_shape(input_shape, "object" if fashion else "digit")
        where, inputs = f"{pre.name} attribute 'image'", math.prod(input_shape)
        text = self.attr(pre, "image", "text")
        spec = _image_spec(text) if len(text) <= MAX_JSON else None
        if spec is None:
            raise self.damaged(where, "is not an image spec, expected JSON such as "
                               '{"pipeline": "digit", "size": [28, 28], "channels": 1}')
        if math.prod(spec.shape) != inputs:
            raise self.damaged(where, f"describes pictures of {shape_text(spec.shape)} values "
                               f"but layer 1 takes {_count(inputs)} inputs")
        return spec

    def split_sizes(self) -> dict[str, int] | None:
        if "split_sizes" not in self.f.attrs:
            return None
        sizes = self.json(self.f, "split_sizes")
        if not isinstance(sizes, dict) or not all(
                type(n) is int and n >= 0 for n in sizes.values()):
            raise self.damaged("/ attribute 'split_sizes'", "is not a count per split, "
                               'expected JSON such as {"train": 54000, "val": 6000, "test": 0}')
        return sizes

    # --- the checkpoint's extras

    def state_arrays(self, name: str, shapes: list[tuple[int, ...]]) -> dict[str, np.ndarray]:
        """The arrays under /optimizer or /training: `<kind>/<i>` shaped as the network's
        i-th parameter (momentum, Adam's moments, the best weights so far), or a counter."""
        group, found = self.child(self.f, name, h5py.Group), {}
        for key in group:
            part = self.child(group, key, (h5py.Group, h5py.Dataset))
            if isinstance(part, h5py.Dataset):
                found[key] = self.array(part, lambda s: s == (), "(), a counter", kinds="iuf")
                continue
            for index in part:
                dataset = self.child(part, index, h5py.Dataset)
                if not (index.isascii() and index.isdigit() and int(index) < len(shapes)):
                    raise self.damaged(dataset.name, f"names no parameter of the network, "
                                       f"expected {key}/0 to {key}/{len(shapes) - 1}")
                shape = shapes[int(index)]
                found[f"{key}/{index}"] = self.array(
                    dataset, lambda s, shape=shape: s == shape,
                    f"{shape_text(shape)}, the shape of the network's parameter {index}")
        return found

    def loop_state(self) -> dict[str, Any]:
        state = self.json(self.child(self.f, "training", h5py.Group), "state", limit=None)
        if not isinstance(state, dict):  # (its fields: training.loop_state)
            raise self.damaged("/training attribute 'state'", "is not the training loop's "
                               "state, expected a JSON object with its epoch and history")
        return state

    # --- objects, arrays and attributes, checked

    def child(self, group: h5py.Group, name: str, kind: type | tuple[type, ...]) -> Any:
        """`group[name]`, a group or a dataset as `kind` says, stored in this file."""
        where = f"{group.name.rstrip('/')}/{name}"
        link = group.get(name, getlink=True)
        if link is None:
            raise self.missing(where)
        if not isinstance(link, h5py.HardLink):
            raise self.damaged(where, "is a link; an fcnn model keeps all its data inside the file")
        found = group[name]
        if not isinstance(found, kind):
            raise self.damaged(where, f"is {_what(type(found))}, expected {_what(kind)}")
        if isinstance(found, h5py.Dataset) and (found.is_virtual or found.external):
            raise self.damaged(where, "keeps its values in other files; an fcnn model keeps all "
                               "its data inside the file")
        return found

    def array(self, dataset: h5py.Dataset, fits: Callable[[tuple[int, ...]], bool],
              expected: str, kinds: str = "f", finite: bool = True) -> np.ndarray:
        """A dataset's values, read once its dtype and declared shape are checked and it is
        counted against the budget; float16 (a compact model) as float32."""
        dtype, shape = dataset.dtype, dataset.shape
        if dtype.kind not in kinds or (dtype.kind == "f" and dtype.itemsize not in (2, 4, 8)):
            wanted = "floating-point numbers" if kinds == "f" else "numbers"
            raise self.damaged(dataset.name,
                               f"holds {_dtype_text(dtype)} values, expected {wanted}")
        if shape is None:
            raise self.damaged(dataset.name, f"is empty, expected {expected}")
        if not fits(shape):
            raise self.damaged(dataset.name, f"has shape {shape_text(shape)}, expected {expected}")
        itemsize = max(dtype.itemsize, 4) if dtype.kind == "f" else dtype.itemsize  # f16 → f32
        check_allocation(f"{self.path}: {dataset.name}", shape, itemsize)
        self.declared += nbytes(shape, itemsize)
        check_total(f"the arrays of {self.path}", self.declared)
        values = dataset[()]
        if values.dtype == np.float16:
            values = values.astype(np.float32)
        if finite:
            self.finite(values, dataset.name)
        return values

    def normalizer(self, pre: h5py.Group, prefix: str, count: int, of: str) -> Normalizer:
        """The inputs' normaliser, or with prefix `target_` the targets': a kind, then a mean
        and a std of one value for all or one per input (output), the std never 0."""
        kind = self.choice(pre, f"{prefix}normalize", NORMALIZATIONS)
        fits = _one_or_each(count, of)
        mean = self.array(self.child(pre, f"{prefix}mean", h5py.Dataset), *fits)
        stored = self.child(pre, f"{prefix}std", h5py.Dataset)
        std = self.array(stored, *fits)
        zeros = np.size(std) - np.count_nonzero(std)
        if zeros:
            raise self.damaged(stored.name, f"has {_values(zeros, 'zero')}, expected "
                               "non-zero scales (inputs are divided by them)")
        return Normalizer(kind, mean, std)

    def finite(self, values: np.ndarray, where: str) -> None:
        if np.isfinite(values).all():
            return
        nan = int(np.count_nonzero(np.isnan(values)))
        inf = int(np.size(values)) - nan - int(np.count_nonzero(np.isfinite(values)))
        counts = f"{nan} NaN and {inf} infinite values" if nan and inf else \
            _values(nan, "NaN") if nan else _values(inf, "infinite")
        raise FcnnError(f"{self.path}: {clipped(where, 100)} has {counts}; the model is damaged or "
                        "its training diverged: retrain it (with a lower learning rate if it "
                        "diverged)")

    def choice(self, owner: h5py.HLObject, name: str, choices: tuple[str, ...]) -> str:
        value = self.attr(owner, name, "text")
        if value not in choices:
            raise self.damaged(f"{owner.name} attribute {name!r}",
                               f"is {clipped(value, 40)!r}, expected one of {', '.join(choices)}")
        return value

    def json(self, owner: h5py.HLObject, name: str, limit: int | None = MAX_JSON) -> Any:
        where = f"{owner.name} attribute {name!r}"
        text = self.attr(owner, name, "text")
        if limit is not None and len(text) > limit:
            raise self.damaged(where, f"holds {len(text):,} characters, expected a line of JSON")
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise self.damaged(where, "is not valid JSON") from None

    def attr(self, owner: h5py.HLObject, name: str, kind: str, default: Any = _REQUIRED) -> Any:
        """`owner.attrs[name]` as `kind` (one of _KINDS), or `default` when it is not there;
        its type and declared size are checked before it is read (an attribute is stored
        whole: never larger than the file)."""
        where, attrs = f"{owner.name} attribute {name!r}", owner.attrs
        if name not in attrs:
            if default is not _REQUIRED:
                return default
            raise self.missing(where)
        stored = attrs.get_id(name)
        shape, dtype = stored.shape, stored.dtype
        is_text = h5py.check_string_dtype(dtype) is not None
        right = is_text if kind in ("text", "texts") else \
            dtype.kind in ("iu" if kind in ("int", "ints") else "iuf")
        if shape is None or not right or len(shape) != (1 if kind.endswith("s") else 0):
            raise self.damaged(where, f"is {_attr_text(shape, dtype)}, expected {_KINDS[kind]}")
        if nbytes(shape, dtype.itemsize) > self.file_size:
            raise self.damaged(where, f"declares {shape_text(shape)} values, more than the "
                               "whole file holds")
        try:
            value = attrs[name]
        except UnicodeDecodeError:
            raise self.damaged(where, "is not UTF-8 text") from None
        if kind == "text":
            return _text(value)
        if kind == "texts":
            return [_text(v) for v in value]
        if kind == "int":
            return int(value)
        if kind == "ints":
            return [int(v) for v in value]
        values = np.asarray(value, dtype=np.float64)
        if kind == "number" and not np.isfinite(values):
            raise self.damaged(where, f"is {float(values)}, expected a finite number")
        return float(values) if kind == "number" else values


def _image_spec(text: str) -> ImageSpec | None:
    """An image spec from its stored JSON, or None when it is not one."""
    try:
        return ImageSpec.parse(json.loads(text))
    except (ValueError, RecursionError):  # not JSON
        return None


def _one_or_each(count: int, of: str) -> tuple[Callable[[tuple[int, ...]], bool], str]:
    """A normaliser's mean or std: one value for all, or one per input (output)."""
    return (lambda s: len(s) <= 1 and math.prod(s) in (1, count),
            f"() or ({_count(count)},): one value for all {of}s, or one per {of}")


def _has(group: h5py.Group, name: str) -> bool:
    """Whether `group` names `name`, without following a link to elsewhere."""
    return group.get(name, getlink=True) is not None


def _what(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {h5py.Group: "a group", h5py.Dataset: "a dataset", h5py.Datatype: "a named type"}
    return " or ".join(words.get(k, "an object") for k in kinds)


def _dtype_text(dtype: np.dtype) -> str:
    return "text" if h5py.check_string_dtype(dtype) is not None else dtype.name


def _attr_text(shape: tuple[int, ...] | None, dtype: np.dtype) -> str:
    if shape is None:
        return "empty"
    what = "a list of" if shape else "a single"
    return f"{what} {_dtype_text(dtype)} value{'s' if shape else ''}"


def _values(n: int, what: str) -> str:
    """`1 NaN value`, `3 zero values`."""
    return f"{n} {what} value{'' if n == 1 else 's'}"


def _count(n: int) -> str:
    """A declared size for a message, never a line of digits."""
    return str(n) if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


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
        raise FcnnError(f"{path} is damaged or truncated ({clipped(str(error), 100)}); retrain it"
                        ) from None
    with f:
        try:
            yield f
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
            if not isinstance(error, OSError) and not _raised_by_h5py(error):
                raise  # a bug in fcnn, not a damaged file
            raise FcnnError(f"{path} is damaged or truncated ({clipped(str(error), 100)}); "
                            "retrain it") from None


def _raised_by_h5py(error: BaseException) -> bool:
    """Whether HDF5 raised `error` about the file's own structure (h5py turns some of its
    errors into KeyError or ValueError), rather than fcnn's code."""
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    return trace is not None and "h5py" in Path(trace.tb_frame.f_code.co_filename).parts


def _atomic_write(path: Path, write: Any) -> None:
    """Write the HDF5 file whole or not at all (fcnn_cli/atomic.py)."""
    from fcnn_cli.atomic import replaced

    with replaced(path) as temporary:
        with h5py.File(temporary, "w") as f:
            write(f)
            f.flush()
