"""Named datasets (where they are found, how they are downloaded) and the user's own files."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnn_cli.data import sources
from fcnn_cli.data.idx import write_idx
from fcnn_cli.data.sources import DATASETS, load_dataset
from fcnn_cli.errors import FcnnError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _fake_idx_folder(folder: Path, label: int, n_train: int = 6, n_test: int = 3) -> Path:
    """Four tiny MNIST-style files whose labels are all `label` (to tell folders apart)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(label)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": np.full(n_train, label, np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.full(n_test, label, np.uint8),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return folder


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every place fcnn searches, moved into tmp_path, empty, with the network cut off."""
    paths = {"data_dir": tmp_path / "data_dir", "repo": tmp_path / "repo",
             "cache": tmp_path / "cache", "system": tmp_path / "system"}
    (paths["repo"]).mkdir()
    (paths["repo"] / "pyproject.toml").write_text("")
    monkeypatch.setenv("FCNN_DATA_DIR", str(paths["data_dir"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["cache"]))
    monkeypatch.setattr(sources, "_REPO_ROOT", paths["repo"])
    source = dataclasses.replace(sources.IDX_SOURCES["mnist"],
                                 system_dirs=(str(paths["system"] / "mnist"),))
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", source)

    def offline(url: str) -> bytes:
        raise OSError(f"no network for {url}")

    monkeypatch.setattr(sources, "fetch_url", offline)
    return paths


def _error(**kwargs: object) -> str:
    with pytest.raises(FcnnError) as caught:
        load_dataset(**kwargs)  # type: ignore[arg-type]
    assert caught.value.exit_code == 2
    return caught.value.message


# --- named datasets -------------------------------------------------------------------


def test_mnist_loads_with_the_published_label_counts(mnist_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FCNN_DATA_DIR", str(mnist_dir.parent))
    ds = load_dataset("mnist")
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test is not None and ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == MNIST_TEST_COUNTS
    assert ds.class_names == [str(d) for d in range(10)]
    assert (ds.input_shape, ds.pixel_max) == ((28, 28), 255.0)


def _search_folders(places: dict[str, Path]) -> dict[str, Path]:
    return {"data_dir": places["data_dir"] / "mnist", "repo": places["repo"] / "data" / "mnist",
            "cache": places["cache"] / "fcnn" / "mnist", "system": places["system"] / "mnist"}


@pytest.mark.parametrize("winner", ["data_dir", "repo", "cache", "system"])
def test_places_are_searched_in_order(places: dict[str, Path], winner: str) -> None:
    """$FCNN_DATA_DIR, then the checkout's data/, then the cache, then the system folder."""
    folders = _search_folders(places)
    order = list(folders)
    for label, place in enumerate(order):
        if order.index(place) >= order.index(winner):
            _fake_idx_folder(folders[place], label)
    assert set(load_dataset("mnist").y_train) == {order.index(winner)}


