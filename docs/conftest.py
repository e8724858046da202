"""Every example of the documentation, run as a test (Sybil's pytest integration).

Conventions a page keeps (docs/reference and the how-to pages show them in use):

- ```python blocks run in order, one namespace per page; a block that starts with `>>>` is a
  doctest (its output compared, `...` matching any text).
- ```console blocks: each line starting with `$ ` is a command, run by bash (`fcnn` is this
  checkout's fcnn, run as the installed `fcnn` script runs it); a command ending in `\\`
  continues on the next line. The lines after a command, up to the next `$ `, are its
  expected output (stdout and stderr as a terminal shows them), compared with trailing
  spaces stripped and `...` matching any text, across lines too (a command shown without
  output must print nothing). It must exit 0, or 2 when its expected output starts with
  `error:`.
- Every page runs in its own temporary folder holding links to the checkout's configs/,
  examples/, models/ and data/, so nothing is written into the checkout; what one block of a
  page writes, the next finds. Each command starts afresh there (a `cd` does not carry on).
- An HTML comment right before a block (invisible on the site) changes how it runs:
  `<!-- docs-test: skip "reason" -->` shows it without running it (installing, a server);
  `<!-- docs-test: shorten training.epochs=1 -->` adds `--set training.epochs=1` to its
  `fcnn train` and `fcnn tune` commands; `<!-- docs-test: write FILE -->` saves the block's
  text (a config, a trace file) as FILE for the blocks after it. A directive that is not one
  of these, or not right before a block, fails the page.
- Nothing reaches the network: downloads fail at once (a proxy that answers nothing), the
  data sets come from $FCNN_DATA_DIR as for the other tests, and the cache is the page's own.
  Without MNIST, an example that needs it is skipped, with the rest of its page.
"""

from __future__ import annotations

import difflib
import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.doctest import DocTestEvaluator
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.abstract.doctest import DocTestStringParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[1]
LINKED = ("configs", "examples", "models", "data")  # the checkout's folders a page may use
COMMAND_TIMEOUT_S = 300
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(?P<name>[\w-]+)\s*(?P<args>[^\n]*?)\s*-->")
DIRECTIVES_AT_END = re.compile(r"(?:<!--\s*docs-test:[^\n]*?-->\s*)+\Z")
SETTING = re.compile(r"[\w.\[\]-]+=[\w.+-]+")  # what `shorten` may set (no shell syntax)
NO_MNIST = "mnist not found and the download failed"
# What the installed `fcnn` script runs (so help says `Usage: fcnn`, not `python -m fcnn_cli`),
# on this checkout's code and the Python that runs the tests.
ENTRY_POINT = 'import sys; sys.argv[0] = "fcnn"; from fcnn_cli.cli import main; sys.exit(main())'


# --- parsing: the blocks, each with the directives right before it -----------------------

@dataclass
class Block:
    language: str
    source: str
    line: int                        # the block's first line of code, 1-based, in the page
    skip: str | None = None          # the reason, when it is not run
    write: str | None = None         # the file its text is saved as
    settings: tuple[str, ...] = ()   # `shorten`: KEY=VALUE added to fcnn train/tune


class DocsParser:
    """Fenced blocks in any language: python and console blocks are examples, any other
    block only when a `write` directive saves it."""

    lexer = FencedCodeBlockLexer(language=r"[\w+-]+")

    def __call__(self, document: Document) -> list[Region]:
        text, regions, used, end = document.text, [], set(), 0
        for region in self.lexer(document):
            tail = DIRECTIVES_AT_END.search(text, end, region.start)
            found = list(DIRECTIVE.finditer(text, tail.start(), tail.end())) if tail else []
            used |= {match.start() for match in found}
            end = region.end
            block = self.block(document, region, found)
            if block.language in ("python", "console") or block.write:
                regions += self.regions(document, region, block)
        stray = [m for m in DIRECTIVE.finditer(text) if m.start() not in used]
        if stray:
            raise ValueError(f"{document.path}:{_line(text, stray[0].start())}: "
                             f"{stray[0].group(0)} is not right before a code block")
        return regions

    def block(self, document: Document, region: Region, found: list[re.Match[str]]) -> Block:
        source = region.lexemes["source"]
        line = _line(document.text, region.start) + 1
        block = Block(region.lexemes["language"], str(source), line)
        for match in found:
            _apply(block, match.group("name"), match.group("args"),
                   f"{document.path}:{_line(document.text, match.start())}")
        return block

    def regions(self, document: Document, region: Region, block: Block) -> list[Region]:
        if block.language == "python" and block.source.startswith(">>>") and not block.write:
            parser = DocTestStringParser(DocTestEvaluator(doctest.ELLIPSIS))
            parts = list(parser(block.source, document.path))
            for part in parts:
                part.adjust(region, region.lexemes["source"])
                part.evaluator = Guarded(block, part.evaluator)
            return parts
        region.parsed = region.lexemes["source"]
        region.evaluator = Guarded(block, evaluate)
        return [region]


