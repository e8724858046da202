"""Fuzzing the readers of configs, search spaces and trace files: whatever YAML they are
given (nested mappings and lists, aliases, huge and non-finite numbers, odd text), each
returns a valid result or raises FcnnError with one short line, never another exception,
and stays within a second and a few tens of megabytes."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fcnn_cli.config import Config, load_config, raw_config
from fcnn_cli.errors import FcnnError
from fcnn_cli.trace.examples import load as load_trace
from fcnn_cli.tuning.space import SearchSpace, load_space

# FCNN_FUZZ_EXAMPLES=5000 fuzzes deeper than the suite's quick run.
SETTINGS = settings(max_examples=int(os.environ.get("FCNN_FUZZ_EXAMPLES", "60")),
                    deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
GOOD = {"data": {"dataset": "digits"},
        "model": {"layers": [{"units": 8}, {"units": 10, "activation": "softmax"}]},
        "training": {"epochs": 1}}
RAW = raw_config(GOOD)[0]

ODD_TEXT = ["1e9", "1.0e+999", ".nan", "-.inf", "0x1F", "0b101", "1_000", "190:20:30", "~",
            "yes", "2001-12-14", "!!python/object:os.system", "*a", "&a", "<<", "\x1b[2J",
            "\u202e", "a\nb", "=cmd|' /C calc'!A0", "🦀", "", " ", "'", '"', "\\", "\t"]
WORDS = ["digits", "xor", "mnist", "relu", "softmax", "sigmoid", "sgd", "adam", "he",
         "float64", "quadratic", "log-likelihood", "exponential", "val_loss"]
KEYS = ["name", "seed", "data", "dataset", "path", "image", "size", "augment", "rotate",
        "model", "layers", "units", "activation", "dropout", "dtype", "training", "epochs",
        "batch_size", "optimizer", "lr", "momentum", "l2", "low", "high", "step", "log",
        "choices", "x", "y", "w", "b", "kind", "shapes", "nudge"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.sampled_from([10**9, 2**63 - 1, -1, 0, 10**30]),
                    st.sampled_from(ODD_TEXT + WORDS), st.text(max_size=20))
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=6)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), inner, max_size=6),
    max_leaves=40)

# Config places to break, a valid config around them.
PLACES = ["name", "seed", "cost", "output", "data", "data.dataset", "data.path",
          "data.val_fraction", "data.image", "data.image.size", "data.augment",
          "data.augment.shift", "model", "model.layers", "model.layers[0]",
          "model.layers[0].units", "model.layers[1].dropout", "model.dtype", "model.slope",
          "training", "training.batch_size", "training.optimizer", "training.optimizer.lr",
          "training.lr_schedule", "training.early_stopping", "training.l2", "training.threads"]

# Pieces of YAML text, for documents no structure dumps to: aliases, merges, tags, bad nesting.
PIECES = ["a: ", "b: ", "units: ", "&x ", "&y ", "*x", "*y", "[", "]", "{", "}", ", ", "\n",
          "  ", "- ", "<<: ", "? ", ": ", ".nan", ".inf", "1e9", "9" * 25, "0b" + "1" * 80,
          "!!binary aGk=", "!!set ", "!!python/name:os.system ", "'", '"', "# c", "---\n",
          "data: {dataset: digits}\n", "model: {layers: [{units: 4}, {units: 10}]}\n",
          "training.optimizer.lr: ", "{low: ", "high: ", "choices: [", "layers:\n  - {w: ",
          "x: [[1, 2]]\n", "lr: ", "\t", "%YAML 1.1\n", "!x ", "|\n  ", ">-\n  "]
TEXTS = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=40).map("".join)


def laughs(depth: int, width: int) -> str:
    """A "billion laughs": `depth` lists, each of `width` aliases of the one before."""
    names = [f"l{i}" for i in range(depth + 1)]
    return f"{names[0]}: &{names[0]} [lol]\n" + "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * width)}]\n" for a, b in zip(names, names[1:]))


LAUGHS = st.builds(laughs, st.integers(1, 12), st.integers(1, 12))


def within_limits(job: Callable[[], Any], valid: type | tuple[type, ...]) -> None:
    """`job()` returns a `valid` result or raises a one-line FcnnError, in under a second
    and 50 MB; any other exception fails the test."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = job()
        assert isinstance(result, valid), type(result)
    except FcnnError as error:
        assert "\n" not in error.message and len(error.message) < 1000, error.message
        assert error.exit_code == 2
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MB"


def readers(path: Path) -> list[tuple[Callable[[], Any], type | tuple[type, ...]]]:
    from fcnn_cli.trace import examples

    network_or_example = (examples.TraceSpec, examples.SoftmaxExample, examples.GateExample,
                          examples.ArchitectureExample)
    return [(lambda: load_config(path), Config), (lambda: load_space(path, RAW), SearchSpace),
            (lambda: load_trace(str(path)), network_or_example)]


def every_reader(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, "utf-8")
    for job, valid in readers(path):
        within_limits(job, valid)


@SETTINGS
@given(document=VALUES)
def test_any_yaml_structure_gives_a_result_or_one_line(tmp_path: Path, document: Any) -> None:
    every_reader(tmp_path, yaml.safe_dump(document, allow_unicode=True))


@SETTINGS
@given(text=TEXTS | LAUGHS)
def test_any_yaml_text_gives_a_result_or_one_line(tmp_path: Path, text: str) -> None:
    every_reader(tmp_path, text)


@SETTINGS
@given(place=st.sampled_from(PLACES), value=VALUES)
def test_a_valid_config_with_any_value_anywhere_is_read_or_refused(place: str,
                                                                   value: Any) -> None:
    within_limits(lambda: load_config(GOOD, **{place: value}), Config)


@SETTINGS
@given(place=st.sampled_from(PLACES), text=SCALARS.map(str) | TEXTS)
def test_any_set_override_is_read_or_refused(place: str, text: str) -> None:
    within_limits(lambda: load_config(GOOD, [f"{place}={text}"]), Config)
    within_limits(lambda: load_config(GOOD, [f"{text}={place}"]), Config)


@SETTINGS
@given(key=st.sampled_from(PLACES) | st.text(max_size=20), spec=VALUES)
def test_any_search_space_entry_is_read_or_refused(tmp_path: Path, key: str, spec: Any) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({key: spec}, allow_unicode=True), "utf-8")
    within_limits(lambda: load_space(path, RAW), SearchSpace)
