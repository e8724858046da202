"""An fcnn Model from an ONNX graph that holds a multilayer perceptron.

What is read: one input, one output, and one chain of nodes between them:

- optional preprocessing before the first layer, as fcnn exports it: Sub(mean) then
  Div(std) (or Mul by 1/std), mapped back into the model's Normalizer; a Flatten, or a
  Reshape to a constant [batch, -1], first, when the input has more than two dimensions;
- per layer, Gemm (transA 0, transB 0 or 1, alpha and beta folded into w and b) or MatMul
  followed by Add (bias on either side), with its weights turned to the lecture's
  orientation w^l: (units_l, units_{l-1});
- per layer at most one activation: Relu, LeakyRelu, PRelu, Sigmoid, Tanh, Mul(z,
  Sigmoid(z)) as swish, and Softmax (axis 1) on the last;
- optional de-normalisation after the last layer, as fcnn exports a regression model:
  Mul(std) then Add(mean), mapped back into the target normaliser.

Identity nodes and Casts between float types are passed over. Anything else (Conv,
BatchNormalization, a residual Add of two computed tensors, a dynamic Reshape, a second
input, ops not listed) is refused in one line naming the first node that does not fit.

What the model is: a classifier when the file's metadata has class_names (fcnn's own
export) or the last op is a Softmax (class names "0".."K−1"); otherwise the output layer
keeps its activation (a final Gemm gives linear outputs) and the model is a regression
model whose `predict` returns the network's raw outputs. PyTorch classifiers usually end
in logits (a Linear layer, trained with CrossEntropyLoss): `add_softmax=True` appends
softmax to such a linear output and makes a classifier. The cost is log-likelihood with a
softmax output and quadratic otherwise, unless the metadata names one. fcnn's metadata
(config, input shape, image spec, pixel_max, class/feature/target names, history) is
restored when present, so `fcnn export` then `fcnn import` gives the same model, weights
bit for bit, its preprocessing moved from the graph back into the model (applied once).
Another tool's graph says nothing about its inputs: `input_options` turns `fcnn import`'s
options (--image, --input-shape, --scale, --mean/--std, --classes) into the model's.

Before any of this, the file is checked (`onnx_checks`: declared sizes against the memory
budget, stored sizes, number types, `onnx.checker`), so a damaged or hostile file is one
line, and the written model is one that predicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.split import NORMALIZATIONS, Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.exchange import onnx_checks
from fcnn_cli.model import Model
from fcnn_cli.nn import Network
from fcnn_cli.nn.activations import Activation, LeakyReLU, PReLU, make_activation
from fcnn_cli.nn.costs import NAMES as COSTS
from fcnn_cli.nn.costs import make_cost

if TYPE_CHECKING:
    import onnx

    from fcnn_cli.exchange.input_options import InputOptions

SUPPORTED = "fcnn imports chains of Gemm/MatMul+Add and activations"
_ELEMENTWISE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


@dataclass
class Step:
    """One recognised piece of the chain: `kind` and the node it came from."""

    kind: str   # flatten | sub | div | mul | add | dense | act | cast
    node: str   # how messages name the node
    op: str
    values: np.ndarray | None = None
    bias: np.ndarray | None = None
    activation: str = ""
    param: Any = None
    width: int | None = None  # a Reshape's constant feature count


@dataclass
class Layer:
    w: np.ndarray
    b: np.ndarray | None
    activation: str = "linear"
    param: Any = None


@dataclass
class Parsed:
    """The chain, sorted into what a Model holds."""

    layers: list[Layer] = field(default_factory=list)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    flattened: bool = False
    width: int | None = None
    target_std: np.ndarray | None = None
    target_mean: np.ndarray | None = None


def model_from_onnx(path: Path, add_softmax: bool = False,
                    options: InputOptions | None = None) -> Model:
    """Read the MLP in the ONNX file at `path` (nothing is written). `add_softmax`: append
    softmax to a linear output layer (logits) and make a classifier; `options`: what a
    graph from another tool does not say about its inputs (picture pipeline, shape,
    scale, class names). The file is checked (`onnx_checks`) before any weight is read."""
    try:
        import onnx
    except ImportError:
        raise FcnnError("importing ONNX needs the onnx package; "
                        "pip install 'fcnn[export]'") from None
    path = Path(path)
    proto = _load(onnx, path)
    onnx_checks.check_model(proto, path)
    chain = _Chain(proto, path)
    parsed = _sort(chain.walk(), path)
    meta = _metadata(proto)
    model = _build(parsed, chain, meta, path, add_softmax, proto.producer_name == "fcnn")
    if options is not None:
        from fcnn_cli.exchange.input_options import apply

        model = apply(model, options, path)
    _check_runs(model, path)
    return model


def _check_runs(model: Model, path: Path) -> None:
    """Forward passes on inputs of a normalised network's scale (all 0, all ±1) and, for
    pictures, on black and full-ink pixels through the preprocessing: weights (or a
    normalisation) that overflow to inf or NaN there are refused now, not by the first
    `predict` on the written model."""
    width = model.architecture[0]
    probe = np.broadcast_to(np.array([[0.0], [1.0], [-1.0]], model.network.dtype), (3, width))
    with np.errstate(all="ignore"):
        a = model.network.predict(probe)
        if model.pixel_max is not None:
            pixels = np.broadcast_to(np.array([[0.0], [model.pixel_max]], np.float32),
                                     (2, width))
            a = np.vstack([a, model.network.predict(model.prepare(pixels))])
    if not np.isfinite(a).all():
        where = " or on pixels of 0 and full ink" if model.pixel_max is not None else ""
        raise FcnnError(f"{path}: the network's outputs overflow to inf or NaN on inputs "
                        f"of 0 and ±1{where}; its weights or normalisation are too large "
                        "to be a trained network's")


def _load(onnx: Any, path: Path) -> onnx.ModelProto:
    if not path.exists():
        raise FcnnError(f"{path}: no such file; give an ONNX model file (.onnx)")
    if path.is_dir():
        raise FcnnError(f"{path} is a folder; give an ONNX model file (.onnx)")
    from fcnn_cli.limits import over_budget

    too_big = over_budget(path.stat().st_size)
    if too_big is not None:  # protobuf reads the whole file into memory, then parses it
        raise FcnnError(f"{path} is {too_big}; an MLP's file is far smaller (raise the "
                        "budget with FCNN_MEMORY_BUDGET)")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError, ...
        raise _unreadable(path, error) from None
    if not proto.graph.node:  # protobuf parses many non-ONNX files into an empty message
        raise FcnnError(f"{path} is not an ONNX model (it holds no graph nodes); give a .onnx "
                        "file written by an ONNX exporter")
    # Declared sizes first, external data files (weights kept beside the model) after:
    # onnx refuses their paths outside the model's folder, symlinks and FIFOs.
    onnx_checks.check_structure(proto, path)
    try:
        from onnx.external_data_helper import load_external_data_for_model

        load_external_data_for_model(proto, str(path.parent))
    except Exception as error:  # a missing, escaping or unreadable external-data file
        raise _unreadable(path, error) from None
    onnx_checks.check_structure(proto, path)  # now the external values are there to count
    return proto


def _unreadable(path: Path, error: Exception) -> FcnnError:
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return FcnnError(f"{path} cannot be read as an ONNX model ({reason[:200]}); give a .onnx "
                     "file written by an ONNX exporter")


class _Chain:
    """The graph as a chain: follows the one input through its consumers to the output."""

    def __init__(self, proto: onnx.ModelProto, path: Path) -> None:
        from onnx import numpy_helper

        self.path, graph = path, proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")),
                          17)
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.nodes = []
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.constants[node.output[0]] = _constant_value(node)
            else:
                self.nodes.append(node)
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.nodes:
            for name in dict.fromkeys(node.input):
                self.consumers.setdefault(name, []).append(node)
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            names = ", ".join(repr(i.name) for i in inputs) or "none"
            raise FcnnError(f"{path}: the graph has {len(inputs)} inputs ({names}); fcnn "
                            "imports networks with exactly one input")
        if len(graph.output) != 1:
            raise FcnnError(f"{path}: the graph has {len(graph.output)} outputs; fcnn imports "
                            "networks with exactly one output")
        self.input, self.output = inputs[0], graph.output[0].name
        self.visited: set[int] = set()

    def input_dims(self) -> list[int | None]:
        """The input's dimensions, None where symbolic or unknown."""
        dims = self.input.type.tensor_type.shape.dim
        return [d.dim_value if d.HasField("dim_value") else None for d in dims]

    def walk(self) -> list[Step]:
        """The recognised steps from input to output, in order."""
        self._check_input_type()
        steps, current = [], self.input.name
        while current != self.output:
            step, current = self._next(current)
            if step is not None:
                steps.append(step)
        stray = [n for n in self.nodes if id(n) not in self.visited]
        if stray:
            raise FcnnError(f"{self.path}: node {_label(stray[0])!r} ({stray[0].op_type}) is "
                            f"not on the chain from the input to the output; {SUPPORTED}")
        return steps

    def _check_input_type(self) -> None:
        elem = self.input.type.tensor_type.elem_type
        if elem not in onnx_checks.FLOAT_TYPES:
            raise FcnnError(f"{self.path}: the input {self.input.name!r} is not a float tensor "
                            f"(ONNX type {elem}); fcnn networks take float inputs")

    def _next(self, current: str) -> tuple[Step | None, str]:
        users = self.consumers.get(current, [])
        if not users:
            raise FcnnError(f"{self.path}: tensor {current!r} reaches no node and is not the "
                            f"output {self.output!r}; {SUPPORTED}")
        if len(users) == 2:
            swish = self._swish(current, users)
            if swish is not None:
                return swish
        shape = next((n for n in users if n.op_type == "Shape"), None)
        if shape is not None:  # x.view(x.size(0), -1) and the like
            raise FcnnError(f"{self.path}: node {_label(shape)!r} (Shape) feeds a shape computed "
                            "at run time (a dynamic Reshape), which fcnn cannot hold; fcnn reads "
                            "only Flatten or a constant Reshape to [batch, -1]")
        if len(users) > 1:
            other = users[1]
            raise FcnnError(f"{self.path}: node {_label(other)!r} ({other.op_type}) reads "
                            f"{current!r}, which node {_label(users[0])!r} also reads: a branch "
                            f"or residual connection, which a fully-connected chain cannot "
                            f"hold; {SUPPORTED}")
        node = users[0]
        if id(node) in self.visited:  # only a malformed graph has a cycle
            raise FcnnError(f"{self.path}: node {_label(node)!r} is reached twice; the graph "
                            "has a cycle")
        self.visited.add(id(node))
        return self._step(node, current), node.output[0]

    def _swish(self, z: str, users: list[onnx.NodeProto]) -> tuple[Step, str] | None:
        """Sigmoid(z) → s and Mul(z, s) (either order): swish, z·σ(z)."""
        sig = next((n for n in users if n.op_type == "Sigmoid"), None)
        mul = next((n for n in users if n.op_type == "Mul"), None)
        if sig is None or mul is None or set(mul.input) != {z, sig.output[0]} \
                or self.consumers.get(sig.output[0]) != [mul]:
            return None
        self.visited.update((id(sig), id(mul)))
        return Step("act", _label(mul), "Mul", activation="swish"), mul.output[0]

    def _step(self, node: onnx.NodeProto, current: str) -> Step | None:
        op, label = node.op_type, _label(node)
        attrs = _attributes(node)
        if node.domain not in ("", "ai.onnx"):
            raise self._refuse(node)
        if op == "Identity":
            return None
        if op == "Cast":
            if attrs.get("to") not in onnx_checks.FLOAT_TYPES:
                raise FcnnError(f"{self.path}: node {label!r} casts to a non-float type; "
                                f"{SUPPORTED}")
            return Step("cast", label, op)
        if op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise FcnnError(f"{self.path}: node {label!r} is a Flatten with axis "
                                f"{attrs['axis']}; fcnn reads only Flatten to [batch, -1]")
            return Step("flatten", label, op)
        if op == "Reshape":
            return self._reshape(node)
        if op in ("Sub", "Div", "Mul", "Add"):
            return Step(op.lower(), label, op, values=self._constant_operand(node, current))
        if op == "Gemm":
            return self._gemm(node, current, attrs)
        if op == "MatMul":
            if node.input[0] != current:
                raise FcnnError(f"{self.path}: node {label!r} is a MatMul with the weights "
                                f"first; fcnn reads x·W with the batch in rows")
            w = self._const(node, node.input[1], rank=(2,))
            return Step("dense", label, op, values=np.ascontiguousarray(w.T))
        if op in _ELEMENTWISE:
            return Step("act", label, op, activation=_ELEMENTWISE[op])
        if op == "LeakyRelu":
            return Step("act", label, op, activation="leaky-relu",
                        param=_short_float(self._number(node, attrs, "alpha", 0.01)))
        if op == "PRelu":
            return Step("act", label, op, activation="prelu",
                        param=self._const(node, node.input[1]))
        if op == "Softmax":
            axis = attrs.get("axis", 1 if self.opset < 13 else -1)
            if axis not in (1, -1):
                raise FcnnError(f"{self.path}: node {label!r} is a Softmax over axis {axis}; "
                                "fcnn's softmax runs over the classes, axis 1")
            return Step("act", label, op, activation="softmax")
        raise self._refuse(node)

    def _refuse(self, node: onnx.NodeProto) -> FcnnError:
        return FcnnError(f"{self.path}: node {_label(node)!r} is a {node.op_type}, which a "
                         f"fully-connected network cannot hold; {SUPPORTED}")

    def _const(self, node: onnx.NodeProto, name: str, rank: tuple[int, ...] = (0, 1, 2)
               ) -> np.ndarray:
        """The constant `name` that `node` takes as weights: float, finite, of `rank`."""
        if name not in self.constants:
            raise FcnnError(f"{self.path}: node {_label(node)!r} ({node.op_type}) takes "
                            f"{name!r}, a computed tensor, where fcnn needs a constant; "
                            f"{SUPPORTED}")
        return onnx_checks.weights(self.constants[name], self._where(node, name), self.path,
                                   rank)

    def _where(self, node: onnx.NodeProto, name: str) -> str:
        return f"{name!r} (input of node {_label(node)!r}, {node.op_type})"

    def _number(self, node: onnx.NodeProto, attrs: dict[str, Any], key: str,
                default: float) -> float:
        """A float attribute (Gemm's alpha and beta, LeakyRelu's alpha), finite."""
        value = attrs.get(key, default)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FcnnError(f"{self.path}: node {_label(node)!r} ({node.op_type}) has "
                            f"{key} = {value!r:.40}; it must be a finite number")
        return float(value)

    def _constant_operand(self, node: onnx.NodeProto, current: str) -> np.ndarray:
        """The constant of a binary op applied to `current`, e.g. the bias of x·W + b."""
        other = [name for name in node.input if name != current]
        if len(other) != 1 or other[0] not in self.constants:
            raise FcnnError(f"{self.path}: node {_label(node)!r} is a {node.op_type} of two "
                            f"computed tensors (a residual or gating join), which a "
                            f"fully-connected network cannot hold; {SUPPORTED}")
        if node.op_type in ("Sub", "Div") and node.input[0] != current:
            raise FcnnError(f"{self.path}: node {_label(node)!r} computes constant "
                            f"{node.op_type.lower()} x; fcnn reads (x − mean) / std only")
        return self._const(node, other[0])

    def _reshape(self, node: onnx.NodeProto) -> Step:
        label = _label(node)
        if node.input[1] not in self.constants:
            raise FcnnError(f"{self.path}: node {label!r} is a Reshape to a computed (dynamic) "
                            f"shape; fcnn reads only a constant Reshape to [batch, -1]")
        target = self.constants[node.input[1]]
        if target.dtype.kind not in "iu" or target.ndim != 1:
            raise FcnnError(f"{self.path}: node {label!r} (Reshape) takes a shape of "
                            f"{target.dtype} {tuple(target.shape)}; a shape is a 1-D list "
                            "of integers")
        shape = [int(v) for v in target]
        batch = (self.input_dims() or [None])[0]  # an export traced with a fixed batch size
        if len(shape) != 2 or not (shape[0] in (-1, 0, batch) or shape[1] == -1):
            raise FcnnError(f"{self.path}: node {label!r} reshapes to {shape}; fcnn reads only "
                            f"a Reshape to [batch, features]")
        return Step("flatten", label, "Reshape", width=shape[1] if shape[1] > 0 else None)

    def _gemm(self, node: onnx.NodeProto, current: str, attrs: dict[str, Any]) -> Step:
        """w = alpha·B (B transposed when transB = 0), b = beta·C: the lecture's w^l, b^l."""
        label = _label(node)
        if node.input[0] != current or attrs.get("transA", 0) != 0:
            raise FcnnError(f"{self.path}: node {label!r} is a Gemm that transposes or takes "
                            f"the weights first; fcnn reads Gemm(x, W, b) with transA = 0")
        w = self._const(node, node.input[1], rank=(2,))
        w = w if attrs.get("transB", 0) == 1 else np.ascontiguousarray(w.T)
        alpha = self._number(node, attrs, "alpha", 1.0)
        beta = self._number(node, attrs, "beta", 1.0)
        if alpha != 1.0:
            w = (w * w.dtype.type(alpha)).astype(w.dtype)
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self._const(node, node.input[2])
            bias = bias if beta == 1.0 else (bias * bias.dtype.type(beta)).astype(bias.dtype)
        return Step("dense", label, "Gemm", values=w, bias=bias)


