"""The IDX format of MNIST and its family, raw or gzip-compressed.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order,
big-endian. See http://yann.lecun.com/exdb/mnist/ ("file formats").
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from fcnn_cli.errors import FcnnError

# type code -> big-endian dtype, as in the format's description
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not, told by its first bytes) into a writable array."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FcnnError(f"{path}: file not found") from None
    except OSError as error:
        raise FcnnError(f"{path}: cannot be read ({error.strerror or error})") from None
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise FcnnError(f"{path}: corrupt or truncated gzip file ({error}); "
                            "download or copy it again") from None
    return parse_idx(data, str(path))


def parse_idx(data: bytes, where: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an IDX file; `where` names the source in error messages."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise FcnnError(f"{where}: not an IDX file (bad magic number {data[:4].hex() or 'none'}); "
                        "expected an MNIST-style file such as train-images-idx3-ubyte")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise FcnnError(f"{where}: IDX header is truncated or declares {ndim} dimensions")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "longer than its header says"
        raise FcnnError(f"{where}: IDX file is {kind}: header says shape {shape} "
                        f"({expected} bytes), file has {len(data)} bytes")
    # bytearray makes the array writable; frombuffer keeps it one vectorised copy
    values = np.frombuffer(bytearray(data), dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed when the name ends in .gz."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    big_endian = array.astype(IDX_TYPES[code], copy=False)
    data = (bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + big_endian.tobytes())
    path = Path(path)
    path.write_bytes(gzip.compress(data, compresslevel=6) if path.suffix == ".gz" else data)
