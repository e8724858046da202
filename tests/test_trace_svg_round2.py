"""forward-trace's drawing and page, round 2: every factor of δ printed, ∂C/∂w printed (not
only in tooltips), each edge label on its own edge and clear of the others (or the
weights listed, and the drawing says so), a compact drawing for MNIST, the cost per step,
the variants, and a two-input model's example on its decision regions."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from trace_cli import run as trace
from trace_cli import visible_text
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.trace.formatting import fmt

SVG = "{http://www.w3.org/2000/svg}"
IMAGE = "mnist-test-0000-label-7.png"  # shipped with fcnn, found by name

# The network of the `architecture` example (w¹ 4×2, w² 1×4, w³ 2×1) with the lecture's
# weights numbered 1…14; its w¹ labels used to be dropped without a word.
ARCHITECTURE_1_14 = """description: "2-4-1-2 with the weights 1…14"
x: [[1.0, 0.5]]
y: [[1.0, 0.0]]
activation: sigmoid
cost: quadratic
lr: 0.1
layers:
  - {w: [[1, 2], [3, 4], [5, 6], [7, 8]], b: [0, 0, 0, 0]}
  - {w: [[9, 10, 11, 12]], b: [0]}
  - {w: [[13], [14]], b: [0, 0]}
"""

# Twelve edges fanning out of two inputs: too many to label clearly, so they are listed.
FAN_OUT = """x: [[0.5, -1.0]]
y: [[1.0]]
activation: sigmoid
cost: quadratic
lr: 0.1
layers:
  - {w: [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6], [0.7, -0.8], [0.9, 0.1], [0.2, 0.3]],
     b: [0, 0, 0, 0, 0, 0]}
  - {w: [[1, -1, 1, -1, 1, -1]], b: [0]}
"""

# A softmax output with the log-likelihood cost: δ = a − y, and ∇ₐC = −y/a.
SOFTMAX_NET = """x: [[1.0, -1.0]]
y: [[0.0, 1.0]]
activation: sigmoid
cost: log-likelihood
lr: 0.5
layers:
  - {w: [[0.5, -0.25], [1.0, 0.75]], b: [0.1, -0.1]}
  - {w: [[1.0, -2.0], [0.5, 1.5]], b: [0, 0], activation: softmax}