def _sort(steps: list[Step], path: Path) -> Parsed:
    """Preprocessing, layers (dense, bias, activation) and de-normalisation, in that order."""
    parsed, stage = Parsed(), "pre"  # pre → z (after w·a) → a (after f) → post
    post: Step | None = None  # the first Mul/Add after a layer's activation
    for step in steps:
        if step.kind == "cast":
            continue
        if step.kind == "dense":
            if post is not None:
                raise _misplaced(path, post, "between layers")
            parsed.layers.append(Layer(step.values, step.bias))  # type: ignore[arg-type]
            stage = "z"
        elif stage == "pre":
            _preprocess(parsed, step, path)
        elif stage == "post":
            if step.kind not in ("mul", "add"):
                raise _misplaced(path, step, "after a Mul/Add on the outputs")
            _postprocess(parsed, step, path)
        elif step.kind == "add" and stage == "z":
            layer = parsed.layers[-1]
            units = layer.w.shape[0]
            c = _per_unit(step.values, units, path, step)  # type: ignore[arg-type]
            layer.b = c if layer.b is None else _per_unit(layer.b, units, path, step) + c
        elif step.kind == "act" and stage == "z":
            parsed.layers[-1].activation, parsed.layers[-1].param = step.activation, step.param
            stage = "a"
        elif step.kind == "act":
            raise FcnnError(f"{path}: node {step.node!r} ({step.op}) applies a second "
                            "activation to one layer; fcnn layers have one activation each")
        elif step.kind in ("mul", "add"):
            _postprocess(parsed, step, path)
            post, stage = step, "post"
        else:
            raise _misplaced(path, step, "after the first layer")
    if not parsed.layers:
        raise FcnnError(f"{path}: the graph has no Gemm or MatMul layer; {SUPPORTED}")
    return parsed