def test_a_folder_missing_one_file_is_skipped(places: dict[str, Path]) -> None:
    _fake_idx_folder(places["data_dir"] / "mnist", label=1)
    (places["data_dir"] / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    _fake_idx_folder(places["cache"] / "fcnn" / "mnist", label=2)
    assert set(load_dataset("mnist").y_train) == {2}


def test_without_files_or_network_the_error_says_where_to_put_them(
        places: dict[str, Path]) -> None:
    message = _error(name="mnist")
    assert "mnist not found" in message and "no network" in message
    assert str(places["data_dir"] / "mnist") in message
    assert "train-images-idx3-ubyte.gz" in message and "FCNN_DATA_DIR" in message
    assert "\n" not in message
    assert not (places["cache"] / "fcnn" / "mnist").exists()


def _mirror(folder: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """What a mirror serves for the fake dataset in `folder`, and the content checksums."""
    served = {name: (folder / name).read_bytes() for name in sorted(p.name for p in
                                                                    folder.iterdir())}
    digests = {name.removesuffix(".gz"): hashlib.sha256(gzip.decompress(data)).hexdigest()
               for name, data in served.items()}
    return served, digests


def test_download_verifies_content_and_writes_into_the_cache(
        places: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served, digests = _mirror(_fake_idx_folder(tmp_path / "mirror", label=7))
    source = dataclasses.replace(sources.IDX_SOURCES["mnist"], sha256=digests,
                                 mirrors=("https://first.example/", "https://second.example/"))
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", source)
    asked = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        if url.startswith("https://first.example/"):
            return gzip.compress(b"tampered")  # decompresses fine, wrong checksum
        return served[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(sources, "fetch_url", fetch)
    ds = load_dataset("mnist")
    cache = places["cache"] / "fcnn" / "mnist"
    assert set(ds.y_train) == {7}
    assert sorted(p.name for p in cache.iterdir()) == sorted(served)  # no temporary files left
    assert "https://second.example/train-images-idx3-ubyte.gz" in asked
    assert load_dataset("mnist").x_train.shape == ds.x_train.shape  # now from the cache


def test_download_that_fails_checksums_writes_nothing(
        places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "fetch_url", lambda url: gzip.compress(b"not mnist"))
    message = _error(name="mnist")
    assert "SHA-256 of the content does not match" in message
    assert not (places["cache"] / "fcnn" / "mnist").exists()


def test_fashion_mnist_has_clothing_class_names(places: dict[str, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_idx_folder(places["data_dir"] / "fashion-mnist", label=9)
    ds = load_dataset("fashion-mnist")
    assert ds.class_names is not None and ds.class_names[9] == "Ankle boot"
    assert len(ds.class_names) == 10


def test_digits_ship_with_the_package() -> None:
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1797, 8, 8) and ds.x_train.dtype == np.uint8
    assert ds.x_train.max() == 16 and ds.pixel_max == 16.0
    assert np.bincount(ds.y_train).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.x_test is None and ds.input_shape == (8, 8)


def test_xor_is_four_points_in_two_classes() -> None:
    ds = load_dataset("xor")
    np.testing.assert_array_equal(ds.x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1, 0])
    assert ds.class_names == ["0", "1"] and ds.x_train.dtype == np.float32
    assert ds.pixel_max is None and ds.input_shape == (2,)


def test_named_datasets_are_listed() -> None:
    assert DATASETS == ("mnist", "fashion-mnist", "digits", "xor", "circle", "gauss", "spiral",
                        "moons")


def test_unknown_dataset_suggests_the_closest_name() -> None:
    assert "did you mean 'mnist'" in _error(name="minst")


def test_neither_name_nor_path_is_an_error() -> None:
    assert "no data given" in _error()


# --- IDX folders given by path ---------------------------------------------------------


def test_idx_folder_by_path(tmp_path: Path) -> None:
    ds = load_dataset(path=_fake_idx_folder(tmp_path / "letters", label=3))
    assert ds.name == "letters" and ds.class_names == ["0", "1", "2", "3"]
    assert ds.x_test is not None and len(ds.x_test) == 3


def test_idx_label_and_image_counts_must_match(tmp_path: Path) -> None:
    folder = _fake_idx_folder(tmp_path / "mnist", label=1)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    message = _error(path=folder)
    assert "6 images" in message and "5 labels" in message


def test_incomplete_idx_folder_names_the_missing_file(tmp_path: Path) -> None:
    folder = _fake_idx_folder(tmp_path / "mnist", label=1)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    assert "missing t10k-images-idx3-ubyte" in _error(path=folder)


# --- .npz -------------------------------------------------------------------------------


def test_npz_integer_labels_are_classes_and_names_travel(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((4, 3), np.float64), y=np.array([0, 2, 1, 2]),
             class_names=np.array(["cat", "dog", "eel"]))
    ds = load_dataset(path=tmp_path / "d.npz")
    assert ds.class_names == ["cat", "dog", "eel"] and ds.y_train.dtype == np.int64
    assert ds.x_train.dtype == np.float32 and ds.input_shape == (3,) and ds.pixel_max is None


def test_npz_float_targets_are_regression(tmp_path: Path) -> None:
    np.savez(tmp_path / "r.npz", x=np.ones((5, 2)), y=np.linspace(0, 1, 10).reshape(5, 2))
    ds = load_dataset(path=tmp_path / "r.npz")
    assert ds.class_names is None and ds.y_train.shape == (5, 2)
    assert ds.y_train.dtype == np.float32


def test_npz_uint8_images_stay_pixels(tmp_path: Path) -> None:
    np.savez(tmp_path / "i.npz", x=np.zeros((3, 28, 28), np.uint8), y=np.array([0, 1, 0]))
    ds = load_dataset(path=tmp_path / "i.npz")
    assert ds.x_train.dtype == np.uint8 and ds.pixel_max == 255.0
    assert ds.input_shape == (28, 28)


def test_npz_label_count_mismatch_is_an_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((4, 3)), y=np.array([0, 1, 0]))
    assert "x has 4 rows but y has 3" in _error(path=tmp_path / "d.npz")


def test_npz_without_y_is_an_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones((4, 3)))
    assert "missing array y" in _error(path=tmp_path / "d.npz")


def test_npz_with_one_dimensional_x_is_an_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.ones(4), y=np.array([0, 1, 0, 1]))
    assert "shape (N, features...)" in _error(path=tmp_path / "d.npz")


def test_npz_with_nan_names_the_row(tmp_path: Path) -> None:
    x = np.ones((4, 3))
    x[2, 1] = np.nan
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]))
    assert "x[2], feature 1 is nan" in _error(path=tmp_path / "d.npz")


