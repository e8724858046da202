"""Decision boundaries of two-input models: the grid `boundary` computes (through the
model's own preprocessing, in one batched pass), the small SVG picture, and the report's
`decision-boundary` section with one heat map per hidden unit."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnn_cli import api, boundary, report
from fcnn_cli.boundary import GRID, Extent, boundary_svg, compute_field, extent_of
from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.nn import Network


def _model(sizes: list[int], activations: list[str], cost: str = "log-likelihood",
           classes: list[str] | None = None, normalizer: Normalizer | None = None,
           seed: int = 0) -> Model:
    """A model built in the test: random weights from `seed`, no config and no data."""
    net = Network.create(sizes, activations, cost, init="glorot",
                         rng=np.random.default_rng(seed), dtype=np.float64)
    norm = normalizer or Normalizer("none", np.zeros((), np.float32), np.ones((), np.float32))
    names = classes if classes is not None else [str(k) for k in range(max(sizes[-1], 2))]
    return Model(net, norm, (sizes[0],), class_names=names)


def _line_model() -> Model:
    """p(class 1) = sigmoid(x1 − x2) in RAW units, behind a standardiser that moves and
    stretches the inputs: a grid that skipped `Model.prepare` would put the line elsewhere."""
    mean, std = np.array([1.0, -2.0], np.float32), np.array([2.0, 0.5], np.float32)
    model = _model([2, 1], ["sigmoid"], "cross-entropy", ["below", "above"],
                   Normalizer("standardize", mean, std))
    # z = w·(x − m)/s + b = x1 − x2  ⇔  w = (s1, −s2), b = m1 − m2
    model.network.w[0][:] = [[2.0, -0.5]]
    model.network.b[0][:] = [3.0]
    return model


def test_hand_set_line_puts_the_region_change_on_it() -> None:
    field = compute_field(_line_model(), Extent((-3.0, 5.0), (-4.0, 4.0)))
    assert field.kind == "probability" and field.values.shape == (GRID, GRID)
    for r, x2 in enumerate(field.x2):  # row by row: the change sits where x1 crosses x2
        above = field.values[r] > 0.5
        flip = int(np.searchsorted(field.x1, x2))  # first column with x1 > x2
        assert not above[:flip].any() and above[flip:].all(), (r, x2)
    assert np.allclose(field.values, 1 / (1 + np.exp(-(field.x1[None, :] - field.x2[:, None]))),
                       atol=1e-6)


def test_grid_rows_run_top_to_bottom_and_cells_cover_the_extent() -> None:
    field = compute_field(_line_model(), Extent((-3.0, 5.0), (-4.0, 4.0)))
    half = 8 / GRID / 2  # half a cell: both axes span 8
    assert (field.x1[0], field.x1[-1]) == pytest.approx((-3 + half, 5 - half))
    assert (field.x2[0], field.x2[-1]) == pytest.approx((4 - half, -4 + half))
    # top right (x1 large, x2 large) sits on the line's class-1 side only where x1 > x2
    assert field.values[-1, -1] > 0.99 and field.values[0, 0] < 0.01


def test_grid_is_one_batched_pass_through_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model([2, 5, 3], ["tanh", "softmax"])
    calls: list[int] = []
    original = model.network.feedforward

    def counting(x: np.ndarray, rng: object = None) -> object:
        calls.append(len(x))
        return original(x)

    monkeypatch.setattr(model.network, "feedforward", counting)
    compute_field(model, Extent((0.0, 1.0), (0.0, 1.0)))
    assert calls == [GRID * GRID]


def test_hidden_maps_are_each_units_activation_over_the_plane() -> None:
    model = _model([2, 2, 1], ["tanh", "sigmoid"], "cross-entropy")
    model.network.w[0][:] = [[1.0, 0.0], [0.0, 2.0]]  # unit 1: tanh(x1); unit 2: tanh(2 x2)
    model.network.b[0][:] = 0.0
    field = compute_field(model, Extent((-2.0, 2.0), (-1.0, 3.0)))
    assert len(field.hidden) == 1 and field.hidden[0].shape == (GRID, GRID, 2)
    assert np.allclose(field.hidden[0][:, :, 0], np.tanh(field.x1)[None, :])
    assert np.allclose(field.hidden[0][:, :, 1], np.tanh(2 * field.x2)[:, None])
    assert field.activations == ["tanh"]


def test_several_classes_give_the_predicted_class_of_each_cell() -> None:
    model = _model([2, 6, 3], ["relu", "softmax"], seed=3)
    extent = Extent((-2.0, 2.0), (-2.0, 2.0))
    field = compute_field(model, extent)
    _, _, rows = boundary.grid_inputs(extent)
    proba = model.predict_proba(rows)
    assert field.kind == "classes"
    assert np.array_equal(field.values.ravel(), proba.argmax(axis=1))
    assert field.confidence is not None
    assert np.allclose(field.confidence.ravel(), proba.max(axis=1), atol=1e-6)


def test_regression_surface_is_the_output_in_target_units() -> None:
    model = _model([2, 4, 1], ["tanh", "linear"], "quadratic")
    model.class_names = None
    model.target_normalizer = Normalizer("standardize", np.array([100.0], np.float32),
                                         np.array([10.0], np.float32))
    extent = Extent((0.0, 1.0), (0.0, 1.0))
    field = compute_field(model, extent)
    _, _, rows = boundary.grid_inputs(extent)
    assert field.kind == "surface"
    assert np.allclose(field.values.ravel(), model.predict(rows)[:, 0], rtol=1e-5)
    assert field.values.mean() > 50  # in the targets' units, not the network's


def test_a_model_without_two_inputs_is_refused() -> None:
    with pytest.raises(FcnnError, match="takes 784 inputs; decision boundaries are drawn for "
                                        "models with two"):
        compute_field(_model([784, 10], ["softmax"]), Extent((0.0, 1.0), (0.0, 1.0)))


def test_extent_holds_the_points_and_the_marked_point_with_a_margin() -> None:
    model = _model([2, 1], ["sigmoid"], "cross-entropy")
    points = np.array([[0.0, 10.0], [4.0, 20.0]])
    extent = extent_of(model, points, np.array([6.0, 15.0]))
    assert extent.x1[0] < 0 and extent.x1[1] > 6 and extent.x2[0] < 10 and extent.x2[1] > 20
    assert extent.x1[1] - extent.x1[0] < 6 * 1.3  # a margin, not a wide frame


def test_extent_without_points_is_the_range_the_normaliser_recorded() -> None:
    scale = Normalizer("scale", np.array([5.0, -1.0], np.float32),
                       np.array([10.0, 2.0], np.float32))
    model = _model([2, 1], ["sigmoid"], "cross-entropy", normalizer=scale)
    extent = extent_of(model)
    assert extent.x1[0] < 5 < 15 < extent.x1[1] and extent.x1[0] > 3
    assert extent.x2[0] < -1 < 1 < extent.x2[1] and extent.x2[0] > -1.5


# --- the small picture ---------------------------------------------------------------------

def _embedded_png(svg: str) -> Image.Image:
    data = re.search(r'href="data:image/png;base64,([^"]+)"', svg)
    assert data is not None
    return Image.open(io.BytesIO(base64.b64decode(data.group(1)))).convert("RGB")


def test_boundary_svg_draws_regions_points_and_the_marked_example() -> None:
    model = _line_model()
    x = np.array([[0.0, 2.0], [2.0, 0.0], [-1.0, 1.0]])
    svg = boundary_svg(model, point=np.array([1.5, -0.5]), points=(x, np.array([0, 1, 0])))
    assert svg.startswith("<svg") and svg.endswith("</svg>") and 'width="240"' in svg
    picture = _embedded_png(svg)
    assert picture.size == (GRID, GRID)
    colours = np.asarray(picture).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 20  # shaded, not one colour
    # three dots with dark outlines, and the marked example (three circles of its own)
    assert len(re.findall(r'<circle[^>]*stroke="#222"', svg)) == 3
    assert len(re.findall(r"<circle", svg)) == 6
    assert ">x1<" in svg and ">x2<" in svg


def test_boundary_svg_dots_take_class_names_as_labels_and_skip_no_point() -> None:
    model = _line_model()
    x = np.array([[0.0, 2.0], [2.0, 0.0]])
    svg = boundary_svg(model, points=(x, np.array(["below", "above"], dtype=object)))
    fills = re.findall(r'<circle[^>]*fill="(#[0-9a-f]{6})"', svg)
    assert fills == [boundary.class_colour(0), boundary.class_colour(1)]


def test_boundary_svg_thins_many_points_to_a_legible_few() -> None:
    model = _line_model()
    x = np.random.default_rng(0).normal(size=(5000, 2))
    svg = boundary_svg(model, points=(x, (x[:, 0] > x[:, 1]).astype(int)))
    assert len(re.findall(r"<circle", svg)) == boundary.SVG_POINTS


def test_boundary_svg_range_comes_from_the_model_own_2d_data(tmp_path: Path) -> None:
    """A model trained on xor: its four points span 0..1, so the picture does too."""
    out = tmp_path / "xor.h5"
    api.train("xor", out=out, training__epochs=5)
    svg = boundary_svg(api.load_model(out), point=np.array([0.5, 0.5]))
    labels = re.findall(r'text-anchor="(?:start|end)">([^<]+)</text>', svg)
    assert labels == ["-0.08", "1.08", "-0.08", "1.08"]


# --- the report's section ------------------------------------------------------------------

def _sections(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


def test_report_of_a_2_4_3_1_model_has_the_boundary_and_seven_unit_maps() -> None:
    model = _model([2, 4, 3, 1], ["tanh", "relu", "sigmoid"], "cross-entropy")
    warnings: list[str] = []
    page = report.build(model, warn=warnings.append)  # no data: the plane of its normaliser
    assert "decision-boundary" in _sections(page)
    section = page[page.index('<section id="decision-boundary">'):]
    assert section.count('id="decision-output"') == 1
    assert len(re.findall(r'<img class="unit-map" data-layer="1"', section)) == 4
    assert len(re.findall(r'<img class="unit-map" data-layer="2"', section)) == 3
    assert len(re.findall(r'<img class="unit-map"', section)) == 7
    assert "Hidden layer 2: what each of its 3 relu units computes" in section


def test_report_of_a_2d_regression_model_without_data_draws_its_surface() -> None:
    model = _model([2, 3, 1], ["tanh", "linear"], "quadratic")
    model.class_names = None
    section = report.build(model, warn=lambda _: None).split('id="decision-boundary"')[1]
    assert 'id="decision-output"' in section and "with contour lines" in section
    assert len(re.findall(r'<img class="unit-map"', section)) == 3


def test_report_of_a_784_input_model_has_no_boundary_section() -> None:
    page = report.build(_model([784, 10], ["softmax"]), warn=lambda _: None)
    assert "decision-boundary" not in _sections(page)
    assert "unit-map" not in page


def test_report_draws_the_training_and_test_points_of_2d_data(tmp_path: Path) -> None:
    out = tmp_path / "circle.h5"
    api.train({"seed": 3, "data": {"dataset": "circle", "samples": 200, "val_fraction": 0.0,
                                   "test_fraction": 0.25},
               "model": {"layers": [{"units": 3, "activation": "tanh"},
                                    {"units": 2, "activation": "softmax"}]},
               "training": {"epochs": 2, "batch_size": 16}}, out=out)
    page = api.report(out, out=tmp_path / "circle.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="decision-boundary">'):]
    assert "circles are the 150 training points and triangles the 50 test points" in section
    assert len(re.findall(r'<img class="unit-map"', section)) == 3
    assert section.index("decision-output") < section.index("unit-map")


def test_report_of_a_diverged_2d_model_keeps_its_page_and_says_why() -> None:
    model = _model([2, 3, 1], ["relu", "linear"], "quadratic")
    model.class_names = None
    model.network.w[1][:] = 1e308  # outputs beyond float range over the whole plane
    model.network.b[0][:] = 1.0
    page = report.build(model, warn=lambda _: None)
    section = page[page.index('<section id="decision-boundary">'):]
    assert "Not drawn:" in section and "not finite" in section
    assert '<section id="card">' in page


def test_extent_around_a_point_without_data_still_spans_the_training_range() -> None:
    spread = Normalizer("standardize", np.array([0.0, 10.0], np.float32),
                        np.array([1.0, 2.0], np.float32))
    model = _model([2, 1], ["sigmoid"], "cross-entropy", normalizer=spread)
    extent = extent_of(model, point=np.array([0.5, 30.0]))
    assert extent.x1[0] < -2.5 and extent.x1[1] > 2.5  # ±2.5 σ of x1, not just the point
    assert extent.x2[0] < 5 and extent.x2[1] > 30       # and the far point too
