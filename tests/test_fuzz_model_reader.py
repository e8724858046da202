"""Fuzzing the model-file reader: whatever a file holds, loading it gives a model that
computes, or one FcnnError line; never another exception, and never more memory than
the budget allows.

Each example starts from a small valid model (or checkpoint) and changes it: attributes
set to values of any type, datasets replaced by arrays of other dtypes and shapes (some
declaring huge shapes with no data stored), objects deleted, turned into groups or
links, values poked to NaN or infinity, bytes overwritten, the file truncated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.nn import Network
from fcnn_cli.store import Checkpoint, load_checkpoint, load_model, save_checkpoint, save_model
from fcnn_cli.training import LoopState

BUDGET = 32 * 2**20      # FCNN_MEMORY_BUDGET while fuzzing
PEAK_LIMIT = 2 * BUDGET  # what loading one file may hold at its peak (tracemalloc)
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def small_model() -> Model:
    """A 4-3-3 prelu/softmax classifier of 2×2 pictures, with every optional part set."""
    net = Network.create([4, 3, 3], ["prelu", "softmax"], "log-likelihood",
                         rng=np.random.default_rng(0))
    normalizer = Normalizer("standardize", np.full(4, 9.0, np.float32),
                            np.full(4, 3.0, np.float32))
    return Model(net, normalizer, (2, 2), ["a", "b", "c"], 255.0, "seed: 1\n",
                 {"train_loss": np.array([0.9, 0.5]), "val_accuracy": np.array([0.4, 0.6])},
                 image=ImageSpec("resize", (2, 2)), split_sizes={"train": 8, "val": 2},
                 feature_names=None)


def small_regressor() -> Model:
    """A 3-2 linear regressor of CSV features, its targets standardised."""
    net = Network.create([3, 2], ["linear"], "quadratic", rng=np.random.default_rng(1))
    scale = Normalizer("standardize", np.zeros(3, np.float32), np.ones(3, np.float32))
    target = Normalizer("standardize", np.array([1, 2], np.float32),
                        np.array([3, 4], np.float32))
    return Model(net, scale, (3,), None, None, "", {}, feature_names=["p", "q", "r"],
                 target_names=["y0", "y1"], target_normalizer=target)


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("originals")
    save_model(folder / "model.h5", small_model())
    save_model(folder / "regressor.h5", small_regressor())
    net = small_model().network
    save_checkpoint(folder / "checkpoint.h5", Checkpoint(
        small_model(), {**{f"m/{i}": np.zeros_like(p) for i, p in enumerate(net.params())},
                        "t": np.array(3)},
        dataclasses.asdict(LoopState()), {f"best/{i}": p for i, p in enumerate(net.params())}))
    return {p.stem: p for p in folder.iterdir()}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FCNN_MEMORY_BUDGET", str(BUDGET))
        yield tmp_path_factory.mktemp("fuzz")


@contextlib.contextmanager
def peak_memory_below(limit: int) -> Iterator[None]:
    """Fails if, at any moment inside, more than `limit` of Python and numpy memory was held."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak / 2**20:.0f} MiB"


def loads_or_refuses(path: Path, kind: str) -> None:
    """The property: a model that computes, or an FcnnError of one short line; never more
    memory than the budget, never a numpy warning."""
    with warnings.catch_warnings(), peak_memory_below(PEAK_LIMIT):
        warnings.simplefilter("error")
        try:
            loaded = load_checkpoint(path) if kind == "checkpoint" else load_model(path)
        except FcnnError as error:
            assert error.exit_code == 2
            assert "\n" not in error.message and len(error.message) < 600, error.message
            return
    model = loaded.model if isinstance(loaded, Checkpoint) else loaded
    with np.errstate(all="ignore"):  # finite weights may still overflow: not the reader's job
        out = model.outputs(np.zeros((2, math.prod(model.input_shape)), np.float32))
    assert out.shape == (2, model.architecture[-1])


# --- what an example does to the file -----------------------------------------------

TEXTS = st.sampled_from([
    "", "gelu", "prelu", "none", "scale", "fcnn-model", "{", "[]", "null", "1e999", "[" * 3000,
    '{"pipeline": "digit", "size": [2, 2]}', '{"pipeline": "resize", "size": [1e300, 2]}',
    '{"pipeline": "digit", "size": [1000000000, 1000000000]}', '{"size": "ab"}',
    '{"train": -1}', '{"train": 1.5}', '{"epoch": 0}',
]) | st.text(st.characters(exclude_characters="\x00"), max_size=12)  # (HDF5 strings end at NUL)
ATTRIBUTE_VALUES = st.one_of(
    TEXTS, st.integers(-2**63, 2**63 - 1), st.floats(), st.booleans(),
    st.just(np.bytes_(b"\xff\xfe")),  # not UTF-8
    st.lists(st.integers(-3, 2**40), max_size=4).map(lambda v: np.array(v, np.int64)),
    st.lists(st.floats(width=32), max_size=5).map(lambda v: np.array(v, np.float32)),
    st.lists(st.text(st.characters(exclude_characters="\x00"), max_size=4), min_size=1,
             max_size=5).map(
        lambda v: np.array(v, dtype=h5py.string_dtype())),
    st.just(h5py.Empty("f4")),
)
ATTRIBUTE_NAMES = st.sampled_from([
    "format", "format_version", "cost", "config", "created", "fcnn_version", "split_sizes",
    "input_shape", "normalize", "pixel_max", "class_names", "image", "feature_names",
    "target_names", "target_normalize", "activation", "slope", "alpha", "state", "other"])
