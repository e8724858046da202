"""forward-trace: the lecture's worked examples, with real numbers, on any small network.

A trace (DESIGN §5) is one forward pass, one backward pass, one gradient-descent step and
a gradient check, all in float64.  The package keeps each concern in its own module:

    examples.py    the built-in examples and trace files: parsing and validation
    compute.py     the computation: one TraceResult (with a LayerTrace per layer)
    formatting.py  the number and label helpers every renderer shares
    json_out.py    --format json (DESIGN §5, stable)
    markdown.py    --format markdown (LaTeX symbols, for notes and slides)
    svg.py         --format svg: the network drawn, or a picture of a non-network example
    html_out.py    --format html: the drawing and the tables on one self-contained page

The terminal tables live in `fcnn_cli/ui.py`, with everything else that uses rich.
Every renderer reads the same TraceResult and only formats numbers.
"""

from fcnn_cli.trace.compute import (
    FULL_CHECK_LIMIT,
    LayerSummary,
    LayerTrace,
    TraceResult,
    build,
    compute_trace,
    layer_summaries,
    to_float64,
    trace_model,
    trace_network,
)
from fcnn_cli.trace.examples import (
    ArchitectureExample,
    Example,
    GateExample,
    SoftmaxExample,
    TraceSpec,
    architecture_of,
    gate_example,
    list_examples,
    load,
    parse_document,
    parse_trace,
    softmax_example,
)
from fcnn_cli.trace.formatting import (
    WIDE,
    Array,
    architecture_reasoning,
    comparison_rows,
    fmt,
    fmt_array,
    fmt_new,
    fmt_old,
    fmt_pair,
    fmt_shape,
    gate_rows,
    gate_sensitivity,
    gradient_check_warning,
    plural,
    sup,
    top_delta_units,
    wide_layer_view,
)
from fcnn_cli.trace.html_out import trace_html
from fcnn_cli.trace.json_out import example_json, trace_json
from fcnn_cli.trace.markdown import example_markdown, trace_markdown
from fcnn_cli.trace.steps import MAX_STEPS, check_steps, trace_steps
from fcnn_cli.trace.svg import example_svg, trace_svg

__all__ = [
    "FULL_CHECK_LIMIT", "WIDE", "ArchitectureExample", "Array", "Example", "GateExample",
    "LayerSummary", "LayerTrace", "SoftmaxExample", "TraceResult", "TraceSpec", "architecture_of",
    "architecture_reasoning", "build", "comparison_rows", "compute_trace", "example_json",
    "example_markdown", "example_svg", "fmt", "fmt_array", "fmt_new", "fmt_old",
    "fmt_pair", "fmt_shape",
    "gate_example", "gate_rows", "gate_sensitivity", "gradient_check_warning", "layer_summaries",
    "list_examples", "load", "parse_document", "parse_trace", "plural", "softmax_example",
    "sup", "to_float64", "top_delta_units", "trace_html", "trace_json", "trace_markdown",
    "trace_model", "trace_network", "trace_svg", "wide_layer_view",
    "MAX_STEPS", "check_steps", "trace_steps",
]
