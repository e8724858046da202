"""Hostile and damaged model files, checkpoints and array batches: one line, exit 2.

Every command that loads a model (predict, info, export, eval) and `train --resume` reads
it through one checked reader: declared sizes are checked against the architecture and the
memory budget before anything is read, structure is checked before it is used, and
non-finite weights are refused. Each test builds its file from a small valid model.
"""

from __future__ import annotations

import dataclasses
import io
import time
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.lib import format as npy
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.data.split import Normalizer
from fcnn_cli.model import Model
from fcnn_cli.nn import Network
from fcnn_cli.store import Checkpoint, load_model, save_checkpoint, save_model
from fcnn_cli.training import LoopState

runner = CliRunner()
TIB = 10**6  # a (TIB, TIB) float32 matrix takes 3.6 TiB


def xor_model() -> Model:
    """A 2-3-1 prelu/sigmoid classifier for the xor data, standardised inputs."""
    net = Network.create([2, 3, 1], ["prelu", "sigmoid"], "cross-entropy",
                         rng=np.random.default_rng(0))
    normalizer = Normalizer("standardize", np.full(2, 0.5, np.float32),
                            np.full(2, 0.5, np.float32))
    return Model(net, normalizer, (2,), ["0", "1"], None, "",
                 {"train_loss": np.array([0.7, 0.6]), "val_loss": np.array([0.8, 0.7])})


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    save_model(tmp_path / "m.h5", xor_model())
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    return tmp_path / "m.h5"


def damage(path: Path, change: Callable[[h5py.File], object]) -> Path:
    with h5py.File(path, "a") as f:
        change(f)
    return path


def replace(f: h5py.File, name: str, data: object = None, **how: object) -> h5py.Dataset:
    """Put a new dataset at `name`, keeping the old one's attributes."""
    attrs = dict(f[name].attrs)
    del f[name]
    dataset = f.create_dataset(name, data=data, **how)
    dataset.attrs.update(attrs)
    return dataset


COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "predict": lambda m: ["predict", str(m), str(m.parent / "x.npy"),
                          "--csv", str(m.parent / "out.csv")],
    "info": lambda m: ["info", str(m)],
    "export": lambda m: ["export", str(m), str(m.parent / "out.onnx")],
    "eval": lambda m: ["eval", str(m), "--data", "xor"],
}


def fails_with(args: list[str], expected: str, folder: Path) -> str:
    """The command ends with one line naming `expected`, exit 2, writes nothing, and
    prints no numpy warning."""
    before = sorted(folder.iterdir())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would end as an internal error
        result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert expected in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert sorted(folder.iterdir()) == before
    return result.output


def test_the_valid_model_works_with_every_command(model_file: Path) -> None:
    for command, args in COMMANDS.items():
        result = runner.invoke(app, args(model_file))
        assert result.exit_code == 0, (command, result.output)


# --- declared sizes, checked before anything is allocated ------------------------------


def huge_model(path: Path) -> Path:
    """A file of a few kB whose layer 1 declares a (10⁶, 10⁶) weight matrix, its shapes
    chaining from a 10⁶-wide input; no chunk of it is stored."""
    save_model(path, xor_model())

    def change(f: h5py.File) -> None:
        f["preprocess"].attrs["input_shape"] = np.array([TIB], np.int64)
        f["preprocess"].attrs["normalize"] = "none"
        for name in ("mean", "std"):
            replace(f, f"preprocess/{name}", np.float32(1.0))
        replace(f, "layers/1/w", shape=(TIB, TIB), dtype="f4", chunks=(64, 64))
        replace(f, "layers/1/b", shape=(TIB,), dtype="f4", chunks=(64,))
        f["layers/1/w"].attrs["alpha"] = np.zeros(1, np.float32)
        replace(f, "layers/2/w", shape=(1, TIB), dtype="f4", chunks=(1, 64))
    return damage(path, change)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_small_file_declaring_a_huge_weight_is_refused_fast_and_small(
        model_file: Path, command: str) -> None:
    huge_model(model_file)
    assert model_file.stat().st_size < 64 * 1024
    tracemalloc.start()
    started = time.perf_counter()
    try:
        fails_with(COMMANDS[command](model_file),
                   "/layers/1/w declares shape (1000000, 1000000), 3.6 TiB in memory, over "
                   "fcnn's memory budget", model_file.parent)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 10
    assert peak < 64 * 2**20


