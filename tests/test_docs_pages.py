"""What the README and the documentation pages tell a new user works as written, from any
folder: the wheel they name is this version, and the snippets whose output the page's own
example test cannot compare (what they print is written in a comment) print it."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = {page: page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").rglob("*.md"))}
EXPORT_PAGE = ROOT / "docs" / "tutorials" / "export-import.md"
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def python_block_after(page: Path, heading: str) -> str:
    """The first ```python block of `page` after the line that starts with `heading`."""
    text = PAGES[page]
    rest = text[text.index("\n" + heading):]
    return re.search(r"```python\n(.*?)```", rest, re.DOTALL).group(1)


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def snippet_output(folder: Path, exported: str, heading: str) -> str:
    """What the export tutorial's python block after `heading` prints, run in an empty
    `folder` once `fcnn export mnist <exported>` has written the file it loads."""
    made = run_in(folder, "-m", "fcnn_cli", "export", "mnist", exported)
    assert made.returncode == 0, made.stderr
    ran = run_in(folder, "-c", python_block_after(EXPORT_PAGE, heading))
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def test_the_wheel_the_readme_and_the_pages_install_is_this_version() -> None:
    version = re.search(r'^version = "(.+)"', PYPROJECT, re.MULTILINE).group(1)
    for text in (README, *PAGES.values()):
        named = re.findall(r"fcnn-(\d+\.\d+\.\d+)-py3-none-any\.whl", text)
        assert set(named) <= {version}
    assert re.search(rf"fcnn-{re.escape(version)}-py3-none-any\.whl", PAGES[
        ROOT / "docs" / "getting-started.md"])


def test_the_licence_pyproject_names_is_there() -> None:
    assert re.search(r'^license = "MIT"$', PYPROJECT, re.MULTILINE)
    licence = re.search(r'^license-files = \["(.+)"\]$', PYPROJECT, re.MULTILINE).group(1)
    assert "MIT License" in (ROOT / licence).read_text()


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None
                    or importlib.util.find_spec("onnx") is None, reason="needs onnx[runtime]")
def test_the_onnx_runtime_snippet_works_outside_the_checkout(tmp_path: Path) -> None:
    assert snippet_output(tmp_path, "mnist.onnx", "## 2. Run it in ONNX Runtime") == "[9]"


@pytest.mark.skipif(importlib.util.find_spec("keras") is None
                    or importlib.util.find_spec("torch") is None, reason="needs keras, torch")
def test_the_keras_snippet_works_outside_the_checkout(tmp_path: Path) -> None:
    assert snippet_output(tmp_path, "mnist.keras", "## 3. Run it in Keras").endswith("[7]")


def test_every_package_of_the_source_tree_goes_into_the_wheel() -> None:
    import tomllib

    listed = set(tomllib.loads(PYPROJECT)["tool"]["setuptools"]["packages"])
    source = ROOT / "fcnn_cli"
    packages = {".".join(init.parent.relative_to(ROOT).parts)
                for init in source.rglob("__init__.py") if "__pycache__" not in init.parts}
    assert packages <= listed, sorted(packages - listed)


def test_every_file_the_readme_links_to_is_there() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    assert len(targets) >= 30
    missing = [t for t in targets if not t.startswith("http") and not (ROOT / t).exists()]
    assert missing == []


def test_the_readme_fits_on_a_few_screens() -> None:
    assert len(README.splitlines()) <= 200
