"""`fcnn import`: a model fcnn exported comes back whole, and another tool's graph gets the
inputs its options describe.

Round trip: the digits model the tests share (8×8 pictures, pixels 0–16) is exported
and imported back; the imported model must predict, trace and evaluate a picture
exactly as the original, its preprocessing applied once (the graph holds it; the import
moves it back into the model, not on top of it). Foreign graphs are built with
onnx.helper as PyTorch lays them out (an [N, C, H, W] input, Flatten, Gemm with transB).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from fcnn_cli.api import load_model  # noqa: E402
from fcnn_cli.cli import app  # noqa: E402
from fcnn_cli.data.image_spec import ImageSpec  # noqa: E402

runner = CliRunner()


def _cli(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def digits(digits_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shared digits model, its ONNX export, the import of that export, and a digit
    picture file (a digits example drawn large, as a user's picture would be)."""
    from PIL import Image

    from fcnn_cli.data.sources import load_dataset

    folder = tmp_path_factory.mktemp("roundtrip")
    paths = {"h5": digits_model, "onnx": folder / "digits.onnx",
             "back": folder / "back.h5", "png": folder / "digit.png"}
    assert _cli("export", paths["h5"], paths["onnx"])[0] == 0
    code, out = _cli("import", paths["onnx"], paths["back"])
    assert code == 0, out
    pixels = load_dataset("digits").x_train[0].astype(np.float64) * (255 / 16)
    Image.fromarray(pixels.astype(np.uint8)).resize((64, 64), Image.NEAREST).save(paths["png"])
    return paths


def test_import_restores_preprocessing_picture_spec_class_names_and_history(
        digits: dict[str, Path]) -> None:
    original, back = load_model(digits["h5"]), load_model(digits["back"])
    assert back.image == original.image == ImageSpec("digit", (8, 8))
    assert (back.input_shape, back.pixel_max, back.class_names) == \
        (original.input_shape, original.pixel_max, original.class_names)
    assert back.normalizer.kind == original.normalizer.kind == "scale"
    np.testing.assert_array_equal(back.normalizer.mean, original.normalizer.mean)
    np.testing.assert_array_equal(back.normalizer.std, original.normalizer.std)
    assert back.config_text == original.config_text
    assert back.history.keys() == original.history.keys()
    np.testing.assert_array_equal(back.history["val_loss"], original.history["val_loss"])


