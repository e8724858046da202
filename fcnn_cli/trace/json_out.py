"""A trace as JSON (`--format json`): the DESIGN §5 object, a stable interface, with keys
only ever added (each layer's factors of δ, the per-layer summary), never changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fcnn_cli.trace.compute import layer_summaries
from fcnn_cli.trace.examples import GateExample, SoftmaxExample

if TYPE_CHECKING:
    from fcnn_cli.trace.compute import LayerSummary, LayerTrace, TraceResult
    from fcnn_cli.trace.examples import ArchitectureExample


def trace_json(result: TraceResult) -> dict:
    """The DESIGN §5 object, plus (additively) each layer's factors of δ and a summary."""
    out = {
        "architecture": result.architecture,
        "x": result.x.tolist(),
        "y": result.y.tolist(),
        "cost_name": result.cost_name,
        "cost": result.cost,
        "lr": result.lr,
        "layers": [{
            "l": layer.l, "activation": layer.activation,
            "w": layer.w.tolist(), "b": layer.b.tolist(),
            "z": layer.z.tolist(), "a": layer.a.tolist(), "delta": layer.delta.tolist(),
            "dC_dw": layer.dC_dw.tolist(), "dC_db": layer.dC_db.tolist(),
            "w_new": layer.w_new.tolist(), "b_new": layer.b_new.tolist(),
            **_factors(layer),
        } for layer in result.layers],
        "gradient_check": {"max_rel_error": result.max_rel_error},
    }
    out["layer_summary"] = [_summary(s) for s in layer_summaries(result)]
    return _steps_and_variants(result, out)


def _factors(layer: LayerTrace) -> dict:
    """The factors of δ^l (N × units each) and, for PReLU, the slopes and their step;
    `delta_rule` says how they multiply: "a - y" where the output pair cancels."""
    arrays = {"f_prime": layer.f_prime, "dC_da": layer.dC_da, "wT_delta": layer.wT_delta,
              "alpha": layer.alpha, "dC_dalpha": layer.dC_dalpha, "alpha_new": layer.alpha_new}
    out: dict = {key: value.tolist() for key, value in arrays.items() if value is not None}
    if layer.delta_rule:
        out["delta_rule"] = layer.delta_rule
    return out


def _summary(summary: LayerSummary) -> dict:
    return {"l": summary.l, "mean_abs_delta": summary.mean_abs_delta,
            "dC_db_norm": summary.dC_db_norm, "saturated": summary.saturated,
            "dead": summary.dead, "saturated_if_f_prime_below": summary.saturation_below}


def example_json(example: SoftmaxExample | GateExample | ArchitectureExample) -> dict:
    """The non-network examples as JSON (DESIGN §5 covers only traces; these add `kind`)."""
    if isinstance(example, SoftmaxExample):
        return {"kind": "softmax", "x": example.x.tolist(), "exp": example.exp.tolist(),
                "exp_total": float(example.exp.sum()), "softmax": example.p.tolist(),
                "softmax_total": float(example.p.sum())}
    if isinstance(example, GateExample):
        return {"kind": "gate", "function": "f = (x + y) * z",
                "inputs": {"x": example.x, "y": example.y, "z": example.z},
                "forward": {"q": example.q, "f": example.f},
                "local": {"df_dq": example.df_dq, "df_dz": example.df_dz,
                          "dq_dx": example.dq_dx, "dq_dy": example.dq_dy},
                "chained": {"df_dx": example.df_dx, "df_dy": example.df_dy,
                            "df_dz": example.df_dz},
                "nudge": {"input": example.nudge_name, "by": example.nudge_by,
                          "f_after": example.f_nudged,
                          "change": example.f_nudged - example.f}}
    return {"kind": "architecture", "shapes": [list(s) for s in example.shapes],
            "architecture": example.sizes}


# --- trace steps and variants ---

def _steps_and_variants(result: TraceResult, out: dict) -> dict:
    """`out` with, after --steps K, "steps", "cost_history" [C_0, …, C_K] and "a_after"
    (a^L after the K updates); with variants, "variants": each its own whole trace object
    with its "label", the first being the trace above."""
    if result.cost_history is not None:
        out["steps"] = result.steps
        out["cost_history"] = result.cost_history
        if result.a_after is not None:
            out["a_after"] = result.a_after.tolist()
    if result.comparisons:
        label = result.label or result.cost_name
        out["variants"] = [{"label": label, **out}, *(
            {"label": r.label or r.cost_name, **trace_json(r)} for r in result.comparisons)]
    return out
