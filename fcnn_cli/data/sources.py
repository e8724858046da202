"""Datasets by name (mnist, fashion-mnist, digits; the 2-D xor, circle, gauss, spiral,
moons) and the user's own files.

Everything comes back as a `Dataset` in raw units: uint8 pixels for image data,
float32 features otherwise; normalisation happens later, in `split.py`, fitted on
the training part only.

MNIST and Fashion-MNIST are looked for, in this order: `$FCNN_DATA_DIR/<name>/`,
the checkout's `data/<name>/`, the cache `${XDG_CACHE_HOME:-~/.cache}/fcnn/<name>/`,
the folder where a system package installs them (Debian's `dataset-fashion-mnist`),
and finally downloaded from the dataset's public mirrors into the cache, keeping a
file only when the SHA-256 of its decompressed content is the published one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean

from . import IMAGE_SUFFIXES, PLANAR_DATASETS
from .idx import read_idx
from .image_spec import ImageSpec, spec_for_shape

if TYPE_CHECKING:
    from .table import RowNames

Progress = Callable[[int, int], None]  # (files done, files in all)


@dataclass
class Dataset:
    """A dataset in raw units, with its official test split when it has one."""

    name: str
    x_train: np.ndarray  # (N, *input_shape): uint8 for image data, float32 otherwise
    y_train: np.ndarray  # int64 class indices (N,), or float32 (N, K) regression targets
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: list[str] | None  # None means regression (numeric targets)
    input_shape: tuple[int, ...]
    pixel_max: float | None  # the value of full ink; None for data that are not images
    feature_names: list[str] | None = None  # a CSV's feature columns, in input order
    target_names: list[str] | None = None   # regression: one name per target column
    image: ImageSpec | None = None          # how a picture file becomes one input
    skipped: list[str] = field(default_factory=list)  # unreadable files left out, and why
    picture_files: bool = False  # read from picture files through `image` (not pixel arrays)
    # How a CSV names its rows (row numbers, an id column), so that a report can point
    # at the rows themselves; None for other data.
    row_names: RowNames | None = None


@dataclass(frozen=True)
class IdxSource:
    """Where an MNIST-style dataset lives and how to recognise its files."""

    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]  # base URLs; the file names below are appended
    sha256: dict[str, str]  # file stem -> SHA-256 of the decompressed IDX bytes
    system_dirs: tuple[str, ...] = ()


IDX_FILES = {  # role -> file stem, the same four names for the whole MNIST family
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

IDX_SOURCES: dict[str, IdxSource] = {
    "mnist": IdxSource(
        class_names=tuple(str(digit) for digit in range(10)),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        sha256={  # the published SHA-256 of each decompressed file
            "train-images-idx3-ubyte":
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte":
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte":
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte":
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    ),
    "fashion-mnist": IdxSource(
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        ),
        sha256={  # computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1
            "train-images-idx3-ubyte":
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte":
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte":
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte":
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
}

DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "digits", *PLANAR_DATASETS)
_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parents[1]
_DOWNLOAD_TIMEOUT_S = 60


def load_dataset(name: str | None = None, path: str | Path | None = None,
                 label_column: str | list[str] = "label", *,
                 feature_columns: list[str] | None = None, task: str = "auto",
                 image: ImageSpec | None = None, skip_unreadable: bool = False,
                 progress: Progress | None = None, samples: int | None = None,
                 noise: float | None = None, seed: int = 42) -> Dataset:
    """Load a named dataset, or the files at `path` (the name then only labels them).

    `path` may be an IDX folder, a .npz (arrays x and y, optional class_names), a .csv
    (a header row; `label_column` holds the labels, a list of columns several regression
    targets; the features are `feature_columns`, by default every other column) or an
    image folder root/<class_name>/*.png|jpg|... prepared as `image` says (default: the
    digit pipeline, 28×28), with `progress(done, total)` following along; unreadable
    pictures stop the load, or with `skip_unreadable` are left out and listed in
    `Dataset.skipped`. Relative paths are read from the current working directory.

    Labels (`task` "auto"): in a .npz, integer y are class indices, string y class names,
    float y regression targets. In a .csv, labels written as whole numbers (3) are class
    indices, labels written with a decimal point or exponent (3.0, 1e2) regression
    targets, any other text class names (sorted); several label columns are always
    regression targets. `task` "classification" or "regression" says it outright.
    uint8 x in a .npz counts as pixels (pixel_max 255); anything else is float32 features.

    The 2-D datasets (xor, circle, gauss, spiral, moons) are drawn from `seed`: `samples`
    points (default 500) with `noise` (default 0); see planar.py. `xor` without `samples`
    is the four points of the truth table.
    """
    if (samples is not None or noise is not None) and (
            path is not None or name not in PLANAR_DATASETS):
        raise FcnnError(f"data.samples and data.noise apply only to the 2-D datasets "
                        f"{', '.join(PLANAR_DATASETS)}, not to {path or name}; remove them")
    if path is not None:
        columns = [label_column] if isinstance(label_column, str) else list(label_column)
        dataset = _load_path(Path(path).expanduser(), name, columns, feature_columns, task,
                             image or ImageSpec(), skip_unreadable, progress)
    elif name is None:
        raise FcnnError("no data given: set data.dataset to one of "
                        f"{', '.join(DATASETS)}, or data.path to a folder or file")
    elif name not in DATASETS:
        raise FcnnError(f"unknown dataset '{name}'{did_you_mean(name, DATASETS)}: choose one of "
                        f"{', '.join(DATASETS)}, or give data.path to your own files")
    elif name == "digits":
        dataset = _load_digits()
    elif name in PLANAR_DATASETS:
        dataset = _load_planar(name, samples, noise, seed)
    else:
        dataset = _load_idx_folder(find_idx_folder(name), name)
    if dataset.image is None and dataset.pixel_max is not None:  # pictures of a fixed size
        dataset.image = spec_for_shape(dataset.input_shape,
                                       image.pipeline if image else "digit")
    return dataset


# --- named datasets ----------------------------------------------------------------


def candidate_folders(name: str) -> list[Path]:
    """The folders searched for a named IDX dataset, in order."""
    folders = []
    if os.environ.get("FCNN_DATA_DIR"):
        folders.append(Path(os.environ["FCNN_DATA_DIR"]).expanduser() / name)
    if (_REPO_ROOT / "pyproject.toml").is_file():  # running from a checkout
        folders.append(_REPO_ROOT / "data" / name)
        # One copy of the datasets beside the checkout, for several clones to share.
        folders.append(_REPO_ROOT.parent / "shared" / "data" / name)
    folders.append(cache_dir() / name)
    folders.extend(Path(folder) for folder in IDX_SOURCES[name].system_dirs)
    return folders


def cache_dir() -> Path:
    """fcnn's download cache: `$XDG_CACHE_HOME/fcnn`, by default `~/.cache/fcnn`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fcnn"


def find_idx_folder(name: str) -> Path:
    """The first folder holding all four files of `name`, downloading them when none does."""
    folders = candidate_folders(name)
    for folder in folders:
        if _idx_files(folder) is not None:
            return folder
    target = cache_dir() / name
    try:
        download(name, target)
    except OSError as error:
        # Self-contained: an installed user has no data/README.md to look at.
        places = ", ".join(f"{folder}/" for folder in folders)
        files = ", ".join(f"{stem}.gz" for stem in IDX_FILES.values())
        raise FcnnError(
            f"{name} not found and the download failed ({error}): fetch its four files "
            f"{files} (e.g. from {IDX_SOURCES[name].mirrors[0]}) and put them, gzipped or "
            f"not, into {folders[0]}/, or into DIR/{name}/ of your choice and set "
            f"FCNN_DATA_DIR=DIR; searched: {places}") from None
    return target


def fetch_url(url: str) -> bytes:
    """The bytes at `url` (the one place that touches the network; tests replace it)."""
    import urllib.request  # not at start-up: it pulls in http, ssl and email

    request = urllib.request.Request(url, headers={"User-Agent": "fcnn"})
    with urllib.request.urlopen(request, timeout=_DOWNLOAD_TIMEOUT_S) as response:
        return response.read()


def download(name: str, folder: Path, fetch: Callable[[str], bytes] | None = None) -> None:
    """Fetch the four files of `name` into `folder`, each verified before any is written.

    Raises OSError (with every mirror's reason) when a file cannot be had intact.
    """
    source = IDX_SOURCES[name]
    fetch = fetch or fetch_url
    verified: dict[str, bytes] = {}
    for stem in IDX_FILES.values():
        reasons = []
        for mirror in source.mirrors:
            url = f"{mirror}{stem}.gz"
            try:
                packed = fetch(url)
                content = gzip.decompress(packed)
            except (OSError, EOFError, zlib.error, ValueError) as error:
                reasons.append(f"{url}: {error}")
                continue
            if hashlib.sha256(content).hexdigest() != source.sha256[stem]:
                reasons.append(f"{url}: SHA-256 of the content does not match")
                continue
            verified[stem] = packed
            break
        else:
            others = f" (and {len(reasons) - 1} other mirrors)" if len(reasons) > 1 else ""
            raise OSError(reasons[0] + others)
    folder.mkdir(parents=True, exist_ok=True)
    for stem, packed in verified.items():
        write_atomically(folder / f"{stem}.gz", packed)


def write_atomically(path: Path, data: bytes) -> None:
    """Write into a temporary file beside `path`, then rename it, so no half file is left."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _idx_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in `folder`, or None when any is missing."""
    found = {role: _idx_file(folder, stem) for role, stem in IDX_FILES.items()}
    return None if None in found.values() else found  # type: ignore[return-value]


def _idx_file(folder: Path, stem: str) -> Path | None:
    """`stem` in `folder`: raw or .gz, and also under the `.idx` spelling some copies use."""
    for base in (stem, stem.replace("-idx", ".idx")):
        for name in (base, f"{base}.gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _load_idx_folder(folder: Path, name: str | None) -> Dataset:
    files = _idx_files(folder)
    if files is None:
        missing = [stem for stem in IDX_FILES.values() if _idx_file(folder, stem) is None]
        raise FcnnError(f"{folder}: incomplete IDX folder, missing {', '.join(missing)} "
                        "(raw or .gz); it needs all four MNIST-style files")
    x_train, y_train = _idx_pair(files["train_images"], files["train_labels"])
    x_test, y_test = _idx_pair(files["test_images"], files["test_labels"])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise FcnnError(f"{folder}: train images are {x_train.shape[1:]} but test images are "
                        f"{x_test.shape[1:]}; both must have the same size")
    known = IDX_SOURCES.get(name or "")
    n_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    names = list(known.class_names) if known else [str(k) for k in range(n_classes)]
    if n_classes > len(names):
        raise FcnnError(f"{folder}: labels go up to {n_classes - 1} but {name} has "
                        f"{len(names)} classes")
    return Dataset(name or folder.name, x_train, y_train, x_test, y_test, names,
                   tuple(x_train.shape[1:]), 255.0)


def _idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise FcnnError(f"{images_path}: expected uint8 images of shape (N, rows, columns), "
                        f"found {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise FcnnError(f"{labels_path}: expected one label per image, found shape {labels.shape}")
    if len(images) != len(labels):
        raise FcnnError(f"{images_path.parent}: {len(images)} images in {images_path.name} but "
                        f"{len(labels)} labels in {labels_path.name}; the counts must match")
    return images, labels.astype(np.int64)


def _load_digits() -> Dataset:
    # UCI optical-recognition digits, as shipped by scikit-learn (see DIGITS.md)
    with np.load(_PACKAGE_DIR / "digits.npz") as archive:
        x, y = archive["x"], archive["y"].astype(np.int64)
    return Dataset("digits", x, y, None, None, [str(digit) for digit in range(10)], (8, 8), 16.0)


def _load_planar(name: str, samples: int | None, noise: float | None, seed: int) -> Dataset:
    from . import planar

    if name == "xor" and samples is None:
        if noise is not None:
            raise FcnnError("data.noise: xor without data.samples is the four points of the "
                            "truth table, which take no noise; give data.samples (e.g. 200) "
                            "for Playground's XOR cloud")
        x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        y = np.array([0, 1, 1, 0], dtype=np.int64)
    else:
        x, y = planar.generate(name, planar.DEFAULT_SAMPLES if samples is None else samples,
                               noise or 0.0, seed)
    return Dataset(name, x, y, None, None, list(planar.CLASS_NAMES), (2,), None,
                   feature_names=list(planar.FEATURE_NAMES))


# --- the user's own files ------------------------------------------------------------


def _load_path(path: Path, name: str | None, label_columns: list[str],
               feature_columns: list[str] | None, task: str, image: ImageSpec,
               skip_unreadable: bool, progress: Progress | None) -> Dataset:
    if not path.exists():
        raise FcnnError(f"data path not found: {path} (relative paths start in {Path.cwd()})")
    if path.is_dir():
        if _idx_files(path) is not None or any(path.glob("*idx[13]-ubyte*")):
            return _load_idx_folder(path, name)
        return _load_image_folder(path, name, image, skip_unreadable, progress)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path, name, task)
    if suffix == ".csv":
        return _load_csv(path, name, label_columns, feature_columns, task)
    raise FcnnError(f"{path}: unsupported data file; give a .npz, a .csv, a folder of IDX files "
                    "or a folder with one sub-folder of images per class")


def _load_npz(path: Path, name: str | None, task: str) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                found = ", ".join(archive.files[:8]) + (", …" if len(archive.files) > 8 else "")
                raise FcnnError(f"{path}: missing array {' and '.join(missing)} (found: "
                                f"{found[:200] or 'none'}); save it with "
                                "np.savez(path, x=inputs, y=labels)")
            keys = ["x", "y", *(["class_names"] if "class_names" in archive.files else [])]
            _check_npz_headers(archive, keys, path)
            x, y = archive["x"], archive["y"]
            given_names = archive["class_names"] if "class_names" in archive.files else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise FcnnError(f"{path}: not a readable .npz of numeric arrays ({error})") from None
    if x.ndim < 2 or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise FcnnError(f"{path}: x must be a numeric array of shape (N, features...) with one "
                        f"row per example, found {x.dtype} {x.shape}")
    if len(y) != len(x):
        raise FcnnError(f"{path}: x has {len(x)} rows but y has {len(y)}; "
                        "give one label per example")
    if x.dtype == np.uint8:  # pixels
        pixel_max: float | None = 255.0
    else:
        x, pixel_max = x.astype(np.float32), None
        check_finite(x.reshape(len(x), -1), path, lambda row, col: f"x[{row}], feature {col}")
    if task == "regression" and y.dtype.kind in "iub":
        y = y.astype(np.float32)
    if task == "classification" and y.dtype.kind == "f":
        raise FcnnError(f"{path}: y holds floating-point numbers but data.task is "
                        "classification; store class labels as integers or strings")
    y, class_names = _labels_from_array(y, given_names, path)
    targets = None if class_names is not None else \
        (["y"] if y.shape[1] == 1 else [f"y{j}" for j in range(y.shape[1])])
    return Dataset(name or path.stem, x, y, None, None, class_names, tuple(x.shape[1:]),
                   pixel_max, target_names=targets)


def _check_npz_headers(archive: np.lib.npyio.NpzFile, keys: list[str], path: Path) -> None:
    """Refuse, before any is read, an array of the .npz over the memory budget or larger
    than its member of the archive, and arrays that together are over the budget (x counted
    again as the float32 copy training makes of it, unless it is uint8 pixels)."""
    from fcnn_cli.limits import check_npy, check_total, nbytes

    total = 0
    for key in keys:
        member = key if key in archive.zip.namelist() else f"{key}.npy"
        with archive.zip.open(member) as stream:
            shape, dtype = check_npy(stream, f"{path}: array {key}",
                                     archive.zip.getinfo(member).file_size)
        total += nbytes(shape, dtype.itemsize)
        if key == "x" and dtype != np.uint8:
            total += nbytes(shape, 4)
    check_total(f"the arrays of {path}", total)


def _labels_from_array(y: np.ndarray, given_names: np.ndarray | None,
                       path: Path) -> tuple[np.ndarray, list[str] | None]:
    """npz labels: integers are class indices, strings class names, floats regression targets."""
    if y.dtype.kind in "US":
        names = sorted({str(label) for label in y})
        return np.searchsorted(np.array(names), y.astype(str)).astype(np.int64), names
    if y.dtype.kind == "f":
        targets = y.astype(np.float32).reshape(len(y), -1)
        check_finite(targets, path, lambda row, col: f"y[{row}], target {col}")
        return targets, None
    if y.dtype.kind not in "iub" or y.ndim != 1:
        raise FcnnError(f"{path}: y must be integer class labels of shape (N,), strings, or "
                        f"float regression targets; found {y.dtype} {y.shape}")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise FcnnError(f"{path}: y has the negative class label {y.min()} at row "
                        f"{int(np.argmin(y))}; class labels are 0, 1, 2, ...")
    n_classes = int(y.max(initial=0)) + 1
    if given_names is None:
        return y, [str(k) for k in range(n_classes)]
    names = [str(name) for name in np.asarray(given_names).ravel()]
    if len(names) < n_classes:
        raise FcnnError(f"{path}: class_names has {len(names)} names but y goes up to "
                        f"{n_classes - 1}; give one name per class")
    return y, names


def _load_csv(path: Path, name: str | None, label_columns: list[str],
              feature_columns: list[str] | None, task: str) -> Dataset:
    from .table import RowNames, read_table

    table = read_table(path)
    # (for eval the label column is the model's own, so the hint names the setting only)
    table.require(label_columns, "label column", "the labels' column is data.label_column")
    features = feature_columns or [c for c in table.names if c not in label_columns]
    table.require(features, "feature column", "fix data.feature_columns")
    if not features:
        raise FcnnError(f"{path}: only the label column; give at least one feature column")
    if set(features) & set(label_columns):
        both = sorted(set(features) & set(label_columns))[0]
        raise FcnnError(f"{path}: column '{both}' is both a feature and a label; "
                        "remove it from data.feature_columns")
    numeric = task == "regression" or len(label_columns) > 1
    read = table.read([*features, *label_columns] if numeric else features,
                      [] if numeric else label_columns,
                      fix=lambda column: _not_a_number(column, label_columns))
    x = read.numbers[:, :len(features)]
    if numeric:
        y, class_names = read.numbers[:, len(features):], None
    else:
        y, class_names = _labels_from_text(read.text[label_columns[0]], read.lines, path,
                                           label_columns[0], task)
    names = RowNames(path, read.lines, _id_column(table.names, features, label_columns))
    return Dataset(name or path.stem, x, y, None, None, class_names, (x.shape[1],), None,
                   feature_names=features,
                   target_names=list(label_columns) if class_names is None else None,
                   row_names=names)


def _id_column(names: list[str], features: list[str], labels: list[str]) -> str | None:
    """The column left out of features and labels that names the rows: the first one
    named like an id, else the first one left out (kept only when its values differ)."""
    from .table import looks_like_id

    used = set(features) | set(labels)
    unused = [name for name in names if name not in used]
    return next((name for name in unused if looks_like_id(name)),
                unused[0] if unused else None)


def _not_a_number(column: str, labels: list[str]) -> str:
    """What a text cell in a column that must hold numbers means, and the way out."""
    if column in labels:
        return "regression targets must be numbers"
    import shlex

    return (f"features must be numeric; leave it out with data.feature_columns, "
            f"or fcnn init --drop {shlex.quote(column)}")


_INTEGER = re.compile(r"[0-9]+")


def _labels_from_text(labels: list[str], lines: list[int], path: Path,
                      column: str, task: str) -> tuple[np.ndarray, list[str] | None]:
    """CSV labels: written as whole numbers -> class indices; written with a decimal point
    or exponent -> regression targets (unless `task` is classification); anything else ->
    class names, sorted."""
    for label, line in zip(labels, lines):
        if not label:
            raise FcnnError(f"{path}: row {line}, column '{column}' is empty; every example "
                            "needs a label")
    if all(_INTEGER.fullmatch(label) for label in labels):
        y = np.array([int(label) for label in labels], dtype=np.int64)
        return y, [str(k) for k in range(int(y.max()) + 1)]
    try:
        if task == "classification":
            raise ValueError  # numbers with a decimal point are names here
        targets = np.array(labels, dtype=np.float32).reshape(-1, 1)
    except ValueError:
        names = sorted(set(labels))
        return np.searchsorted(np.array(names), np.array(labels)).astype(np.int64), names
    check_finite(targets, path, lambda row, col: f"row {lines[row]}, column '{column}'")
    return targets, None


def check_finite(x: np.ndarray, path: Path, where: Callable[[int, int], str]) -> None:
    """Refuse NaN and infinity, naming the first place that holds one ((N, I) arrays)."""
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise FcnnError(f"{path}: {where(row, col)} is {x[row, col]}; "
                        "fill in or drop missing values first")


def _load_image_folder(root: Path, name: str | None, image: ImageSpec, skip_unreadable: bool,
                       progress: Progress | None) -> Dataset:
    from .prepare import iter_prepared

    files, labels, class_names = _image_files(root)
    x = np.empty((len(files), *image.shape), np.uint8)
    keep = np.ones(len(files), bool)
    skipped = []
    for part, prepared in iter_prepared(files, image, 255.0, skip_unreadable=skip_unreadable):
        x[part] = np.rint(prepared.pixels).reshape(-1, *image.shape)
        for row, why in prepared.failed:
            keep[part.start + row] = False
            skipped.append(why)
        if progress is not None:
            progress(part.stop, len(files))
    if not keep.all():
        x, labels = x[keep], labels[keep]
        if len(x) == 0:
            raise FcnnError(f"{root}: none of the {len(files)} images could be read "
                            f"(the first: {skipped[0]})")
    return Dataset(name or root.name, x, labels, None, None, class_names, image.shape, 255.0,
                   image=image, skipped=skipped, picture_files=True)


def _image_files(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Every picture under root/<class>/ (sorted), its class index, the class names."""
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        loose = any(f.suffix.lower() in IMAGE_SUFFIXES for f in root.iterdir())
        how = ("move the images into one sub-folder per class" if loose else
               "put the images in one sub-folder per class, e.g. root/cat/1.png")
        raise FcnnError(f"{root}: no class folders; {how}")
    files: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(class_dirs):
        found = sorted(f for f in folder.iterdir()
                       if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise FcnnError(f"{folder}: empty class folder, no {'/'.join(IMAGE_SUFFIXES)} "
                            "images; add images or remove the folder")
        files += found
        labels += [label] * len(found)
    return files, np.array(labels, dtype=np.int64), [d.name for d in class_dirs]
