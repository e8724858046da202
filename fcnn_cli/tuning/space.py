"""The search space file of `fcnn tune`: config keys mapped to the values to try.

    training.optimizer.lr: {low: 0.001, high: 1.0, log: true}
    model.layers[0].units: {low: 32, high: 256, step: 32}
    model.layers[0].dropout: {low: 0.0, high: 0.5}
    training.batch_size: {choices: [32, 64, 128]}

Keys take the path syntax of `--set`. `{low, high}` is a range: whole numbers (bounds and
step) make it a range of integers, any decimal one of reals; `log: true` samples on a log
scale, `step` on a grid. `{choices: [...]}` lists the values; a choice may be a list or a
mapping (a whole `model.layers` list, to search the depth). Everything is checked against
the config schema before any training: a key, a bound or a choice that makes no valid
config is one line. Nothing here needs Optuna.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fcnn_cli.config import (
    Config,
    declared_bytes,
    memory_problem,
    read_yaml_mapping,
    set_value,
    validate,
)
from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.yamlfile import named, shown

Scalar = None | bool | int | float | str
RANGE_FIELDS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Param:
    """One config key to search: a range (`low`, `high`, `log`, `step`; `integer` when
    every bound is whole) or a list of `choices`."""

    key: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] = ()

    @property
    def labels(self) -> tuple[Scalar, ...]:
        """The choices as Optuna stores them: lists and mappings as flow-style YAML."""
        return tuple(encode_choice(c) for c in self.choices)

    def value(self, sampled: Any) -> Any:
        """The config value for what Optuna sampled (a choice's label decoded)."""
        if self.choices:
            return self.choices[self.labels.index(sampled)]
        return int(sampled) if self.integer else float(sampled)

    def corners(self) -> list[Any]:
        """The values that stand for the whole range in the schema checks."""
        if self.choices:
            return list(self.choices)
        top = self.high
        if self.step is not None:  # the largest value on the grid
            assert self.low is not None and self.high is not None
            top = self.low + math.floor((self.high - self.low) / self.step + 1e-9) * self.step
        values = [self.low, top]
        return [int(v) for v in values] if self.integer else [float(v) for v in values]

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(label) for label in self.labels)
        scale = ", log scale" if self.log else (f", step {self.step:g}" if self.step else "")
        kind = "integers" if self.integer else "reals"
        return f"{kind} {self.low:g} to {self.high:g}{scale}"


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    source: str = "the space"

    def apply(self, raw: dict[str, Any], values: dict[str, Any], where: str,
              sizes_checked_later: bool = False) -> Config:
        """The config `raw` with `values` ({key: config value}) set in, validated."""
        changed = copy.deepcopy(raw)
        for key, value in values.items():
            set_value(changed, key, value)
        return validate(changed, where, sizes_checked_later)

    def check(self, raw: dict[str, Any]) -> None:
        """Every key and every bound or choice, alone, must give a valid config; and the
        largest values, together, must fit the memory budget."""
        for param in self.params:
            for value in param.corners():
                try:
                    self.apply(raw, {param.key: value}, "")
                except FcnnError as error:
                    problem = error.message.removeprefix(": ").removeprefix("--set ")
                    raise FcnnError(f"{self.source}: {param.key} = {brief(value)} "
                                    f"makes no valid config: {problem}") from None
        self._check_largest(raw)

    def _check_largest(self, raw: dict[str, Any]) -> None:
        """Units of two layers multiply: each alone may fit and both together not. So take,
        key by key, the bound or choice that takes the most memory with those before it,
        and check them together, before any trial runs."""
        largest: dict[str, Any] = {}
        sizing: list[str] = []  # the keys whose values change the memory taken
        for param in self.params:
            sizes = []
            for value in param.corners():
                try:
                    config = self.apply(raw, largest | {param.key: value}, "", True)
                except FcnnError:  # an invalid pair; each alone was checked above
                    continue
                sizes.append((sum(declared_bytes(config)), len(sizes), value))
            if sizes:
                largest[param.key] = max(sizes, key=lambda size: size[:2])[2]
                sizing += [param.key] if len({size[0] for size in sizes}) > 1 else []
        try:
            problem = memory_problem(self.apply(raw, largest, "", True))
        except FcnnError:
            return
        if problem:
            values = ", ".join(f"{key} = {brief(largest[key])}" for key in sizing)
            raise FcnnError(f"{self.source}: the largest values together ({values}) make no "
                            f"valid config: {problem}")

    def to_json(self) -> list[dict[str, Any]]:
        """What a study remembers of its space, to refuse another one later."""
        return [{k: v for k, v in vars(p).items() if v not in (None, (), False)} | {"key": p.key}
                for p in self.params]