def _preprocess(parsed: Parsed, step: Step, path: Path) -> None:
    """Sub(mean) then Div(std) or Mul(1/std), each at most once, and Flatten/Reshape."""
    if step.kind == "flatten":
        parsed.flattened, parsed.width = True, step.width or parsed.width
    elif step.kind == "sub" and parsed.mean is None and parsed.std is None:
        parsed.mean = np.asarray(step.values, dtype=np.float32)
    elif step.kind == "div" and parsed.std is None:
        parsed.std = np.asarray(step.values, dtype=np.float32)
    elif step.kind == "mul" and parsed.std is None:
        with np.errstate(all="ignore"):  # x · 0 gives std inf: _stat refuses it
            parsed.std = (1.0 / np.asarray(step.values, dtype=np.float64)).astype(np.float32)
    elif step.kind == "act":
        raise FcnnError(f"{path}: node {step.node!r} ({step.op}) comes before any Gemm or "
                        "MatMul; fcnn's activations follow a layer")
    else:
        raise _misplaced(path, step, "in the preprocessing")


def _postprocess(parsed: Parsed, step: Step, path: Path) -> None:
    """The output's Mul(std) then Add(mean): a regression model's target units."""
    if step.kind == "mul" and parsed.target_std is None and parsed.target_mean is None:
        parsed.target_std = np.asarray(step.values, dtype=np.float32)
    elif step.kind == "add" and parsed.target_mean is None:
        parsed.target_mean = np.asarray(step.values, dtype=np.float32)
    else:
        raise _misplaced(path, step, "after the output layer")


