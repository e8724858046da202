"""The documentation's example runner (docs/conftest.py) does what the pages rely on: it
passes an example that shows what the command prints, and fails one that shows something
else, exits otherwise, or hides output; its directives skip, shorten and write, and a
malformed one fails its page. Each page below is run once by a real pytest with the runner."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

pytest.importorskip("sybil")

ROOT = Path(__file__).resolve().parents[1]
FENCE = "```"

PAGES = {
    "shown_output": """
        {f}console
        $ echo "one"; echo "two   "; echo "three"; echo four
        one
        two
        ...
        four
        {f}
        """,
    "other_output": """
        {f}console
        $ echo hello
        goodbye
        {f}
        """,
    "hidden_output": """
        {f}console
        $ echo something
        {f}
        """,
    "failing_command": """
        {f}console
        $ false
        {f}
        """,
    "usage_error": """
        {f}console
        $ fcnn train no-such.yaml
        error: 'no-such.yaml' is neither a config file nor a built-in recipe...
        {f}
        """,
    "error_text_exit_0": """
        {f}console
        $ echo "error: not really"
        error: not really
        {f}
        """,
    "continued_command": """
        {f}console
        $ echo one \\
            two
        one two
        {f}
        """,
    "fcnn_as_installed": """
        {f}console
        $ fcnn --help
        Usage: fcnn [OPTIONS] COMMAND [ARGS]...
        ...
        {f}
        """,
    "skipped": """
        <!-- docs-test: skip "it would fail" -->
        {f}console
        $ false
        {f}
        """,
    "skip_without_reason": """
        <!-- docs-test: skip -->
        {f}console
        $ false
        {f}
        """,
    "unknown_directive": """
        <!-- docs-test: ignore -->
        {f}console
        $ true
        {f}
        """,
    "stray_directive": """
        <!-- docs-test: skip "nothing follows" -->

        Some text, and no block.
        """,
    "shortened": """
        <!-- docs-test: shorten training.epochs=1 -->
        {f}console
        $ fcnn train digits --quiet
        trained 1 epoch in ...
        ...
        {f}
        """,
    "written": """
        <!-- docs-test: write my.yaml -->
        {f}yaml
        name: mine
        {f}

        {f}console
        $ cat my.yaml
        name: mine
        {f}
        """,
    "python_in_a_page_folder": """
        {f}python
        from pathlib import Path
        greeting = "hello"
        Path("note.txt").write_text(greeting)
        {f}

        {f}python
        assert Path("note.txt").read_text() == greeting  # one namespace, one folder a page
        assert Path("configs/digits.yaml").is_file()       # the checkout's folders, linked
        assert Path.cwd().resolve() != Path("configs").resolve().parent.resolve()
        {f}

        {f}console
        $ cat note.txt
        hello
        {f}
        """,
    "doctest_mismatch": """
        {f}python
        >>> 1 + 1
        3
        {f}
        """,
    "no_network": """
        {f}console
        $ python -c "import urllib.request as u; u.urlopen('http://example.com', timeout=20)" \\
            2>/dev/null || echo refused
        refused
        {f}
        """,
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Each page's outcome (passed, failed, skipped or error) and message, from one run."""
    folder = tmp_path_factory.mktemp("pages")
    for name, text in PAGES.items():
        (folder / f"{name}.md").write_text(textwrap.dedent(text).format(f=FENCE))
    (folder / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util
        import sys

        spec = importlib.util.spec_from_file_location("docs_runner", {str(ROOT / "docs" /
                                                                           "conftest.py")!r})
        runner = sys.modules["docs_runner"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(runner)
        pytest_collect_file = runner.collector({str(folder)!r})
        """))
    report = folder / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                    "--continue-on-collection-errors",
                    "--rootdir", str(folder), "-c", os.devnull, f"--junitxml={report}", "."],
                   cwd=folder, capture_output=True, text=True, timeout=600)
    found: dict[str, tuple[str, str]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        page = (case.get("classname") or case.get("name") or "").split(".")[0].split("::")[0]
        outcome = next(((child.tag, (child.get("message") or "") + (child.text or ""))
                        for child in case if child.tag in ("failure", "error", "skipped")),
                       ("passed", ""))
        if found.get(page, ("passed", ""))[0] == "passed":
            found[page] = outcome
    return found


def outcome(outcomes: dict[str, tuple[str, str]], page: str) -> str:
    assert page in outcomes, sorted(outcomes)
    return outcomes[page][0]


def test_output_as_shown_passes_with_trailing_spaces_and_ellipsis(outcomes) -> None:
    assert outcome(outcomes, "shown_output") == "passed"


def test_other_output_than_shown_fails_with_a_diff(outcomes) -> None:
    assert outcome(outcomes, "other_output") == "failure"
    assert "-goodbye" in outcomes["other_output"][1]
    assert "+hello" in outcomes["other_output"][1]


def test_a_command_shown_without_output_must_print_nothing(outcomes) -> None:
    assert outcome(outcomes, "hidden_output") == "failure"


def test_a_failing_command_fails(outcomes) -> None:
    assert outcome(outcomes, "failing_command") == "failure"
    assert "exited with 1, expected 0" in outcomes["failing_command"][1]


def test_an_error_line_expects_exit_status_2(outcomes) -> None:
    assert outcome(outcomes, "usage_error") == "passed"
    assert outcome(outcomes, "error_text_exit_0") == "failure"
    assert "exited with 0, expected 2" in outcomes["error_text_exit_0"][1]


def test_a_backslash_continues_the_command(outcomes) -> None:
    assert outcome(outcomes, "continued_command") == "passed"


def test_fcnn_runs_as_the_installed_script(outcomes) -> None:
    assert outcome(outcomes, "fcnn_as_installed") == "passed"


def test_skip_skips_with_its_reason(outcomes) -> None:
    assert outcome(outcomes, "skipped") == "skipped"
    assert "it would fail" in outcomes["skipped"][1]


@pytest.mark.parametrize("page", ["skip_without_reason", "unknown_directive",
                                  "stray_directive"])
def test_a_malformed_or_stray_directive_fails_its_page(outcomes, page: str) -> None:
    assert outcome(outcomes, page) == "error"


def test_shorten_adds_its_settings_to_fcnn_train(outcomes) -> None:
    assert outcome(outcomes, "shortened") == "passed"


def test_write_saves_the_block_for_the_next_ones(outcomes) -> None:
    assert outcome(outcomes, "written") == "passed"


def test_python_blocks_share_a_namespace_and_a_folder_of_their_own(outcomes) -> None:
    assert outcome(outcomes, "python_in_a_page_folder") == "passed"


def test_a_doctest_block_compares_its_output(outcomes) -> None:
    assert outcome(outcomes, "doctest_mismatch") == "failure"


def test_examples_cannot_reach_the_network(outcomes) -> None:
    assert outcome(outcomes, "no_network") == "passed"