def brief(value: Any) -> str:
    """A value as YAML on one line, cut to fit in a message."""
    text = flow_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


def encode_choice(value: Any) -> Scalar:
    """A choice as Optuna can store it: lists and mappings as their YAML text."""
    return flow_text(value) if isinstance(value, list | dict) else value


def flow_text(value: Any) -> str:
    """A value as YAML on one line: `[64, 32]`, `{units: 64}`, `0.1`."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip() \
        .removesuffix("\n...")


def load_space(path: str | Path, raw_config: dict[str, Any]) -> SearchSpace:
    """Read a space file (or a built-in space by name) and check it against the config
    it will change."""
    from fcnn_cli.shipped import space_path

    source = str(path)
    raw = read_yaml_mapping(space_path(path), kind="space")
    params = tuple(parse_param(source, str(key), spec) for key, spec in raw.items())
    space = SearchSpace(params, source)
    space.check(raw_config)
    return space


def parse_param(source: str, key: str, spec: Any) -> Param:
    where = f"{source}: {named(key)}"
    if not isinstance(spec, dict):
        raise FcnnError(f"{where}: give a range {{low: 0.01, high: 1.0}} or a list of "
                        f"{{choices: [...]}}, not {shown(spec)}")
    unknown = [str(name)[:80] for name in spec if name not in (*RANGE_FIELDS, "choices")]
    if unknown:
        raise FcnnError(f"{where}: unknown field {shown(unknown[0])}"
                        f"{did_you_mean(unknown[0], [*RANGE_FIELDS, 'choices'])}; "
                        "allowed: low, high, log, step, or choices")
    if "choices" in spec:
        return _choices(where, key, spec)
    return _range(where, key, spec)


def _choices(where: str, key: str, spec: dict[str, Any]) -> Param:
    extra = [name for name in spec if name != "choices"]
    if extra:
        raise FcnnError(f"{where}: choices stand alone; remove {', '.join(extra)}")
    choices = spec["choices"]
    if not isinstance(choices, list) or not choices:
        raise FcnnError(f"{where}: choices must be a non-empty list, e.g. choices: [32, 64]")
    labels = [encode_choice(c) for c in choices]
    if len(set(map(repr, labels))) < len(labels):
        raise FcnnError(f"{where}: choices repeat a value; list each once")
    return Param(key, choices=tuple(choices))


def _range(where: str, key: str, spec: dict[str, Any]) -> Param:
    missing = [name for name in ("low", "high") if name not in spec]
    if missing:
        raise FcnnError(f"{where}: a range needs low and high (missing {', '.join(missing)}); "
                        "or give choices: [...]")
    low, high = _number(where, "low", spec["low"]), _number(where, "high", spec["high"])
    step = _number(where, "step", spec["step"]) if spec.get("step") is not None else None
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise FcnnError(f"{where}: log is true or false, not {shown(log)}")
    if not low < high:
        raise FcnnError(f"{where}: empty range: low ({low:g}) must be below high ({high:g})")
    if log and low <= 0:
        raise FcnnError(f"{where}: a log-scale range needs low above 0, got {low:g}")
    if step is not None:
        if step <= 0:
            raise FcnnError(f"{where}: step must be above 0, got {step:g}")
        if log:
            raise FcnnError(f"{where}: give log or step, not both")
        if step > high - low:
            raise FcnnError(f"{where}: step {step:g} is wider than the range "
                            f"{low:g} to {high:g}")
    integer = all(isinstance(v, int) for v in (spec["low"], spec["high"], spec.get("step", 1)))
    return Param(key, low, high, log, step, integer)


def _number(where: str, name: str, value: Any) -> int | float:
    """A bound as a number; YAML reads `1e-3` (no decimal point) as text, so take that too."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FcnnError(f"{where}: {name} must be a number, not {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # a whole number past float's range is no bound either
        number = math.inf
    except ValueError:
        raise FcnnError(f"{where}: {name} must be a number, not {shown(value)}") from None
    if not math.isfinite(number):
        raise FcnnError(f"{where}: {name} must be finite, not {shown(value)}")
    return number if isinstance(value, str) else value
