"""Reading the YAML files users give fcnn (configs, search spaces, trace files) without
trusting them.

`yaml.safe_load` alone never runs code, but it still lets a small file cost a lot: a
50 MB file of keys, or a "billion laughs" document whose aliases (`*a`) nest into 10⁹
values that pydantic then walks (and renders in its message). So a file over
MAX_CONFIG_BYTES is refused before it is read; then one pass over the parser's events,
before anything is built, refuses a document of more than MAX_YAML_VALUES values, one
whose aliases would expand it past them, an alias inside its own anchor, and nesting
deeper than MAX_YAML_DEPTH, stopping at the first excess. Whole numbers past 64 bits are
refused as they are read: no setting needs one and Python cannot even print one of 5,000
digits. `shown` and `named` keep whatever a file held from flooding a message.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml

from fcnn_cli.errors import FcnnError
from fcnn_cli.limits import MAX_CONFIG_BYTES

# Values in a document, aliases expanded: a config holds ~50, a lecture's trace file a few
# hundred, a 784-30-10 network's trace file 24,000.
MAX_YAML_VALUES = 100_000
MAX_YAML_DEPTH = 64  # a config nests 5 deep; a search space's choices a few more
MAX_INT_BITS = 63


class NotYaml(FcnnError):
    """The text is not well-formed plain YAML (a syntax error, a `!!python` tag...)."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader where there is one (10× faster), refusing huge whole numbers."""

    source = "the YAML"

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            number = super().construct_yaml_int(node)
        except ValueError:  # over Python's 4,300-digit limit
            number = None
        if number is None or abs(number).bit_length() > MAX_INT_BITS:
            raise FcnnError(f"{self.source}: line {node.start_mark.line + 1}: a whole number "
                            f"of {len(node.value):,} characters; fcnn takes whole numbers "
                            "below 2⁶³")
        return number


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def read_yaml(path: Path, kind: str = "config") -> Any:
    """The document in the YAML file at `path`, read within fcnn's limits; `kind` names
    the file in messages ("config", "search space", "trace file")."""
    if path.is_dir():
        raise FcnnError(f"{path} is a folder; give a YAML {kind} file")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise FcnnError(_too_big(path, size, kind))
        with path.open("rb") as file:  # at most one byte over: /dev/zero has no size
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise FcnnError(f"{kind} file not found: {path}") from None
    except OSError as error:
        raise FcnnError(f"cannot read {kind} file {path}: {error.strerror or error}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise FcnnError(_too_big(path, None, kind))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FcnnError(f"{path} is not a text file; a {kind} is YAML text") from None
    return parse(text, str(path))


def _too_big(path: Path, size: int | None, kind: str) -> str:
    has = f"is {size:,} bytes" if size is not None else "holds more"
    return (f"{path} {has}, over the {MAX_CONFIG_BYTES:,} bytes (1 MiB) fcnn reads from a YAML "
            f"{kind}; a {kind} is a few kilobytes: is it the right file?")


def parse(text: str, source: str) -> Any:
    """A YAML document from `text`, within fcnn's limits; `source` starts each message."""
    try:
        _check_events(_Loader(text), source)
        loader = _Loader(text)
        loader.source = source
        return loader.get_single_data()
    except yaml.constructor.ConstructorError as error:  # well-formed, but no plain value
        raise NotYaml(f"{source}:{_at(error, '')}: {error.problem}; fcnn reads plain YAML "
                        "values (numbers, text, lists, mappings)") from None
    except yaml.MarkedYAMLError as error:
        raise NotYaml(f"{source}: YAML syntax error{_at(error)}: "
                        f"{error.problem or error.context} (malformed YAML: check the "
                        "indentation and brackets there)") from None
    except yaml.YAMLError as error:
        raise NotYaml(f"{source}: not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:  # the pure-Python composer, on brackets nested 1,000 deep
        raise FcnnError(f"{source}: values nested too deep; fcnn's files nest a few "
                        "levels") from None


def _at(error: yaml.MarkedYAMLError, at: str = " at") -> str:
    mark = error.problem_mark or error.context_mark
    return f"{at} line {mark.line + 1}, column {mark.column + 1}" if mark else ""


class _Frame:
    """A mapping or list being read: the values before it, its depth, its anchor."""

    def __init__(self, before: int, anchor: str | None) -> None:
        self.before, self.anchor, self.depth = before, anchor, 0


def _check_events(loader: Any, source: str) -> None:
    """Refuse, reading the parser's events once and stopping at the first excess, a
    document with too many values, aliases that expand it past them, an alias inside its
    own anchor, or nesting too deep. Nothing is composed or built."""
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, depth) it stands for
    frames = [_Frame(0, None)]                # the document, then each open collection
    distinct = expanded = 0                   # values in the text; with aliases expanded
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.CollectionEndEvent):
                frame = frames.pop()
                values, depth = expanded - frame.before, frame.depth + 1
                frames[-1].depth = max(frames[-1].depth, depth)
                if frame.anchor:
                    anchors[frame.anchor] = (values, depth)
                continue
            if isinstance(event, yaml.AliasEvent):
                if any(frame.anchor == event.anchor for frame in frames):
                    raise FcnnError(f"{source}: line {line}: alias *{event.anchor} is inside "
                                    f"&{event.anchor} itself; fcnn's files cannot be recursive")
                values, depth = anchors.get(event.anchor, (1, 1))  # undefined: the loader says
            elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
                distinct, values, depth = distinct + 1, 1, 1
                if distinct > MAX_YAML_VALUES:
                    raise FcnnError(f"{source} holds more than {MAX_YAML_VALUES:,} values (line "
                                    f"{line}); fcnn's files hold far fewer: is it the right "
                                    "file?")
                if isinstance(event, yaml.ScalarEvent) and event.anchor:
                    anchors[event.anchor] = (1, 1)
            else:  # the stream's and the document's start and end
                continue
            expanded += values
            if isinstance(event, yaml.CollectionStartEvent):
                frames.append(_Frame(expanded - 1, event.anchor))
                depth = 0  # its own level is now counted in `frames`
            else:
                frames[-1].depth = max(frames[-1].depth, depth)
            if expanded > MAX_YAML_VALUES:
                raise FcnnError(f"{source}: its aliases (*name) expand it past "
                                f"{MAX_YAML_VALUES:,} values by line {line}; fcnn refuses "
                                "documents that blow up like this: write the values out, or "
                                "alias less")
            if len(frames) - 1 + depth > MAX_YAML_DEPTH:
                raise FcnnError(f"{source}: values nested more than {MAX_YAML_DEPTH} deep at "
                                f"line {line}; fcnn's files nest a few levels")
    finally:
        loader.dispose()


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 5
_SHORT.maxlevel = 3


def shown(value: Any, limit: int = 60) -> str:
    """repr(value) cut to fit an error line, whatever the file held (huge strings, lists,
    numbers Python cannot print)."""
    try:
        text = _SHORT.repr(value)
    except ValueError:  # an int over Python's 4,300-digit limit
        text = f"<a whole number of {value.bit_length():,} bits>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def named(key: Any, limit: int = 60) -> str:
    """A key as the file wrote it when short and printable; else shown, so that no key
    breaks the one-line message or sends the terminal an escape sequence."""
    text = str(key)
    return text if len(text) <= limit and text.isprintable() else shown(text, limit)
