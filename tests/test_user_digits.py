"""examples/make_user_digits.py: the users' digit set rebuilds the same, or says what is missing."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import make_user_digits  # noqa: E402


def usable() -> list[str]:
    styles = make_user_digits.usable_styles()
    if not styles:
        pytest.skip("no handwriting fonts installed (see examples/make_user_digits.py)")
    return styles


def test_the_same_seed_gives_the_same_pictures() -> None:
    style = usable()[0]
    first = make_user_digits.make_picture(style, 3, seed=5)
    again = make_user_digits.make_picture(style, 3, seed=5)
    other = make_user_digits.make_picture(style, 3, seed=6)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert first[0].shape != other[0].shape or not np.array_equal(first[0], other[0])


def test_picture_i_shows_digit_i_mod_10_and_says_so_in_its_name(tmp_path: Path) -> None:
    style = usable()[0]
    path, label, _ = make_user_digits.write_picture(tmp_path, style, 13, seed=1)
    assert label == 3 and path.name.startswith(f"{style}-013-label-3.")


def test_a_style_without_its_fonts_is_skipped_with_the_packages_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(make_user_digits, "installed", lambda names: ())
    assert make_user_digits.usable_styles() == []
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(make_user_digits.STYLES)
    assert all("skipped" in line and "apt-get install fonts-" in line for line in lines)
