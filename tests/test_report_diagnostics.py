"""`fcnn report`'s `diagnostics` section: how each layer learns (speed of learning,
saturated and dead units, update ratios), drawn from `Model.diagnostics`; and both new
sections as a browser shows them (headless Chromium: non-blank pictures, the panels)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from fcnn_cli import api, report
from fcnn_cli.data.split import Normalizer
from fcnn_cli.model import Model
from fcnn_cli.nn import Network

EPOCHS = 6


def _model(sizes: list[int], activations: list[str], cost: str = "log-likelihood") -> Model:
    net = Network.create(sizes, activations, cost, init="glorot",
                         rng=np.random.default_rng(0), dtype=np.float64)
    norm = Normalizer("none", np.zeros((), np.float32), np.ones((), np.float32))
    model = Model(net, norm, (sizes[0],), class_names=[str(k) for k in range(max(sizes[-1], 2))])
    model.history = {"train_loss": np.linspace(1.0, 0.5, EPOCHS),
                     "val_loss": np.linspace(1.1, 0.6, EPOCHS)}
    return model


def _layer(l: int, units: int, activation: str, speed: float, **series: Any) -> dict[str, Any]:
    """One layer's record as training writes it: `speed` falling by half each epoch."""
    return {"layer": l, "units": units, "activation": activation,
            "speed": [speed * 0.5 ** e for e in range(EPOCHS)],
            "saturated": series.get("saturated"), "dead": series.get("dead"),
            "update_ratio": series.get("update_ratio", [1e-3] * EPOCHS)}


def _deep_sigmoid_relu() -> Model:
    """2-8-6-3: a sigmoid layer learning 100× slower than the output, a relu layer."""
    model = _model([2, 8, 6, 3], ["sigmoid", "relu", "softmax"])
    model.network.b[1][:] = 1.0  # every relu unit alive over the plane: no map is blank
    model.diagnostics = [
        _layer(1, 8, "sigmoid", 1e-4, saturated=[0.25] * EPOCHS),
        _layer(2, 6, "relu", 1e-3, dead=[0.0, 0.0, 0.5, 0.5, 0.5, 0.5]),
        _layer(3, 3, "softmax", 1e-2)]
    return model


@pytest.fixture(scope="module")
def deep_page() -> str:
    return report.build(_deep_sigmoid_relu(), warn=lambda _: None)


def _section(page: str, key: str) -> str:
    start = page.index(f'<section id="{key}">')
    return page[start:page.index("</section>", start)]


def test_diagnostics_section_has_three_panels_and_nielsens_legend(deep_page: str) -> None:
    section = _section(deep_page, "diagnostics")
    assert section.count("<figure") == 3 and section.count("<svg") == 3
    for gid in ("diagnostics-speed", "diagnostics-units", "diagnostics-update-ratio"):
        assert section.count(f'id="{gid}"') == 1
    for name in ("hidden layer 1", "hidden layer 2", "output layer"):
        assert f"{name}<" in section  # a legend entry (text stays text in the SVG)
    units = section[section.index('id="diagnostics-units"'):]
    units = units[:units.index("</svg>")]
    # layers that cannot saturate or die have no line: sigmoid, relu; not the softmax output
    assert "hidden layer 1<" in units and "hidden layer 2<" in units
    assert "output layer<" not in units
    assert "saturated<" in units and "dead<" in units  # what solid and dashed mean


def test_diagnostics_table_says_how_much_slower_the_first_layer_learns(deep_page: str) -> None:
    section = _section(deep_page, "diagnostics")
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>"
                      r"<td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", section)
    last = 0.5 ** (EPOCHS - 1)
    assert rows == [
        ("hidden layer 1", "8 sigmoid", f"{1e-4 * last:.2e}", "0.01×", "25%", "—", "1.00e-03"),
        ("hidden layer 2", "6 relu", f"{1e-3 * last:.2e}", "0.1×", "—", "50%", "1.00e-03"),
        ("output layer", "3 softmax", f"{1e-2 * last:.2e}", "1×", "—", "—", "1.00e-03")]


def test_thresholds_and_the_rule_of_thumb_are_stated(deep_page: str) -> None:
    section = _section(deep_page, "diagnostics")
    assert "below 10% of its maximum on more than half of the probe examples" in section
    assert "z ≤ 0 on every probe example" in section
    assert "up to 500 training examples" in section and "10⁻³" in section
    assert "log scale" in section


def test_layers_that_cannot_saturate_or_die_have_no_units_panel() -> None:
    model = _model([2, 4, 2], ["swish", "softmax"])
    model.diagnostics = [_layer(1, 4, "swish", 1e-3), _layer(2, 2, "softmax", 1e-2)]
    section = _section(report.build(model, warn=lambda _: None), "diagnostics")
    assert section.count("<svg") == 2 and 'id="diagnostics-units"' not in section
    assert "none can saturate or die" in section


