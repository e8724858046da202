"""Uploaded files become the same inputs `fcnn predict` makes of the same files; every
hostile upload is a RequestError naming it, and nothing of it stays on disk."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from fcnn_cli import api
from fcnn_cli.serving import uploads
from fcnn_cli.serving.errors import RequestError
from fcnn_cli.serving.uploads import Upload, rows_from_uploads, shown_name

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "examples" / "images"
SEVEN = IMAGES / "mnist-test-0000-label-7.png"
PHOTO = IMAGES / "photo-clean-2-label-7.jpg"


@pytest.fixture(scope="module")
def mnist() -> api.Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, api.Model]:
    """A CSV with an id, three features and a label, and a tiny model trained on it."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (60, 3))
    data = folder / "points.csv"
    with data.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "a", "b", "c", "label"])
        writer.writerows([[f"p{i}", *row, "hi" if row.sum() > 0 else "lo"]
                          for i, row in enumerate(x)])
    config = {"data": {"path": str(data), "label_column": "label",
                       "feature_columns": ["a", "b", "c"], "test_fraction": 0.2},
              "model": {"layers": [{"units": 4}, {"units": 2, "activation": "softmax"}]},
              "training": {"epochs": 2, "batch_size": 16}}
    api.train(config, out=folder / "points.h5")
    return data, api.load_model(folder / "points.h5")


def refused(model: api.Model, *files: Upload) -> RequestError:
    with pytest.raises(RequestError) as caught:
        rows_from_uploads(model, list(files), False)
    assert "fcnn-upload-" not in caught.value.message  # never the private file's name
    return caught.value


