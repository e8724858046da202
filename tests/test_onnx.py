"""ONNX export (`fcnn export M.h5 OUT.onnx`) and import (`fcnn import SOURCE.onnx OUT.h5`).

Exported graphs run in ONNX Runtime on raw inputs and must agree with `Model.predict`;
export → import gives the same weights bit for bit; PyTorch MLPs import and agree with
PyTorch. Small networks come from `Network.create`; the MNIST check uses the shipped
model on the official test set (no training here).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fcnn_cli.data.split import Normalizer  # noqa: E402
from fcnn_cli.errors import FcnnError  # noqa: E402
from fcnn_cli.exchange.onnx_in import model_from_onnx  # noqa: E402
from fcnn_cli.exchange.onnx_out import onnx_bytes  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.nn import Network  # noqa: E402
from fcnn_cli.nn.activations import LeakyReLU, PReLU  # noqa: E402

HIDDEN = ["relu", "leaky-relu", "prelu", "sigmoid", "tanh", "swish", "linear"]
OUTPUTS = ["softmax", "sigmoid-unit", "regression"]
NORMALIZE = ["scale", "standardize", "none"]
FEATURES = 6
CONFIG = "name: tiny-mlp\ntraining:\n  optimizer: {name: sgd, lr: 0.05}\n"


def _run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": np.asarray(x, dtype=np.float32)})[0]


def _normalizer(kind: str, rng: np.random.Generator) -> Normalizer:
    if kind == "scale":
        return Normalizer("scale", np.zeros((), np.float32), np.full((), 255.0, np.float32))
    if kind == "standardize":
        return Normalizer("standardize", rng.normal(5, 3, FEATURES).astype(np.float32),
                          rng.uniform(0.5, 4, FEATURES).astype(np.float32))
    return Normalizer("none", np.zeros((), np.float32), np.ones((), np.float32))


def _raw_inputs(kind: str, rng: np.random.Generator, n: int = 64) -> np.ndarray:
    if kind == "scale":
        return rng.integers(0, 256, size=(n, FEATURES)).astype(np.float32)
    return rng.normal(5, 3, size=(n, FEATURES)).astype(np.float32)


def _tiny_model(hidden: str, output: str, normalize: str, dtype: type = np.float32,
                seed: int = 0) -> Model:
    """FEATURES-5-4-K with `hidden` activations; prelu slopes made distinct per unit."""
    rng = np.random.default_rng(seed)
    out_act, units, cost = {"softmax": ("softmax", 3, "log-likelihood"),
                            "sigmoid-unit": ("sigmoid", 1, "cross-entropy"),
                            "regression": ("linear", 2, "quadratic")}[output]
    net = Network.create([FEATURES, 5, 4, units], [hidden, hidden, out_act], cost, "glorot",
                         rng, dtype, slope=0.1)
    for act in net.activations:
        if isinstance(act, PReLU):
            act.alpha = rng.uniform(0.05, 0.5, act.alpha.shape).astype(dtype)
    net.b = [rng.normal(0, 0.5, b.shape).astype(dtype) for b in net.b]
    classes = {"softmax": ["cat", "dog", "emu"], "sigmoid-unit": ["no", "yes"]}.get(output)
    target = Normalizer("standardize", np.array([3.0, -1.0], np.float32),
                        np.array([2.0, 0.5], np.float32)) if output == "regression" else None
    return Model(net, _normalizer(normalize, rng), (FEATURES,), classes, config_text=CONFIG,
                 feature_names=[f"f{i}" for i in range(FEATURES)],
                 target_names=["height", "weight"] if target is not None else None,
                 target_normalizer=target, fcnn_version="0.4.0")


def test_onnxruntime_agrees_with_shipped_mnist_model_on_test_set(mnist_dir: Path,
                                                                 monkeypatch) -> None:
    from fcnn_cli.api import load_model
    from fcnn_cli.data.sources import load_dataset

    monkeypatch.setenv("FCNN_DATA_DIR", str(mnist_dir.parent))
    model = load_model("mnist")
    test = load_dataset("mnist")
    x = test.x_test.reshape(len(test.x_test), -1).astype(np.float32)  # raw pixels 0–255
    p_onnx = _run(onnx_bytes(model), x)
    p_fcnn = model.predict_proba(x)
    assert p_onnx.shape == (10000, 10)
    np.testing.assert_array_equal(p_onnx.argmax(axis=1), p_fcnn.argmax(axis=1))
    np.testing.assert_allclose(p_onnx, p_fcnn, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("normalize", NORMALIZE)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnxruntime_agrees_with_predict(hidden: str, output: str, normalize: str,
                                         dtype: type) -> None:
    model = _tiny_model(hidden, output, normalize, dtype)
    x = _raw_inputs(normalize, np.random.default_rng(1))
    got = _run(onnx_bytes(model), x)
    assert got.dtype == np.float32
    if output == "regression":
        want = model.predict(x)  # in the targets' units
    else:
        want = model.predict_proba(x)
        want = want[:, 1:] if output == "sigmoid-unit" else want  # one column: P(second class)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_export_passes_full_check_and_metadata_carries_class_names_and_architecture() -> None:
    import onnx

    proto = onnx.load_from_string(onnx_bytes(_tiny_model("relu", "softmax", "standardize")))
    onnx.checker.check_model(proto, full_check=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["class_names"]) == ["cat", "dog", "emu"]
    assert meta["architecture"] == f"{FEATURES}-5-4-3"
    assert json.loads(meta["activations"]) == ["relu", "relu", "softmax"]
    assert meta["config"] == CONFIG
    assert proto.producer_name == "fcnn" and proto.graph.name == "tiny-mlp"
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    assert {"w1", "b1", "preprocess_mean", "preprocess_std"} <= \
        {t.name for t in proto.graph.initializer}


def test_weights_keep_the_lecture_orientation_in_the_file() -> None:
    import onnx
    from onnx import numpy_helper

    model = _tiny_model("tanh", "softmax", "none")
    proto = onnx.load_from_string(onnx_bytes(model))
    w1 = numpy_helper.to_array(next(t for t in proto.graph.initializer if t.name == "w1"))
    assert w1.shape == (5, FEATURES)  # (units, inputs)
    gemm = next(n for n in proto.graph.node if n.op_type == "Gemm")
    assert onnx.helper.get_attribute_value(gemm.attribute[0]) == 1  # transB


@pytest.mark.parametrize("case", [("relu", "softmax", "scale", np.float32),
                                  ("prelu", "regression", "standardize", np.float64),
                                  ("leaky-relu", "sigmoid-unit", "none", np.float32),
                                  ("swish", "softmax", "standardize", np.float64)],
                         ids=["relu-f32", "prelu-regression-f64", "leaky-sigmoid", "swish-f64"])
def test_export_then_import_round_trips_exactly(case: tuple, tmp_path: Path) -> None:
    model = _tiny_model(*case)
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_bytes(model))
    back = model_from_onnx(path)
    for before, after in zip(model.network.params(), back.network.params()):
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after, before)
    for before, after in zip(model.network.activations, back.network.activations):
        assert after.name == before.name
        if isinstance(before, LeakyReLU):
            assert after.slope == before.slope
    assert back.network.cost.name == model.network.cost.name
    assert back.class_names == model.class_names
    assert back.input_shape == model.input_shape
    assert back.config_text == model.config_text
    assert back.feature_names == model.feature_names and back.target_names == model.target_names
    assert back.normalizer.kind == model.normalizer.kind
    if case[2] != "none":  # "none" exports no Sub/Div and reads back as 0 and 1
        np.testing.assert_array_equal(back.normalizer.mean, model.normalizer.mean)
        np.testing.assert_array_equal(back.normalizer.std, model.normalizer.std)
    if model.target_normalizer is not None:
        assert back.target_normalizer is not None
        np.testing.assert_array_equal(back.target_normalizer.mean, model.target_normalizer.mean)
        np.testing.assert_array_equal(back.target_normalizer.std, model.target_normalizer.std)
    x = _raw_inputs(case[2], np.random.default_rng(2))
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_shipped_mnist_model_round_trips_with_its_image_spec(tmp_path: Path) -> None:
    from fcnn_cli.api import load_model

    model = load_model("mnist")
    path = tmp_path / "mnist.onnx"
    path.write_bytes(onnx_bytes(model))
    back = model_from_onnx(path)
    assert all(np.array_equal(a, b) for a, b in zip(model.network.params(),
                                                     back.network.params()))
    assert (back.input_shape, back.image, back.pixel_max) == \
        (model.input_shape, model.image, model.pixel_max)


def _torch_mlp(logits: bool):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    layers = [nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3)]
    return torch, nn.Sequential(*layers, *([] if logits else [nn.Softmax(dim=1)])).eval()


def _torch_export(torch, net, path: Path, exporter: str) -> None:
    x = torch.randn(4, 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        if exporter == "torchscript":
            torch.onnx.export(net, (x,), str(path), dynamo=False, input_names=["x"],
                              dynamic_axes={"x": {0: "batch"}})
        else:
            pytest.importorskip("onnxscript")  # torch's default (dynamo) exporter needs it
            torch.onnx.export(net, (x,), str(path), verbose=False,
                              dynamic_shapes=({0: torch.export.Dim("batch")},))


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_pytorch_sequential_imports_with_pytorchs_probabilities(exporter: str,
                                                                tmp_path: Path) -> None:
    torch, net = _torch_mlp(logits=False)
    path = tmp_path / "torch.onnx"
    _torch_export(torch, net, path, exporter)
    model = model_from_onnx(path)
    assert model.architecture == [20, 16, 8, 3]
    assert [a.name for a in model.network.activations] == ["relu", "tanh", "softmax"]
    assert model.class_names == ["0", "1", "2"] and model.network.cost.name == "log-likelihood"
    x = np.random.default_rng(3).normal(size=(50, 20)).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict_proba(x), want, rtol=0, atol=1e-5)


def test_pytorch_logits_import_as_a_classifier_with_add_softmax(tmp_path: Path) -> None:
    torch, net = _torch_mlp(logits=True)
    path = tmp_path / "logits.onnx"
    _torch_export(torch, net, path, "torchscript")
    plain = model_from_onnx(path)
    assert plain.class_names is None  # linear outputs without --softmax: raw outputs
    model = model_from_onnx(path, add_softmax=True)
    assert model.network.activations[-1].name == "softmax"
    x = np.random.default_rng(4).normal(size=(50, 20)).astype(np.float32)
    with torch.no_grad():
        logits = net(torch.from_numpy(x))
        want = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(plain.predict(x), logits.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(x), want, rtol=0, atol=1e-5)


def test_forward_trace_runs_on_an_imported_pytorch_model(tmp_path: Path) -> None:
    from fcnn_cli.trace.compute import trace_model

    torch, net = _torch_mlp(logits=False)
    path = tmp_path / "torch.onnx"
    _torch_export(torch, net, path, "torchscript")
    model = model_from_onnx(path)
    x = np.random.default_rng(5).normal(size=(1, 20)).astype(np.float32)
    result = trace_model(model, x)
    assert len(result.layers) == 3 and result.cost_name == "log-likelihood"
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(result.layers[-1].a, want, rtol=0, atol=1e-5)
    assert result.max_rel_error < 1e-6


def _graph_file(path: Path, nodes: list, initializers: list, in_shape: list, out_shape: list
                ) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_matmul_and_add_with_bias_first_import_as_a_layer(tmp_path: Path) -> None:
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(6)
    w = rng.normal(size=(4, 3)).astype(np.float32)  # (inputs, units), as MatMul takes it
    b = rng.normal(size=3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="mm"),
             helper.make_node("Add", ["B", "xw"], ["z"], name="bias"),
             helper.make_node("Sigmoid", ["z"], ["y"], name="act")]
    path = _graph_file(tmp_path / "mm.onnx", nodes,
                       [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
                       ["N", 4], ["N", 3])
    model = model_from_onnx(path)
    np.testing.assert_array_equal(model.network.w[0], w.T)  # (units, inputs)
    np.testing.assert_array_equal(model.network.b[0], b)
    assert model.class_names is None and model.network.activations[0].name == "sigmoid"


def test_conv_graph_is_refused_naming_the_node_and_op(tmp_path: Path) -> None:
    from onnx import helper, numpy_helper

    kernel = numpy_helper.from_array(np.ones((2, 1, 3, 3), np.float32), "k")
    nodes = [helper.make_node("Conv", ["x", "k"], ["y"], name="Conv_0")]
    path = _graph_file(tmp_path / "conv.onnx", nodes, [kernel], ["N", 1, 8, 8],
                       ["N", 2, 6, 6])
    with pytest.raises(FcnnError) as error:
        model_from_onnx(path)
    message = error.value.message
    assert "'Conv_0'" in message and "is a Conv" in message and "\n" not in message


def test_residual_add_of_two_computed_tensors_is_refused(tmp_path: Path) -> None:
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "W")
    nodes = [helper.make_node("Gemm", ["x", "W"], ["z"], name="dense", transB=1),
             helper.make_node("Add", ["x", "z"], ["y"], name="skip")]
    path = _graph_file(tmp_path / "res.onnx", nodes, [w], ["N", 4], ["N", 4])
    with pytest.raises(FcnnError, match="'skip'"):
        model_from_onnx(path)


def test_a_file_that_is_not_onnx_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("these are not the weights you are looking for\n")
    with pytest.raises(FcnnError) as error:
        model_from_onnx(path)
    message = error.value.message
    assert str(path) in message and "ONNX" in message and "\n" not in message