DTYPES = st.sampled_from(["f2", "f4", "f8", "i1", "i8", "u4", "?", "S3", "c8", "V4"])
SMALL_SHAPES = st.lists(st.integers(0, 5), max_size=3).map(tuple)
HUGE_SHAPES = st.lists(st.sampled_from([1, 3, 4, 2**20, 10**6, 2**31]), min_size=1,
                       max_size=3).map(tuple)
POKES = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e38, -1e-45])


def objects(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visit(names.append)
    return sorted(names)


def set_attribute(f: h5py.File, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(["/", *objects(f)]))
    f[target].attrs[data.draw(ATTRIBUTE_NAMES)] = data.draw(ATTRIBUTE_VALUES)


def delete_attribute(f: h5py.File, data: st.DataObject) -> None:
    owner = f[data.draw(st.sampled_from(["/", *objects(f)]))]
    if len(owner.attrs):
        del owner.attrs[data.draw(st.sampled_from(sorted(owner.attrs)))]


def pick(data: st.DataObject, names: list[str]) -> str | None:
    """One of `names`; None when earlier changes left none."""
    return data.draw(st.sampled_from(names)) if names else None


def delete_object(f: h5py.File, data: st.DataObject) -> None:
    name = pick(data, objects(f))
    if name is not None:
        del f[name]


def datasets(f: h5py.File) -> list[str]:
    return [name for name in objects(f) if isinstance(f[name], h5py.Dataset)]


def replace_dataset(f: h5py.File, data: st.DataObject, make: Callable[[str], Any]) -> None:
    name = pick(data, datasets(f))
    if name is None:
        return
    attrs = dict(f[name].attrs)
    del f[name]
    created = make(name)
    created.attrs.update(attrs)


def other_array(f: h5py.File, data: st.DataObject) -> None:
    dtype, shape = np.dtype(data.draw(DTYPES)), data.draw(SMALL_SHAPES)
    replace_dataset(f, data, lambda name: f.create_dataset(name, data=np.zeros(shape, dtype)))


def huge_declared_array(f: h5py.File, data: st.DataObject) -> None:
    shape = data.draw(HUGE_SHAPES)
    dtype = data.draw(st.sampled_from(["f4", "f8", "i8"]))
    replace_dataset(f, data, lambda name: f.create_dataset(
        name, shape=shape, dtype=dtype, chunks=tuple(min(n, 64) for n in shape)))


def group_for_dataset(f: h5py.File, data: st.DataObject) -> None:
    replace_dataset(f, data, f.create_group)


def link_for_dataset(f: h5py.File, data: st.DataObject) -> None:
    others = datasets(f)
    if not others:
        return
    link = data.draw(st.sampled_from([h5py.SoftLink(others[0]), h5py.SoftLink("/nowhere"),
                                      h5py.ExternalLink("/etc/hostname", "/x")]))
    name = data.draw(st.sampled_from(others))
    del f[name]
    f[name] = link


def poke_value(f: h5py.File, data: st.DataObject) -> None:
    floats = [name for name in datasets(f)
              if f[name].dtype.kind == "f" and f[name].shape and 0 < f[name].size < 10**6]
    name = pick(data, floats)
    if name is None:
        return
    index = tuple(data.draw(st.integers(0, n - 1)) for n in f[name].shape)
    f[name][index] = data.draw(POKES)


def add_object(f: h5py.File, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([
        "layers/3", "layers/0", "layers/x", "history/extra", "history/g/h", "optimizer/m/9",
        "optimizer/m/x", "optimizer/q", "training/best/0/deep", "preprocess/target_mean"]))
    parent = name.rsplit("/", 1)[0]
    if name in f or (parent in f and not isinstance(f[parent], h5py.Group)):
        return
    if data.draw(st.booleans()):
        f.create_group(name)
    else:
        f.create_dataset(name, data=np.zeros(data.draw(SMALL_SHAPES), data.draw(DTYPES)))


CHANGES = [set_attribute, delete_attribute, delete_object, other_array, huge_declared_array,
           group_for_dataset, link_for_dataset, poke_value, add_object]


def changed_file(folder: Path, original: Path, data: st.DataObject) -> Path:
    path = folder / "m.h5"
    path.write_bytes(original.read_bytes())
    with h5py.File(path, "a") as f:
        for change in data.draw(st.lists(st.sampled_from(CHANGES), min_size=1, max_size=3)):
            change(f, data)
    return path


# --- the properties ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["model", "regressor", "checkpoint"])
@FUZZ
@given(data=st.data())
def test_a_changed_file_loads_or_is_refused_in_one_line(
        originals: dict[str, Path], workdir: Path, kind: str, data: st.DataObject) -> None:
    loads_or_refuses(changed_file(workdir, originals[kind], data), kind)


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
@FUZZ
@given(cut=st.floats(0.0, 1.0), writes=st.lists(st.tuples(st.floats(0.0, 1.0), st.binary(
    min_size=1, max_size=8)), max_size=6))
def test_damaged_bytes_load_or_are_refused_in_one_line(
        originals: dict[str, Path], workdir: Path, kind: str, cut: float,
        writes: list[tuple[float, bytes]]) -> None:
    raw = bytearray(originals[kind].read_bytes())
    for where, chunk in writes:
        at = int(where * (len(raw) - 1))
        raw[at:at + len(chunk)] = chunk
    if cut < 0.3:  # a third of the examples: the file cut short as well
        raw = raw[:int(len(raw) * cut / 0.3)]
    (workdir / "m.h5").write_bytes(bytes(raw))
    loads_or_refuses(workdir / "m.h5", kind)


def test_the_originals_load(originals: dict[str, Path]) -> None:
    for kind, path in originals.items():
        loaded = load_checkpoint(path) if kind == "checkpoint" else load_model(path)
        assert isinstance(loaded, Checkpoint if kind == "checkpoint" else Model)