def _apply(block: Block, name: str, args: str, where: str) -> None:
    """One directive's effect on the block it stands before."""
    if name == "skip":
        reason = re.fullmatch(r'"(.+)"', args)
        if reason is None:
            raise ValueError(f'{where}: docs-test: skip needs a reason in quotes: skip "why"')
        block.skip = reason.group(1)
    elif name == "shorten":
        settings = args.split()
        if block.language != "console" or not settings or not all(map(SETTING.fullmatch,
                                                                       settings)):
            raise ValueError(f"{where}: docs-test: shorten takes KEY=VALUE settings "
                             "(e.g. training.epochs=1) and stands before a console block")
        block.settings = tuple(settings)
    elif name == "write":
        if not args or Path(args).is_absolute() or ".." in Path(args).parts:
            raise ValueError(f"{where}: docs-test: write takes a file name inside the page's "
                             "folder, e.g. write my.yaml")
        block.write = args
    else:
        raise ValueError(f"{where}: unknown directive docs-test: {name} "
                         "(known: skip, shorten, write)")


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


# --- evaluating ------------------------------------------------------------------------

class Guarded:
    """The block's evaluator, behind its skip directive and the page's missing data."""

    def __init__(self, block: Block, evaluator: Any) -> None:
        self.block, self.evaluator = block, evaluator

    def __call__(self, example: Example) -> str | None:
        page = example.namespace["__page__"]
        if self.block.skip:
            pytest.skip(f"docs-test: skip: {self.block.skip}")
        if page.missing_data:
            pytest.skip(f"an earlier example of this page needs {page.missing_data}")
        try:
            return self.evaluator(example)
        except Exception as error:
            if page.mnist is None and NO_MNIST in str(error):
                page.missing_data = "MNIST"
                pytest.skip("needs MNIST ($FCNN_DATA_DIR/mnist or ../shared/data/mnist)")
            raise


def evaluate(example: Example) -> str | None:
    block: Block = example.region.evaluator.block
    page: Page = example.namespace["__page__"]
    if block.write:
        target = page.folder / block.write
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.source, encoding="utf-8")
        return None
    if block.language == "python":
        PythonEvaluator()(example)
        return None
    return run_console(block, page)


def run_console(block: Block, page: Page) -> str | None:
    commands = console_commands(block)
    if not commands:
        raise ValueError(f"line {block.line}: a console block without a `$ ` command; show "
                         "output alone in a ```text block")
    for command, expected in commands:
        problem = page.check(command, expected, block.settings)
        if problem:
            return f"line {block.line}: {problem}"
    return None


def console_commands(block: Block) -> list[tuple[str, str]]:
    """(command, expected output) pairs; a line ending in `\\` continues the command."""
    pairs: list[tuple[str, list[str]]] = []
    continued = False
    for line in block.source.splitlines():
        if continued:
            pairs[-1] = (pairs[-1][0] + "\n" + line, [])
        elif line.startswith("$ "):
            pairs.append((line[2:], []))
        elif pairs:
            pairs[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"line {block.line}: text before the first `$ ` of a console "
                             "block")
        continued = bool(pairs) and line.endswith("\\") and not pairs[-1][1]
    return [(command, "\n".join(output)) for command, output in pairs]


def _tidy(text: str) -> str:
    """Output as compared: trailing spaces and blank lines at either end removed."""
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")


# --- a page's folder, environment and commands ----------------------------------------------

def mnist_folder() -> Path | None:
    candidates = [Path(os.environ["FCNN_DATA_DIR"]) / "mnist"] if "FCNN_DATA_DIR" in os.environ \
        else []
    candidates.append(ROOT.parent / "shared" / "data" / "mnist")
    return next((c for c in candidates if (c / "t10k-labels-idx1-ubyte.gz").exists()), None)


def checkout_files() -> list[tuple[str, int, int]]:
    """The files of the folders a page reaches through its links: name, size, mtime."""
    found = []
    for name in LINKED:
        for path in (ROOT / name).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                found.append((str(path.relative_to(ROOT)), stat.st_size, stat.st_mtime_ns))
    return found