def test_a_weight_that_does_not_chain_from_the_input_names_the_expected_shape(
        model_file: Path) -> None:
    damage(model_file, lambda f: replace(f, "layers/1/w", shape=(TIB, TIB), dtype="f4",
                                         chunks=(64, 64)))
    fails_with(COMMANDS["info"](model_file), "/layers/1/w has shape (1000000, 1000000), "
               "expected (units, 2): layer 1 takes the 2 outputs of the input", model_file.parent)


def test_a_weight_that_does_not_chain_from_the_layer_before_is_refused(model_file: Path) -> None:
    damage(model_file, lambda f: replace(f, "layers/2/w", np.zeros((1, 5), np.float32)))
    fails_with(COMMANDS["predict"](model_file),
               "/layers/2/w has shape (1, 5), expected (units, 3): layer 2 takes the 3 outputs "
               "of layer 1", model_file.parent)


def test_a_huge_input_shape_is_refused_without_echoing_it(model_file: Path) -> None:
    damage(model_file, lambda f: f["preprocess"].attrs.__setitem__(
        "input_shape", np.array([10**9, 10**9, 10**9], np.int64)))
    output = fails_with(COMMANDS["info"](model_file),
                        "/layers/1/w has shape (3, 2), expected (units, about 10^27)",
                        model_file.parent)
    assert "1000000000000000000000000000" not in output


def test_a_history_longer_than_any_training_is_refused(model_file: Path) -> None:
    damage(model_file, lambda f: replace(f, "history/train_loss", shape=(10**9,), dtype="f8",
                                         chunks=(1024,)))
    fails_with(COMMANDS["info"](model_file), "/history/train_loss has shape (1000000000,), "
               "expected (epochs,), one value per epoch, at most 1,000,000", model_file.parent)


def test_an_image_spec_of_a_huge_picture_is_refused(model_file: Path) -> None:
    spec = '{"pipeline": "digit", "size": [1000000000, 1000000000], "channels": 1}'
    damage(model_file, lambda f: f["preprocess"].attrs.__setitem__("image", spec))
    fails_with(COMMANDS["predict"](model_file), "/preprocess attribute 'image' describes "
               "pictures of (1000000000, 1000000000) values but layer 1 takes 2 inputs",
               model_file.parent)


