"""An fcnn model as an ONNX graph: preprocessing, one Gemm and activation per layer.

The graph takes `input`, float32 [batch, features], in the raw units `fcnn predict` takes
(pixels 0–255 for the MNIST family), and applies the model's own preprocessing first:
Sub(preprocess_mean) then Div(preprocess_std), in that order and in float32, exactly as
`Normalizer` does, so ONNX Runtime and fcnn agree to float rounding. Each layer l is
Gemm(a^{l-1}, w_l, b_l, transB=1) with w_l stored as fcnn holds it, (units_l, units_{l-1}):
the lecture's orientation stays visible in the file. Then its activation: Relu,
LeakyRelu(alpha=slope), PRelu(slope=α per unit), Sigmoid, Tanh, swish as Mul(z, Sigmoid(z)),
Softmax(axis=1); a linear layer adds no node.

The output is `probabilities` [batch, classes] for a classifier (a network with a single
sigmoid unit outputs one column, the probability of the second class, still named
`probabilities`), or `outputs` [batch, targets] for a regression model, de-normalised
(Mul target_std, Add target_mean) into the units of the training targets as
`Model.predict` gives them.

float64 models keep their float64 weights in the file (so an import gives back the same
bits): the normalised float32 input is Cast to double, the layers compute in double, and
the result is Cast back to float32 — the same steps, in the same precision, as fcnn.

`metadata_props` carries what a Model needs beyond the weights (JSON where a value is a
list): class_names, architecture ("784-800-800-10"), activations, cost, normalize,
input_shape, pixel_max, image, feature_names, target_names, target_normalize,
split_sizes, history (the per-epoch curves; null for NaN), fcnn_version, created, and
config (the training config, YAML). `fcnn import` restores all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.nn.activations import Activation, LeakyReLU, PReLU

if TYPE_CHECKING:
    import onnx

OPSET = 17       # every op used here is in opset 17; ONNX Runtime has run it since 1.13
IR_VERSION = 8   # the IR version that goes with opset 17: older runtimes can read the file


def onnx_bytes(model: Model) -> bytes:
    """The serialised ONNX model of `model`, checked with `onnx.checker` (full check)."""
    try:
        import onnx
    except ImportError:
        raise FcnnError("exporting to ONNX needs the onnx package; "
                        "pip install 'fcnn[export]'") from None
    proto = onnx_model(model)
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def onnx_model(model: Model) -> onnx.ModelProto:
    """The ONNX ModelProto of `model` (unchecked; `onnx_bytes` checks it)."""
    from onnx import TensorProto, helper

    props = metadata(model)
    graph = _Graph(model.network.dtype)
    x = graph.preprocess(model)
    for l, (w, b, act) in enumerate(zip(model.network.w, model.network.b,
                                        model.network.activations), start=1):
        x = graph.layer(l, x, w, b, act)
    if not model.is_classifier and model.target_normalizer is not None:
        x = graph.to_target_units(x, model.target_normalizer.mean, model.target_normalizer.std)
    output = "probabilities" if model.is_classifier else "outputs"
    graph.finish(x, output)
    units = model.architecture[-1]
    proto_graph = helper.make_graph(
        graph.nodes, props.get("name", "fcnn-model"),  # names the graph in tools like Netron
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", model.architecture[0]])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", units])],
        graph.initializers,
        doc_string=f"fcnn fully-connected network {'-'.join(map(str, model.architecture))}",
    )
    proto = helper.make_model(proto_graph, producer_name="fcnn",
                              producer_version=props["fcnn_version"],
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    helper.set_model_props(proto, props)
    return proto


class _Graph:
    """Nodes and named initializers, appended in the order data flows."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def constant(self, name: str, values: np.ndarray, dtype: np.dtype | None = None) -> str:
        from onnx import numpy_helper

        array = np.asarray(values, dtype=dtype or np.asarray(values).dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def preprocess(self, model: Model) -> str:
        """x_norm = (x − mean) / std in float32 (skipping a zero mean and a unit std), then
        Cast to double for a float64 network."""
        mean = np.asarray(model.normalizer.mean, dtype=np.float32)
        std = np.asarray(model.normalizer.std, dtype=np.float32)
        x = "input"
        if np.any(mean != 0):
            x = self.node("Sub", [x, self.constant("preprocess_mean", mean)], "x_centred",
                          "preprocess_sub_mean")
        if np.any(std != 1):
            x = self.node("Div", [x, self.constant("preprocess_std", std)], "x_normalised",
                          "preprocess_div_std")
        if self.dtype == np.float64:
            from onnx import TensorProto

            x = self.node("Cast", [x], "a0", "cast_to_double", to=TensorProto.DOUBLE)
        return x

    def layer(self, l: int, a_prev: str, w: np.ndarray, b: np.ndarray, act: Activation) -> str:
        """z^l = w^l a^{l-1} + b^l as Gemm(transB=1) with w as fcnn holds it, then a^l = f(z^l)."""
        z = self.node("Gemm", [a_prev, self.constant(f"w{l}", w), self.constant(f"b{l}", b)],
                      f"z{l}", f"layer{l}_gemm", transB=1)
        return self.activation(l, z, act)

    def activation(self, l: int, z: str, act: Activation) -> str:
        a, name = f"a{l}", f"layer{l}_{act.name.replace('-', '_')}"
        if act.name == "linear":
            return z
        if isinstance(act, LeakyReLU):
            return self.node("LeakyRelu", [z], a, name, alpha=float(act.slope))
        if isinstance(act, PReLU):
            alpha = self.constant(f"alpha{l}", np.asarray(act.alpha).reshape(-1))
            return self.node("PRelu", [z, alpha], a, name)
        if act.name == "swish":  # z·σ(z): no Swish op in opset 17
            s = self.node("Sigmoid", [z], f"sigmoid{l}", f"layer{l}_swish_sigmoid")
            return self.node("Mul", [z, s], a, name)
        simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}
        if act.name not in simple:
            raise FcnnError(f"layer {l}: activation {act.name!r} has no ONNX export")
        attrs = {"axis": 1} if act.name == "softmax" else {}
        return self.node(simple[act.name], [z], a, name, **attrs)

    def to_target_units(self, a: str, mean: np.ndarray, std: np.ndarray) -> str:
        """Regression outputs a·std + mean, in the network's precision as `Normalizer.inverse`."""
        x = self.node("Mul", [a, self.constant("target_std", std, self.dtype)], "y_scaled",
                      "target_mul_std")
        return self.node("Add", [x, self.constant("target_mean", mean, self.dtype)],
                         "y_target_units", "target_add_mean")

    def finish(self, x: str, output: str) -> None:
        """End in float32 under the graph output's name: Cast a double result, otherwise
        rename the last node's output (a graph output must be some node's output)."""
        if self.dtype == np.float64:
            from onnx import TensorProto

            self.node("Cast", [x], output, "cast_to_float", to=TensorProto.FLOAT)
            return
        last = self.nodes[-1]
        assert last.output[0] == x
        last.output[0] = output


def metadata(model: Model) -> dict[str, str]:
    """The model's description as text (lists and objects as JSON, NaN as null)."""
    from fcnn_cli.exchange import description
    from fcnn_cli.sanitize import json_text

    return {key: value if isinstance(value, str) else json_text(value)
            for key, value in description(model).items()}
