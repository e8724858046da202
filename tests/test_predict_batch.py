"""Predicting many inputs: worker processes, fixed chunks, input order, streaming."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import fcnn_cli
from fcnn_cli import inputs
from fcnn_cli.cli import app
from fcnn_cli.data import prepare
from fcnn_cli.data.images import load_image
from fcnn_cli.data.sources import load_dataset

runner = CliRunner()
N = 2 * prepare.PARALLEL_FROM + 7  # several chunks on workers, the last one short


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Digits drawn large, dark on light like a scan, in two sub-folders."""
    root = tmp_path_factory.mktemp("pictures")
    digits = load_dataset("digits").x_train[:N]
    for i, pixels in enumerate(digits):
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        image = Image.fromarray((255 - pixels * 15).astype(np.uint8)).resize((40, 40))
        image.save(sub / f"{i:04d}.png")
    return root


def test_workers_change_nothing_bit_for_bit(folder: Path) -> None:
    model = fcnn_cli.load_model("mnist")
    one = model.predict_proba(folder, workers=1)
    two = model.predict_proba(folder, workers=2)
    assert one.shape == (N, 10)
    assert np.array_equal(one, two)


def test_each_image_is_prepared_exactly_as_on_its_own(folder: Path) -> None:
    model = fcnn_cli.load_model("mnist")
    files = sorted(folder.rglob("*.png"))
    batches = list(inputs.iter_batches([folder], model, workers=2))
    rows = np.concatenate([batch.x for batch in batches])
    for i in (0, 1, prepare.chunk_size(N), N - 1):
        assert np.array_equal(rows[i], load_image(files[i]).pixels.reshape(-1))


def test_outputs_keep_the_order_of_the_inputs(folder: Path) -> None:
    files = sorted(folder.rglob("*.png"))
    given = [files[5], folder, files[0]]
    result = runner.invoke(app, ["predict", "mnist", *map(str, given), "--json",
                                 "--workers", "2"])
    assert result.exit_code == 0, result.output
    names = [json.loads(line)["input"] for line in result.stdout.splitlines()]
    assert names == [str(files[5]), *map(str, files), str(files[0])]


def test_chunks_are_fixed_whatever_the_number_of_workers(folder: Path) -> None:
    model = fcnn_cli.load_model("mnist")
    sizes = {w: [len(b.names) for b in inputs.iter_batches([folder], model, workers=w)]
             for w in (1, 2, 3)}
    assert sizes[1] == sizes[2] == sizes[3]
    assert max(sizes[1]) == prepare.chunk_size(N) and len(sizes[1]) > 2


def test_a_chunk_is_about_an_eighth_of_the_run_within_bounds() -> None:
    assert [prepare.chunk_size(n) for n in (1, 64, 800, 100_000)] == [16, 16, 100, 256]


def test_progress_counts_every_input_once(folder: Path) -> None:
    seen = []
    fcnn_cli.load_model("mnist").predict(folder, workers=2,
                                         progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (N, N)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_broken_image_among_many_fails_with_its_name(folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "a" / "0151.png").write_bytes(b"not a png")
    result = runner.invoke(app, ["predict", "mnist", str(copy), "--workers", "2"])
    assert result.exit_code == 2
    assert "0151.png: not an image Pillow can read" in result.stderr
    assert "Traceback" not in result.output


def test_a_batch_file_and_images_mix_in_one_call(folder: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "two.npy", np.zeros((2, 28, 28), np.float32))
    files = sorted(folder.rglob("*.png"))[:3]
    labels = fcnn_cli.load_model("mnist").predict([tmp_path / "two.npy", *files])
    assert labels.shape == (5,)


def test_off_a_terminal_there_is_no_progress_bar(folder: Path) -> None:
    result = runner.invoke(app, ["predict", "mnist", str(folder)])
    assert result.exit_code == 0
    assert result.stderr == ""
