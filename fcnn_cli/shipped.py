"""What ships inside the package, found by name: recipes, search spaces, models, images,
trace examples.

An installed fcnn has no checkout around it, so `fcnn train mnist`, `fcnn predict mnist
digit.png` and `fcnn predict mnist user-7-dark-on-white.png` name files that travel in
the wheel. The rule is the same everywhere: a path that exists is that file; otherwise a
bare name (no folder part, with or without its suffix) names a shipped file.

In a wheel the recipes and images sit in the package (`recipes/`, `example_images/`);
in a checkout they are the repository's own `configs/` and `examples/images/`, mapped
into the wheel at build time (pyproject.toml), so nothing is kept twice.
"""

from __future__ import annotations

from pathlib import Path

from fcnn_cli.data import IMAGE_SUFFIXES
from fcnn_cli.errors import FcnnError, did_you_mean

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"  # the shipped models: weights stored as float16


def _packaged(inside: str, in_checkout: str) -> Path:
    folder = PACKAGE_DIR / inside
    return folder if folder.is_dir() else PACKAGE_DIR.parent / in_checkout


def recipes_dir() -> Path:
    return _packaged("recipes", "configs")


def images_dir() -> Path:
    return _packaged("example_images", "examples/images")


def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Name (stem) -> file, for the files in `folder` with one of `suffixes`."""
    if not folder.is_dir():
        return {}
    found = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in suffixes}
    return dict(sorted(found.items()))


def recipes() -> dict[str, Path]:
    return _files(recipes_dir(), (".yaml", ".yml"))


def spaces() -> dict[str, Path]:
    """The search spaces of `fcnn tune`, one per recipe that has one (`recipes/spaces/`)."""
    return _files(recipes_dir() / "spaces", (".yaml", ".yml"))


def models() -> dict[str, Path]:
    return _files(MODELS_DIR, (".h5",))


def trace_examples() -> dict[str, Path]:
    """The worked examples of `fcnn forward-trace`."""
    return _files(PACKAGE_DIR / "examples", (".yaml",))


def example_images() -> list[Path]:
    return list(_files(images_dir(), IMAGE_SUFFIXES).values())


def recipe_description(path: Path) -> str:
    """A recipe's opening comment (what it trains and how well), without its name tag."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(lines)
    tag = f"{path.stem}:"
    return text[len(tag):].strip() if text.startswith(tag) else text


def _by_name(text: str, shipped: dict[str, Path]) -> Path | None:
    """The shipped file a bare name means (`mnist` or `mnist.yaml`), or None."""
    name = Path(text)
    if name.name != text:  # it has a folder part: a path, never a name
        return None
    by_file = {p.name: p for p in shipped.values()}
    return shipped.get(text) or by_file.get(text)


def _not_found(what: str, kind: str, text: str, shipped: dict[str, Path]) -> FcnnError:
    if Path(text).name != text:  # a path with folders: the user meant a file
        return FcnnError(f"{what} not found: {text}")
    names = ", ".join(shipped) or "none"
    return FcnnError(f"{text!r} is neither a {what} nor a built-in {kind}"
                     f"{did_you_mean(Path(text).stem, shipped)}; the built-in {kind}s: {names}")


def _file_or_name(text: str | Path, shipped: dict[str, Path], what: str, kind: str) -> Path:
    path = Path(text)
    if path.exists():
        return path
    found = _by_name(str(text), shipped)
    if found is None:
        raise _not_found(what, kind, str(text), shipped)
    return found


def config_path(text: str | Path) -> Path:
    """CONFIG as given: an existing file, else the built-in recipe of that name."""
    return _file_or_name(text, recipes(), "config file", "recipe")


def space_path(text: str | Path) -> Path:
    """SPACE as given: an existing file, else the built-in search space of that name."""
    return _file_or_name(text, spaces(), "space file", "space")


def model_path(text: str | Path) -> Path:
    """MODEL as given: an existing file, else the model of that name shipped with fcnn."""
    return _file_or_name(text, models(), "model file", "model")


def input_path(text: str | Path) -> Path:
    """An input file as given, else the example image of that name shipped with fcnn."""
    path = Path(text)
    if path.exists():
        return path
    found = _by_name(str(text), _files(images_dir(), IMAGE_SUFFIXES))
    if found is None:
        raise FcnnError(f"input not found: {text}")
    return found
