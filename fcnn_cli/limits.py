"""How much a file may make fcnn allocate, checked before anything is allocated.

Every size a file declares (a weight matrix's shape in a model file, an array header in a
.npy/.npz, `units` in a config, an image size) is checked here against one memory budget
first, so a 36 kB file that declares a (10⁶, 10⁶) matrix is one error line, not a 3.6 TiB
allocation. The budget is generous for any network this tool trains on a laptop (the
largest recipe's model is 5 MB) and can be raised for a bigger machine with
FCNN_MEMORY_BUDGET (bytes, or a number with GB/MB).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_BUDGET = 4 * 2**30   # 4 GiB: one array, or one file's arrays together
MAX_CONFIG_BYTES = 1 * 2**20  # a YAML config, trace file or search space: 1 MiB


def memory_budget() -> int:
    """The budget in bytes: FCNN_MEMORY_BUDGET when set (e.g. 16GB), else 4 GiB."""
    text = os.environ.get("FCNN_MEMORY_BUDGET", "").strip()
    if not text:
        return DEFAULT_BUDGET
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?", text, re.IGNORECASE)
    if match is None:
        raise FcnnError(f"FCNN_MEMORY_BUDGET={text[:40]!r} is not a size; write bytes or "
                        "a number with KB, MB or GB, e.g. 16GB")
    unit = (match.group(2) or "").upper().rstrip("B").rstrip("I")
    return int(float(match.group(1)) * 1024 ** "_KMGT".index(unit or "_"))


def nbytes(shape: Iterable[int], itemsize: int) -> int:
    """What an array of `shape` and `itemsize` takes, in Python ints (no overflow)."""
    return math.prod(int(n) for n in shape) * int(itemsize)


def check_allocation(what: str, shape: Iterable[int], itemsize: int) -> None:
    """Refuse, in one line, an array that would take more than the budget."""
    shape = tuple(int(n) for n in shape)
    need, budget = nbytes(shape, itemsize), memory_budget()
    if need > budget:
        raise FcnnError(f"{what} declares shape {shape_text(shape)}, {_size(need)} in memory, over "
                        f"fcnn's memory budget of {_size(budget)}; the file is damaged or "
                        "not meant for fcnn (raise the budget with FCNN_MEMORY_BUDGET)")


def _short(shape: tuple[int, ...]) -> str:
    """A shape as text, never longer than a line whatever the file declared."""
    text = "(" + ", ".join(str(n) for n in shape[:6]) + (", …" if len(shape) > 6 else "") + ")"
    return text if len(text) <= 80 else text[:77] + "…)"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def check_total(what: str, need: int) -> None:
    """Refuse, in one line, several arrays that together would take more than the budget."""
    budget = memory_budget()
    if need > budget:
        raise FcnnError(f"{what} declare {_size(need)} in all, over fcnn's memory budget of "
                        f"{_size(budget)}; the file is damaged or not meant for fcnn (raise the "
                        "budget with FCNN_MEMORY_BUDGET)")


def shape_text(shape: Iterable[int]) -> str:
    """A declared shape for a message as Python writes it, `(5,)`, `(3, 2)`, but one short
    line whatever the file declared."""
    shape = tuple(int(n) for n in shape)
    return _short(shape)[:-1] + ",)" if len(shape) == 1 else _short(shape)


def check_npy(fp: BinaryIO, what: str, stored: int) -> tuple[tuple[int, ...], np.dtype]:
    """Read the .npy header at `fp` and refuse, before any data is read, an array over the
    budget or one declaring more data than the `stored` bytes (the file, or the .npz member)
    hold. Returns the declared shape and dtype; `fp` is left at the start of the data."""
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(fp)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise ValueError(f"unknown .npy format version {version[0]}.{version[1]}")
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read(fp)
    except (ValueError, RecursionError, MemoryError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FcnnError(f"{what} is not a readable .npy array "
                        f"({reason[:100]}{'…' if len(reason) > 100 else ''})") from None
    if any(n < 0 for n in shape):
        raise FcnnError(f"{what} declares the negative shape {shape_text(shape)}; it is damaged")
    check_allocation(what, shape, dtype.itemsize)
    need = nbytes(shape, dtype.itemsize)
    if not dtype.hasobject and fp.tell() + need > stored:  # (object arrays are pickles)
        raise FcnnError(f"{what} declares shape {shape_text(shape)} ({_size(need)} of data) but "
                        f"holds only {_size(max(stored - fp.tell(), 0))}; it is truncated or "
                        "damaged: save it again")
    return shape, dtype


def over_budget(need: int) -> str | None:
    """None when `need` bytes fit the budget; else "<need>, over fcnn's memory budget of
    <budget>", for a message that says what declared the size and how to shrink it."""
    budget = memory_budget()
    return None if need <= budget else \
        f"{_size(need)}, over fcnn's memory budget of {_size(budget)}"
