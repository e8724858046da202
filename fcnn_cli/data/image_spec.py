"""How a picture file becomes one model input: the pipeline, the size, the channels.

A model stores its `ImageSpec` (as JSON, in /preprocess) so that `train`, `eval`,
`predict` and `forward-trace --model` prepare every picture the same way. This module
is the spec alone: no Pillow, so a model can be loaded without importing it.

- `digit`: handwritten or printed digits, as MNIST made them (crop to the ink, 20/28
  box, centre of mass), gray;
- `object`: a thing on a plain background, as Fashion-MNIST made its product shots
  (trim the background, longer side to the size, pad to square, light backgrounds
  inverted), gray;
- `resize`: any photo, resized to the size (`fit`: pad or crop to keep the aspect
  ratio, or stretch), gray or RGB.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

PIPELINES = ("digit", "object", "resize")
FITS = ("pad", "crop", "stretch")


@dataclass(frozen=True)
class ImageSpec:
    pipeline: str = "digit"
    size: tuple[int, int] = (28, 28)  # (height, width) of the prepared picture
    channels: int = 1                 # 1: gray; 3: RGB (resize only)
    fit: str = "pad"                  # resize only: how the aspect ratio is kept

    @property
    def shape(self) -> tuple[int, ...]:
        """The prepared picture's array shape: (H, W) gray, (H, W, 3) RGB."""
        return self.size if self.channels == 1 else (*self.size, self.channels)

    def to_json(self) -> str:
        return json.dumps({"pipeline": self.pipeline, "size": list(self.size),
                           "channels": self.channels, "fit": self.fit})

    @classmethod
    def from_json(cls, text: str) -> ImageSpec:
        raw = json.loads(text)
        return cls(str(raw["pipeline"]), (int(raw["size"][0]), int(raw["size"][1])),
                   int(raw.get("channels", 1)), str(raw.get("fit", "pad")))

    @classmethod
    def parse(cls, raw: object) -> ImageSpec | None:
        """A spec from its decoded JSON, each key checked; None where it is no valid spec
        (a damaged model file, another tool's metadata)."""
        if not isinstance(raw, dict):
            return None
        size, channels, fit = raw.get("size"), raw.get("channels", 1), raw.get("fit", "pad")

        def whole(n: object) -> bool:
            return type(n) is int and n > 0  # (bool is no size)

        if raw.get("pipeline") not in PIPELINES or fit not in FITS or channels not in (1, 3) \
                or not whole(channels) or not isinstance(size, list) or len(size) != 2 \
                or not all(map(whole, size)):
            return None
        return cls(raw["pipeline"], (size[0], size[1]), channels, fit)

    def problem(self) -> str | None:
        """What makes a spec built in code one no pipeline can follow (one line), or None."""
        if self.pipeline not in PIPELINES:
            return f"unknown image pipeline {self.pipeline!r}; use one of {', '.join(PIPELINES)}"
        if self.channels != 1 and (self.pipeline != "resize" or self.channels != 3):
            wanted = "1 (gray) or 3 (RGB)" if self.pipeline == "resize" else "1 (gray)"
            hint = "" if self.pipeline == "resize" else "; for RGB inputs use the resize pipeline"
            return (f"the {self.pipeline} pipeline makes pictures of {wanted} channels, "
                    f"not {self.channels}{hint}")
        if self.fit not in FITS:
            return f"unknown fit {self.fit!r} for resized pictures; use one of {', '.join(FITS)}"
        if len(self.size) != 2 or min(self.size) < 1:
            return f"an image size must be two positive numbers (height, width), not {self.size}"
        return None

    def describe(self) -> str:
        """`digit, 28×28 gray`, `resize (pad), 32×32 RGB`."""
        colour = "gray" if self.channels == 1 else "RGB"
        how = f" ({self.fit})" if self.pipeline == "resize" else ""
        return f"{self.pipeline}{how}, {self.size[0]}×{self.size[1]} {colour}"


def default_pipeline(dataset: str | None) -> str:
    """The pipeline a named dataset's pictures were made with; `digit` otherwise."""
    return "object" if dataset == "fashion-mnist" else "digit"


def spec_for_shape(input_shape: tuple[int, ...], pipeline: str = "digit") -> ImageSpec | None:
    """The spec of a model that stored none (fcnn 0.2 and before): pictures fill its
    input shape, (H, W), (H, W, 3), or a flat n×n; None when the inputs are not pictures."""
    if len(input_shape) == 2:
        return ImageSpec(pipeline, (int(input_shape[0]), int(input_shape[1])))
    if len(input_shape) == 3 and input_shape[2] in (1, 3):
        return ImageSpec("resize" if input_shape[2] == 3 else pipeline,
                         (int(input_shape[0]), int(input_shape[1])), int(input_shape[2]))
    if len(input_shape) == 1 and math.isqrt(input_shape[0]) ** 2 == input_shape[0] > 1:
        side = math.isqrt(input_shape[0])
        return ImageSpec(pipeline, (side, side))
    return None