def _misplaced(path: Path, step: Step, where: str) -> FcnnError:
    return FcnnError(f"{path}: node {step.node!r} is a {step.op} {where}, which fcnn cannot "
                     "hold; fcnn reads Sub/Div preprocessing before the first layer and a "
                     "Mul/Add de-normalisation after the last only")


def _build(parsed: Parsed, chain: _Chain, meta: dict[str, Any], path: Path,
           add_softmax: bool, from_fcnn: bool) -> Model:
    network = _network(parsed, path)
    features, units = network.sizes[0], network.sizes[-1]
    _check_input_width(parsed, chain, features, path)
    if from_fcnn:  # another tool's metadata may mean something else: then only used if it fits
        onnx_checks.fcnn_metadata(meta, features, units, path)
    class_names = _class_names(network, meta, units, add_softmax, path)
    if class_names is not None and (parsed.target_std is not None
                                    or parsed.target_mean is not None):
        raise FcnnError(f"{path}: a classifier's output is followed by Mul/Add; fcnn reads "
                        "that de-normalisation only on regression outputs")
    cost = meta.get("cost") if meta.get("cost") in COSTS else \
        "log-likelihood" if network.activations[-1].name == "softmax" else "quadratic"
    network.cost = make_cost(cost)
    return Model(
        network=network, normalizer=_normalizer(parsed, meta, features, path),
        input_shape=_input_shape(parsed, chain, meta, features),
        class_names=class_names, pixel_max=_positive_or_none(meta.get("pixel_max")),
        config_text=_text(meta.get("config")), created=_text(meta.get("created")),
        source=str(path), image=_image(meta.get("image"), features),
        feature_names=_names(meta.get("feature_names"), features),
        target_names=None if class_names else _names(meta.get("target_names"), units),
        target_normalizer=_target_normalizer(parsed, meta, units, path),
        split_sizes=_split_sizes(meta.get("split_sizes")),
        history=_history(meta.get("history")),
        fcnn_version=_text(meta.get("fcnn_version")),
    )


