"""The IDX reader: round trips, and one clear error for each way a file can be broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from fcnn_cli.data.idx import parse_idx, read_idx, write_idx
from fcnn_cli.errors import FcnnError


def _error(path: Path) -> str:
    with pytest.raises(FcnnError) as caught:
        read_idx(path)
    assert caught.value.exit_code == 2
    return caught.value.message


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_raw_and_gzip(tmp_path: Path, name: str, dtype: type) -> None:
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_gzip_is_recognised_by_content_not_by_name(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels.gz", np.array([3, 1, 4], np.uint8))
    (tmp_path / "labels.gz").rename(tmp_path / "labels-idx1-ubyte")
    np.testing.assert_array_equal(read_idx(tmp_path / "labels-idx1-ubyte"), [3, 1, 4])


def test_idx_values_are_big_endian_on_disk(tmp_path: Path) -> None:
    data = bytes([0, 0, 0x0B, 1]) + (2).to_bytes(4, "big") + (258).to_bytes(2, "big") * 2
    np.testing.assert_array_equal(parse_idx(data), [258, 258])


def test_loaded_array_is_writable(tmp_path: Path) -> None:
    write_idx(tmp_path / "x-idx1-ubyte", np.zeros(5, np.uint8))
    array = read_idx(tmp_path / "x-idx1-ubyte")
    array[0] = 1
    assert array[0] == 1


def test_bad_magic_number_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "not-idx").write_bytes(b"PK\x03\x04 certainly not IDX")
    assert "bad magic number" in _error(tmp_path / "not-idx")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty-idx1-ubyte").write_bytes(b"")
    assert "not an IDX file" in _error(tmp_path / "empty-idx1-ubyte")


def test_truncated_header_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    assert "header is truncated" in _error(tmp_path / "short")


def test_truncated_data_names_expected_and_actual_length(tmp_path: Path) -> None:
    write_idx(tmp_path / "images", np.zeros((4, 28, 28), np.uint8))
    data = (tmp_path / "images").read_bytes()
    (tmp_path / "images").write_bytes(data[:-100])
    message = _error(tmp_path / "images")
    assert "truncated" in message and "(4, 28, 28)" in message and str(len(data) - 100) in message


def test_extra_bytes_after_the_data_are_an_error(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.zeros(10, np.uint8))
    (tmp_path / "labels").write_bytes((tmp_path / "labels").read_bytes() + b"\0\0")
    assert "longer than its header says" in _error(tmp_path / "labels")


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    write_idx(tmp_path / "images.gz", np.arange(5000, dtype=np.int32))
    data = (tmp_path / "images.gz").read_bytes()
    (tmp_path / "images.gz").write_bytes(data[: len(data) // 2])
    assert "corrupt or truncated gzip" in _error(tmp_path / "images.gz")


def test_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])))
    packed[-8] ^= 0xFF  # the CRC of the content
    (tmp_path / "labels.gz").write_bytes(bytes(packed))
    assert "corrupt or truncated gzip" in _error(tmp_path / "labels.gz")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    assert "file not found" in _error(tmp_path / "nowhere-idx1-ubyte.gz")
