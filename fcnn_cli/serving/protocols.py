"""Request bodies → float32 rows in raw units, and results → response bodies.

Two protocols read JSON: the Open Inference Protocol V2 (`POST /v2/models/{name}/infer`,
JSON tensors, and Triton's binary tensor extension that `tritonclient` uses by default)
and MLflow's scoring convention (`POST /invocations`: `inputs`, `instances`,
`dataframe_split`, `dataframe_records`). Both end in the rows `Model.outputs` takes, as
`fcnn predict` reads a .npy or .csv batch, so every protocol answers with its numbers.

Pure functions, no web framework: a body that cannot be used raises `RequestError` with
a one-line message naming the key, the position and the fix. Bodies are parsed with
orjson where installed (the standard json module otherwise, and always to explain a body
that does not parse) and responses built by hand from plain lists: the hot path
validates no 784-number pydantic model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import clipped, did_you_mean, listing
from fcnn_cli.serving.errors import RequestError

try:  # several times faster than json on a row of 784 numbers: most of a request's cost
    import orjson
except ImportError:  # pragma: no cover - the standard library does the same, slower
    orjson = None

if TYPE_CHECKING:
    from fcnn_cli.model import Model

INPUT_NAME = "input"  # the V2 input, as in the ONNX export
VERSION = "1"         # a served model's only version in V2 URLs and answers

# V2 datatypes accepted for the input (all become float32: JSON numbers carry no type, and
# pixels are naturally UINT8), with their little-endian layout in binary tensor data.
DATATYPES = {"FP32": "<f4", "FP64": "<f8", "FP16": "<f2", "INT8": "i1", "INT16": "<i2",
             "INT32": "<i4", "INT64": "<i8", "UINT8": "u1", "UINT16": "<u2",
             "UINT32": "<u4", "UINT64": "<u8"}
MLFLOW_KEYS = ("inputs", "instances", "dataframe_split", "dataframe_records")


def output_name(model: Model) -> str:
    """The V2 output: `probabilities` for a classifier, `outputs` for regression."""
    return "probabilities" if model.is_classifier else "outputs"


def width(model: Model) -> int:
    """Numbers per input row. (math.prod, not np.prod: this runs on every request, and
    NumPy's reduction of a 1-3 element shape costs microseconds, Python's nanoseconds.)"""
    return int(math.prod(model.input_shape))


# --- JSON ------------------------------------------------------------------------------


def _no_constant(word: str) -> None:
    raise _NotJson(f"{word}, which is not a JSON number; send finite numbers only "
                   "(replace missing values before sending)")


class _NotJson(ValueError):
    pass


def load_json(body: bytes | memoryview, what: str) -> Any:
    """The JSON document `body` holds; an empty, broken, non-UTF-8, NaN-holding or
    too deeply nested body is a 400 that says so."""
    if not body:
        raise RequestError(400, f"the request body is empty; send {what} as JSON")
    if body[:3] == b"\xef\xbb\xbf":  # a byte order mark, as some Windows tools write
        body = body[3:]
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the standard parser says what is wrong (and reads 1e999 as inf)
    try:
        return json.loads(bytes(body), parse_constant=_no_constant)
    except _NotJson as error:
        raise RequestError(400, f"the body holds {error}") from None
    except RecursionError:
        raise RequestError(400, "the JSON body is nested too deeply; send rows as a flat "
                                "list or as a list of lists") from None
    except json.JSONDecodeError as error:
        raise RequestError(400, f"the body is not valid JSON ({error.msg} at line "
                                f"{error.lineno}, column {error.colno}); send {what}") from None
    except ValueError as error:  # not UTF-8, or an integer of thousands of digits
        raise RequestError(400, f"the body cannot be read as JSON ({clipped(str(error), 120)})"
                                f"; send {what} as UTF-8 JSON") from None


def dumps(value: object) -> bytes:
    """Compact JSON (UTF-8); floats as Python writes them, exact for float32 results."""
    if orjson is not None:
        return orjson.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {clipped(repr(value), 40)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, int):
        return "a whole number too large for float32"
    return f"a {type(value).__name__}"


def _first_odd(values: object) -> tuple[str, object] | None:
    """The position (`[2][5]`) and value of the first element that is not a number."""
    stack: list[tuple[str, object]] = [("", values)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, int) and abs(value) >= 2**63):
            return where, value
    return None


def numbers(values: object, where: str) -> np.ndarray:
    """JSON numbers (a number, a flat list or nested lists of equal lengths) as float32;
    anything else — text, null, true, objects, ragged lists, NaN or infinity, numbers
    beyond float32's range — is a 400 naming the first place that holds it."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):
        array = None
    if array is None or array.dtype.kind not in "iuf":
        depth, inner = 0, values
        while isinstance(inner, list) and inner:
            depth, inner = depth + 1, inner[0]
        if depth > 32:
            raise RequestError(400, f"{where} is nested {depth} lists deep; send a flat list "
                                    "or one list per row")
        odd = _first_odd(values)
        if odd is not None:
            raise RequestError(400, f"{where}{odd[0]} is {_describe(odd[1])}; "
                                    "send numbers only")
        raise RequestError(400, f"{where} is ragged (its lists differ in length, or mix "
                                "lists and numbers); send one list of equal length per row")
    with np.errstate(over="ignore"):
        x = array.astype(np.float32)
    if not np.isfinite(x).all():
        at = np.unravel_index(int(np.argmin(np.isfinite(x))), x.shape)
        position = "".join(f"[{int(i)}]" for i in at)
        raise RequestError(400, f"{where}{position} is {float(array[at])!r}, not a finite "
                                "float32 number; send finite numbers (|x| < 3.4e38)")
    return x