def test_file_that_is_not_an_npz_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.npz").write_text("hello")
    assert "not a readable .npz" in _error(path=tmp_path / "d.npz")


# --- .csv -------------------------------------------------------------------------------


def _csv(tmp_path: Path, text: str) -> Path:
    (tmp_path / "d.csv").write_text(text)
    return tmp_path / "d.csv"


def test_csv_label_column_and_numeric_features(tmp_path: Path) -> None:
    ds = load_dataset(path=_csv(tmp_path, "a,label,b\n1,0,2\n3,1,4.5\n5,1,6\n"))
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [3, 4.5], [5, 6]])
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1])
    assert ds.class_names == ["0", "1"] and ds.input_shape == (2,)


def test_csv_label_column_is_configurable(tmp_path: Path) -> None:
    ds = load_dataset(path=_csv(tmp_path, "kind,w\n1,0.5\n0,0.25\n"), label_column="kind")
    np.testing.assert_array_equal(ds.y_train, [1, 0])


def test_csv_text_labels_become_sorted_class_names(tmp_path: Path) -> None:
    ds = load_dataset(path=_csv(tmp_path, "x,label\n1,setosa\n2,virginica\n3,setosa\n"))
    assert ds.class_names == ["setosa", "virginica"]
    np.testing.assert_array_equal(ds.y_train, [0, 1, 0])


def test_csv_decimal_labels_are_regression_targets(tmp_path: Path) -> None:
    ds = load_dataset(path=_csv(tmp_path, "x,label\n1,0.5\n2,3\n3,1e2\n"))
    assert ds.class_names is None
    np.testing.assert_allclose(ds.y_train, [[0.5], [3.0], [100.0]])


def test_csv_non_numeric_cell_names_row_and_column(tmp_path: Path) -> None:
    message = _error(path=_csv(tmp_path, "a,b,label\n1,2,0\n3,four,1\n"))
    assert "row 3, column 'b'" in message and "'four' is not a number" in message


def test_csv_missing_label_column_lists_the_columns(tmp_path: Path) -> None:
    message = _error(path=_csv(tmp_path, "a,b,Label\n1,2,0\n"))
    assert "no label column 'label'" in message and "did you mean 'Label'" in message