def png_claiming(width: int, height: int) -> bytes:
    """A small, valid PNG header declaring width × height gray pixels (a bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


# --- the same numbers as predict ------------------------------------------------------


def test_pictures_become_the_rows_predict_makes_of_the_same_files(mnist: api.Model) -> None:
    files = [Upload(p.name, p.read_bytes(), "image/png") for p in (SEVEN, PHOTO)]
    got = rows_from_uploads(mnist, files, False)
    assert got.names == [SEVEN.name, PHOTO.name] and got.rows.dtype == np.float32
    np.testing.assert_array_equal(mnist.outputs(got.rows),
                                  mnist.predict_proba([SEVEN, PHOTO], workers=1))


def test_a_picture_is_recognised_by_its_bytes_whatever_its_name(mnist: api.Model) -> None:
    got = rows_from_uploads(mnist, [Upload("blob", PHOTO.read_bytes(), None)], False)
    np.testing.assert_array_equal(mnist.outputs(got.rows), mnist.predict_proba(PHOTO))


def test_explain_keeps_each_picture_as_the_network_sees_it(mnist: api.Model) -> None:
    got = rows_from_uploads(mnist, [Upload("7.png", SEVEN.read_bytes())], True)
    assert got.seen is not None and got.seen[0].shape == (28, 28)
    np.testing.assert_array_equal(got.seen[0].reshape(-1), got.rows[0])
    assert rows_from_uploads(mnist, [Upload("7.png", SEVEN.read_bytes())], False).seen is None


def test_a_csv_upload_is_read_by_column_name_as_predict_reads_it(
        table: tuple[Path, api.Model]) -> None:
    data, model = table
    got = rows_from_uploads(model, [Upload("points.csv", data.read_bytes(), "text/csv")], False)
    assert got.names[:2] == ["points.csv[0]", "points.csv[1]"] and len(got.names) == 60
    np.testing.assert_array_equal(model.outputs(got.rows), model.predict_proba(data))


def test_a_csv_is_recognised_for_a_table_model_without_its_name(
        table: tuple[Path, api.Model]) -> None:
    data, model = table
    got = rows_from_uploads(model, [Upload("", data.read_bytes(), None)], False)
    assert got.names[0] == "upload-1[0]" and got.seen is None


def test_a_npy_upload_is_read_as_predict_reads_one(mnist: api.Model) -> None:
    x = np.random.default_rng(1).integers(0, 256, (3, 28, 28)).astype(np.uint8)
    buffer = io.BytesIO()
    np.save(buffer, x)
    got = rows_from_uploads(mnist, [Upload("batch.npy", buffer.getvalue())], False)
    assert got.names == ["batch.npy[0]", "batch.npy[1]", "batch.npy[2]"]
    np.testing.assert_array_equal(got.rows, x.reshape(3, -1).astype(np.float32))


# --- hostile uploads ------------------------------------------------------------------


def test_an_empty_upload_is_a_400_naming_it(mnist: api.Model) -> None:
    error = refused(mnist, Upload("a.png", SEVEN.read_bytes()), Upload("nothing.png", b""))
    assert error.status == 400 and error.message.startswith("nothing.png: the file is empty")


def test_a_file_that_is_not_a_picture_is_a_400(mnist: api.Model) -> None:
    error = refused(mnist, Upload("notes.png", b"these are not pixels\n" * 10))
    assert error.status == 400 and "notes.png: not an image" in error.message


def test_a_truncated_picture_is_a_400(mnist: api.Model) -> None:
    error = refused(mnist, Upload("cut.jpg", PHOTO.read_bytes()[:600]))
    assert error.status == 400 and error.message.startswith("cut.jpg: ")


@pytest.mark.parametrize("side", [30000, 9000])
def test_a_picture_declaring_too_many_pixels_is_a_413_before_any_decoding(side: int) -> None:
    """Measured in a fresh process: refusing the bomb allocates nothing near its size
    (81 MB to 900 MB as gray pixels)."""
    code = ("import resource, sys\n"
            "from fcnn_cli import api\n"
            "from fcnn_cli.serving.uploads import Upload, rows_from_uploads\n"
            "from fcnn_cli.serving.errors import RequestError\n"
            "model = api.load_model('mnist')\n"
            "data = sys.stdin.buffer.read()\n"
            "warm = open(sys.argv[1], 'rb').read()  # the readers' own imports, first\n"
            "rows_from_uploads(model, [Upload('warm.png', warm)], False)\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n"
            "    rows_from_uploads(model, [Upload('bomb.png', data)], False)\n"
            "except RequestError as error:\n"
            "    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
            "    print(error.status, grew // 1024, error.message)\n")
    done = subprocess.run([sys.executable, "-c", code, str(SEVEN)],
                          input=png_claiming(side, side),
                          capture_output=True, timeout=60)
    status, grew_mb, message = done.stdout.decode().split(" ", 2)
    assert done.returncode == 0, done.stderr.decode()
    assert status == "413" and message.startswith("bomb.png: ")
    assert int(grew_mb) < 40


def test_a_folder_path_or_control_characters_in_a_filename_are_only_shown_made_safe(
        mnist: api.Model, tmp_path: Path) -> None:
    target = tmp_path / "planted.png"
    evil = f"../../{target}\x1b[2J\r\n"
    got = rows_from_uploads(mnist, [Upload(str(target), SEVEN.read_bytes()),
                                    Upload(evil, SEVEN.read_bytes())], False)
    assert got.names == ["planted.png", "planted.png\\x1b[2J"]
    assert not target.exists()  # the name was never a path
    assert shown_name("a\\b\\c\x07.png", 1) == "c\\x07.png" and shown_name("/", 3) == "upload-3"
    assert len(shown_name("x" * 5000, 1)) == uploads.NAME_CHARS


def test_too_many_files_is_a_413_and_no_file_a_400(mnist: api.Model) -> None:
    one = Upload("7.png", SEVEN.read_bytes())
    error = refused(mnist, *[one] * (uploads.MAX_FILES + 1))
    assert error.status == 413 and f"more than the {uploads.MAX_FILES} allowed" in error.message
    with pytest.raises(RequestError) as caught:
        rows_from_uploads(mnist, [], False)
    assert caught.value.status == 400 and "no file" in caught.value.message


def test_more_rows_in_all_than_the_server_takes_is_a_413(mnist: api.Model) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 784), np.float32))
    with pytest.raises(RequestError) as caught:
        rows_from_uploads(mnist, [Upload("big.npy", buffer.getvalue())], False, max_rows=2)
    assert caught.value.status == 413
    assert "the request holds 3 inputs, more than the 2 this server takes in one request" \
        in caught.value.message and "--max-queue-rows" in caught.value.message


def test_a_picture_for_a_table_model_says_what_the_model_takes(
        table: tuple[Path, api.Model]) -> None:
    error = refused(table[1], Upload("7.png", SEVEN.read_bytes()))
    assert error.status == 400 and "takes 3 numbers per input, not pictures" in error.message


def test_a_csv_missing_a_feature_column_names_it(table: tuple[Path, api.Model]) -> None:
    error = refused(table[1], Upload("rows.csv", b"a,b,label\n1,2,hi\n"))
    assert error.status == 400 and error.message.startswith("rows.csv") and "'c'" in error.message


def test_a_csv_with_a_missing_value_names_its_row_and_column(
        table: tuple[Path, api.Model]) -> None:
    error = refused(table[1], Upload("rows.csv", b"a,b,c\n1,2,3\n4,nan,6\n"))
    assert error.status == 400 and "rows.csv: row 3, column 'b' is nan" in error.message


def test_a_csv_of_the_wrong_width_for_an_image_model_is_a_400(mnist: api.Model) -> None:
    error = refused(mnist, Upload("rows.csv", b"1,2\n3,4\n"))
    assert error.status == 400 and "each row has 2 values but the model takes 784" in error.message


def test_each_upload_is_a_private_file_removed_after_success_and_failure(
        mnist: api.Model, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Path, int]] = []
    read = uploads._READERS["picture"]

    def spying(model: api.Model, path: Path, name: str):  # type: ignore[no-untyped-def]
        seen.append((path, path.stat().st_mode & 0o777))
        return read(model, path, name)

    monkeypatch.setitem(uploads._READERS, "picture", spying)
    rows_from_uploads(mnist, [Upload("my-seven.png", SEVEN.read_bytes())], False)
    refused(mnist, Upload("my-broken.png", b"\x89PNG\r\n\x1a\n broken"))
    assert [mode for _, mode in seen] == [0o600, 0o600]
    assert all(not path.exists() for path, _ in seen)
    assert all(path.parent == Path(tempfile.gettempdir()) for path, _ in seen)
    # (the client's names are longer than any chance match in mkstemp's random part)
    assert all("my-" not in path.name for path, _ in seen)
