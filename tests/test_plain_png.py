"""Plain PNGs (8-bit gray or RGB, nothing but header, pixels and resolution, every checksum
right) are decoded by OpenCV, to the levels Pillow gives; every other PNG is read by Pillow,
so nothing of libpng's reaches stderr and the pixels stay the same."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.images import load_image
from fcnn_cli.data.prepare import prepare_files
from fcnn_cli.errors import FcnnError


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _levels() -> np.ndarray:
    return (np.arange(40 * 56).reshape(40, 56) * 7 % 253).astype(np.uint8)


def _rgb() -> np.ndarray:
    return np.stack([_levels(), 255 - _levels(), np.roll(_levels(), 5, axis=1)], axis=2)


def _decoded_by(path: Path, channels: int, monkeypatch: pytest.MonkeyPatch
                ) -> tuple[np.ndarray, int]:
    """The file's levels as the resize pipeline keeps them, and how often OpenCV decoded."""
    calls = []
    decode = cv2.imdecode

    def counted(*args: object) -> object:
        calls.append(args)
        return decode(*args)

    monkeypatch.setattr(cv2, "imdecode", counted)
    with Image.open(path) as image:
        size = image.size[::-1]
    pixels = load_image(path, ImageSpec("resize", size, channels, "stretch")).pixels
    return pixels.astype(np.uint8), len(calls)


def _pillows(path: Path, mode: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert(mode))


def test_a_plain_gray_png_is_decoded_by_opencv_to_pillows_levels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "gray.png"
    Image.fromarray(_levels()).save(path, dpi=(300, 300))  # (a resolution chunk: still plain)
    pixels, decodes = _decoded_by(path, 1, monkeypatch)
    assert decodes == 1 and np.array_equal(pixels, _levels())


def test_a_plain_rgb_png_is_decoded_by_opencv_to_pillows_colours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rgb.png"
    Image.fromarray(_rgb()).save(path)
    pixels, decodes = _decoded_by(path, 3, monkeypatch)
    assert decodes == 1 and np.array_equal(pixels, _rgb())


def test_an_rgb_png_prepared_as_a_digit_is_the_same_whoever_decodes_it(
        tmp_path: Path) -> None:
    picture = np.full((300, 260, 3), 235, np.uint8)
    cv2.line(picture, (90, 60), (170, 60), (40, 30, 90), 14)
    cv2.line(picture, (170, 60), (110, 240), (40, 30, 90), 14)
    plain, other = tmp_path / "seven.png", tmp_path / "seven-with-text.png"
    Image.fromarray(picture).save(plain)
    data = plain.read_bytes()
    other.write_bytes(data[:33] + _chunk(b"tEXt", b"Comment\x00a seven") + data[33:])
    both = prepare_files([plain, other], (28, 28), 255.0).pixels
    assert both[0].any() and np.array_equal(both[0], both[1])


def _with_chunk(kind: bytes, body: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        Image.fromarray(_levels()).save(path)
        data = path.read_bytes()
        path.write_bytes(data[:33] + _chunk(kind, body) + data[33:])  # after the header
        return path
    return make


def _saved(mode: str, **options: object) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        Image.fromarray(_levels()).convert(mode).save(path, **options)
        return path
    return make


def _chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """The file's chunks after the signature: (kind, body) each."""
    data, at, found = path.read_bytes(), 8, []
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        found.append((data[at + 4:at + 8], data[at + 8:at + 8 + length]))
        at += 12 + length
    return found


def _rechunked(path: Path, chunks: list[tuple[bytes, bytes]]) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(_chunk(k, b) for k, b in chunks))
    return path


def _resolution_after_pixels(path: Path) -> Path:
    Image.fromarray(_levels()).save(path, dpi=(72, 72))
    chunks = _chunks(path)
    resolution = next(c for c in chunks if c[0] == b"pHYs")
    chunks.remove(resolution)
    return _rechunked(path, [*chunks[:-1], resolution, chunks[-1]])


def _pixels_made_of(stream: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    """A PNG whose compressed pixels are `stream(the right ones)`, every checksum right."""
    def make(path: Path) -> Path:
        Image.fromarray(_levels()).save(path)
        chunks = [c for c in _chunks(path) if c[0] != b"IDAT"]
        pixels = b"".join(b for k, b in _chunks(path) if k == b"IDAT")
        return _rechunked(path, [chunks[0], (b"IDAT", stream(pixels)), *chunks[1:]])
    return make


def _scrambled(stream: bytes) -> bytes:
    return stream[:6] + bytes(b ^ 0x5A for b in stream[6:-6]) + stream[-6:]


def _bad_checksum(path: Path) -> Path:
    Image.fromarray(_levels()).save(path, dpi=(72, 72))
    data = bytearray(path.read_bytes())
    at = data.index(b"pHYs") + 4 + 9  # the resolution chunk's checksum
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make", [
    _with_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"not a profile")),
    _with_chunk(b"tEXt", b"Software\x00a scanner"),
    _with_chunk(b"gAMA", struct.pack(">I", 45455)),
    _saved("L", transparency=0),
    _saved("P"),
    _saved("LA"),
    _saved("I;16"),
    _resolution_after_pixels,
    _pixels_made_of(lambda stream: stream + zlib.compress(b"more")),
], ids=["colour profile", "text", "gamma", "transparent level", "palette", "alpha", "16-bit",
        "resolution after the pixels", "data after the pixels"])
def test_any_other_png_is_read_by_pillow_as_before(
        make: Callable[[Path], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path / "other.png")
    with Image.open(path) as image:  # (transparency is put on white: not Pillow's levels)
        plain = image.mode in ("L", "P") and "transparency" not in image.info
    expected = _pillows(path, "L") if plain else None
    pixels, decodes = _decoded_by(path, 1, monkeypatch)
    assert decodes == 0
    if expected is not None:
        assert np.array_equal(pixels, expected)
    assert capfd.readouterr().err == ""


def _cut(path: Path) -> Path:
    Image.fromarray(_levels()).save(path)
    path.write_bytes(path.read_bytes()[:-40])
    return path


@pytest.mark.parametrize(("make", "words"), [
    (_cut, "other.png: the image data is truncated or corrupt"),
    (_bad_checksum, "other.png: not an image Pillow can read"),
    (_pixels_made_of(_scrambled), "other.png: the image data is truncated or corrupt"),
    (_pixels_made_of(lambda stream: zlib.compress(zlib.decompress(stream)[:-30])),
     "other.png: the image data is truncated or corrupt"),
], ids=["truncated", "a checksum wrong", "scrambled pixels, checksums right",
        "rows cut short, checksums right"])
def test_a_broken_png_is_refused_by_pillow_in_one_line_with_nothing_else_on_stderr(
        make: Callable[[Path], Path], words: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path / "other.png")
    decodes = []
    monkeypatch.setattr(cv2, "imdecode", lambda *args: decodes.append(args))
    with pytest.raises(FcnnError) as caught:
        load_image(path, (28, 28))
    assert words in caught.value.message and "\n" not in caught.value.message
    assert not decodes and capfd.readouterr().err == ""
