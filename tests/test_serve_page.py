"""The page at `GET /`, in a real browser: the system Chromium, driven by Playwright, draws
on the pad with a mouse and a finger, chooses pictures, types the API key and fills a table
model's form, against the real app served by uvicorn."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
playwright_api = pytest.importorskip("playwright.sync_api")

from conftest import CHROMIUM  # noqa: E402  (and its `browser` fixture)
from serve_process import in_thread  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.data.images import load_image  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

expect = playwright_api.expect
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs the system Chromium "
                                "(apt-get install chromium)")

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
KEY = "page-test-key-8f3a"
WAIT_MS = 15_000  # a prediction's answer, on a loaded machine
expect.set_options(timeout=WAIT_MS)


# ---- servers and browser -------------------------------------------------------------------

def _app(model: Model, options: ServeOptions | None = None) -> Any:
    from fcnn_cli.serving.app import create_app

    return create_app(model, options)


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    with in_thread(app) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def mnist() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def mnist_url(mnist: Model) -> Iterator[str]:
    with _serving(_app(mnist)) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


def _open(page: Any, url: str) -> None:
    """Load the page and wait until it has built itself from /info."""
    page.goto(url)
    expect(page.get_by_test_id("file")).to_be_visible()


def _stroke(page: Any, *points: tuple[float, float]) -> None:
    """One mouse stroke through `points`, given as fractions of the pad's width and height."""
    box = page.get_by_test_id("pad").bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=12)
    page.mouse.up()


_INK = """canvas => {  // how many pixels differ from the first one (0: a blank canvas)
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let differ = 0;
    for (let i = 4; i < data.length; i += 4)
        if (data[i] !== data[0] || data[i + 3] !== data[3]) differ += 1;
    return differ;
}"""


# ---- image models ------------------------------------------------------------------------

def test_the_page_loads_nothing_from_outside_the_server(page: Any, mnist_url: str) -> None:
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(mnist_url)
    expect(page.get_by_test_id("pad")).to_be_visible()
    expect(page.locator("h1")).to_have_text("mnist")
    assert asked and all(url.startswith((mnist_url, "data:")) for url in asked), asked


def test_drawing_a_one_and_a_seven_on_the_pad_predicts_them(page: Any, mnist_url: str) -> None:
    _open(page, mnist_url)
    _stroke(page, (0.5, 0.15), (0.5, 0.85))
    expect(page.get_by_test_id("label")).to_have_text("1")
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("label")).to_have_text("")
    assert page.get_by_test_id("pad").evaluate(_INK) == 0
    _stroke(page, (0.25, 0.2), (0.75, 0.2), (0.42, 0.85))
    expect(page.get_by_test_id("label")).to_have_text("7")


@pytest.mark.parametrize("picture, label", [("photo-clean-2-label-7.jpg", "7"),
                                            ("user-4-transparent.png", "4")])
def test_choosing_a_picture_predicts_it_with_a_bar_per_class(
        page: Any, mnist_url: str, picture: str, label: str) -> None:
    _open(page, mnist_url)
    page.get_by_test_id("file").set_input_files(IMAGES / picture)
    expect(page.get_by_test_id("label")).to_have_text(label)
    bars = page.get_by_test_id("bars").locator("li")
    expect(bars).to_have_count(10)
    assert [bars.nth(j).locator(".name").text_content() for j in range(10)] == \
        [str(j) for j in range(10)]
    top = page.get_by_test_id("bars").locator("li.top")
    expect(top).to_have_count(1)
    expect(top.locator(".name")).to_have_text(label)
    expect(top.locator(".value")).to_have_text("100 %")