def test_mostly_dead_layer_is_flagged_with_what_to_try() -> None:
    model = _model([2, 4, 2], ["relu", "softmax"])
    model.diagnostics = [_layer(1, 4, "relu", 1e-3, dead=[0.75] * EPOCHS),
                         _layer(2, 2, "softmax", 1e-2)]
    section = _section(report.build(model, warn=lambda _: None), "diagnostics")
    advice = re.search(r'<ul class="advice">(.*?)</ul>', section)
    assert advice is not None and "75% of the units are dead" in advice.group(1)
    assert "leaky-relu" in advice.group(1)


def test_zero_and_missing_values_do_not_break_the_log_axes() -> None:
    model = _deep_sigmoid_relu()
    model.diagnostics[0]["speed"][2] = 0.0           # a log axis cannot draw 0
    model.diagnostics[1]["update_ratio"][0] = float("nan")  # an epoch not measured
    model.diagnostics[2]["update_ratio"][1] = float("inf")  # a step from all-zero weights
    section = _section(report.build(model, warn=lambda _: None), "diagnostics")
    table = section[section.index("<table"):section.index("</table>")]
    assert section.count("<svg") == 3
    assert "nan" not in table and "inf" not in table and "1.00e-03" in table


def test_model_without_diagnostics_has_no_section_and_says_why() -> None:
    model = _deep_sigmoid_relu()
    model.diagnostics = []
    page = report.build(model, warn=lambda _: None)
    assert '<section id="diagnostics">' not in page
    assert "carries no per-layer diagnostics" in _section(page, "curves")


def test_model_without_history_or_diagnostics_says_nothing_of_them() -> None:
    model = _deep_sigmoid_relu()
    model.diagnostics, model.history = [], {}  # imported: never trained by fcnn
    page = report.build(model, warn=lambda _: None)
    assert '<section id="diagnostics">' not in page and "diagnostics" not in page


def test_a_trained_model_reports_the_diagnostics_training_recorded(digits_model: Path,
                                                                   tmp_path: Path) -> None:
    model = api.load_model(digits_model)
    assert model.diagnostics  # recorded by training
    page = api.report(digits_model, out=tmp_path / "d.html").read_text(encoding="utf-8")
    section = _section(page, "diagnostics")
    assert section.count('<tr><td>hidden layer') == len(model.diagnostics) - 1
    assert section.count("<svg") in (2, 3)


# --- in a browser ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_file(deep_page: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a 2-8-6-3 model with diagnostics: both new sections on one page."""
    out = tmp_path_factory.mktemp("page") / "report.html"
    out.write_text(deep_page, encoding="utf-8")
    return out


def _colours(png: bytes) -> np.ndarray:
    """The distinct colours of a screenshot."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    return np.unique(pixels, axis=0)


def _near(colours: np.ndarray, hex_colour: str, tolerance: int = 40) -> bool:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return bool((np.abs(colours.astype(int) - rgb).max(axis=1) <= tolerance).any())


def test_browser_shows_the_three_diagnostics_panels_with_their_lines(browser: Any,
                                                                      page_file: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(page_file.as_uri())
    panels = page.locator("section#diagnostics figure svg")
    assert panels.count() == 3
    for gid, colours in (("diagnostics-speed", ["#1f77b4", "#ff7f0e", "#000000"]),
                         ("diagnostics-units", ["#1f77b4", "#ff7f0e"]),
                         ("diagnostics-update-ratio", ["#1f77b4", "#2ca02c"])):
        axis = page.locator(f"#{gid}")
        box = axis.bounding_box()
        assert box is not None and box["width"] > 150 and box["height"] > 100
        seen = _colours(axis.screenshot())
        assert len(seen) > 2, gid  # not blank
        assert all(_near(seen, c) for c in colours), gid  # each layer's line is drawn
    page.close()


def test_browser_shows_a_non_blank_map_per_hidden_unit_and_the_regions(
        browser: Any, page_file: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(page_file.as_uri())
    maps = page.locator("section#decision-boundary img.unit-map")
    assert maps.count() == 8 + 6  # one per hidden unit of 2-8-6-3
    # each <img> decoded to pixels in the page: a map that is one colour would be blank
    spread = page.evaluate("""() => [...document.querySelectorAll('img.unit-map')].map(img => {
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return [c.width, seen.size];
    })""")
    assert all(width == 100 and colours > 1 for width, colours in spread), spread
    regions = _colours(page.locator("#decision-output").screenshot())
    assert len(regions) > 50  # shaded regions, not an empty frame
    page.close()


def test_narrow_screen_keeps_the_new_sections_within_the_page(browser: Any,
                                                               page_file: Path) -> None:
    page = browser.new_page(viewport={"width": 400, "height": 800})
    page.goto(page_file.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    for selector in ("section#diagnostics figure", "section#decision-boundary figure"):
        for box in (page.locator(selector).nth(i).bounding_box()
                    for i in range(page.locator(selector).count())):
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 400
    page.close()


def test_narrow_screen_keeps_a_whole_classifier_report_within_the_page(
        browser: Any, digits_model: Path, tmp_path: Path) -> None:
    out = report.write(api.load_model(digits_model), tmp_path / "digits.html",
                       warn=lambda message: None)
    page = browser.new_page(viewport={"width": 400, "height": 800})
    page.goto(out.as_uri())
    assert page.locator("section#diagnostics").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.close()
