"""MkDocs hook: the generated parts of the reference, written at each build from the code.

A page asks for one with a marker on a line of its own, `<!-- generated: cli -->` or
`<!-- generated: config -->`; the marker is replaced before the page is rendered. The
CLI reference is Typer's own Markdown generator run on `fcnn_cli.cli.app`, so a command
added to the app appears without anyone touching the page; the config reference walks the
pydantic schema `fcnn_cli.config.Config`.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from mkdocs.exceptions import PluginError

MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    def generated(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise PluginError(f"{page.file.src_uri}: unknown marker <!-- generated: {name} -->; "
                              f"known: {', '.join(sorted(GENERATORS))}")
        return GENERATORS[name]()

    return MARKER.sub(generated, markdown)


# --- the command line ---------------------------------------------------------------------

def cli_markdown() -> str:
    """Every command, argument and option of `fcnn`, as Typer's `typer ... utils docs` writes
    them, under the page's own title, each command in the lists linked to its section."""
    import typer
    from typer.cli import get_docs_for_click

    from fcnn_cli.cli import app

    command = typer.main.get_command(app)
    text = get_docs_for_click(obj=command, ctx=typer.Context(command, info_name="fcnn"),
                              name="fcnn")
    return _link_command_lists(text.split("\n", 1)[1])  # the page has its own title


def _link_command_lists(text: str) -> str:
    """Each entry of a group's `**Commands**:` list becomes a link to the command's heading;
    the help texts outside code lose their HTML meaning (`<output>.ckpt.h5` is text)."""
    lines, group, in_list, in_code = [], "fcnn", False, False
    for line in text.splitlines():
        in_code = in_code != line.startswith("```")
        heading = re.match(r"#+ `(.+)`$", line)
        group = heading.group(1) if heading else group
        in_list = line == "**Commands**:" or (in_list and (line == "" or line.startswith("* ")))
        item = re.match(r"\* `([\w-]+)`(.*)$", line)
        if in_list and item:
            line = f"* [`{item.group(1)}`](#{_slug(group + ' ' + item.group(1))}){item.group(2)}"
        label = re.fullmatch(r"\*\*\w+\*\*:", line)  # Typer's **Usage**:, **Options**:
        lines.append(line if in_code or line.startswith("```") or label else _text(line))
    return "\n".join(lines) + "\n"


def _text(line: str) -> str:
    """`<` and `*` outside the line's code spans (and after its list bullet) as plain text."""
    bullet = "* " if line.startswith("* ") else ""
    parts = line[len(bullet):].split("`")
    parts[::2] = [part.replace("<", "&lt;").replace("*", "\\*") for part in parts[::2]]
    return bullet + "`".join(parts)


# --- the config keys ----------------------------------------------------------------------

def config_markdown() -> str:
    """One section per part of the config (`data`, `data.image`, `training.optimizer`, ...),
    each a table of its keys: type, default, allowed values, description."""
    from fcnn_cli.config import Config

    return "\n".join(_sections(Config, "", 2))


def _sections(model: type, path: str, level: int) -> list[str]:
    out: list[str] = []
    if path:
        out += [f"{'#' * level} `{path}`", ""]
        doc = (model.__doc__ or "").strip()
        if doc and model.__module__ == "fcnn_cli.config":
            out += [doc, ""]
    out += ["| Key | Type | Default | Allowed | Description |", "|---|---|---|---|---|"]
    nested: list[tuple[type, str]] = []
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        sub = _nested_model(field.annotation)
        if sub is not None:
            nested.append((sub, key))
        row = [f"`{name}`", _type_name(field.annotation, key), _default(field),
               _allowed(field), _cell(field.description or "")]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    for sub, key in nested:
        out += _sections(sub, key, min(level + 1, 6) if path else level)
    return out


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and hasattr(kind, "model_fields")


def _members(kind: Any) -> tuple[Any, ...]:
    """The parts of a union (`A | None`, `Optional[A]`), or the type alone."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return typing.get_args(kind)
    return (kind,)


def _nested_model(kind: Any) -> type | None:
    """The config section a key holds: `A`, `A | None`, `A | float` or `list[A]`."""
    for member in _members(kind):
        if typing.get_origin(member) is list:
            member = typing.get_args(member)[0]
        if _is_model(member):
            return member
    return None


def _type_name(kind: Any, key: str) -> str:
    names = [_one_type(member, key) for member in _members(kind) if member is not type(None)]
    optional = type(None) in _members(kind)
    return " or ".join(names) + (" or null" if optional else "")


def _one_type(kind: Any, key: str) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if _is_model(kind):  # a link to the section's heading, as MkDocs' toc names it
        return f"[`{key}`](#{_slug(key)})"
    if origin is typing.Literal:
        return "text" if all(isinstance(a, str) for a in args) else "whole number"
    if origin is list:
        return f"list of {_one_type(args[0], key)}"
    if origin is tuple:
        return f"[{', '.join(_one_type(a, key) for a in args)}]"
    return {bool: "true/false", int: "whole number", float: "number", str: "text"}.get(
        kind, getattr(kind, "__name__", str(kind)))


def _slug(heading: str) -> str:
    """The id Python-Markdown's toc gives a heading (its own slugify): `data.image` is
    #dataimage."""
    from markdown.extensions.toc import slugify

    return slugify(heading, "-")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if _is_model(type(value)):
        return "(the section's defaults)"
    if value is None:
        return "–"
    return f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # 1e-08 reads as text in YAML; 1e-8 reads as a number
        return re.sub(r"e-0*(\d)", r"e-\1", repr(value))
    return str(value)


def _allowed(field: Any) -> str:
    choices = [f"`{_yaml(c)}`" for member in _members(field.annotation)
               if typing.get_origin(member) is typing.Literal for c in typing.get_args(member)]
    bounds = [_bound(rule) for rule in field.metadata]
    return ", ".join(choices + [b for b in bounds if b]) or "–"


def _bound(rule: Any) -> str:
    for attribute, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"),
                            ("min_length", "at least"), ("max_length", "at most")):
        value = getattr(rule, attribute, None)
        if value is not None:
            shown = f"{value:,}" if isinstance(value, int) and value > 9999 else value
            if "length" in attribute:
                return f"{sign} {shown} " + ("entry" if value == 1 else "entries")
            return f"{sign} {shown}"
    return ""


def _cell(text: str) -> str:
    """A description safe inside a Markdown table cell: `<class>` is no HTML tag, `*` starts
    no emphasis."""
    return _text(text.replace("|", "\\|").replace("\n", " "))


GENERATORS = {"cli": cli_markdown, "config": config_markdown}
