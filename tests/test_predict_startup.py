"""`fcnn predict` starts without the garbage collector and, once the model is read, keeps
what its start-up made (modules, the model) out of its way: Python's exit then does not walk
and tear it down, and worker processes forked later copy no page for it. Other commands,
and a program that runs `predict` itself, collect as before."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_lazy_imports import fcnn_then  # noqa: E402

IMAGE = Path(__file__).resolve().parents[1] / "examples" / "images" / "mnist-test-0000-label-7.png"


def _frozen_after(*args: str) -> tuple[int, str]:
    """How many objects were frozen out of the collector when `fcnn ARGS` ended, and what
    it printed."""
    out, frozen = fcnn_then(args, "__import__('gc').get_freeze_count()")
    return int(frozen), out


def test_predict_freezes_its_start_up_once_the_model_is_read() -> None:
    frozen, out = _frozen_after("predict", "mnist", str(IMAGE))
    assert "7" in out  # it did run
    assert frozen > 10_000  # the modules and the model, at least


def test_a_model_that_cannot_be_read_freezes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    assert _frozen_after("predict", str(bad), str(IMAGE))[0] == 0


def test_other_commands_collect_as_before() -> None:
    assert _frozen_after("info", "mnist")[0] == 0


def test_a_program_running_predict_keeps_its_collector_as_it_is() -> None:
    import gc

    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    before = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["predict", "mnist", str(IMAGE)])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == before