def _network(parsed: Parsed, path: Path) -> Network:
    """The layers as a Network in one float dtype (float64 when any weight is)."""
    wide = any(layer.w.dtype == np.float64 for layer in parsed.layers)
    dtype = np.dtype(np.float64 if wide else np.float32)
    ws, bs, acts = [], [], []
    for l, layer in enumerate(parsed.layers, start=1):
        w = np.array(layer.w, dtype=dtype)  # a writable copy: the model may be trained on
        if l > 1 and w.shape[1] != ws[-1].shape[0]:
            raise FcnnError(f"{path}: layer {l}'s weights have shape {w.shape} (units, inputs) "
                            f"but layer {l - 1} has {ws[-1].shape[0]} units")
        units = w.shape[0]
        b = np.zeros(units, dtype) if layer.b is None else \
            np.array(_per_unit(layer.b, units, path, None), dtype=dtype)
        ws.append(w)
        bs.append(b)
        acts.append(_activation(layer, units, dtype, path, l))
    return Network(ws, bs, acts, make_cost("quadratic"))


def _activation(layer: Layer, units: int, dtype: np.dtype, path: Path, l: int) -> Activation:
    if layer.activation == "leaky-relu":
        return LeakyReLU(float(layer.param))
    if layer.activation == "prelu":
        alpha = np.asarray(layer.param, dtype=dtype).reshape(-1)
        if alpha.size not in (1, units):
            raise FcnnError(f"{path}: layer {l}'s PRelu has {alpha.size} slopes for "
                            f"{units} units")
        return PReLU(np.broadcast_to(alpha, (units,)).copy())
    return make_activation(layer.activation, units, dtype)


