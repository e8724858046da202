"""The `fcnn` command line: parse arguments, call one function per command, render.

Every heavy import (numpy, h5py, pydantic, rich.progress) happens inside the
command that needs it, so `fcnn --help` and `fcnn predict` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from fcnn_cli import __version__
from fcnn_cli.errors import FcnnError

app = typer.Typer(
    name="fcnn",
    help="Build, train, evaluate and explain fully-connected neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fcnn {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug


def _run(job: Callable[[], Any]) -> Any:
    """Run a command body, turning expected failures into one line and an exit status."""
    try:
        return job()
    except FcnnError as error:
        if _debug:
            raise
        print(f"error: {error.message}", file=sys.stderr)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        if _debug:
            raise
        print("interrupted", file=sys.stderr)
        raise typer.Exit(130) from None


def main() -> None:
    app()
