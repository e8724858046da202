"""Models in and out of fcnn: export to ONNX and Keras, import MLPs from ONNX.

`export(model, out)` picks the format by OUT's suffix; `import_onnx(source, out)` reads an
MLP graph into an fcnn model file. Both write atomically (a temporary file in the same
folder, renamed into place), so a failure leaves nothing half-written. The format modules
import their libraries (onnx) only when called; a missing one is one line saying which
extra to install.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model

if TYPE_CHECKING:
    from fcnn_cli.exchange.input_options import InputOptions

FORMATS = (".onnx", ".keras")


def export(model: Model, out: str | Path) -> Path:
    """Write `model` to `out` as ONNX (`.onnx`) or a Keras 3 archive (`.keras`)."""
    from fcnn_cli.atomic import replaced
    from fcnn_cli.outputs import output_path

    out = output_path(out, "OUT", {"the model": model.source or None}, example="model.onnx")
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise FcnnError(f"cannot export to {out}: give a file ending in "
                        f"{' or '.join(FORMATS)} (ONNX, or a Keras 3 archive)")
    try:
        with replaced(out) as temporary:
            if suffix == ".onnx":
                from fcnn_cli.exchange.onnx_out import onnx_bytes

                temporary.write_bytes(onnx_bytes(model))
            else:
                from fcnn_cli.exchange.keras_out import write_keras

                write_keras(model, temporary)
    except OSError as error:
        raise FcnnError(f"cannot write {out}: {error.strerror or error}") from None
    return out


def import_onnx(source: str | Path, out: str | Path, add_softmax: bool = False,
                options: InputOptions | None = None) -> Model:
    """Read the MLP in the ONNX file `source`, save it as an fcnn model at `out`, return it.

    `add_softmax`: the graph ends in logits (a Linear layer, as PyTorch classifiers trained
    with CrossEntropyLoss do): make the last layer softmax, a classifier. `options`: what a
    graph from another tool does not say about its inputs (`input_options.parse`). The
    file is checked whole before anything is written; a refused file writes nothing."""
    from fcnn_cli.outputs import output_path

    source = Path(source)
    if not source.is_file():
        raise FcnnError(f"{source}: no such file; give an .onnx file")
    out = output_path(out, "OUT", {"the ONNX file": source}, example="model.h5")
    if out.suffix.lower() != ".h5":
        raise FcnnError(f"{out}: fcnn models are HDF5 files; give a name ending in .h5")
    from fcnn_cli.exchange.onnx_in import model_from_onnx

    model = model_from_onnx(source, add_softmax=add_softmax, options=options)
    model.save(out)
    return model


def description(model: Model) -> dict[str, Any]:
    """What an exported file says about the model beyond its weights (ONNX keeps it in
    `metadata_props`, the Keras archive in `metadata.json`); absent values left out."""
    from fcnn_cli import __version__
    from fcnn_cli.summary import stored_config

    net = model.network
    facts: dict[str, Any] = {
        "name": stored_config(model).get("name"),
        "architecture": "-".join(map(str, model.architecture)),
        "activations": [act.name for act in net.activations],
        "cost": net.cost.name,
        "normalize": model.normalizer.kind,
        "input_shape": list(model.input_shape),
        "class_names": model.class_names,
        "pixel_max": model.pixel_max,
        "image": json.loads(model.image.to_json()) if model.image is not None else None,
        "feature_names": model.feature_names,
        "target_names": model.target_names,
        "target_normalize": model.target_normalizer.kind if model.target_normalizer else None,
        "split_sizes": model.split_sizes,
        "history": {key: [float(v) for v in values] for key, values in model.history.items()
                    if getattr(values, "ndim", 1) == 1} or None,  # NaN: null (json_text)
        "fcnn_version": model.fcnn_version or __version__,
        "created": model.created or None,
        "config": model.config_text or None,
    }
    return {key: value for key, value in facts.items() if value is not None}