def test_the_page_shows_the_input_the_network_sees_and_each_hidden_layer(
        page: Any, mnist_url: str, mnist: Model) -> None:
    picture = IMAGES / "user-5-off-centre.png"
    _open(page, mnist_url)
    page.get_by_test_id("file").set_input_files(picture)
    expect(page.get_by_test_id("label")).to_have_text("5")
    seen = page.get_by_test_id("seen")
    expect(seen).to_be_visible()
    drawn = seen.evaluate("""canvas => Array.from(canvas.getContext("2d")
        .getImageData(0, 0, canvas.width, canvas.height).data.filter((_, i) => i % 4 === 0))""")
    prepared = load_image(picture, mnist.image, mnist.pixel_max).pixels  # 28×28, 0..255
    expected = np.round(np.round(prepared / mnist.pixel_max, 3) * 255).ravel()
    assert np.abs(np.array(drawn) - expected).max() <= 1  # upright, centred, not mirrored
    assert "cropp" in page.locator("figure.seen figcaption").text_content()
    for layer in (1, 2):
        canvas = page.get_by_test_id(f"layer-{layer}")
        expect(canvas).to_be_visible()
        assert canvas.evaluate(_INK) > 0
        caption = canvas.locator("xpath=following-sibling::figcaption")
        expect(caption).to_have_text(f"layer {layer}: 800 relu units")
    expect(page.get_by_test_id("layer-3")).to_have_count(0)  # the output layer is the bars