def test_preprocessing_inside_the_graph_is_applied_once_after_a_round_trip(
        digits: dict[str, Path]) -> None:
    from fcnn_cli.data.sources import load_dataset

    raw = load_dataset("digits").x_train[:100].reshape(100, -1).astype(np.float32)
    back = load_model(digits["back"])
    session = ort.InferenceSession(str(digits["onnx"]), providers=["CPUExecutionProvider"])
    in_graph = session.run(None, {"input": raw})[0]  # the exported graph divides by 16
    np.testing.assert_allclose(back.predict_proba(raw), in_graph, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(back.predict_proba(raw),
                                  load_model(digits["h5"]).predict_proba(raw))


def test_predict_on_a_picture_file_gives_the_originals_json(digits: dict[str, Path]) -> None:
    code, original = _cli("predict", digits["h5"], digits["png"], "--json")
    assert code == 0, original
    code, back = _cli("predict", digits["back"], digits["png"], "--json")
    assert code == 0, back
    assert json.loads(back)["probabilities"] == json.loads(original)["probabilities"]


def test_forward_trace_takes_a_picture_and_matches_the_original(digits: dict[str, Path]) -> None:
    code, original = _cli("forward-trace", "--model", digits["h5"], "--input", digits["png"],
                          "--format", "json")
    assert code == 0, original
    code, back = _cli("forward-trace", "--model", digits["back"], "--input", digits["png"],
                      "--format", "json")
    assert code == 0, back
    want, got = json.loads(original), json.loads(back)
    assert got["x"] == want["x"] and got["layers"][-1]["a"] == want["layers"][-1]["a"]


def test_eval_on_the_models_own_data_scores_as_the_original(digits: dict[str, Path]) -> None:
    code, original = _cli("eval", digits["h5"], "--data", "digits", "--json")
    assert code == 0, original
    code, back = _cli("eval", digits["back"], "--data", "digits", "--json")
    assert code == 0, back
    assert json.loads(back) == json.loads(original)


def test_shipped_mnist_model_evaluates_the_same_after_a_round_trip(
        mnist_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCNN_DATA_DIR", str(mnist_dir.parent))
    onnx_file, back = tmp_path / "mnist.onnx", tmp_path / "mnist.h5"
    assert _cli("export", "mnist", onnx_file)[0] == 0
    assert _cli("import", onnx_file, back)[0] == 0
    code, original = _cli("eval", "mnist", "--data", "mnist", "--json")
    assert code == 0, original
    code, imported = _cli("eval", back, "--data", "mnist", "--json")
    assert code == 0, imported
    assert json.loads(imported) == json.loads(original)


def test_options_that_would_prepare_an_fcnn_export_twice_are_refused(
        digits: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "twice.h5"
    code, output = _cli("import", digits["onnx"], out, "--scale", "255")
    assert code == 2 and output.count("\n") == 1, output
    assert "carries its preprocessing inside the graph" in output and "--scale" in output
    assert not out.exists()


# --- graphs from other tools ---------------------------------------------------------


def _torch_like(path: Path, in_shape: list, units: list[int], seed: int = 0,
                last: str | None = None) -> Path:
    """Flatten then Gemm(transB=1) layers with Relu between, as torch.onnx.export writes
    an nn.Sequential(Flatten, Linear, ReLU, Linear); `last` an op after the last layer."""
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("Flatten", ["x"], ["h0"], name="/flatten/Flatten", axis=1)]
    inits, width = [], int(np.prod(in_shape[1:]))
    for l, n in enumerate(units, start=1):
        inits += [numpy_helper.from_array(rng.normal(0, 0.5, (n, width)).astype(np.float32),
                                          f"fc{l}.weight"),
                  numpy_helper.from_array(rng.normal(0, 0.1, n).astype(np.float32),
                                          f"fc{l}.bias")]
        nodes.append(helper.make_node("Gemm", [f"h{l - 1}", f"fc{l}.weight", f"fc{l}.bias"],
                                      [f"z{l}"], name=f"/fc{l}/Gemm", transB=1))
        op = "Relu" if l < len(units) else last
        if op is None:
            nodes[-1].output[0] = f"h{l}"
        else:
            nodes.append(helper.make_node(op, [f"z{l}"], [f"h{l}"], name=f"/act{l}/{op}"))
        width = n
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "torch_jit", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *in_shape[1:]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", units[-1]])], inits)
    onnx.save(helper.make_model(graph, producer_name="pytorch",
                                opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _graph_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})[0]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_a_foreign_digit_graph_takes_pictures_scaled_as_told(digits: dict[str, Path],
                                                            tmp_path: Path) -> None:
    from fcnn_cli.data.images import load_image

    source = _torch_like(tmp_path / "torch.onnx", [1, 1, 8, 8], [16, 10])
    out = tmp_path / "torch.h5"
    code, output = _cli("import", source, out, "--image", "digit", "--scale", "255",
                        "--softmax")
    assert code == 0, output
    assert "it takes pictures: digit, 8×8 gray" in output
    model = load_model(out)
    assert (model.image, model.input_shape, model.pixel_max) == \
        (ImageSpec("digit", (8, 8)), (8, 8), 255.0)
    pixels = load_image(digits["png"], model.image, 255.0).pixels  # 0..255, as predict has it
    want = _softmax(_graph_outputs(source, pixels.reshape(1, 1, 8, 8) / 255))
    np.testing.assert_allclose(model.predict_proba([digits["png"]]), want, rtol=0, atol=1e-6)
    code, trace = _cli("forward-trace", "--model", out, "--input", digits["png"],
                       "--format", "json")
    assert code == 0, trace
    np.testing.assert_allclose(json.loads(trace)["layers"][-1]["a"], want, atol=1e-6)


def test_channels_first_rgb_with_per_channel_normalisation_matches_the_graph(
        tmp_path: Path) -> None:
    source = _torch_like(tmp_path / "rgb.onnx", [1, 3, 4, 5], [6, 3], seed=1)
    out = tmp_path / "rgb.h5"
    code, output = _cli("import", source, out, "--image", "resize", "--input-shape", "3x4x5",
                        "--scale", "255", "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3",
                        "--classes", "cat,dog,emu", "--softmax")
    assert code == 0, output
    model = load_model(out)
    assert model.image == ImageSpec("resize", (4, 5), 3) and model.input_shape == (4, 5, 3)
    assert model.class_names == ["cat", "dog", "emu"]
    hwc = np.random.default_rng(2).integers(0, 256, (7, 4, 5, 3)).astype(np.float32)
    mean, std = np.array([0.5, 0.4, 0.3]), np.array([0.2, 0.25, 0.3])
    chw = ((hwc / 255 - mean) / std).transpose(0, 3, 1, 2)  # what torchvision hands the net
    np.testing.assert_allclose(model.predict_proba(hwc), _softmax(_graph_outputs(source, chw)),
                               rtol=0, atol=1e-5)


def test_a_single_sigmoid_unit_given_two_class_names_is_a_binary_classifier(
        tmp_path: Path) -> None:
    source = _torch_like(tmp_path / "bin.onnx", [1, 6], [4, 1], last="Sigmoid")
    out = tmp_path / "bin.h5"
    code, output = _cli("import", source, out, "--classes", "no,yes")
    assert code == 0, output
    model = load_model(out)
    assert model.class_names == ["no", "yes"] and model.network.cost.name == "cross-entropy"
    x = np.random.default_rng(3).normal(size=(5, 6)).astype(np.float32)
    p = _graph_outputs(source, x)
    np.testing.assert_allclose(model.predict_proba(x), np.hstack([1 - p, p]), atol=1e-6)


def test_class_names_come_from_a_file_one_a_line(tmp_path: Path) -> None:
    source = _torch_like(tmp_path / "t.onnx", [1, 4], [3], last="Softmax")
    names = tmp_path / "classes.txt"
    names.write_text("setosa\nversicolor\nvirginica\n")
    code, output = _cli("import", source, tmp_path / "t.h5", "--class-names", names)
    assert code == 0, output
    assert load_model(tmp_path / "t.h5").class_names == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("options, fragment", [
    (["--image", "digit"], "--image needs --scale"),
    (["--image", "digits", "--scale", "255"], "did you mean 'digit'?"),
    (["--image", "digit", "--scale", "255", "--input-shape", "28x"], "is not a shape"),
    (["--image", "digit", "--scale", "255", "--input-shape", "9x9"],
     "holds 81 values but the graph's first layer takes 64"),
    (["--image", "digit", "--scale", "255", "--input-shape", "4x4x4"], "is not a picture"),
    (["--image", "object", "--scale", "255", "--input-shape", "3x4x4x1"], "is not a shape"),
    (["--scale", "0"], "must be above 0"),
    (["--scale", "nan"], "is not a finite number"),
    (["--scale", "two"], "is not a number"),
    (["--std", "0.3,0"], "a standard deviation is above 0"),
    (["--mean", "0.1,0.2"], "--mean has 2 numbers"),
    (["--softmax", "--classes", "a,b"], "2 class names given for the 10 classes"),
    (["--softmax", "--classes", "a,a,b,c,d,e,f,g,h,i"], "appears twice"),
    (["--classes", "a,b,c,d,e,f,g,h,i,j"], "linear outputs, not class probabilities"),
    (["--classes", "a", "--class-names", "x.txt"], "give the class names once"),
    (["--class-names", "missing.txt"], "not found"),
])
def test_bad_import_options_are_one_line_and_write_nothing(options: list[str], fragment: str,
                                                           tmp_path: Path) -> None:
    source = _torch_like(tmp_path / "net.onnx", [1, 1, 8, 8], [16, 10])
    out = tmp_path / "net.h5"
    code, output = _cli("import", source, out, *options)
    assert code == 2 and output.count("\n") == 1, output
    assert fragment in output
    assert not out.exists()


def test_rgb_pictures_need_the_resize_pipeline(tmp_path: Path) -> None:
    source = _torch_like(tmp_path / "rgb.onnx", [1, 3, 4, 4], [2])
    code, output = _cli("import", source, tmp_path / "rgb.h5", "--image", "digit",
                        "--scale", "255")
    assert code == 2 and "--image digit prepares gray pictures" in output, output
    assert not (tmp_path / "rgb.h5").exists()


def test_a_reshape_to_the_traced_batch_size_reads_as_a_flatten(tmp_path: Path) -> None:
    """torch.onnx.export without dynamic shapes fixes the batch: Reshape(x, [2, 64])."""
    w = np.random.default_rng(4).normal(size=(3, 64)).astype(np.float32)
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"], name="node_view"),
             helper.make_node("Gemm", ["flat", "W"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "main", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.array([2, 64], np.int64), "shape"),
         numpy_helper.from_array(w, "W")])
    source = tmp_path / "fixed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]),
              str(source))
    code, output = _cli("import", source, tmp_path / "fixed.h5", "--image", "digit",
                        "--scale", "1")
    assert code == 0, output
    x = np.random.default_rng(5).integers(0, 256, (5, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(load_model(tmp_path / "fixed.h5").predict(x),
                               x.reshape(5, 64) @ w.T, rtol=1e-5)