def _per_unit(values: np.ndarray, units: int, path: Path, step: Step | None) -> np.ndarray:
    """A bias (units,), (1, units) or one number as a (units,) array."""
    values = np.asarray(values)
    if values.size == units:
        return values.reshape(units)
    if values.size == 1:
        return np.full(units, values.reshape(()), values.dtype)
    where = f"node {step.node!r}" if step else "a bias"
    raise FcnnError(f"{path}: {where} adds {values.size} values to a layer of {units} units")


def _check_input_width(parsed: Parsed, chain: _Chain, features: int, path: Path) -> None:
    dims = chain.input_dims()
    if len(dims) > 2 and not parsed.flattened:
        raise FcnnError(f"{path}: the input {chain.input.name!r} has {len(dims)} dimensions "
                        "and no Flatten; fcnn takes [batch, features]")
    known = dims[1:] if dims and all(d is not None for d in dims[1:]) else None
    width = parsed.width or (math.prod(known) if known else None)  # type: ignore[arg-type]
    if width is not None and width != features:
        raise FcnnError(f"{path}: the input has {width} features but the first layer's "
                        f"weights take {features}")


def _class_names(network: Network, meta: dict[str, Any], units: int, add_softmax: bool,
                 path: Path) -> list[str] | None:
    last = network.activations[-1]
    names = meta.get("class_names")
    if isinstance(names, list) and (len(names) == units or (len(names) == 2 and units == 1)):
        return [str(n) for n in names]
    if last.name == "softmax":
        return [str(k) for k in range(units)]
    if not add_softmax:
        return None
    if last.name != "linear":
        raise FcnnError(f"{path}: the output layer applies {last.name}; adding softmax needs "
                        "linear outputs (logits)")
    network.activations[-1] = make_activation("softmax", units, network.dtype)
    return [str(k) for k in range(units)]