def test_a_touch_stroke_draws_without_scrolling_the_page(browser: Any, mnist_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640}, has_touch=True,
                                  is_mobile=True)
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        _open(page, mnist_url)
        pad = page.get_by_test_id("pad")
        expect(pad).to_be_visible()
        assert page.evaluate("document.documentElement.scrollHeight > innerHeight + 100")
        pad.evaluate("""pad => { window.pointerTypes = [];
            pad.addEventListener("pointerdown", e => window.pointerTypes.push(e.pointerType)); }""")
        box = pad.bounding_box()
        x = box["x"] + box["width"] / 2
        # A finger moving up the screen: a page that let it would scroll down.
        touch = page.context.new_cdp_session(page)
        ys = np.linspace(box["y"] + 0.85 * box["height"], box["y"] + 0.15 * box["height"], 15)
        touch.send("Input.dispatchTouchEvent",
                   {"type": "touchStart", "touchPoints": [{"x": x, "y": float(ys[0])}]})
        for y in ys[1:]:
            touch.send("Input.dispatchTouchEvent",
                       {"type": "touchMove", "touchPoints": [{"x": x, "y": float(y)}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(page.get_by_test_id("label")).to_have_text("1")
        assert page.evaluate("window.pointerTypes") == ["touch"]
        assert page.evaluate("window.scrollY") == 0
        assert pad.evaluate(_INK) > 0
    finally:
        context.close()


def test_the_page_fits_a_phone_screen(browser: Any, mnist_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640})
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        _open(page, mnist_url)
        page.get_by_test_id("file").set_input_files(IMAGES / "photo-grid-1-label-9.jpg")
        expect(page.get_by_test_id("label")).to_have_text("9")
        expect(page.get_by_test_id("layer-2")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        pad_width = page.get_by_test_id("pad").bounding_box()["width"]
        assert 240 <= pad_width <= 340
    finally:
        context.close()


def test_an_empty_file_shows_the_servers_error(page: Any, mnist_url: str) -> None:
    _open(page, mnist_url)
    expect(page.get_by_test_id("pad")).to_be_visible()
    expect(page.get_by_test_id("error")).to_be_hidden()
    page.get_by_test_id("file").set_input_files(
        {"name": "empty.png", "mimeType": "image/png", "buffer": b""})
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("empty.png")
    expect(error).to_contain_text("empty")
    expect(page.get_by_test_id("label")).to_have_text("")
    # the next good answer clears the message
    page.get_by_test_id("file").set_input_files(IMAGES / "photo-clean-2-label-7.jpg")
    expect(page.get_by_test_id("label")).to_have_text("7")
    expect(error).to_be_hidden()


def test_the_page_asks_for_the_api_key_and_then_uses_it(page: Any, mnist: Model) -> None:
    with _serving(_app(mnist, ServeOptions(api_key=KEY))) as url:
        page.goto(url)
        form = page.get_by_test_id("key-form")
        expect(form).to_be_visible()
        expect(page.get_by_test_id("pad")).to_be_hidden()
        page.get_by_test_id("key").fill("not-the-key")
        page.get_by_test_id("key").press("Enter")
        expect(form).to_contain_text("refused")
        page.get_by_test_id("key").fill(KEY)
        page.get_by_role("button", name="Use key").click()
        expect(form).to_be_hidden()
        expect(page.locator("h1")).to_have_text("mnist")
        page.get_by_test_id("file").set_input_files(IMAGES / "photo-clean-2-label-7.jpg")
        expect(page.get_by_test_id("label")).to_have_text("7")
        assert page.evaluate("sessionStorage.getItem('fcnn-api-key')") == KEY
        expect(page.get_by_test_id("error")).to_be_hidden()


def test_the_page_works_with_the_app_mounted_under_a_prefix(page: Any, mnist: Model) -> None:
    from fastapi import FastAPI

    outer = FastAPI()
    outer.mount("/models/digits", _app(mnist))
    with _serving(outer) as url:
        _open(page, url + "models/digits/")
        expect(page.locator("h1")).to_have_text("mnist")
        page.get_by_test_id("file").set_input_files(IMAGES / "photo-clean-2-label-7.jpg")
        expect(page.get_by_test_id("label")).to_have_text("7")
        expect(page.get_by_test_id("layer-1")).to_be_visible()


# ---- table models ------------------------------------------------------------------------

FEATURES = ["size", "texture", "age"]


def _write_rows(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def table_url(table_model: tuple[Model, Path]) -> Iterator[str]:
    with _serving(_app(table_model[0])) as url:
        yield url


@pytest.fixture(scope="module")
def table_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Model, Path]:
    """A tiny classifier trained for one epoch on 40 rows of a CSV, and that CSV."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(3)
    size, texture, age = rng.normal(12, 3, 40), rng.normal(20, 4, 40), rng.integers(20, 90, 40)
    label = np.where(size + 0.5 * texture > 22, "malignant", "benign")
    data = _write_rows(folder / "cells.csv", [*FEATURES, "diagnosis"],
                       [[f"{size[i]:.2f}", f"{texture[i]:.2f}", int(age[i]), label[i]]
                        for i in range(40)])
    config = {"data": {"path": str(data), "label_column": "diagnosis",
                       "normalize": "standardize"},
              "model": {"layers": [{"units": 8}, {"units": 2, "activation": "softmax"}]},
              "training": {"epochs": 1, "batch_size": 8}}
    api.train(config, out=folder / "cells.h5")
    return api.load_model(folder / "cells.h5"), data


def test_a_table_model_page_has_a_field_per_feature_and_predicts(
        page: Any, table_model: tuple[Model, Path], table_url: str) -> None:
    model, data = table_model
    row = [14.5, 22.25, 61.0]
    want = model.predict(np.array([row], dtype=np.float32))[0]
    probabilities = model.predict_proba(np.array([row], dtype=np.float32))[0]
    _open(page, table_url)
    expect(page.locator(".fields input")).to_have_count(len(FEATURES))
    expect(page.get_by_test_id("pad")).to_be_hidden()
    for name, value in zip(FEATURES, row):
        page.get_by_label(name).fill(str(value))
        assert page.get_by_test_id(f"feature-{name}").input_value() == str(value)
    page.get_by_test_id("predict").click()
    expect(page.get_by_test_id("label")).to_have_text(want)
    for name, p in zip(model.class_names, probabilities):
        shown = page.get_by_test_id("bars").locator("li", has_text=name).locator(".value")
        assert abs(float(shown.text_content().removesuffix(" %")) - p * 100) <= 0.051

    page.get_by_test_id("file").set_input_files(data)  # many rows: a table of results
    rows = page.get_by_test_id("rows").locator("tbody tr")
    expect(rows).to_have_count(40)
    labels = [rows.nth(j).locator("td").nth(1).text_content() for j in range(40)]
    assert labels == list(model.predict(data))


def test_a_table_model_form_refuses_an_empty_field_in_words(page: Any, table_url: str) -> None:
    _open(page, table_url)
    page.get_by_test_id("feature-size").fill("3")
    page.get_by_test_id("predict").click()
    expect(page.get_by_test_id("error")).to_have_text("texture: enter a number")
    expect(page.get_by_test_id("label")).to_have_text("")