# --- rows ------------------------------------------------------------------------------


def as_rows(x: np.ndarray, model: Model, where: str) -> np.ndarray:
    """float32 values → (n, features) rows: one example (features values, or the model's
    input shape) or many ((n, features) or (n, *input_shape))."""
    need = width(model)
    shape = tuple(model.input_shape)
    if x.ndim == 0 or x.size == 0:
        raise RequestError(400, f"{where} holds no inputs; send one row of {need} numbers "
                                "per input")
    if x.ndim == 1 or x.shape == shape:
        x = x.reshape(1, -1)
    rows = x.reshape(len(x), -1)
    if rows.shape[1] != need:
        raise RequestError(400, f"{where}: each row has {rows.shape[1]} values but the model "
                                f"takes {need} (input shape {list(shape)}); send rows of "
                                f"{need} numbers")
    return rows


def _whole(value: object) -> bool:
    return type(value) is int and value >= 0


# --- Open Inference Protocol V2 ---------------------------------------------------------


@dataclass
class V2Request:
    rows: np.ndarray             # (n, features) float32, raw units
    id: str | None               # echoed in the answer
    binary_output: bool          # answer with Triton's binary tensor extension


def parse_v2(body: bytes, header_length: str | None, model: Model) -> V2Request:
    """A V2 infer body: JSON, or (with the Inference-Header-Content-Length header)
    JSON followed by the input's raw bytes, as `tritonclient` sends by default."""
    json_part, binary = _split_binary(body, header_length)
    request = load_json(json_part, 'a V2 inference request {"inputs": [...]}')
    if not isinstance(request, dict):
        raise RequestError(400, "the body must be a JSON object with `inputs`, e.g. "
                                '{"inputs": [{"name": "input", "shape": [1, N], '
                                '"datatype": "FP32", "data": [...]}]}')
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        got = "no `inputs`" if inputs is None else "`inputs` that is not a non-empty list"
        raise RequestError(400, f"the request has {got}; send \"inputs\": [{{\"name\": "
                                f"\"{INPUT_NAME}\", \"shape\": [N, {width(model)}], "
                                "\"datatype\": \"FP32\", \"data\": [...]}]")
    if len(inputs) != 1:
        raise RequestError(400, f"the request has {len(inputs)} inputs; this model takes one, "
                                f"named '{INPUT_NAME}'")
    rows = _v2_tensor(inputs[0], binary, model)
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError(400, "`id` must be a string; it is echoed in the answer")
    return V2Request(rows, request_id, _wants_binary(request, model))


def _split_binary(body: bytes, header_length: str | None) -> tuple[bytes, bytes | None]:
    if header_length is None:
        return body, None
    if not header_length.strip().isdigit() or int(header_length) > len(body):
        raise RequestError(400, f"Inference-Header-Content-Length is {header_length[:20]!r} "
                                f"but the body has {len(body)} bytes; give the length of the "
                                "JSON part in bytes")
    return body[:int(header_length)], body[int(header_length):]


