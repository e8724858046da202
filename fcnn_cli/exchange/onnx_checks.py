"""What `fcnn import` checks in an ONNX file before it reads a single weight.

A hostile or damaged file must end in one line that names the file, the place and what
was expected, never in numpy's or protobuf's exception, and never in a model file that
then cannot predict. In order:

1. structure, before anything is allocated: every tensor (initializers and Constant
   values) holds a known number type, declares no negative dimension, fits fcnn's memory
   budget (`fcnn_cli.limits`; checked before values kept in external data files are
   read), and stores exactly as many values as its shape declares; every node has an
   output, every Constant one value;
2. `onnx.checker.check_model` with `full_check` (types and shapes inferred through the
   graph, which is cheap for an MLP), its message shortened to one line;
3. later, where `onnx_in` uses a constant: float values, of the right rank, all finite
   (`weights`).

fcnn's own export also says in its metadata how the inputs are prepared; `fcnn_metadata`
checks those values against the network before they become the model's.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError, clipped

if TYPE_CHECKING:
    import onnx

FLOAT_TYPES = {1: np.float32, 10: np.float16, 11: np.float64}  # FLOAT, FLOAT16, DOUBLE
INT_TYPES = {6: np.int32, 7: np.int64}  # INT32, INT64: shapes (a Reshape's target)
_WEIGHTS = "fcnn imports float32, float16 or float64 weights"
_CONSTANT_VALUES = ("value", "value_float", "value_floats", "value_int", "value_ints")


def check_structure(proto: onnx.ModelProto, path: Path) -> None:
    """Tensors and nodes as the ONNX format defines them, sizes within the budget."""
    graph = proto.graph
    for tensor in graph.initializer:
        check_tensor(tensor, f"initializer {tensor.name!r}", path)
    for node in graph.node:
        label = node.name or node.op_type
        if not node.output or not all(node.output):
            raise FcnnError(f"{path}: node {label!r} ({node.op_type}) has no output; every "
                            "node of an ONNX graph computes at least one named tensor")
        if node.op_type == "Constant":
            _check_constant(node, label, path)


def check_tensor(tensor: onnx.TensorProto, where: str, path: Path) -> None:
    """Type, declared size (against the budget) and stored size of one tensor."""
    from onnx import TensorProto, helper

    from fcnn_cli.limits import check_allocation

    kind = tensor.data_type
    if kind not in FLOAT_TYPES and kind not in INT_TYPES:
        name = TensorProto.DataType.Name(kind) if kind in TensorProto.DataType.values() \
            else f"type {kind}"
        hint = " (a quantised graph: export it before quantising)" \
            if name.startswith(("INT", "UINT", "FLOAT8", "FLOAT4")) else ""
        raise FcnnError(f"{path}: {where} holds {name.lower()} values; {_WEIGHTS}{hint}")
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims):
        raise FcnnError(f"{path}: {where} declares the negative dimension "
                        f"{min(dims)}; a tensor's dimensions are sizes, 0 or more")
    itemsize = np.dtype(FLOAT_TYPES.get(kind) or INT_TYPES[kind]).itemsize
    check_allocation(f"{path}: {where}", dims, itemsize)
    declared = math.prod(dims)
    if tensor.data_location == TensorProto.EXTERNAL:  # not read yet: counted once it is
        return
    if tensor.HasField("raw_data"):
        stored, unit = len(tensor.raw_data), "bytes"
        expected = declared * itemsize
    else:
        stored, unit = len(getattr(tensor, helper.tensor_dtype_to_field(kind))), "values"
        expected = declared
    if stored != expected:
        shape = "×".join(map(str, dims)) or "a scalar"
        raise FcnnError(f"{path}: {where} stores {stored:,} {unit} but its shape ({shape}) "
                        f"declares {expected:,}; the file is damaged or truncated")


def _check_constant(node: onnx.NodeProto, label: str, path: Path) -> None:
    names = [a.name for a in node.attribute]
    if len(names) != 1 or names[0] not in _CONSTANT_VALUES:
        found = ", ".join(names) or "none"
        raise FcnnError(f"{path}: Constant node {label!r} must hold exactly one number value "
                        f"(value, value_float(s) or value_int(s)); it has {found}")
    if names[0] == "value":
        check_tensor(node.attribute[0].t, f"Constant node {label!r}", path)


def check_model(proto: onnx.ModelProto, path: Path) -> None:
    """onnx.checker's full check, its verdict as one line naming the file."""
    import onnx

    try:
        try:
            onnx.checker.check_model(proto, full_check=True)
        except ValueError as error:  # over 2 GB as one message: the checker wants the path
            if "2GB" not in str(error):
                raise
            onnx.checker.check_model(str(path), full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError,
            ValueError) as error:
        raise FcnnError(f"{path} fails ONNX's model check: {_one_line(str(error))}; the file "
                        "is damaged or was not written by an ONNX exporter") from None


