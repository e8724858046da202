"""`fcnn playground`'s page in a real browser: the system Chromium, driven by Playwright,
against the real app served by uvicorn. A learner's path (choose circle, play to 90 %,
pause, inspect a neuron, export the config and train it to the same numbers), a teacher's
links (hidden controls, a bad value), and a phone-sized screen."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sse_starlette")
playwright_api = pytest.importorskip("playwright.sync_api")

import httpx  # noqa: E402
import yaml  # noqa: E402
from conftest import CHROMIUM  # noqa: E402  (and its `browser` fixture)
from serve_process import in_thread  # noqa: E402

from fcnn_cli import api  # noqa: E402

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs the system Chromium "
                                "(apt-get install chromium)")

WAIT_MS = 15_000     # a session's start or a frame, on a loaded machine
PLAY_MS = 30_000     # circle from its first epoch to 90 % test accuracy
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    from fcnn_cli.serving.playground.app import create_app

    with in_thread(create_app()) as base:
        yield base + "/"


def _page(browser: Any, width: int, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    return context.new_page()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = _page(browser, 1400)
    yield page
    page.context.close()


def _percent(page: Any, test_id: str) -> float:
    text = page.get_by_test_id(test_id).inner_text()
    return float(text.replace("%", "").strip()) if "%" in text else -1.0


def _settled_epoch(page: Any) -> str:
    """The epoch counter once paused: the epoch running when pause came still finishes
    and shows, so read until two readings half a second apart agree."""
    shown = page.get_by_test_id("epoch").inner_text()
    for _ in range(40):
        page.wait_for_timeout(500)
        again = page.get_by_test_id("epoch").inner_text()
        if again == shown:
            return shown
        shown = again
    raise AssertionError(f"the epoch counter still moves after pause: {shown}")


def _session_base(page: Any, url: str) -> str:
    """The API address of the session the page shows (from its export link)."""
    href = page.get_by_test_id("export-config").get_attribute("href")
    return url + href.removesuffix("/config.yaml")


def test_play_pressed_while_the_session_starts_plays_once_it_has(
        page: Any, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fcnn_cli.serving.playground.session import Session

    start = Session.__init__

    def slow_start(self: Session, *args: Any, **kwargs: Any) -> None:
        time.sleep(1.0)  # (a large set on a slow machine)
        start(self, *args, **kwargs)

    monkeypatch.setattr(Session, "__init__", slow_start)
    page.goto(url)
    page.get_by_test_id("play").click()  # (as soon as it takes clicks)
    expect(page.get_by_test_id("play")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("play").click()
    expect(page.get_by_test_id("play")).to_have_attribute("aria-pressed", "false")


def test_circle_plays_to_90_percent_and_its_export_trains_to_the_same_losses(
        page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url + "?dataset=xor")
    expect(page.get_by_test_id("neuron-3-1")).to_be_visible()
    page.get_by_test_id("dataset").select_option("circle")
    page.wait_for_url(re.compile(r"dataset=circle"))

    page.get_by_test_id("play").click()
    page.wait_for_function(
        "parseFloat(document.querySelector('[data-testid=test-accuracy]').textContent) >= 90",
        timeout=PLAY_MS)
    page.get_by_test_id("play").click()
    expect(page.get_by_test_id("play")).to_have_attribute("aria-pressed", "false")
    epoch = _settled_epoch(page)
    assert _percent(page, "test-accuracy") >= 90.0

    page.get_by_test_id("neuron-1-1").click()
    inspector = page.get_by_test_id("inspector")
    expect(inspector).to_contain_text(f"epoch {epoch}")
    expect(inspector).to_contain_text("test point #0")
    expect(inspector.get_by_test_id("incoming").locator("tbody tr")).to_have_count(2)
    expect(inspector).to_contain_text("δ")

    with page.expect_download() as download:
        page.get_by_test_id("export-config").click()
    assert download.value.suggested_filename == "playground-circle.yaml"
    config = tmp_path / "playground-circle.yaml"
    download.value.save_as(config)
    assert yaml.safe_load(config.read_text())["training"]["epochs"] == int(epoch)
    played = httpx.get(_session_base(page, url) + "/history", timeout=30).json()
    outcome = api.train(config, out=tmp_path / "model.h5")
    assert [float(v) for v in outcome.history["train_loss"]] == played["train_loss"]
    assert len(played["train_loss"]) == int(epoch)


def test_a_link_sets_every_control_and_a_change_rewrites_the_link(page: Any, url: str) -> None:
    page.goto(url + "?dataset=spiral&layers=3,5&activation=relu,tanh&lr=0.1&seed=7")
    expect(page.get_by_test_id("neuron-2-5")).to_be_visible()
    expect(page.get_by_test_id("dataset")).to_have_value("spiral")
    expect(page.get_by_test_id("activation-1")).to_have_value("relu")
    expect(page.locator("#lr")).to_have_value("0.1")
    expect(page.locator("#seed")).to_have_value("7")

    page.get_by_test_id("add-unit-1").click()
    page.wait_for_url(re.compile(r"layers=4,5&"))
    expect(page.get_by_test_id("neuron-1-4")).to_be_visible()
    assert "seed=7" in page.url and "activation=relu,tanh" in page.url


def test_a_hide_link_hides_that_control_only(page: Any, url: str) -> None:
    page.goto(url + "?noise_hide=true&cost_hide=true")
    expect(page.get_by_test_id("neuron-0-1")).to_be_visible()
    expect(page.get_by_test_id("noise")).to_be_hidden()
    expect(page.locator("#cost")).to_be_hidden()
    expect(page.get_by_test_id("dataset")).to_be_visible()
    expect(page.locator("#output")).to_be_visible()
    assert "noise_hide=true" in page.url


def test_an_out_of_range_value_in_the_link_shows_one_line(page: Any, url: str) -> None:
    page.goto(url + "?noise=7")
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("noise is '7'")
    expect(error).to_contain_text("0.5")
    assert "\n" not in error.inner_text()
    expect(page.get_by_test_id("neuron-0-1")).to_be_visible()  # the defaults run instead


def _blobs_csv(path: Path) -> Path:
    """Three classes of points on a plane, under their own names."""
    rows = ["width,height,label"]
    for k, name in enumerate(("setosa", "versicolor", "virginica")):
        rows += [f"{k * 3 + (i % 5) * 0.1},{k + (i % 7) * 0.1},{name}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_uploaded_three_class_csv_trains_with_one_output_neuron_per_class(
        page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url + "?layers=3")
    expect(page.get_by_test_id("neuron-2-1")).to_be_visible()
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("csv-file").set_input_files(_blobs_csv(tmp_path / "iris-like.csv"))
    page.wait_for_url(re.compile(r"dataset=csv&csv=iris-like"))
    expect(page.get_by_test_id("neuron-2-3")).to_be_visible()
    expect(page.get_by_test_id("neuron-2-4")).to_have_count(0)
    expect(page.locator("#class-legend")).to_contain_text("virginica")
    assert "noise=" not in page.url and "layers=3&" in page.url


def test_a_csv_the_playground_cannot_draw_is_one_line_and_the_run_goes_on(
        page: Any, url: str, tmp_path: Path) -> None:
    page.goto(url + "?dataset=moons")
    expect(page.get_by_test_id("neuron-0-1")).to_be_visible()
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c,label\n" + "".join(f"{i},{i},{i},{i % 2}\n" for i in range(20)))
    page.get_by_test_id("dataset").select_option("csv")
    page.get_by_test_id("csv-file").set_input_files(wide)
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("wide.csv has 3 feature column(s)")
    assert "\n" not in error.inner_text()
    assert "dataset=moons" in page.url
    page.get_by_test_id("step").click()
    expect(page.get_by_test_id("epoch")).to_have_text("1")


def test_at_400_px_nothing_scrolls_sideways_or_overlaps(browser: Any, url: str) -> None:
    page = _page(browser, 400, 800)
    try:
        page.goto(url + "?layers=8,8,8&dataset=spiral")
        expect(page.get_by_test_id("neuron-3-8")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        page.get_by_test_id("step").click()  # (the figures come with the first epoch)
        expect(page.locator("#diag-3")).to_contain_text("speed")
        boxes = [page.locator(f"#diag-{layer} span").first.bounding_box() for layer in (1, 2, 3)]
        for left, right in zip(boxes, boxes[1:]):  # each layer's figures clear of the next's
            assert left["x"] + left["width"] <= right["x"], boxes
    finally:
        page.context.close()