def _v2_tensor(tensor: object, binary: bytes | None, model: Model) -> np.ndarray:
    where = "inputs[0]"
    if not isinstance(tensor, dict):
        raise RequestError(400, f"{where} must be an object with name, shape, datatype "
                                "and data")
    name = tensor.get("name")
    if name != INPUT_NAME:
        raise RequestError(400, f"{where} is named {clipped(repr(name), 40)}; this model's "
                                f"input is '{INPUT_NAME}'")
    shape, datatype = tensor.get("shape"), tensor.get("datatype")
    if not isinstance(shape, list) or not shape or not all(map(_whole, shape)):
        raise RequestError(400, f"{where}.shape is {clipped(repr(shape), 40)}; give a list "
                                f"of whole numbers, [N, {width(model)}] for N rows")
    if datatype not in DATATYPES:
        raise RequestError(400, f"{where}.datatype is {clipped(repr(datatype), 40)}; send "
                                "\"FP32\" (other numeric types such as FP64, INT32 or UINT8 "
                                "are converted to FP32)")
    x = _tensor_values(tensor, binary, shape, datatype, where)
    count = math.prod(shape)
    if x.size != count:
        raise RequestError(400, f"{where}.shape {shape} holds {count} values but "
                                f"{where}.data has {x.size}; make them agree")
    if len(shape) > 1 and math.prod(shape[1:]) != width(model):
        raise RequestError(400, f"{where}.shape is {shape} but the model takes rows of "
                                f"{width(model)} values (input shape "
                                f"{list(model.input_shape)}); send shape [N, {width(model)}]")
    return as_rows(x.reshape(shape), model, f"{where}.data")


def _tensor_values(tensor: dict[str, Any], binary: bytes | None, shape: list[int],
                   datatype: str, where: str) -> np.ndarray:
    parameters = tensor.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is None:
        if "data" not in tensor:
            raise RequestError(400, f"{where} has no `data`; send the values as a flat "
                                    "or nested list of numbers")
        x = numbers(tensor["data"], f"{where}.data")
        if datatype not in ("FP32", "FP64", "FP16") and not np.array_equal(x, np.round(x)):
            raise RequestError(400, f"{where}.datatype is {datatype} but data holds numbers "
                                    "that are not whole; send datatype FP32")
        return x
    dtype = np.dtype(DATATYPES[datatype])
    if binary is None or not _whole(size) or size > len(binary):
        raise RequestError(400, f"{where}.parameters.binary_data_size is {size!r} but "
                                f"{0 if binary is None else len(binary)} bytes follow the "
                                "JSON header; send the tensor's bytes after it")
    if size != math.prod(shape) * dtype.itemsize:
        raise RequestError(400, f"{where}: {size} bytes of {datatype} but shape {shape} needs "
                                f"{math.prod(shape) * dtype.itemsize}; make them agree")
    with np.errstate(over="ignore"):
        x = np.frombuffer(binary[:size], dtype=dtype).astype(np.float32)
    if not np.isfinite(x).all():
        at = int(np.argmin(np.isfinite(x)))
        raise RequestError(400, f"{where}: value {at} of the binary data is {x[at]}; send "
                                "finite numbers")
    return x


def _wants_binary(request: dict[str, Any], model: Model) -> bool:
    """Whether the answer uses the binary tensor extension: asked for the output, or for
    every output (`binary_data_output`, what tritonclient asks when naming none)."""
    outputs = request.get("outputs")
    parameters = request.get("parameters")
    everything = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    if outputs is None:
        return everything
    if not isinstance(outputs, list):
        raise RequestError(400, "`outputs` must be a list of {\"name\": ...} objects")
    name = output_name(model)
    binary = everything
    for i, output in enumerate(outputs):
        asked = output.get("name") if isinstance(output, dict) else None
        if asked != name:
            raise RequestError(400, f"outputs[{i}] asks for {clipped(repr(asked), 40)}; this "
                                    f"model's output is '{name}'")
        settings = output.get("parameters") or {}
        if isinstance(settings, dict) and settings.get("class_count"):
            raise RequestError(400, f"outputs[{i}].parameters.class_count (Triton's "
                                    "classification extension) is not supported; read the "
                                    f"top classes from '{name}' (class names: GET /info)")
        if isinstance(settings, dict) and "binary_data" in settings:
            binary = settings["binary_data"] is True
    return binary