def _one_line(text: str, limit: int = 240) -> str:
    """The checker's message without its bracketed tags, context block and line breaks."""
    text = text.split("==> Context")[0]
    text = re.sub(r"\[\w+Error\]\s*(Inference error\(s\):\s*)?", "", text)
    text = re.sub(r"\(op_type:(\w+), node name: ([^)]*)\):", r"node '\2' (\1):", text)
    return clipped(" ".join(text.split()).rstrip(". "), limit)


def weights(values: np.ndarray, where: str, path: Path, rank: tuple[int, ...] = (0, 1, 2)
            ) -> np.ndarray:
    """A constant used as weights, a bias or a normalisation: float, of a `rank` in
    `rank` (a bias may be (units,) or (1, units)), every value finite."""
    if values.dtype.type not in FLOAT_TYPES.values():
        raise FcnnError(f"{path}: {where} holds {values.dtype} values; {_WEIGHTS}")
    if values.ndim not in rank:
        expected = " or ".join(f"{r}-D" for r in rank)
        raise FcnnError(f"{path}: {where} is {values.ndim}-D {tuple(values.shape)}; a "
                        f"fully-connected layer needs it {expected}")
    if not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0]
        value = values[tuple(bad)]
        raise FcnnError(f"{path}: {where} holds {value} at index {tuple(int(i) for i in bad)}; "
                        "weights must be finite numbers")
    return values


def fcnn_metadata(meta: dict[str, Any], features: int, units: int, path: Path) -> None:
    """The input description fcnn's export writes, checked against the network: a file
    that says it came from fcnn and disagrees with its own weights is damaged."""
    def bad(key: str, why: str) -> FcnnError:
        return FcnnError(f"{path}: the metadata's {key} {why}; the file is damaged (export "
                         "the model again)")

    shape = meta.get("input_shape")
    if shape is not None and not (positive_ints(shape) and math.prod(shape) == features):
        raise bad("input_shape", f"is not a shape of the first layer's {features} inputs")
    pixel_max = meta.get("pixel_max")
    if pixel_max is not None and not (isinstance(pixel_max, (int, float))
                                      and math.isfinite(pixel_max) and pixel_max > 0):
        raise bad("pixel_max", "is not a positive number")
    names = meta.get("class_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str)
                                                                  for n in names)
                                  and (len(names) == units or (len(names) == 2
                                                               and units == 1))):
        raise bad("class_names", f"is not a list of names for the {units} output units")
    image = meta.get("image")
    if image is not None and not picture_spec_fits(image, features):
        raise bad("image", f"is not a picture spec for the first layer's {features} inputs")
    config = meta.get("config")
    if config is not None:
        _check_config(config, path, bad)


def picture_spec_fits(image: Any, features: int) -> bool:
    """Whether `image` (the metadata's JSON) is a picture spec of `features` values."""
    from fcnn_cli.data.image_spec import ImageSpec

    spec = ImageSpec.parse(image)
    return spec is not None and math.prod(spec.shape) == features


def _check_config(config: Any, path: Path, bad: Any) -> None:
    """The training config travels as YAML text: within the size and alias limits of any
    config fcnn reads, and a mapping, so `eval` can read it from the imported model."""
    from fcnn_cli.limits import MAX_CONFIG_BYTES
    from fcnn_cli.yamlfile import parse

    if not isinstance(config, str) or len(config.encode()) > MAX_CONFIG_BYTES:
        raise bad("config", "is not YAML text of at most 1 MiB")
    try:
        raw = parse(config, "its YAML")
    except FcnnError as error:
        raise bad("config", f"cannot be read ({error.message[:160]})") from None
    if raw is not None and not isinstance(raw, dict):
        raise bad("config", "is not a mapping of settings")


def positive_ints(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and \
        all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