def _normalizer(parsed: Parsed, meta: dict[str, Any], features: int, path: Path) -> Normalizer:
    if parsed.mean is None and parsed.std is None:  # fcnn's export leaves out x − 0 and x / 1
        kind = meta.get("normalize") if meta.get("normalize") in NORMALIZATIONS else "none"
        return Normalizer(kind, np.zeros((), np.float32), np.ones((), np.float32))
    mean = _stat(parsed.mean, 0.0, features, path, "preprocessing mean")
    std = _stat(parsed.std, 1.0, features, path, "preprocessing std")
    kind = meta.get("normalize")
    if kind not in NORMALIZATIONS:
        kind = "standardize" if parsed.mean is not None else "scale"
    return Normalizer(kind, mean, std)


def _target_normalizer(parsed: Parsed, meta: dict[str, Any], units: int,
                       path: Path) -> Normalizer | None:
    if parsed.target_std is None and parsed.target_mean is None:
        return None
    kind = meta.get("target_normalize")
    return Normalizer(kind if isinstance(kind, str) else "standardize",
                      _stat(parsed.target_mean, 0.0, units, path, "target mean"),
                      _stat(parsed.target_std, 1.0, units, path, "target std"))


def _stat(values: np.ndarray | None, default: float, size: int, path: Path,
          what: str) -> np.ndarray:
    """float32, shape () for one number or (size,) per input, as Normalizer holds them."""
    if values is None:
        return np.full((), default, np.float32)
    with np.errstate(all="ignore"):  # a value beyond float32 becomes inf, refused below
        values = np.asarray(values, dtype=np.float32)
    if what.endswith("std") and not (np.isfinite(values).all() and np.all(values != 0)):
        raise FcnnError(f"{path}: the {what} holds 0 or a value beyond float32 "
                        f"({values.flat[int(np.argmin(np.isfinite(values) & (values != 0)))]});"
                        " a normalisation divides by finite numbers other than 0")
    if values.size == 1:
        return values.reshape(())
    if values.size != size:
        raise FcnnError(f"{path}: the {what} has {values.size} values for {size} inputs")
    return values.reshape(size)