class Page:
    """The temporary folder a page's examples run in, and the environment they see."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fcnn-docs-"))
        self.mnist = mnist_folder()
        self.missing_data = ""
        for name in LINKED:
            (self.folder / name).symlink_to(ROOT / name, target_is_directory=True)
        bin_dir = Path(tempfile.mkdtemp(prefix="fcnn-docs-bin-"))
        self.bin_dir = bin_dir
        python = bin_dir / "python"  # (a link would lose the virtual environment)
        python.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
        python.chmod(0o755)
        fcnn = bin_dir / "fcnn"
        fcnn.write_text("#!/bin/sh\n"
                        "# fcnn as the docs run it: with docs-test: shorten's settings\n"
                        'set -f  # the settings split into words, never globbed\n'
                        'case "$1" in train|tune) set -- "$@" $DOCS_TEST_SETTINGS ;; esac\n'
                        f"exec {shlex.quote(sys.executable)} -c {shlex.quote(ENTRY_POINT)} "
                        '"$@"\n')
        fcnn.chmod(0o755)
        unreachable = "http://127.0.0.1:9"  # the discard port: a download fails at once
        self.env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1",
            "XDG_CACHE_HOME": str(self.folder / ".cache"),
            "http_proxy": unreachable, "https_proxy": unreachable, "HTTP_PROXY": unreachable,
            "HTTPS_PROXY": unreachable, "no_proxy": "127.0.0.1,localhost",
            "NO_PROXY": "127.0.0.1,localhost",
            **({"FCNN_DATA_DIR": str(self.mnist.parent)} if self.mnist else {}),
        }
        self.saved_env = {key: os.environ.get(key) for key in self.env}
        self.saved_cwd = os.getcwd()
        self.checkout = checkout_files()
        os.environ.update(self.env)  # the page's python blocks see the same
        os.chdir(self.folder)

    def close(self) -> None:
        """Back to where the tests were; the page must have written nothing into the
        checkout through its links (`--out examples/x.h5` would)."""
        os.chdir(self.saved_cwd)
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self.bin_dir, ignore_errors=True)
        changed = sorted(set(checkout_files()) ^ set(self.checkout))
        if changed:
            raise AssertionError(f"the page's examples changed the checkout: {changed[:5]}")

    def check(self, command: str, expected: str, settings: tuple[str, ...]) -> str | None:
        """What is wrong with `$ command`'s run against its expected output, or None."""
        env = {**os.environ, "DOCS_TEST_SETTINGS": " ".join(f"--set {s}" for s in settings)}
        ran = subprocess.run(["bash", "-c", command], cwd=self.folder, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=COMMAND_TIMEOUT_S)
        output, want = _tidy(ran.stdout), _tidy(expected)
        if self.mnist is None and NO_MNIST in output:
            raise RuntimeError(output)  # (Guarded skips the rest of the page)
        status = 2 if want.startswith("error:") else 0
        if ran.returncode != status:
            return (f"`$ {command}` exited with {ran.returncode}, expected {status}; it "
                    f"printed:\n{output}")
        if not doctest.OutputChecker().check_output(want + "\n", output + "\n",
                                                             doctest.ELLIPSIS):
            diff = "\n".join(difflib.unified_diff(want.splitlines(), output.splitlines(),
                                                  "expected", "printed", lineterm=""))
            return f"`$ {command}` printed other output than the page shows:\n{diff}"
        return None


def setup(namespace: dict[str, Any]) -> None:
    namespace["__page__"] = Page()


def teardown(namespace: dict[str, Any]) -> None:
    namespace["__page__"].close()


def collector(folder: Path) -> Any:
    """Sybil's pytest collector for the Markdown pages under `folder`."""
    return Sybil(parsers=[DocsParser()], path=str(folder), patterns=["*.md"], setup=setup,
                 teardown=teardown).pytest()


pytest_collect_file = collector(Path(__file__).parent)


# --- the count at the end of the run ------------------------------------------------------

def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many documentation examples ran, failed and were skipped (and why)."""
    docs = str(Path(__file__).parent.relative_to(terminalreporter.config.rootpath))
    counts, reasons, seconds = {}, {}, 0.0
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            # an error is a page that could not be read, or an example that broke the rules
            # (it wrote into the checkout) after it ran: counted whenever it happened
            if (outcome != "error" and getattr(report, "when", "call") == "teardown") or \
                    not report.nodeid.startswith(docs + "/") or ".md" not in report.nodeid:
                continue
            counts[outcome] = counts.get(outcome, 0) + 1
            seconds += getattr(report, "duration", 0.0)
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                reason = report.longrepr[2].removeprefix("Skipped: ")
                reasons[reason] = reasons.get(reason, 0) + 1
    if not counts:
        return
    ran = counts.get("passed", 0) + counts.get("failed", 0)
    errors = f", {counts['error']} error(s)" if counts.get("error") else ""
    terminalreporter.write_line(
        f"documentation examples: {ran} ran ({counts.get('failed', 0)} failed{errors}), "
        f"{counts.get('skipped', 0)} skipped, {seconds:.1f} s")
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"  skipped {count}×: {reason}")
