"""What a graph from another tool does not say about its inputs: `fcnn import`'s options.

fcnn's own export carries its preprocessing inside the graph and its picture spec in the
metadata, so importing it back needs no options. A graph from PyTorch or Keras says only
how many numbers it takes; the options say what those numbers are, and become the
model's own preprocessing, so that `predict`, `eval` and `forward-trace --model` take
raw pictures and pixel files (0–255) as with a model fcnn trained:

- `--image digit|object|resize`: the inputs are pictures, prepared by that pipeline;
- `--input-shape HxW | HxWxC | CxHxW`: how the graph lays out its features. CxHxW is
  PyTorch's order; fcnn's pictures are HxWxC, so the first layer's columns are put in
  that order, an exact permutation;
- `--scale S`: raw pixels are divided by S before the graph (255 for a graph trained on
  [0, 1], as torchvision's ToTensor gives);
- `--mean M --std S` (one number, or one per channel): then (x − M) / S, as
  torchvision's Normalize does;
- `--classes a,b,...` or `--class-names FILE`: the names of the output classes.

Raw x becomes x/scale, then (· − m)/s, then the graph's own Sub/Div (mean g, std t).
That is one normalisation (x − mean)/std with mean = scale·(m + s·g) and std =
scale·s·t, which the model stores as fcnn's Normalizer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fcnn_cli.data.image_spec import PIPELINES, ImageSpec, spec_for_shape
from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.model import Model

MAX_CLASS_NAMES_BYTES = 1 * 2**20  # a class-names file: one name a line


@dataclass(frozen=True)
class InputOptions:
    """`fcnn import`'s options about the inputs; None: not given."""

    image: str | None = None
    input_shape: tuple[int, ...] | None = None  # as the graph lays its features out
    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    class_names: tuple[str, ...] | None = None

    def preprocessing(self) -> list[str]:
        """The options given that say how inputs are prepared, as the CLI spells them."""
        given = {"--image": self.image, "--input-shape": self.input_shape,
                 "--scale": self.scale, "--mean": self.mean, "--std": self.std}
        return [option for option, value in given.items() if value is not None]


Numbers = str | float | Sequence[float]


def parse(image: str | None = None, input_shape: str | Sequence[int] | None = None,
          scale: str | float | None = None, mean: Numbers | None = None,
          std: Numbers | None = None, classes: str | Sequence[str] | None = None,
          class_names_file: str | Path | None = None) -> InputOptions:
    """The options, as typed on the command line (text) or given in Python (numbers,
    lists), each checked: a bad one is one line naming the option."""
    if image is not None and image not in PIPELINES:
        raise FcnnError(f"--image {image[:40]!r} is not a picture pipeline"
                        f"{did_you_mean(image, PIPELINES)}; choose {', '.join(PIPELINES)}")
    if classes is not None and class_names_file is not None:
        raise FcnnError("give the class names once: --classes or --class-names FILE")
    names = None
    if classes is not None:
        names = _names(classes.split(",") if isinstance(classes, str) else list(classes),
                       "--classes")
    elif class_names_file is not None:
        names = read_class_names(Path(class_names_file))
    number = _number(scale, "--scale") if scale is not None else None
    if number is not None and number <= 0:
        raise FcnnError(f"--scale {number:g} must be above 0: raw inputs are divided by it "
                        "(255 for a graph that takes pixels in [0, 1])")
    std_values = _numbers(std, "--std") if std is not None else None
    if std_values is not None and any(v <= 0 for v in std_values):
        raise FcnnError(f"--std {min(std_values):g}: a standard deviation is above 0 "
                        "(inputs are divided by it)")
    return InputOptions(image, parse_shape(input_shape) if input_shape is not None else None,
                        number, _numbers(mean, "--mean") if mean is not None else None,
                        std_values, names)


def parse_shape(text: str | Sequence[int]) -> tuple[int, ...]:
    """`28x28`, `28x28x3`, `3x32x32` or `784` (or a tuple) as a tuple of sizes."""
    if not isinstance(text, str):
        text = "x".join(str(n) for n in text)
    parts = re.split(r"\s*[x×,]\s*", text.strip().lower())
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise FcnnError(f"--input-shape {text[:40]!r} is not a shape; write HxW, HxWxC or "
                        "CxHxW with sizes above 0, e.g. 28x28, 32x32x3 or 3x32x32")
    return tuple(int(p) for p in parts)


