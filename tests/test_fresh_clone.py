"""The README's main job, run in a fresh copy of the repository, leaves every committed
file as it was and the test command still passing. (Every other command the documentation
shows runs as the docs' own example tests: docs/conftest.py.)"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_main_job() -> list[str]:
    """The one `fcnn train ...` command of the README's set-up section."""
    setup = (ROOT / "README.md").read_text(encoding="utf-8").split("## Set up, run, test")[1]
    commands = re.findall(r"^(fcnn train [^\n]+)$", setup.split("\n## ")[0], re.MULTILINE)
    assert len(commands) == 1, commands
    return commands[0].split()


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's tracked files as they are now, committed into a new repository."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    target = tmp_path_factory.mktemp("clone") / "fcnn"
    files = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in files.split("\0"):
        if name and (ROOT / name).is_file():  # a file deleted but not yet committed is gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    git("init", "--quiet", cwd=target)
    git("add", "--all", cwd=target)
    git("-c", "user.name=test", "-c", "user.email=test@example.org", "commit", "--quiet",
        "-m", "snapshot", cwd=target)
    return target


def digests(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in git("ls-files", cwd=folder).split()}


def test_the_readme_main_job_leaves_the_clone_clean_and_its_tests_passing(
        clone: Path, mnist_dir: Path) -> None:
    before = digests(clone)
    env = {**os.environ, "FCNN_DATA_DIR": str(mnist_dir.parent)}
    command = readme_main_job()
    assert command[:2] == ["fcnn", "train"]
    shortened = [sys.executable, "-m", "fcnn_cli", *command[1:], "--quiet",
                 "--set", "training.epochs=1"]
    trained = subprocess.run(shortened, cwd=clone, env=env, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    saved = re.search(r"model saved to (\S+)", trained.stdout).group(1)
    assert (clone / saved).exists()

    assert git("status", "--porcelain", cwd=clone) == ""
    assert digests(clone) == before
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests/test_shipped_model.py"], cwd=clone, env=env,
                           capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-3000:]


def test_no_recipe_writes_into_a_committed_folder() -> None:
    import yaml

    tracked = set(git("ls-files", cwd=ROOT).split()) if (ROOT / ".git").exists() else set()
    for recipe in sorted((ROOT / "configs").glob("*.yaml")):
        output = yaml.safe_load(recipe.read_text(encoding="utf-8"))["output"]
        assert output not in tracked, f"{recipe.name} overwrites the committed {output}"
        assert Path(output).parts[0] == "runs", f"{recipe.name} writes {output}"
