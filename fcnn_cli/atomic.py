"""Files written whole or not at all: models, checkpoints, predict's CSV file.

`replaced(path)` gives a temporary path beside `path` to write; when the block ends
without an error the file is fsynced, given the permissions a plain `open` would give it
(mkstemp's 0600 would hide it from others), and renamed over `path`. A crash at any
moment leaves either the old file or the new one, never a mix; an error removes the
temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from fcnn_cli.errors import FcnnError
from fcnn_cli.outputs import make_parents


@contextlib.contextmanager
def replaced(path: Path) -> Iterator[Path]:
    folder = path.parent  # (Path("x").parent is ".")
    make_parents(path)  # missing folders are made, as everywhere (fcnn_cli/outputs.py)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise FcnnError(f"cannot write {path}: {error.strerror}") from None
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, _file_mode(path))
        with open(temporary, "rb+") as raw:
            os.fsync(raw.fileno())
        os.replace(temporary, path)
        _fsync_folder(folder)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain `open` would give a new one."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