def read_class_names(path: Path) -> tuple[str, ...]:
    """A text file with one class name a line (blank lines at the end ignored)."""
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not found"
        raise FcnnError(f"--class-names {path}: {what}; give a text file with one class "
                        "name a line")
    if path.stat().st_size > MAX_CLASS_NAMES_BYTES:
        raise FcnnError(f"--class-names {path} is over 1 MiB; give one class name a line")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise FcnnError(f"--class-names {path} cannot be read as UTF-8 text ({error})") from None
    return _names(text.rstrip("\r\n").splitlines(), f"--class-names {path}")


def _names(names: list[str], option: str) -> tuple[str, ...]:
    names = [n.strip() for n in names]
    if not names or not all(names):
        raise FcnnError(f"{option}: a class name is empty; give one name per class")
    repeated = next((n for n, count in Counter(names).items() if count > 1), None)
    if repeated is not None:
        raise FcnnError(f"{option}: the class name {repeated[:40]!r} appears twice; "
                        "each class needs its own name")
    return tuple(names)


def _number(text: str | float, option: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FcnnError(f"{option} {str(text)[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise FcnnError(f"{option} {str(text)[:40]} is not a finite number")
    return value


def _numbers(text: Numbers, option: str) -> tuple[float, ...]:
    """One number, or one per channel separated by commas (or in a list)."""
    parts = text.split(",") if isinstance(text, str) else \
        list(text) if isinstance(text, Sequence) else [text]
    return tuple(_number(part, option) for part in parts)


# --- applying the options to an imported model ---------------------------------------


def apply(model: Model, options: InputOptions, path: Path) -> Model:
    """`model`, as read from the graph at `path`, with the inputs the options describe."""
    if options.class_names is not None:
        model = _with_class_names(model, list(options.class_names), path)
    given = options.preprocessing()
    if not given:
        return model
    if model.image is not None:  # fcnn's own export: its pictures are described already
        raise FcnnError(f"{path} describes its pictures already and carries its "
                        f"preprocessing inside the graph ({model.image.describe()}, normalize "
                        f"{model.normalizer.kind}); leave out {', '.join(given)}, which "
                        "would apply it a second time")
    features = model.architecture[0]
    shape = options.input_shape or _graph_shape(model.input_shape, features, options.image)
    if math.prod(shape) != features:
        raise FcnnError(f"--input-shape {'x'.join(map(str, shape))} holds {math.prod(shape)} "
                        f"values but the graph's first layer takes {features}")
    channels, layout = 1, shape
    if options.image is not None:
        if options.scale is None:
            raise FcnnError("--image needs --scale: say which pixel values the graph was "
                            "trained on, --scale 255 for [0, 1] (torchvision's ToTensor), "
                            "--scale 1 for 0–255")
        spec, channels_first = _picture(shape, options.image)
        channels, layout = spec.channels, spec.shape
        if channels_first and spec.channels > 1:
            model = _channels_last(model, spec.shape)
        model = replace(model, image=spec, pixel_max=255.0)
    normalizer = _normalizer(model.normalizer, options, channels, features)
    return replace(model, input_shape=tuple(layout), normalizer=normalizer)


def _with_class_names(model: Model, names: list[str], path: Path) -> Model:
    """The model with `names` for its classes; a single sigmoid unit given two names
    becomes a binary classifier (the probability of the second)."""
    from fcnn_cli.nn.costs import make_cost

    units, last = model.architecture[-1], model.network.activations[-1].name
    if model.class_names is None and units == 1 and last == "sigmoid" and len(names) == 2 \
            and model.target_normalizer is None:
        model.network.cost = make_cost("cross-entropy")
        return replace(model, class_names=names, target_names=None, target_normalizer=None)
    if model.class_names is None:
        how = "add --softmax if they are a classifier's logits, or " if last == "linear" \
            else ""
        raise FcnnError(f"{path}: the graph ends in {units} {last} outputs, not class "
                        f"probabilities; {how}leave out the class names for a model whose "
                        "outputs are numbers (regression)")
    if len(names) != len(model.class_names):
        raise FcnnError(f"{len(names)} class names given for the {len(model.class_names)} "
                        f"classes of {path}; give one name per class")
    return replace(model, class_names=names)


def _graph_shape(declared: tuple[int, ...], features: int, image: str | None
                 ) -> tuple[int, ...]:
    """The shape the graph's input declares (after the batch), when it is more than a flat
    row; else, for `--image`, a square gray picture n×n."""
    side = math.isqrt(features)
    if len(declared) > 1 or image is None:
        return declared
    if side * side != features:
        raise FcnnError(f"the graph takes {features} values per input, not a square "
                        "picture; give its shape with --input-shape, e.g. 32x32x3")
    return (side, side)


def _picture(shape: tuple[int, ...], pipeline: str) -> tuple[ImageSpec, bool]:
    """The picture spec of a graph input `shape`, and whether its channels come first."""
    channels_first = len(shape) == 3 and shape[0] in (1, 3) and shape[2] not in (1, 3)
    spec = spec_for_shape(shape[1:] + shape[:1] if channels_first else shape, pipeline)
    if spec is None:
        raise FcnnError(f"--input-shape {'x'.join(map(str, shape))} is not a picture; "
                        "write HxW (gray), HxWx3 or 3xHxW (RGB)")
    if spec.channels == 3 and pipeline != "resize":
        raise FcnnError(f"--image {pipeline} prepares gray pictures; a graph that takes "
                        "RGB pictures needs --image resize")
    return spec, channels_first


def _channels_last(model: Model, hwc: tuple[int, ...]) -> Model:
    """The same network taking HxWxC rows (fcnn's pictures) instead of CxHxW (PyTorch's):
    the first layer's columns, and any per-input normalisation, permuted."""
    height, width, channels = hwc
    order = np.arange(height * width * channels).reshape(channels, height, width) \
        .transpose(1, 2, 0).reshape(-1)  # for each HWC position, its CHW index
    network = model.network
    network.w[0] = np.ascontiguousarray(network.w[0][:, order])
    norm = model.normalizer
    permuted = [np.asarray(v)[order] if np.ndim(v) else v for v in (norm.mean, norm.std)]
    return replace(model, normalizer=Normalizer(norm.kind, *permuted))


def _normalizer(graph: Normalizer, options: InputOptions, channels: int,
                features: int) -> Normalizer:
    """x/scale, then (· − m)/s, then the graph's own (· − g)/t, as one (x − mean)/std."""
    scale = options.scale or 1.0
    m = _per_input(options.mean, channels, features, "--mean", 0.0)
    s = _per_input(options.std, channels, features, "--std", 1.0)
    g, t = np.asarray(graph.mean, np.float64), np.asarray(graph.std, np.float64)
    mean, std = scale * (m + s * g), scale * s * t
    if options.mean is not None or np.any(g != 0):
        kind = "standardize"
    else:
        kind = "scale" if np.any(std != 1) else graph.kind
    with np.errstate(all="ignore"):
        mean, std = _compact(mean), _compact(std)
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and np.all(std != 0)):
        raise FcnnError("--scale, --mean and --std together make a normalisation beyond "
                        "float32's range; give the values the graph was trained with")
    return Normalizer(kind, mean, std)


def _per_input(values: tuple[float, ...] | None, channels: int, features: int, option: str,
               default: float) -> np.ndarray:
    """One number, one per channel (repeated over the HxWxC pixels), or one per input."""
    if values is None:
        return np.full((), default)
    array = np.asarray(values, np.float64)
    if array.size == 1:
        return array.reshape(())
    if array.size == channels:
        return np.tile(array, features // channels)
    if array.size == features:
        return array
    raise FcnnError(f"{option} has {array.size} numbers; give one, or one per channel "
                    f"({channels})" + (f", or one per input ({features})" if channels == 1
                                        else ""))


def _compact(values: np.ndarray) -> np.ndarray:
    """float32, one number when every input has the same one."""
    values = np.asarray(values, np.float32)
    if values.ndim and values.size and np.all(values == values.flat[0]):
        return np.asarray(values.flat[0])
    return values
