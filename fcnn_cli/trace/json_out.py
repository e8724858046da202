"""A trace as JSON (`--format json`): exactly the DESIGN §5 object, a stable interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fcnn_cli.trace.examples import GateExample, SoftmaxExample

if TYPE_CHECKING:
    from fcnn_cli.trace.compute import TraceResult
    from fcnn_cli.trace.examples import ArchitectureExample


def trace_json(result: TraceResult) -> dict:
    """Exactly the DESIGN §5 object."""
    return {
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
        } for layer in result.layers],
        "gradient_check": {"max_rel_error": result.max_rel_error},
    }


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
