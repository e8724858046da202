"""Where a command may write: one rule for every file fcnn writes.

Every command that writes (train's model, checkpoint and --log, report --out, predict
--csv, export, import, init, tune's best config and SQLite study) asks `output_path`
first, before any work, and gets the file to write or one line saying why not:

- an output that is one of the command's inputs (the same file, however spelled: a
  symbolic link, `./x` or a hard link) is refused; nothing is written;
- an existing folder, or a path written as one (`pages/`, ending in a separator), is a
  place: the file goes inside it, under the name the command gives its file when the
  option is left out (report's `<model>.report.html`); a command with no name of its own
  (predict --csv, export, import, --log) refuses a folder;
- missing parent folders are created when the file is written (as `mkdir -p`; training,
  which writes its checkpoint and log as it goes, makes them before its first epoch); a
  parent that exists but is a file is refused here, before any work;
- an existing output that is not a regular file (a FIFO, a device such as /dev/null) is
  refused: the atomic rename would replace it; a symbolic link to a file is followed, so
  the file it points to is replaced and the link stays.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from fcnn_cli.errors import FcnnError

# What each input is ("the model") and its path; a list of pairs where a role repeats.
Inputs = Mapping[str, "str | Path | None"] | Iterable[tuple[str, "str | Path | None"]]


def output_path(path: str | Path, label: str, inputs: Inputs | None = None,
                name: str | None = None, example: str = "out") -> Path:
    """The file to write for the output `label` (an option, e.g. "--out") given as
    `path`. `inputs` maps what each input is ("the model") to its path; `name` is the
    command's own file name, used inside a folder (None: a folder is refused, `example`
    showing a file name to give instead). Pass the text as the user typed it: a trailing
    separator, which Path drops, says "a folder"."""
    folder = str(path).endswith(("/", os.sep))
    path = Path(path)
    if folder or path.is_dir():
        if name is None:
            raise FcnnError(f"{label} {path} is a folder; give a file name such as "
                            f"{path / example}")
        path = path / name
        if path.is_dir():
            raise FcnnError(f"{label} {path} is a folder; give a file name")
    _check_kind(path, label)
    _check_parents(path, label)
    exists = path.exists()
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs or ()
    for role, given in pairs:
        if given is not None and _same(path, exists, Path(given)):
            raise FcnnError(f"{label} {path} is the same file as {role} ({given}): writing "
                            "it would destroy that; give another path")
    if path.is_symlink() and exists:
        return Path(os.path.realpath(path))  # write the file it points to, keep the link
    return path


def _same(path: Path, exists: bool, given: Path) -> bool:
    """Whether `given` is the file `path`: by inode when `path` exists (a link or another
    spelling of it is the same file), else by resolved path (`given` is another output
    that does not exist yet either)."""
    if exists:
        try:
            return os.path.samefile(path, given)
        except OSError:
            return False
    return not given.exists() and os.path.realpath(path) == os.path.realpath(given)


def make_parents(path: Path, label: str = "") -> None:
    """Create `path`'s missing parent folders, or say in one line why they cannot be."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        what = f"{label} {path}" if label else str(path)
        raise FcnnError(f"cannot write {what}: cannot create the folder {folder} "
                        f"({error.strerror or error})") from None


def _check_kind(path: Path, label: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # nothing there yet
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if \
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
        raise FcnnError(f"{label} {path} is {kind}; fcnn writes its files whole and would "
                        "replace it: give the path of a file")


def _check_parents(path: Path, label: str) -> None:
    """Refuse a path below a file: its nearest existing parent must be a folder."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise FcnnError(f"cannot write {label} {path}: {parent} is a file, "
                                "not a folder")
            return
