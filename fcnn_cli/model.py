"""A trained model: the network, the preprocessing its inputs need, and what it can do.

`fcnn_cli.load_model` returns one and `fcnn_cli.train` builds one; the commands `eval`,
`predict` and `forward-trace --model` are thin layers over its methods. Every method
takes inputs in the raw units of the training data (pixels 0–255 for the MNIST family):
an array of one or more examples, or files — image files, folders of images, `.npy` and
`.csv` batches — which go through the same pipeline as `fcnn predict`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.split import Normalizer
from fcnn_cli.errors import FcnnError
from fcnn_cli.nn import Network

if TYPE_CHECKING:
    from fcnn_cli.inputs import Batch
    from fcnn_cli.metrics import Report
    from fcnn_cli.trace.compute import TraceResult

# An array of raw examples, or files: one path, or several.
Inputs = np.ndarray | str | Path | Sequence[str | Path]
Progress = Callable[[int, int], None]  # (inputs done, inputs in all)


@dataclass
class Model:
    """A trained network and everything needed to use it on raw inputs."""

    network: Network
    normalizer: Normalizer
    input_shape: tuple[int, ...]
    class_names: list[str] | None = None  # None: a regression model
    pixel_max: float | None = None         # the value of full ink, for image data
    config_text: str = ""                  # the resolved training config, YAML
    history: dict[str, np.ndarray] = field(default_factory=dict)  # one value per epoch
    created: str = ""
    source: str = ""                       # the file it was loaded from, for messages
    image: ImageSpec | None = None         # how a picture file becomes an input; None:
    #                                        the inputs are not pictures
    feature_names: list[str] | None = None  # a CSV model's feature columns, in input order
    target_names: list[str] | None = None   # a regression model's outputs
    target_normalizer: Normalizer | None = None  # regression: targets as the network sees them
    split_sizes: dict[str, int] | None = None  # examples in train, val, test when trained
    fcnn_version: str = ""                     # the fcnn that wrote the file
    # per layer, first hidden layer first: speed, saturated, dead, update_ratio per epoch
    # (fcnn_cli/nn/diagnostics.py); [] for a model trained before they were recorded
    diagnostics: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:
        kind = f"{len(self.class_names)} classes" if self.class_names else "regression"
        where = f", from {self.source}" if self.source else ""
        return f"<fcnn Model {'-'.join(map(str, self.architecture))}, {kind}{where}>"

    @property
    def architecture(self) -> list[int]:
        """Units per layer, the input first: [784, 800, 800, 10]."""
        return self.network.sizes

    @property
    def display_name(self) -> str:
        """How messages name the model: the file it came from."""
        return self.source or "the model"

    @property
    def is_classifier(self) -> bool:
        return self.class_names is not None

    @property
    def output_names(self) -> list[str]:
        """A name for each column of `predict_proba` or of a regression's `predict`."""
        if self.class_names is not None:
            return self.class_names
        return self.target_names or [f"output {j}" for j in range(self.architecture[-1])]

    def in_target_units(self, a: np.ndarray) -> np.ndarray:
        """A regression network's outputs a^L in the units of the training targets."""
        return a if self.target_normalizer is None else self.target_normalizer.inverse(a)

    def prepare(self, x_raw: np.ndarray) -> np.ndarray:
        """Raw inputs (N, *input_shape) → the network's normalised (N, I) input."""
        return self.normalizer(x_raw)

    def outputs(self, x_raw: np.ndarray) -> np.ndarray:
        """The output layer's activations a^L for raw rows (N, I), a few thousand at a time.
        Outputs that overflow are one clear error, never NaN labels or NumPy warnings."""
        with np.errstate(over="ignore", invalid="ignore"):
            a = in_chunks(lambda rows: self.network.predict(self.prepare(rows)), x_raw)
        if not np.isfinite(a).all():
            raise FcnnError(f"{self.display_name} computes outputs that are not finite "
                            "(beyond float32's range) on these inputs: inputs far outside "
                            "the training data's range, or a model whose training diverged; "
                            "check the inputs' units, or retrain the model")
        return a

    def predict_proba(self, x: Inputs, workers: int | None = None,
                      progress: Progress | None = None) -> np.ndarray:
        """Class probabilities (N, classes), one row per input.

        `x`: an array of raw examples ((N, *input_shape), (N, I), or one example), or
        files (image, folder of images, .npy, .csv; a path or a list of them). Image files
        are decoded and prepared on `workers` processes (default: all cores).
        """
        if not self.is_classifier:
            raise FcnnError(f"{self.display_name} is a regression model: it has no "
                            "class probabilities; use predict")
        return self._outputs_of(x, workers, progress)

    def predict(self, x: Inputs, workers: int | None = None,
                progress: Progress | None = None) -> np.ndarray:
        """The predicted class name of each input (N,), or the outputs (N, K) of a
        regression model in the units of its training targets. Inputs as for
        `predict_proba`."""
        a = self._outputs_of(x, workers, progress)
        if not self.is_classifier:
            return a
        return np.array(self.class_names, dtype=object)[a.argmax(axis=1)]

    def evaluate(self, data: str | None = None, split: str | None = None) -> Report:
        """Accuracy, loss, per-class precision/recall/F1 and the confusion matrix (for a
        regression model: the cost and each output's mean absolute error).

        Without `data`: on `split` (test, val, train or all; default test) of the model's
        own dataset, chosen as training chose it. With `data` (a dataset name or a path)
        that is not the model's own: on all of it by default; `split="test"` takes its
        official test set, or else splits it with the model's training fractions."""
        from fcnn_cli.evaluation import evaluate

        return evaluate(self, data, split)

    def trace(self, x: str | Path | np.ndarray, target: str | None = None,
              lr: float | None = None, steps: int | None = None) -> TraceResult:
        """Forward pass, backprop and one gradient step on one input, every layer's z, a
        and δ kept, with a gradient check (float64). `target` is a class name (default:
        the predicted class) or, for regression, comma-separated numbers; `lr` is η
        (default: the model's configured learning rate); `steps` takes that many updates
        on the input, recording the cost after each (`result.cost_history`)."""
        from fcnn_cli.trace.compute import trace_model

        return trace_model(self, x, target, lr, steps)

    def save(self, path: str | Path, compact: bool = False) -> None:
        """Write the model as an HDF5 file, atomically (a crash leaves the old file);
        `compact` stores the weights as float16, half the size (as the shipped models)."""
        from fcnn_cli.store import save_model

        save_model(path, self, compact)

    def _outputs_of(self, x: Inputs, workers: int | None, progress: Progress | None
                    ) -> np.ndarray:
        if isinstance(x, np.ndarray) or not _are_paths(x):
            from fcnn_cli.inputs import as_rows

            return self.results(self.outputs(as_rows(np.asarray(x), self, "x")))
        paths = [x] if isinstance(x, (str, Path)) else list(x)  # type: ignore[arg-type]
        return np.concatenate([a for _, a in self.iter_outputs(paths, workers, progress)])

    def iter_outputs(self, paths: list[str | Path] | list[Path], workers: int | None = None,
                     progress: Progress | None = None) -> Iterator[tuple[Batch, np.ndarray]]:
        """Each chunk of the inputs at `paths`, in order, with its results: one column per
        class (probabilities), or a regression's outputs in its targets' units. Runs of
        many images (the ones worker processes prepare) run the network on one BLAS
        thread (fcnn_cli/inputs.py says why)."""
        from fcnn_cli.inputs import iter_batches

        for batch in iter_batches(paths, self, workers, progress):
            yield batch, self.results(self.outputs(batch.x))

    def results(self, a: np.ndarray) -> np.ndarray:
        """What predict answers for the output activations `a` (from `outputs`): one
        column per class (a single sigmoid unit's a becomes (1 − a, a)), or the
        regression outputs in target units."""
        if not self.is_classifier:
            return self.in_target_units(a)
        return np.hstack([1 - a, a]) if a.shape[1] == 1 else a


def in_chunks(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, chunk: int = 8192
              ) -> np.ndarray:
    """predict(x) a few thousand rows at a time, so the hidden layers' memory stays small."""
    if len(x) == 0:  # zero rows still give an output of the right width
        return predict(x)
    return np.concatenate([predict(x[i:i + chunk]) for i in range(0, len(x), chunk)])


def _are_paths(x: object) -> bool:
    if isinstance(x, (str, Path)):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and \
        all(isinstance(item, (str, Path)) for item in x)
