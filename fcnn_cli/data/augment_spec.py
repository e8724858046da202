"""What `data.augment` asks for: which random deformations, how large, how often.

The spec alone, free of NumPy, so that reading a config stays light; `augment.py` does
the deforming.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    """A transform's size (uniform in [−amount, amount]) and how often it is applied."""

    amount: float
    p: float = 1.0


@dataclass(frozen=True)
class Elastic:
    alpha: float       # displacement scale, pixels
    sigma: float       # smoothing, pixels
    p: float = 1.0


@dataclass(frozen=True)
class AugmentSpec:
    shift: Draw | None = None     # pixels, on each axis
    rotate: Draw | None = None    # degrees
    scale: Draw | None = None     # factor 1 ± amount
    shear: Draw | None = None     # factor: x moves by shear·y
    elastic: Elastic | None = None
    hflip: float = 0.0            # probability of a horizontal flip

    def describe(self) -> str:
        """`shift ±2 px, rotate ±12°, elastic α=34 σ=4 (p 0.5)`: for the start line."""
        def often(p: float) -> str:
            return "" if p == 1 else f" (p {p:g})"

        parts = []
        for name, draw, unit in (("shift", self.shift, " px"), ("rotate", self.rotate, "°"),
                                 ("scale", self.scale, ""), ("shear", self.shear, "")):
            if draw is not None:
                parts.append(f"{name} ±{draw.amount:g}{unit}{often(draw.p)}")
        if self.elastic is not None:
            e = self.elastic
            parts.append(f"elastic α={e.alpha:g} σ={e.sigma:g}{often(e.p)}")
        if self.hflip:
            parts.append(f"horizontal flip (p {self.hflip:g})")
        return ", ".join(parts) or "none"