def test_csv_row_with_wrong_number_of_cells_is_an_error(tmp_path: Path) -> None:
    assert "row 3 has 2 cells but the header has 3" in _error(
        path=_csv(tmp_path, "a,b,label\n1,2,0\n3,1\n"))


def test_csv_empty_label_is_an_error(tmp_path: Path) -> None:
    assert "row 2, column 'label' is empty" in _error(path=_csv(tmp_path, "a,label\n1,\n2,1\n"))


def test_csv_with_only_a_header_is_an_error(tmp_path: Path) -> None:
    assert "no data rows" in _error(path=_csv(tmp_path, "a,label\n"))


# --- image folders ------------------------------------------------------------------------


def _digit_png(path: Path, vertical: bool) -> None:
    picture = np.full((40, 40), 255, np.uint8)
    if vertical:
        picture[8:32, 18:22] = 0
    else:
        picture[18:22, 8:32] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture).save(path)


def test_image_folder_classes_are_the_sub_folder_names(tmp_path: Path) -> None:
    for i in range(2):
        _digit_png(tmp_path / "bars" / "vertical" / f"{i}.png", vertical=True)
        _digit_png(tmp_path / "bars" / "horizontal" / f"{i}.PNG", vertical=False)
    ds = load_dataset(path=tmp_path / "bars")
    assert ds.class_names == ["horizontal", "vertical"]
    assert ds.x_train.shape == (4, 28, 28) and ds.x_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.y_train, [0, 0, 1, 1])
    # through the image pipeline: white ink on black, the box's longer side 20 px
    assert ds.x_train[0].max() == 255 and ds.x_train[0][0, 0] == 0
    assert (ds.x_train[2].sum(axis=1) > 0).sum() == 20


def test_empty_image_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nothing").mkdir()
    assert "no class folders" in _error(path=tmp_path / "nothing")


def test_empty_class_folder_is_an_error(tmp_path: Path) -> None:
    _digit_png(tmp_path / "bars" / "vertical" / "0.png", vertical=True)
    (tmp_path / "bars" / "horizontal").mkdir()
    assert "horizontal: empty class folder" in _error(path=tmp_path / "bars")


def test_undecodable_image_in_a_folder_names_the_file(tmp_path: Path) -> None:
    _digit_png(tmp_path / "bars" / "vertical" / "0.png", vertical=True)
    (tmp_path / "bars" / "vertical" / "1.png").write_text("not a picture")
    assert "1.png: not an image" in _error(path=tmp_path / "bars")


# --- paths --------------------------------------------------------------------------------


def test_relative_paths_start_in_the_working_directory(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _csv(tmp_path, "a,label\n1,0\n")
    monkeypatch.chdir(tmp_path)
    assert load_dataset(path="d.csv").x_train.shape == (1, 1)


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    assert "data path not found" in _error(path=tmp_path / "nope.csv")


def test_unsupported_file_type_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("1 2 3")
    assert "unsupported data file" in _error(path=tmp_path / "d.txt")


# --- the recorded checksums ---------------------------------------------------------------


def _content_digests(folder: Path) -> dict[str, str]:
    return {stem: hashlib.sha256(gzip.decompress((folder / f"{stem}.gz").read_bytes())).hexdigest()
            for stem in sources.IDX_FILES.values()}


def test_recorded_mnist_checksums_match_the_files(mnist_dir: Path) -> None:
    assert _content_digests(mnist_dir) == sources.IDX_SOURCES["mnist"].sha256


def test_recorded_fashion_mnist_checksums_match_the_debian_package() -> None:
    folder = Path(sources.IDX_SOURCES["fashion-mnist"].system_dirs[0])
    if not (folder / "t10k-labels-idx1-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    assert _content_digests(folder) == sources.IDX_SOURCES["fashion-mnist"].sha256