def _input_shape(parsed: Parsed, chain: _Chain, meta: dict[str, Any],
                 features: int) -> tuple[int, ...]:
    """The metadata's shape, else the input's static shape after the batch (when a Flatten
    follows), else (features,)."""
    shape = meta.get("input_shape")
    if onnx_checks.positive_ints(shape) and math.prod(shape) == features:
        return tuple(shape)
    dims = chain.input_dims()[1:]
    if parsed.flattened and dims and all(d is not None for d in dims) \
            and math.prod(dims) == features:  # type: ignore[arg-type]
        return tuple(dims)  # type: ignore[arg-type]
    return (features,)


_TEXT_KEYS = ("config", "created", "fcnn_version", "normalize", "target_normalize", "cost")


def _metadata(proto: onnx.ModelProto) -> dict[str, Any]:
    """metadata_props: fcnn's text values as they are, the others decoded from JSON (a
    value another tool wrote that is not JSON is kept as text, and then ignored)."""
    meta: dict[str, Any] = {}
    for prop in proto.metadata_props:
        if prop.key in _TEXT_KEYS:
            meta[prop.key] = prop.value
            continue
        try:
            meta[prop.key] = json.loads(prop.value)
        except ValueError:
            meta[prop.key] = prop.value
    return meta


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    from onnx import helper, numpy_helper

    attr = node.attribute[0]  # one number value: onnx_checks.check_structure saw to it
    value = helper.get_attribute_value(attr)
    if attr.name == "value":
        return numpy_helper.to_array(value)
    return np.asarray(value, np.float32 if attr.name.startswith("value_float") else np.int64)


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _label(node: onnx.NodeProto) -> str:
    return node.name or f"{node.op_type} → {node.output[0]}"


def _short_float(value: float) -> float:
    """The shortest decimal that rounds to the same float32: the file stores LeakyRelu's
    alpha as float32, and 0.01 reads back as 0.01, not 0.009999999776."""
    return float(np.format_float_positional(np.float32(value), unique=True))


def _positive_or_none(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and value > 0
    return float(value) if ok else None


def _split_sizes(value: Any) -> dict[str, int] | None:
    if isinstance(value, dict) and all(isinstance(n, int) and n >= 0 for n in value.values()):
        return {str(key): n for key, n in value.items()}
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _names(value: Any, count: int) -> list[str] | None:
    if isinstance(value, list) and len(value) == count:
        return [str(v) for v in value]
    return None


def _history(value: Any) -> dict[str, np.ndarray]:
    """The per-epoch curves fcnn's export keeps (null: NaN); another tool's, or damaged
    ones, are left out: a model predicts without its history."""
    if not isinstance(value, dict):
        return {}
    history = {}
    for key, values in value.items():
        if isinstance(values, list) and all(v is None or isinstance(v, (int, float))
                                            for v in values):
            history[str(key)] = np.array(values, dtype=np.float64)
    return history


def _image(value: Any, features: int) -> ImageSpec | None:
    """The metadata's picture spec when it describes the network's inputs."""
    spec = ImageSpec.parse(value)
    return spec if spec is not None and math.prod(spec.shape) == features else None