def test_arrays_over_the_budget_together_are_refused(model_file: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def change(f: h5py.File) -> None:
        replace(f, "layers/1/w", np.zeros((300, 2), np.float32))
        replace(f, "layers/1/b", np.zeros(300, np.float32))
        f["layers/1/w"].attrs["alpha"] = np.zeros(300, np.float32)
        replace(f, "layers/2/w", np.zeros((1, 300), np.float32))
    damage(model_file, change)
    monkeypatch.setenv("FCNN_MEMORY_BUDGET", "3000")  # bytes: each array fits, not all
    fails_with(COMMANDS["info"](model_file), "declare 3.5 KiB in all, over fcnn's memory "
               "budget of 2.9 KiB", model_file.parent)


# --- malformed structure: the place and what was expected -----------------------------


MALFORMED: dict[str, tuple[Callable[[h5py.File], object], str]] = {
    "string weights": (lambda f: replace(f, "layers/1/w", np.array(
        [["a", "b"]] * 3, dtype=h5py.string_dtype())),
        "/layers/1/w holds text values, expected floating-point numbers"),
    "integer weights": (lambda f: replace(f, "layers/1/w", np.zeros((3, 2), np.int64)),
                        "/layers/1/w holds int64 values, expected floating-point numbers"),
    "boolean biases": (lambda f: replace(f, "layers/2/b", np.zeros(1, bool)),
                       "/layers/2/b holds bool values, expected floating-point numbers"),
    "compound weights": (lambda f: replace(f, "layers/1/w", np.zeros(
        (3, 2), [("re", "f4"), ("im", "f4")])), "/layers/1/w holds void64 values"),
    "rank-3 weights": (lambda f: replace(f, "layers/1/w", np.zeros((3, 2, 1), np.float32)),
                       "/layers/1/w has shape (3, 2, 1), expected (units, 2)"),
    "scalar weights": (lambda f: replace(f, "layers/1/w", np.float32(1)),
                       "/layers/1/w has shape (), expected (units, 2)"),
    "a bias per input": (lambda f: replace(f, "layers/1/b", np.zeros(2, np.float32)),
                         "/layers/1/b has shape (2,), expected (3,), one bias per unit"),
    "a missing bias": (lambda f: f.__delitem__("layers/2/b"),
                       "is not a complete fcnn model: /layers/2/b is missing"),
    "a missing preprocess group": (lambda f: f.__delitem__("preprocess"),
                                   "/preprocess is missing"),
    "a group for a weight": (lambda f: (f.__delitem__("layers/2/w"),
                                        f.create_group("layers/2/w")),
                             "/layers/2/w is a group, expected a dataset"),
    "a dataset for a layer": (lambda f: (f.__delitem__("layers/2"), f.create_dataset(
        "layers/2", data=np.zeros(3))), "/layers/2 is a dataset, expected a group"),
    "a gap in the layers": (lambda f: f.move("layers/2", "layers/3"),
                            "/layers holds '1', '3', expected the groups 1 to 2"),
    "no layers": (lambda f: (f.__delitem__("layers"), f.create_group("layers")),
                  "/layers holds nothing"),
    "an unknown activation": (lambda f: f["layers/2/w"].attrs.__setitem__("activation", "gelu"),
                              "/layers/2/w attribute 'activation' is 'gelu', expected one of "
                              "linear, sigmoid"),
    "a numeric activation": (lambda f: f["layers/2/w"].attrs.__setitem__("activation", 3),
                             "/layers/2/w attribute 'activation' is a single int64 value, "
                             "expected a string"),
    "a missing activation": (lambda f: f["layers/2/w"].attrs.__delitem__("activation"),
                             "/layers/2/w attribute 'activation' is missing"),
    "alphas for other units": (lambda f: f["layers/1/w"].attrs.__setitem__(
        "alpha", np.zeros(7, np.float32)), "attribute 'alpha' has 7 values, expected 3"),
    "text alphas": (lambda f: f["layers/1/w"].attrs.__setitem__("alpha", "0.1"),
                    "attribute 'alpha' is a single text value, expected a list of numbers"),
    "an unknown cost": (lambda f: f.attrs.__setitem__("cost", "hinge"),
                        "/ attribute 'cost' is 'hinge', expected one of quadratic"),
    "a text input shape": (lambda f: f["preprocess"].attrs.__setitem__("input_shape", "2"),
                           "/preprocess attribute 'input_shape' is a single text value, "
                           "expected a list of whole numbers"),
    "a zero input size": (lambda f: f["preprocess"].attrs.__setitem__(
        "input_shape", np.array([0, 2])), "'input_shape' is (0, 2), expected 1 to 8 positive"),
    "an unknown normalisation": (lambda f: f["preprocess"].attrs.__setitem__(
        "normalize", "whiten"), "'normalize' is 'whiten', expected one of scale"),
    "a mean for other inputs": (lambda f: replace(f, "preprocess/mean", np.zeros(5, np.float32)),
                                "/preprocess/mean has shape (5,), expected () or (2,)"),
    "a zero std": (lambda f: replace(f, "preprocess/std", np.array([1, 0], np.float32)),
                   "/preprocess/std has 1 zero value, expected non-zero scales"),
    "class names for other outputs": (lambda f: f["preprocess"].attrs.__setitem__(
        "class_names", np.array(["a", "b", "c"], dtype=h5py.string_dtype())),
        "'class_names' has 3 names for the model's 1 output units"),
    "numeric class names": (lambda f: f["preprocess"].attrs.__setitem__(
        "class_names", np.array([0, 1])), "'class_names' is a list of int64 values, "
        "expected a list of strings"),
    "a negative pixel_max": (lambda f: f["preprocess"].attrs.__setitem__("pixel_max", -1.0),
                             "'pixel_max' is -1.0, expected the positive value of full ink"),
    "bad JSON in the image spec": (lambda f: f["preprocess"].attrs.__setitem__(
        "image", "{not json"), "/preprocess attribute 'image' is not an image spec"),
    "an image spec of a list": (lambda f: f["preprocess"].attrs.__setitem__("image", "[1, 2]"),
                                "/preprocess attribute 'image' is not an image spec"),
    "bad JSON in the split sizes": (lambda f: f.attrs.__setitem__("split_sizes", "{"),
                                    "/ attribute 'split_sizes' is not valid JSON"),
    "negative split sizes": (lambda f: f.attrs.__setitem__("split_sizes", '{"train": -4}'),
                             "/ attribute 'split_sizes' is not a count per split"),
    "a nested history": (lambda f: (f.__delitem__("history/val_loss"),
                                    f.create_group("history/val_loss")),
                         "/history/val_loss is a group, expected a dataset"),
    "a text history": (lambda f: replace(f, "history/val_loss", np.array(["a"], dtype="S1")),
                       "/history/val_loss holds text values, expected numbers"),
    "a link to another file": (lambda f: (f.__delitem__("layers/2/b"), f.__setitem__(
        "layers/2/b", h5py.ExternalLink("/etc/hostname", "/b"))),
        "/layers/2/b is a link; an fcnn model keeps all its data inside the file"),
    "a soft link": (lambda f: (f.__delitem__("layers/2/b"), f.__setitem__(
        "layers/2/b", h5py.SoftLink("/layers/1/b"))), "/layers/2/b is a link"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_model_names_the_place_and_what_was_expected(model_file: Path,
                                                                 case: str) -> None:
    change, expected = MALFORMED[case]
    damage(model_file, change)
    fails_with(COMMANDS["predict"](model_file), expected, model_file.parent)


@pytest.mark.parametrize("command", COMMANDS)
def test_string_weights_are_refused_by_every_command(model_file: Path, command: str) -> None:
    damage(model_file, MALFORMED["string weights"][0])
    fails_with(COMMANDS[command](model_file), "holds text values", model_file.parent)


def test_weights_stored_in_another_file_are_refused(model_file: Path) -> None:
    (model_file.parent / "elsewhere.bin").write_bytes(np.zeros(6, np.float32).tobytes())
    damage(model_file, lambda f: replace(f, "layers/1/w", shape=(3, 2), dtype="f4", external=[
        (str(model_file.parent / "elsewhere.bin"), 0, 24)]))
    fails_with(COMMANDS["info"](model_file), "/layers/1/w keeps its values in other files",
               model_file.parent)


# --- non-finite numbers --------------------------------------------------------------


def with_value(name: str, index: tuple[int, ...], value: float) -> Callable[[h5py.File], None]:
    def change(f: h5py.File) -> None:
        f[name][index] = value
    return change


@pytest.mark.parametrize("command", COMMANDS)
def test_nan_weights_are_refused_at_load_by_every_command(model_file: Path,
                                                          command: str) -> None:
    def change(f: h5py.File) -> None:
        w = f["layers/1/w"][()]
        w[0, 0] = w[1, 1] = w[2, 0] = np.nan
        f["layers/1/w"][...] = w
    damage(model_file, change)
    fails_with(COMMANDS[command](model_file), "m.h5: /layers/1/w has 3 NaN values; the model is "
               "damaged or its training diverged: retrain it", model_file.parent)


@pytest.mark.parametrize("name,where", [
    ("layers/2/b", "/layers/2/b has 1 infinite value;"),
    ("preprocess/mean", "/preprocess/mean has 1 infinite value;"),
    ("preprocess/std", "/preprocess/std has 1 infinite value;"),
])
def test_infinite_values_are_refused_without_numpy_warnings(model_file: Path, name: str,
                                                            where: str) -> None:
    damage(model_file, with_value(name, (0,), np.inf))
    fails_with(COMMANDS["predict"](model_file), where, model_file.parent)


def test_nan_and_infinity_together_are_both_counted(model_file: Path) -> None:
    def change(f: h5py.File) -> None:
        f["layers/1/w"][0, 0], f["layers/1/w"][0, 1] = np.nan, -np.inf
    damage(model_file, change)
    fails_with(COMMANDS["eval"](model_file), "/layers/1/w has 1 NaN and 1 infinite values",
               model_file.parent)


def test_a_nan_prelu_slope_is_refused(model_file: Path) -> None:
    damage(model_file, lambda f: f["layers/1/w"].attrs.__setitem__(
        "alpha", np.array([0.01, np.nan, 0.01], np.float32)))
    fails_with(COMMANDS["info"](model_file), "/layers/1/w attribute 'alpha' has 1 NaN value",
               model_file.parent)


def test_a_model_whose_outputs_overflow_is_one_line_without_warnings(model_file: Path) -> None:
    model = load_model(model_file)
    model.network.w[0][...] = 3e38  # finite, so the file loads; the products overflow
    model.network.w[1][...] = [[3e38, -3e38, 3e38]]  # and ∞ − ∞ is NaN
    model.save(model_file)
    np.save(model_file.parent / "x.npy", np.ones((2, 2), np.float32))
    fails_with(["predict", str(model_file), str(model_file.parent / "x.npy"), "--json"],
               "computes outputs that are not finite (beyond float32's range) on these inputs",
               model_file.parent)


# --- checkpoints (train --resume) ----------------------------------------------------


def xor_checkpoint(path: Path) -> Path:
    """A checkpoint of the xor recipe's 2-4-1 tanh/sigmoid network, SGD with momentum."""
    net = Network.create([2, 4, 1], ["tanh", "sigmoid"], "cross-entropy",
                         rng=np.random.default_rng(0))
    model = Model(net, Normalizer("none", np.zeros((), np.float32), np.ones((), np.float32)),
                  (2,), ["0", "1"], None, "", {})
    velocity = {f"velocity/{i}": np.zeros_like(p) for i, p in enumerate(net.params())}
    best = {f"best/{i}": p.copy() for i, p in enumerate(net.params())}
    save_checkpoint(path, Checkpoint(model, velocity, dataclasses.asdict(LoopState()), best))
    return path


def resume(checkpoint: Path) -> list[str]:
    return ["train", "xor", "--resume", str(checkpoint), "--quiet",
            "--out", str(checkpoint.parent / "out.h5"), "--set", "training.epochs=2"]


def test_the_valid_checkpoint_resumes(tmp_path: Path) -> None:
    result = runner.invoke(app, resume(xor_checkpoint(tmp_path / "c.h5")))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name,where", [
    ("layers/1/w", "/layers/1/w has 1 NaN value"),
    ("optimizer/velocity/0", "/optimizer/velocity/0 has 1 NaN value"),
    ("training/best/1", "/training/best/1 has 1 NaN value"),
])
def test_a_checkpoint_with_nan_is_refused_on_resume(tmp_path: Path, name: str,
                                                    where: str) -> None:
    checkpoint = damage(xor_checkpoint(tmp_path / "c.h5"), with_value(name, (0, 0), np.nan))
    fails_with(resume(checkpoint), where, tmp_path)


def test_a_checkpoint_with_optimizer_state_of_another_shape_is_refused(tmp_path: Path) -> None:
    checkpoint = damage(xor_checkpoint(tmp_path / "c.h5"), lambda f: replace(
        f, "optimizer/velocity/0", shape=(TIB, TIB), dtype="f4", chunks=(64, 64)))
    fails_with(resume(checkpoint), "/optimizer/velocity/0 has shape (1000000, 1000000), "
               "expected (4, 2), the shape of the network's parameter 0", tmp_path)


def test_a_checkpoint_with_state_for_no_parameter_is_refused(tmp_path: Path) -> None:
    checkpoint = damage(xor_checkpoint(tmp_path / "c.h5"), lambda f: f.create_dataset(
        "optimizer/velocity/99", data=np.zeros(3)))
    fails_with(resume(checkpoint), "/optimizer/velocity/99 names no parameter of the network, "
               "expected velocity/0 to velocity/3", tmp_path)


def test_a_checkpoint_whose_loop_state_is_not_json_is_refused(tmp_path: Path) -> None:
    checkpoint = damage(xor_checkpoint(tmp_path / "c.h5"),
                        lambda f: f["training"].attrs.__setitem__("state", "[" * 100_000))
    fails_with(resume(checkpoint), "/training attribute 'state' is not valid JSON", tmp_path)


@pytest.mark.parametrize("change,expected", [
    ({"epoch": "x"}, "its training state epoch is not a whole number ≥ 0"),
    ({"batch": -1}, "its training state batch is not a whole number ≥ 0"),
    ({"surprise": 1}, "its training state has unknown entries ('surprise')"),
    ({"shuffle_state": {"bit_generator": "PCG64", "state": 3}},
     "its training state shuffle_state is not a random generator's state"),
    ({"history": {"train_loss": ["a"]}}, "its training state history or statistics are not"),
])
def test_a_checkpoint_whose_loop_state_is_damaged_is_refused(tmp_path: Path, change: dict,
                                                             expected: str) -> None:
    import json

    def edit(f: h5py.File) -> None:
        f["training"].attrs["state"] = json.dumps({**json.loads(f["training"].attrs["state"]),
                                                   **change})
    checkpoint = damage(xor_checkpoint(tmp_path / "c.h5"), edit)
    fails_with(resume(checkpoint), expected, tmp_path)


# --- .npy and .npz headers -----------------------------------------------------------


def header_only(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A .npy header declaring `shape`, and no data."""
    out = io.BytesIO()
    npy.write_array_header_1_0(out, {"descr": descr, "fortran_order": False, "shape": shape})
    return out.getvalue()


def test_a_npy_declaring_a_huge_array_is_refused_before_reading(model_file: Path) -> None:
    (model_file.parent / "x.npy").write_bytes(header_only((TIB, TIB)))
    fails_with(COMMANDS["predict"](model_file), "x.npy declares shape (1000000, 1000000), "
               "3.6 TiB in memory, over fcnn's memory budget", model_file.parent)


def test_a_npy_declaring_more_data_than_it_holds_is_truncated(model_file: Path) -> None:
    (model_file.parent / "x.npy").write_bytes(header_only((1000, 2)) + bytes(80))
    fails_with(COMMANDS["predict"](model_file), "x.npy declares shape (1000, 2) (7.8 KiB of "
               "data) but holds only 80 bytes; it is truncated or damaged", model_file.parent)


def test_a_npy_with_a_negative_shape_is_refused(model_file: Path) -> None:
    (model_file.parent / "x.npy").write_bytes(header_only((-5, 2)))
    fails_with(COMMANDS["predict"](model_file), "x.npy declares the negative shape (-5, 2)",
               model_file.parent)


def test_a_npy_with_a_huge_header_is_refused_without_echoing_it(model_file: Path) -> None:
    header = b"{'descr': '<f4', 'shape': (" + b"1, " * 20_000 + b")}"
    (model_file.parent / "x.npy").write_bytes(
        b"\x93NUMPY\x02\x00" + len(header).to_bytes(4, "little") + header)
    output = fails_with(COMMANDS["predict"](model_file), "x.npy is not a readable .npy array",
                        model_file.parent)
    assert len(output) < 400


def test_a_npz_declaring_a_huge_array_is_refused_before_reading(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
        archive.writestr("x.npy", header_only((TIB, TIB)))
        archive.writestr("y.npy", header_only((TIB,), "<i8"))
    (tmp_path / "c.yaml").write_text(
        f"data: {{path: {tmp_path / 'd.npz'}}}\n"
        "model: {layers: [{units: 2, activation: softmax}]}\ntraining: {epochs: 1}\n")
    fails_with(["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "m.h5")],
               "d.npz: array x declares shape (1000000, 1000000), 3.6 TiB in memory",
               tmp_path)


def test_a_npz_member_declaring_more_than_it_holds_is_refused(model_file: Path) -> None:
    data = model_file.parent / "d.npz"
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("x.npy", header_only((4, 2)) + bytes(32))
        archive.writestr("y.npy", header_only((4000,), "<i8") + bytes(32))
    fails_with(["eval", str(model_file), "--data", str(data)],
               "d.npz: array y declares shape (4000,) (31.2 KiB of data) but holds only 32 bytes",
               model_file.parent)
