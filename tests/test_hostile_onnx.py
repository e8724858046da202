"""`fcnn import` on hostile or damaged ONNX files: one line naming the file, the place and
what was expected; exit status 2; nothing written, and an existing output left as it was.

Each file is built here with onnx.helper: a valid one-layer graph x [N, 4] → Gemm → y
[N, 3], then one thing broken the way a damaged or malicious file breaks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from fcnn_cli.cli import app  # noqa: E402

runner = CliRunner()
OLD_MODEL = b"the model that was here before"


def _weights(values: np.ndarray | None = None) -> onnx.TensorProto:
    w = np.ones((3, 4), np.float32) if values is None else values
    return numpy_helper.from_array(w, "W")


def _bias() -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(3, np.float32), "B")


def _gemm() -> onnx.NodeProto:
    return helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="dense", transB=1)


def _file(path: Path, nodes: list | None = None, initializers: list | None = None,
          meta: dict[str, str] | None = None, producer: str = "pytorch") -> Path:
    graph = helper.make_graph(
        [_gemm()] if nodes is None else nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [_weights(), _bias()] if initializers is None else initializers)
    model = helper.make_model(graph, producer_name=producer,
                              opset_imports=[helper.make_opsetid("", 17)])
    if meta:
        helper.set_model_props(model, meta)
    onnx.save(model, str(path))  # onnx.save checks nothing: the damage stays in the file
    return path


def _short_raw_data(path: Path) -> Path:
    w = _weights()
    w.raw_data = w.raw_data[:20]
    return _file(path, initializers=[w, _bias()])


def _short_float_data(path: Path) -> Path:
    w = helper.make_tensor("W", TensorProto.FLOAT, [5], [1.0] * 5)
    w.dims[:] = [3, 4]
    return _file(path, initializers=[w, _bias()])


def _huge_declared_shape(path: Path) -> Path:
    w = helper.make_tensor("W", TensorProto.FLOAT, [5], [1.0] * 5)
    w.dims[:] = [1_000_000, 1_000_000]
    return _file(path, initializers=[w, _bias()])


def _negative_dimension(path: Path) -> Path:
    w = _weights()
    w.dims[:] = [-3, -4]
    return _file(path, initializers=[w, _bias()])


def _string_weights(path: Path) -> Path:
    w = helper.make_tensor("W", TensorProto.STRING, [3, 4], [b"w"] * 12)
    return _file(path, initializers=[w, _bias()])


def _int8_weights(path: Path) -> Path:
    return _file(path, initializers=[_weights(np.ones((3, 4), np.int8)), _bias()])


def _rank3_weights(path: Path) -> Path:
    return _file(path, initializers=[_weights(np.ones((3, 4, 2), np.float32)), _bias()])


def _constant_without_value(path: Path) -> Path:
    return _file(path, [helper.make_node("Constant", [], ["W"], name="weights"), _gemm()],
                 [_bias()])


def _node_without_outputs(path: Path) -> Path:
    return _file(path, [helper.make_node("Relu", ["x"], [], name="orphan"), _gemm()])


def _nan_weights(path: Path) -> Path:
    w = np.ones((3, 4), np.float32)
    w[1, 2] = np.nan
    return _file(path, initializers=[_weights(w), _bias()])


def _inf_weights(path: Path) -> Path:
    return _file(path, initializers=[_weights(np.full((3, 4), np.inf, np.float32)), _bias()])


def _overflowing_weights(path: Path) -> Path:
    return _file(path, initializers=[_weights(np.full((3, 4), 3e38, np.float32)), _bias()])


def _preprocessing_that_divides_by_zero(path: Path) -> Path:
    std = numpy_helper.from_array(np.array([1, 2, 0, 4], np.float32), "std")
    return _file(path, [helper.make_node("Div", ["x", "std"], ["h"], name="normalise"),
                        helper.make_node("Gemm", ["h", "W", "B"], ["y"], name="dense",
                                         transB=1)], [_weights(), _bias(), std])


def _unknown_op(path: Path) -> Path:
    return _file(path, [helper.make_node("Frobnicate", ["x"], ["h"], name="mystery"),
                        helper.make_node("Gemm", ["h", "W", "B"], ["y"], name="dense",
                                         transB=1)])


def _fcnn_metadata_with_a_huge_picture(path: Path) -> Path:
    image = {"pipeline": "digit", "size": [100_000, 100_000], "channels": 1}
    return _file(path, meta={"image": json.dumps(image), "class_names": '["a", "b", "c"]'},
                 producer="fcnn")


def _fcnn_metadata_with_nan_pixel_max(path: Path) -> Path:
    return _file(path, meta={"pixel_max": "NaN"}, producer="fcnn")


def _fcnn_metadata_with_a_billion_laughs_config(path: Path) -> Path:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]"
              for i in range(8)]  # 10⁹ values once expanded
    return _file(path, meta={"config": "\n".join(lines)}, producer="fcnn")


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "stored size differs from shape": (_short_raw_data,
                                       "initializer 'W' stores 20 bytes but its shape (3×4) "
                                       "declares 48"),
    "fewer values than the shape": (_short_float_data,
                                    "initializer 'W' stores 5 values but its shape (3×4) "
                                    "declares 12"),
    "declared size over the budget": (_huge_declared_shape,
                                      "initializer 'W' declares shape (1000000, 1000000), "
                                      "3.6 TiB in memory, over fcnn's memory budget"),
    "negative dimension": (_negative_dimension, "initializer 'W' declares the negative "
                                                "dimension -4"),
    "string weights": (_string_weights, "initializer 'W' holds string values; fcnn imports "
                                        "float32, float16 or float64 weights"),
    "int8 weights": (_int8_weights, "initializer 'W' holds int8 values"),
    "rank-3 weights": (_rank3_weights, "fails ONNX's model check: node 'dense' (Gemm): "
                                       "Input 1 expected to have rank 2 but has rank 3"),
    "Constant without a value": (_constant_without_value,
                                 "Constant node 'weights' must hold exactly one number value"),
    "node without outputs": (_node_without_outputs, "node 'orphan' (Relu) has no output"),
    "NaN weights": (_nan_weights, "'W' (input of node 'dense', Gemm) holds nan at index "
                                  "(1, 2); weights must be finite"),
    "infinite weights": (_inf_weights, "'W' (input of node 'dense', Gemm) holds inf"),
    "weights that overflow": (_overflowing_weights, "the network's outputs overflow to inf "
                                                    "or NaN"),
    "an op ONNX does not know": (_unknown_op, "fails ONNX's model check:"),
    "preprocessing divides by 0": (_preprocessing_that_divides_by_zero,
                                   "the preprocessing std holds 0 or a value beyond float32 "
                                   "(0.0)"),
    "fcnn metadata: a huge picture": (_fcnn_metadata_with_a_huge_picture,
                                      "the metadata's image is not a picture spec for the "
                                      "first layer's 4 inputs"),
    "fcnn metadata: NaN pixel_max": (_fcnn_metadata_with_nan_pixel_max,
                                     "the metadata's pixel_max is not a positive number"),
    "fcnn metadata: a billion-laughs config": (_fcnn_metadata_with_a_billion_laughs_config,
                                               "the metadata's config cannot be read"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_hostile_onnx_file_is_one_line_exit_2_and_writes_nothing(case: str,
                                                                   tmp_path: Path) -> None:
    build, fragment = CASES[case]
    source = build(tmp_path / "hostile.onnx")
    fresh, existing = tmp_path / "new.h5", tmp_path / "existing.h5"
    existing.write_bytes(OLD_MODEL)
    for out in (fresh, existing):
        result = runner.invoke(app, ["import", str(source), str(out)])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and result.output.startswith("error: "), \
            result.output
        assert fragment in result.output and str(source) in result.output
        assert "internal error" not in result.output
    assert not fresh.exists() and existing.read_bytes() == OLD_MODEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.h5", "hostile.onnx"]


def _with_external_weights(path: Path, rows: int = 3) -> Path:
    """A valid file whose weights (rows × 400 float32) are kept in weights.bin beside it."""
    w = numpy_helper.from_array(np.ones((rows, 400), np.float32), "W")
    b = numpy_helper.from_array(np.zeros(rows, np.float32), "B")
    graph = helper.make_graph(
        [_gemm()], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 400])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", rows])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path), save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    return path


def test_the_memory_budget_is_checked_before_external_weights_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _with_external_weights(tmp_path / "wide.onnx")
    assert source.stat().st_size < 1024 < (tmp_path / "weights.bin").stat().st_size
    monkeypatch.setenv("FCNN_MEMORY_BUDGET", "1KB")
    read: list[str] = []
    import onnx.external_data_helper as external

    monkeypatch.setattr(external, "load_external_data_for_tensor",
                        lambda *args: read.append("read"))
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "wide.h5")])
    assert result.exit_code == 2, result.output
    assert "initializer 'W' declares shape (3, 400), 4.7 KiB in memory, over fcnn's memory " \
           "budget of 1.0 KiB" in result.output
    assert read == [] and not (tmp_path / "wide.h5").exists()


def test_external_weights_shorter_than_their_shape_are_refused(tmp_path: Path) -> None:
    source = _with_external_weights(tmp_path / "cut.onnx")
    data = tmp_path / "weights.bin"
    data.write_bytes(data.read_bytes()[:1000])
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "cut.h5")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert str(source) in result.output and "internal error" not in result.output
    assert not (tmp_path / "cut.h5").exists()


def test_external_weights_import_when_they_are_whole(tmp_path: Path) -> None:
    source = _with_external_weights(tmp_path / "fine.onnx")
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "fine.h5")])
    assert result.exit_code == 0, result.output


def test_a_valid_file_of_the_same_shape_imports_and_predicts(tmp_path: Path) -> None:
    """The hostile cases above each break this file in one place."""
    source = _file(tmp_path / "fine.onnx")
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "fine.h5")])
    assert result.exit_code == 0, result.output
    from fcnn_cli.api import load_model

    outputs = load_model(tmp_path / "fine.h5").predict(np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(outputs, [[6.0, 6.0, 6.0]])


@pytest.mark.parametrize("shape", ["[-2, -2]", "[true, 4]"])
def test_another_tools_input_shape_that_is_no_shape_is_left_out(shape: str,
                                                                 tmp_path: Path) -> None:
    """Another tool's metadata is used only where it fits: sizes that multiply to the
    4 inputs but are not positive integers must not become the model's input shape (it
    would write a model that `fcnn` then calls damaged)."""
    source = _file(tmp_path / "odd.onnx", meta={"input_shape": shape})
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "odd.h5")])
    assert result.exit_code == 0, result.output
    from fcnn_cli.api import load_model

    assert load_model(tmp_path / "odd.h5").input_shape == (4,)


def test_a_file_over_the_memory_budget_is_refused_before_it_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _file(tmp_path / "big.onnx")
    monkeypatch.setenv("FCNN_MEMORY_BUDGET", str(source.stat().st_size - 1))
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "big.h5")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "over fcnn's memory budget" in result.output
    assert not (tmp_path / "big.h5").exists()


def test_external_weights_outside_the_models_folder_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    source = _with_external_weights(folder / "escape.onnx")
    proto = onnx.load(str(source), load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../secret.bin"
    (tmp_path / "secret.bin").write_bytes((folder / "weights.bin").read_bytes())
    onnx.save(proto, str(source))
    result = runner.invoke(app, ["import", str(source), str(folder / "escape.h5")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "points outside the directory" in result.output
    assert not (folder / "escape.h5").exists()


# --- fuzzing: whatever the file holds, a model that predicts or one line --------------------


def _fcnn_export() -> bytes:
    """A small fcnn export with all its metadata: 6 inputs as 2×3 pictures, 3 classes."""
    from fcnn_cli.data.image_spec import ImageSpec
    from fcnn_cli.data.split import Normalizer
    from fcnn_cli.exchange.onnx_out import onnx_bytes
    from fcnn_cli.model import Model
    from fcnn_cli.nn import Network

    net = Network.create([6, 4, 3], ["relu", "softmax"], "log-likelihood", "glorot",
                         np.random.default_rng(0), np.float32)
    return onnx_bytes(Model(net, Normalizer("scale", np.zeros((), np.float32),
                                            np.full((), 255.0, np.float32)), (2, 3),
                            ["a", "b", "c"], pixel_max=255.0, image=ImageSpec("digit", (2, 3)),
                            config_text="name: tiny\n"))


def _mutate(proto: onnx.ModelProto, data: Any) -> None:
    """One structural change of the kind a damaged or crafted file has."""
    from hypothesis import strategies as st

    tensors = list(proto.graph.initializer)
    kind = data.draw(st.sampled_from(["dims", "type", "raw", "op", "output", "input",
                                      "attribute", "meta", "drop"]))
    tensor = data.draw(st.sampled_from(tensors))
    node = data.draw(st.sampled_from(list(proto.graph.node)))
    if kind == "dims":
        tensor.dims[:] = data.draw(st.lists(st.integers(-2, 10**7), max_size=4))
    elif kind == "type":
        tensor.data_type = data.draw(st.integers(0, 25))
    elif kind == "raw":
        tensor.raw_data = data.draw(st.binary(max_size=64))
    elif kind == "op":
        node.op_type = data.draw(st.sampled_from(["Relu", "Conv", "Softmax", "Gemm", "Add",
                                                  "Constant", "Reshape", "Flatten", ""]))
    elif kind == "output":
        del node.output[:]
    elif kind == "input":
        node.input.append(data.draw(st.sampled_from(["", "x", "input", "w1", "nowhere"])))
    elif kind == "attribute":
        node.attribute.append(onnx.helper.make_attribute(
            data.draw(st.sampled_from(["alpha", "beta", "transB", "axis", "to"])),
            data.draw(st.one_of(st.floats(allow_nan=True), st.integers(-3, 3)))))
    elif kind == "meta":
        prop = data.draw(st.sampled_from(list(proto.metadata_props)))
        prop.value = data.draw(st.one_of(
            st.text(max_size=30), st.sampled_from(["NaN", "1e999", "[]", "{}", "[1e9, 1e9]",
                                                   '{"pipeline": "digit", "size": [1, 6]}'])))
    else:
        proto.graph.initializer.remove(tensor)


@pytest.mark.parametrize("seed", [0])
def test_fuzzed_onnx_files_import_as_a_working_model_or_one_line(seed: int,
                                                                 tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fcnn_cli.api import load_model
    from fcnn_cli.errors import FcnnError
    from fcnn_cli.exchange.onnx_in import model_from_onnx

    original = _fcnn_export()
    source, out = tmp_path / "fuzzed.onnx", tmp_path / "fuzzed.h5"

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data: Any) -> None:
        proto = onnx.load_from_string(original)
        for _ in range(data.draw(st.integers(1, 3))):
            _mutate(proto, data)
        blob = proto.SerializeToString()
        if data.draw(st.integers(0, 4)) == 0:  # and, now and then, bytes overwritten
            at = data.draw(st.integers(0, len(blob) - 1))
            blob = blob[:at] + data.draw(st.binary(max_size=8)) + \
                blob[at + data.draw(st.integers(0, 8)):]
        source.write_bytes(blob)
        try:
            model = model_from_onnx(source)
        except FcnnError as error:
            assert "\n" not in error.message and str(source) in error.message
            return
        model.save(out)
        x = np.random.default_rng(seed).uniform(0, 255, (4, model.architecture[0]))
        assert np.isfinite(load_model(out).predict(x.astype(np.float32))
                           if not model.is_classifier else
                           load_model(out).predict_proba(x.astype(np.float32))).all()

    check()