def v2_response(model_name: str, request: V2Request, name: str,
                results: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """The V2 answer and its extra headers: JSON, or JSON + raw float32 bytes."""
    head = f'{{"model_name":{json.dumps(model_name)},"model_version":"{VERSION}",'
    if request.id is not None:
        head += f'"id":{json.dumps(request.id)},'
    shape = f'[{results.shape[0]},{results.shape[1]}]'
    output = f'{{"name":"{name}","datatype":"FP32","shape":{shape},'
    if not request.binary_output:
        data = dumps(results.ravel().tolist())
        return f'{head}"outputs":[{output}"data":'.encode() + data + b"}]}", {}
    raw = np.ascontiguousarray(results, dtype="<f4").tobytes()
    text = f'{head}"outputs":[{output}"parameters":{{"binary_data_size":{len(raw)}}}}}]}}'
    encoded = text.encode()
    return encoded + raw, {"Inference-Header-Content-Length": str(len(encoded))}


def v2_metadata(model: Model, model_name: str) -> dict[str, Any]:
    """GET /v2/models/{name}: the model's input and output tensors."""
    return {"name": model_name, "versions": [VERSION], "platform": "fcnn",
            "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, width(model)]}],
            "outputs": [{"name": output_name(model), "datatype": "FP32",
                         "shape": [-1, len(model.output_names)]}]}


# --- MLflow's scoring convention ---------------------------------------------------------


def parse_invocations(body: bytes, model: Model) -> tuple[np.ndarray, dict[str, Any]]:
    """The rows of an /invocations JSON body and its `params` (a dict, maybe empty)."""
    what = 'an MLflow scoring request, e.g. {"inputs": [[...], ...]}'
    request = load_json(body, what)
    if not isinstance(request, dict):
        raise RequestError(400, f"the body must be a JSON object; send {what}")
    given = [key for key in MLFLOW_KEYS if key in request]
    unknown = [key for key in request if key not in (*MLFLOW_KEYS, "params")]
    if unknown:
        raise RequestError(400, f"unknown key {clipped(repr(unknown[0]), 40)}"
                                f"{did_you_mean(unknown[0], MLFLOW_KEYS)}; send one of "
                                f"{', '.join(MLFLOW_KEYS)} (and optionally params)")
    if len(given) != 1:
        raise RequestError(400, f"the body has {' and '.join(given) or 'none'} of "
                                f"{', '.join(MLFLOW_KEYS)}; send exactly one")
    params = request.get("params") or {}
    if not isinstance(params, dict):
        raise RequestError(400, "`params` must be an object, e.g. {\"probabilities\": true}")
    key = given[0]
    value = request[key]
    if key == "dataframe_split":
        return _dataframe_split(value, model), params
    if key == "dataframe_records" or (key == "instances" and _records(value)):
        return _records_rows(value, model, key), params
    if key == "inputs" and isinstance(value, dict):
        return _columns_rows(value, model, key), params
    return as_rows(numbers(value, key), model, key), params


def _records(value: object) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def _features(model: Model, columns: Sequence[str], where: str) -> list[str]:
    """The columns to read, in the model's input order: its feature columns by name (any
    order, others ignored, as `fcnn predict` reads a CSV), or for a model that knows no
    names every column as given."""
    if model.feature_names is None:
        if len(columns) != width(model):
            raise RequestError(400, f"{where} has {len(columns)} columns but the model takes "
                                    f"{width(model)} values per row")
        return list(columns)
    for name in model.feature_names:
        if name not in columns:
            raise RequestError(400, f"{where} has no column '{name}'"
                                    f"{did_you_mean(name, [str(c) for c in columns])}; the "
                                    f"model takes the columns "
                                    f"{listing(model.feature_names, 12)}")
    return list(model.feature_names)


def _dataframe_split(value: object, model: Model) -> np.ndarray:
    """{"columns": [...], "data": [[...], ...]}: the model's columns picked by name before
    anything is read as a number, so other columns (an id, notes) may hold anything."""
    where = "dataframe_split"
    if not isinstance(value, dict) or not isinstance(value.get("data"), list) or \
            not all(isinstance(row, list) for row in value["data"]):
        raise RequestError(400, f"{where} must be an object with `columns` and `data` (a list "
                                'of rows), e.g. {"columns": ["a", "b"], "data": [[1, 2]]}')
    data = value["data"]
    columns = value.get("columns")
    if columns is None:
        if model.feature_names is not None:
            raise RequestError(400, f"{where} has no `columns`; name them: the model takes "
                                    f"{listing(model.feature_names, 12)}")
        return as_rows(numbers(data, f"{where}.data"), model, f"{where}.data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError(400, f"{where}.columns must be a list of column names")
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise RequestError(400, f"{where}.data[{i}] has {len(row)} values but `columns` "
                                    f"names {len(columns)}; make them agree")
    index = {name: i for i, name in enumerate(columns)}
    at = [index[name] for name in _features(model, columns, where)]
    picked = data if at == list(range(len(columns))) else [[row[i] for i in at] for row in data]
    return as_rows(numbers(picked, f"{where}.data"), model, f"{where}.data")


def _records_rows(value: object, model: Model, where: str) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise RequestError(400, f"{where} must be a non-empty list of "
                                '{"column": value} objects, one per row')
    first = value[0]
    if not isinstance(first, dict):
        raise RequestError(400, f"{where}[0] is not an object; send one "
                                '{"column": value} object per row')
    chosen = _features(model, list(first), where + "[0]")
    table = []
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise RequestError(400, f"{where}[{i}] is not an object; send one "
                                    '{"column": value} object per row')
        missing = next((name for name in chosen if name not in record), None)
        if missing is not None:
            raise RequestError(400, f"{where}[{i}] has no '{missing}'; every row needs "
                                    f"every column the model takes")
        table.append([record[name] for name in chosen])
    return as_rows(numbers(table, where), model, where)


def _columns_rows(value: dict[str, Any], model: Model, where: str) -> np.ndarray:
    """`inputs` as named columns, {"column": [values]} (a table model's feature columns)."""
    if model.feature_names is None:
        raise RequestError(400, f"`{where}` is an object of named columns but this model "
                                "has no named features; send a list of rows")
    chosen = _features(model, list(value), where)
    columns = [numbers(value[name], f"{where}.{name}").reshape(-1) for name in chosen]
    if len({len(c) for c in columns}) != 1:
        raise RequestError(400, f"the columns of `{where}` differ in length; send one value "
                                "per row in every column")
    return as_rows(np.stack(columns, axis=1), model, where)


def truthy(value: object, where: str) -> bool:
    """A yes/no setting from JSON (true/false) or a query string (1/0, true/false)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise RequestError(400, f"{where} is {clipped(repr(value), 30)}; give true or false")


def invocations_response(model: Model, results: np.ndarray, probabilities: bool) -> bytes:
    """`{"predictions": [...]}` as MLflow's pyfunc answers: a classifier's class labels
    (with `probabilities`, one list of class probabilities per row, in class order); a
    regression's outputs, one number per row when it has one output."""
    if model.is_classifier and not probabilities:
        labels = [model.output_names[i] for i in results.argmax(axis=1)]
        return dumps({"predictions": labels})
    rows = results[:, 0] if results.shape[1] == 1 and not model.is_classifier else results
    return dumps({"predictions": rows.tolist()})


# --- fcnn's own answers ----------------------------------------------------------------


def prediction(model: Model, name: str, values: np.ndarray) -> dict[str, Any]:
    """One `/predict` answer: label and probabilities by class, or outputs by name (the
    keys of `fcnn predict --json`, probabilities keyed by class)."""
    names = model.output_names
    if model.is_classifier:
        return {"input": name, "label": names[int(values.argmax())],
                "probabilities": {c: float(v) for c, v in zip(names, values)}}
    return {"input": name, "outputs": {c: float(v) for c, v in zip(names, values)}}


def seen(pixels: np.ndarray, pixel_max: float) -> dict[str, Any]:
    """The picture the network sees: its shape, and pixels in 0..1, 3 decimals."""
    scaled = np.round(np.asarray(pixels, np.float64) / pixel_max, 3)
    return {"shape": list(pixels.shape), "pixels": scaled.ravel().tolist()}


def activations(model: Model, hidden: list[np.ndarray]) -> list[dict[str, Any]]:
    """One input's hidden layers, first first: units, activation and values (4 digits)."""
    return [{"layer": l, "units": int(a.size), "activation": model.network.activations[l - 1].name,
             "a": [float(f"{v:.4g}") for v in a.tolist()]}
            for l, a in enumerate(hidden, start=1)]


def model_info(model: Model, model_name: str, version: str) -> dict[str, Any]:
    """GET /info: what the page and a client need to know to send inputs."""
    image = model.image
    kind = "image" if image is not None else "table" if model.feature_names else "vector"
    return {"name": model_name, "version": version,
            "task": "classification" if model.is_classifier else "regression",
            "inputs": kind, "input_shape": list(model.input_shape),
            "features": model.feature_names, "classes": model.class_names,
            "outputs": list(model.output_names),
            "layers": [{"units": int(w.shape[0]), "activation": act.name}
                       for w, act in zip(model.network.w, model.network.activations)],
            "image": None if image is None else {"pipeline": image.pipeline,
                                                 "size": list(image.size),
                                                 "channels": image.channels}}