"""


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def mnist_svg() -> str:
    return trace("--model", "mnist", "--input", IMAGE, "--format", "svg")


@pytest.fixture
def trace_file(tmp_path: Path):
    def write(text: str, name: str = "trace.yaml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)
    return write


# --- every factor of δ, printed ------------------------------------------------------------


def test_the_2_3_1_drawing_prints_each_factor_of_delta_computed_by_hand() -> None:
    x, w1, w2 = np.array([0.5, -1.0]), np.array([[1., 2], [3, 4], [5, 6]]), np.array([7., 8, 9])
    a1 = sigmoid(w1 @ x)
    a2 = sigmoid(w2 @ a1)
    grad_a = a2 - 0.0                        # ∇ₐC of ½(y − a)², y = 0
    prime2 = a2 * (1 - a2)
    delta2 = grad_a * prime2
    wT_delta = w2 * delta2                   # (w²)ᵀδ², one per hidden unit
    prime1 = a1 * (1 - a1)
    shown = visible_text(trace("mlp-2-3-1", "--format", "svg"))
    assert f"∇ₐC = {fmt(grad_a)}" in shown and f"f′(z²) = {fmt(prime2)}" in shown
    for j in range(3):
        assert f"(w²)ᵀδ² = {fmt(wT_delta[j])}" in shown
        assert f"f′(z¹) = {fmt(prime1[j])}" in shown
    assert "δ¹ = (w²)ᵀδ² ⊙ f′(z¹)" in shown and "δ² = ∇ₐC ⊙ f′(z²)" in shown


def test_a_softmax_log_likelihood_drawing_states_a_minus_y_and_prints_grad_a(
        trace_file) -> None:
    shown = visible_text(trace(trace_file(SOFTMAX_NET), "--format", "svg"))
    a1 = sigmoid(np.array([[0.5, -0.25], [1.0, 0.75]]) @ [1.0, -1.0] + [0.1, -0.1])
    z2 = np.array([[1.0, -2.0], [0.5, 1.5]]) @ a1
    a2 = np.exp(z2) / np.exp(z2).sum()
    assert "= a² − y" in shown
    assert f"∇ₐC = {fmt(-1 / a2[1])}" in shown        # −y/a for the target unit
    assert f"δ² = {fmt(a2[0])}" in shown and f"δ² = {fmt(a2[1] - 1)}" in shown


def test_the_drawing_closes_with_each_layers_summary() -> None:
    svg = trace("mlp-2-3-1", "--format", "svg")
    root = ET.fromstring(svg)
    summary = [g for g in root.iter(f"{SVG}g") if g.get("class") == "summary"]
    assert len(summary) == 1
    text = " ".join(summary[0].itertext())
    delta1 = np.array([0.08752, 0.04702, 0.02147])    # the lecture's δ¹ (4 digits)
    assert fmt(np.abs(delta1).mean())[:4] in text and "saturated" in text and "0 of 3" in text


def test_the_mnist_boxes_print_the_factors_statistics(mnist_svg: str) -> None:
    shown = visible_text(mnist_svg)
    for name in ("f′(z¹)", "(w²)ᵀδ²", "f′(z²)", "(w³)ᵀδ³", "∇ₐC", "f′(z³)"):
        assert name in shown


def test_the_html_tables_hold_the_factors_and_the_summary() -> None:
    page = trace("mlp-2-3-1", "--format", "html")
    tables = visible_text(" ".join(re.findall(r"<table>.*?</table>", page, flags=re.S)))
    for header in ("f′(z¹)", "(w²)ᵀδ²", "f′(z²)", "∇ₐC", "mean |δ", "saturated"):
        assert header in tables, header
    assert "0.5868" in tables   # (w²)ᵀδ² of unit 1 = 7 · 0.08383


# --- ∂C/∂w printed ------------------------------------------------------------------------


def test_every_gradient_of_the_2_3_1_is_printed_not_only_in_tooltips() -> None:
    from fcnn_cli.trace import build

    result = build("mlp-2-3-1")
    shown = visible_text(trace("mlp-2-3-1", "--format", "svg"))
    for layer in result.layers:
        for g in layer.dC_dw.ravel():
            assert f"∂C/∂w = {fmt(g)}" in shown


# --- edge labels: each on its own edge ----------------------------------------------------


def _labels_and_edges(svg: str) -> tuple[dict[str, list], dict[str, tuple]]:
    """Each edge label as its four corners (from the SVG's own transform and plate), and
    each edge as its segment, both keyed by 'l,j,k'."""
    root = ET.fromstring(svg)
    labels, edges = {}, {}
    for g in root.iter(f"{SVG}g"):
        key = g.get("data-w")
        if key is None:
            continue
        if g.get("class") == "edge-label":
            cx, cy, angle = map(float, re.match(
                r"translate\(([-\d.]+) ([-\d.]+)\) rotate\(([-\d.]+)\)",
                g.get("transform")).groups())
            rect = g.find(f"{SVG}rect")
            w, h = float(rect.get("width")), float(rect.get("height"))
            t = math.radians(angle)
            u, n = (math.cos(t), math.sin(t)), (-math.sin(t), math.cos(t))
            labels[key] = [(cx + s * w / 2 * u[0] + r * h / 2 * n[0],
                            cy + s * w / 2 * u[1] + r * h / 2 * n[1])
                           for s, r in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            labels[key].append(" | ".join("".join(t.itertext()) for t in g.iter(f"{SVG}text")))
        else:
            line = g.find(f"{SVG}line")
            edges[key] = tuple(float(line.get(a)) for a in ("x1", "y1", "x2", "y2"))
    return labels, edges


def _separated(p: list, q: list) -> bool:
    """Whether two convex polygons are apart (a separating axis exists)."""
    for poly in (p, q):
        for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
            ax, ay = y1 - y2, x2 - x1
            pp = [x * ax + y * ay for x, y in p]
            qq = [x * ax + y * ay for x, y in q]
            if max(pp) <= min(qq) or max(qq) <= min(pp):
                return True
    return False


def _inside(poly: list, x: float, y: float) -> bool:
    signs = [(x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
             for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1])]
    return all(s > 0 for s in signs) or all(s < 0 for s in signs)


def _distance(x: float, y: float, seg: tuple) -> float:
    x1, y1, x2, y2 = seg
    t = max(0.0, min(1.0, ((x - x1) * (x2 - x1) + (y - y1) * (y2 - y1))
                     / ((x2 - x1) ** 2 + (y2 - y1) ** 2)))
    return math.hypot(x - x1 - t * (x2 - x1), y - y1 - t * (y2 - y1))


def _check_labels(svg: str, layer: int, count: int) -> None:
    labels, edges = _labels_and_edges(svg)
    mine = {k: v for k, v in labels.items() if k.startswith(f"{layer},")}
    assert len(mine) == count
    keys = sorted(mine)
    for i, a in enumerate(keys):        # no two labels overlap
        for b in keys[i + 1:]:
            assert _separated(mine[a][:4], mine[b][:4]), (a, b)
    for key, (*corners, _) in mine.items():
        cx = sum(x for x, _ in corners) / 4
        cy = sum(y for _, y in corners) / 4
        own = _distance(cx, cy, edges[key])
        for other, seg in edges.items():
            if other == key:
                continue
            assert own < _distance(cx, cy, seg), (key, other)
            # and no other edge passes under the label
            for t in np.linspace(0, 1, 200):
                px, py = seg[0] + t * (seg[2] - seg[0]), seg[1] + t * (seg[3] - seg[1])
                assert not _inside(corners, px, py), (key, other)


def test_the_2_3_1_w1_labels_are_apart_and_each_on_its_own_edge() -> None:
    svg = trace("mlp-2-3-1", "--format", "svg")
    _check_labels(svg, 1, 6)
    _check_labels(svg, 2, 3)
    labels, _ = _labels_and_edges(svg)
    assert labels["1,3,2"][-1].startswith("6") and "∂C/∂w = -0.02147" in labels["1,3,2"][-1]


def test_the_architecture_network_with_weights_1_to_14_shows_all_of_them(trace_file) -> None:
    svg = trace(trace_file(ARCHITECTURE_1_14), "--format", "svg")
    labels, _ = _labels_and_edges(svg)
    for layer, count in ((1, 8), (2, 4), (3, 2)):
        _check_labels(svg, layer, count)
    shown = sorted(int(float(text.split(" ")[0])) for *_, text in labels.values())
    assert shown == list(range(1, 15))


def test_edges_too_many_to_label_are_listed_and_the_drawing_says_so(trace_file) -> None:
    svg = trace(trace_file(FAN_OUT), "--format", "svg")
    labels, edges = _labels_and_edges(svg)
    assert not any(k.startswith("1,") for k in labels) and len(edges) == 12 + 6
    shown = visible_text(svg)
    assert "w¹ is listed at the right" in shown and "w¹: 12 weights" in shown
    for j in range(1, 7):
        for k in (1, 2):
            assert f"[{j},{k}]" in shown
    assert "-0.03324" in shown            # ∂C/∂w¹[2,2], in the list


# --- MNIST: compact ------------------------------------------------------------------------


def test_the_mnist_drawing_is_compact(mnist_svg: str) -> None:
    root = ET.fromstring(mnist_svg)
    width, height = float(root.get("width")), float(root.get("height"))
    # What it holds, side by side: the inputs' box (240 px), two 310-px boxes of the
    # 800-unit layers and the 10 output units as rows of numbers (~660 px, 230 of them
    # for b → b − η∂C/∂b, whose tiny step needs 12 digits), joined by 90-px edges:
    # ~1,850 px wide; the tallest box (22 lines of 15 px, ~360 px) under the header's 5
    # lines and captions, then the summary and the legend: ~700 px tall. It was
    # 2276 × 1557, mostly empty.
    assert width <= 1900 and height <= 720
    assert width * height <= 0.4 * 2276 * 1557
    boxes = [float(r.get("y")) + float(r.get("height")) for r in root.iter(f"{SVG}rect")
             if r.get("class") in ("box", "value", "cost")]
    assert max(boxes) <= height   # nothing drawn below the picture's edge


# --- cost per step and variants -----------------------------------------------------------


def test_steps_draw_a_cost_chart_with_one_point_per_cost() -> None:
    svg = trace("mlp-2-3-1", "--steps", "7", "--format", "svg")
    root = ET.fromstring(svg)
    series = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cost-series"]
    assert len(series) == 1
    points = series[0].find(f"{SVG}polyline").get("points").split()
    assert len(points) == 8                             # C₀ … C₇
    ys = [float(p.split(",")[1]) for p in points]
    assert ys == sorted(ys)                             # the cost falls: the line descends
    assert "C₀ … C₇" in visible_text(svg)


def test_without_steps_there_is_no_cost_chart() -> None:
    assert 'class="cost-chart"' not in trace("mlp-2-3-1", "--format", "svg")


def test_variants_share_one_chart_with_a_legend_and_are_columns_of_the_page() -> None:
    svg = trace("learning-slowdown", "--format", "svg")
    root = ET.fromstring(svg)
    series = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cost-series"]
    assert [g.get("data-label") for g in series] == ["cost: quadratic", "cost: cross-entropy"]
    assert all(len(g.find(f"{SVG}polyline").get("points").split()) == 151 for g in series)
    chart = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "cost-chart")
    legend = " ".join(chart.itertext())
    assert "cost: quadratic: 0.4822 →" in legend and "cost: cross-entropy: 4.018 →" in legend
    page = trace("learning-slowdown", "--format", "html")
    header = re.search(r"the variants side by side</h2>.*?<thead>(.*?)</thead>", page,
                       flags=re.S).group(1)
    assert "cost: quadratic" in header and "cost: cross-entropy" in header


# --- the decision regions of a two-input model ---------------------------------------------


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("planar")
    model, point = folder / "circle.h5", folder / "point.npy"
    result = CliRunner().invoke(app, ["train", "circle", "--set", "training.epochs=2",
                                      "--out", str(model), "--quiet"])
    assert result.exit_code == 0, result.output
    np.save(point, np.array([[0.5, -0.3]], dtype=np.float32))
    return str(model), str(point)


def test_a_two_input_model_marks_the_example_on_its_decision_regions(two_inputs) -> None:
    model, point = two_inputs
    svg = trace("--model", model, "--input", point, "--format", "svg")
    root = ET.fromstring(svg)
    boundary = [g for g in root.iter(f"{SVG}g") if g.get("class") == "boundary"]
    assert len(boundary) == 1
    nested = boundary[0].find(f"{SVG}svg")
    assert nested is not None and nested.find(f"{SVG}image") is not None
    assert float(nested.get("y")) + float(nested.get("height")) <= float(root.get("height"))
    page = trace("--model", model, "--input", point, "--format", "html")
    assert "decision regions" in page and page.count("data:image/png;base64,") == 1


def test_mnist_has_no_decision_regions(mnist_svg: str) -> None:
    assert 'class="boundary"' not in mnist_svg and "data:image/png" not in mnist_svg


# --- the pages in a browser ----------------------------------------------------------------

@pytest.mark.parametrize("args", [["mlp-2-3-1"], ["learning-slowdown"],
                                  ["--model", "mnist", "--input", IMAGE]],
                         ids=["2-3-1", "steps-and-variants", "mnist"])
@pytest.mark.parametrize("width", [1400, 400])
def test_the_page_shows_its_drawing_in_a_browser(browser, tmp_path: Path, args: list[str],
                                                 width: int) -> None:
    path = tmp_path / "page.html"
    path.write_text(trace(*args, "--format", "html"), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(path.resolve().as_uri())
        figure = page.locator("figure svg").first.bounding_box()
        assert figure is not None and figure["width"] > 300 and figure["height"] > 150
        drawn = page.evaluate("""() => [...document.querySelectorAll('figure svg text')]
            .filter(t => t.getBBox().width > 0).length""")
        assert drawn > 20                                  # its text is laid out
        shot = page.screenshot(full_page=False)
        assert len(shot) > 20_000                          # a blank page compresses to less
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= width + 1                     # only figures and tables scroll
    finally:
        page.close()


def test_the_architecture_example_numbers_its_14_weights_on_their_edges() -> None:
    svg = trace("architecture", "--format", "svg")
    root = ET.fromstring(svg)
    labels = {g.get("data-w"): " ".join(t.text or "" for t in g.iter(f"{SVG}text"))
              for g in root.iter(f"{SVG}g") if g.get("class") == "edge-label"}
    assert sorted(map(int, labels)) == list(range(1, 15))
    assert labels["1"] == "1: w¹₁₁" and labels["8"] == "8: w¹₄₂" and labels["14"] == "14: w³₂₁"
