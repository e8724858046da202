"""What a model file says about itself: its layers and how its training went.

`fcnn info` prints this, `fcnn report` puts it on its model card. Everything comes from
the file alone (the network, the stored config and the per-epoch history), so it works
without the training data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model


@dataclass
class LayerSummary:
    layer: int          # 1..L, as the lecture numbers them
    units: int
    activation: str
    dropout: float
    parameters: int     # weights and biases (and PReLU slopes)


@dataclass
class ModelSummary:
    name: str
    architecture: list[int]
    layers: list[LayerSummary]
    parameters: int
    cost: str
    dataset: str | None
    split_sizes: dict[str, int] | None
    epochs: int
    best_epoch: int | None          # 1-based, by the metric training monitored
    monitor: str
    kept_best: bool                 # early stopping: the saved weights are the best epoch's
    final: dict[str, float]         # the last epoch's history values
    best: dict[str, float]          # the best epoch's
    training_seconds: float
    optimizer: str
    schedule: str
    created: str
    fcnn_version: str
    history: dict[str, list[float]]  # one value per epoch
    # per layer, first hidden layer first: speed, saturated, dead, update_ratio per epoch
    # (Model.diagnostics; fcnn_cli/nn/diagnostics.py)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (NaN, as a regression's accuracy, and infinity become null)."""
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value
        return clean(asdict(self))


def summarize(model: Model) -> ModelSummary:
    config = stored_config(model)
    layers = _layers(model, config)
    history = model.history
    epochs = len(history.get("train_loss", []))
    training = config.get("training") or {}
    stopping = training.get("early_stopping") or {}
    monitor = stopping.get("monitor", "val_loss")
    best = best_epoch(history.get(monitor), monitor, stopping.get("min_delta", 0.0))
    data = config.get("data") or {}
    return ModelSummary(
        name=str(config.get("name", "")), architecture=model.architecture, layers=layers,
        parameters=sum(layer.parameters for layer in layers), cost=model.network.cost.name,
        dataset=data.get("dataset") or data.get("path"), split_sizes=model.split_sizes,
        epochs=epochs, best_epoch=best, monitor=monitor, kept_best=bool(stopping),
        final=_row(history, epochs), best=_row(history, best) if best else {},
        training_seconds=float(sum(history.get("seconds", []))),
        optimizer=optimiser_text(training), schedule=schedule_text(training),
        created=model.created, fcnn_version=model.fcnn_version,
        history={key: [float(v) for v in values] for key, values in history.items()},
        diagnostics=[{key: list(v) if isinstance(v, list) else v for key, v in layer.items()}
                     for layer in model.diagnostics])


def best_epoch(values: Any, monitor: str, min_delta: float = 0.0) -> int | None:
    """The 1-based epoch training counted as best on `monitor` (val_accuracy: highest;
    val_loss: lowest), by training's own rule: the first to improve on every earlier one
    by more than `min_delta`; None without validation numbers."""
    if values is None:
        return None
    sign = -1.0 if monitor == "val_accuracy" else 1.0  # lower score is better
    best: float | None = None
    epoch = None
    for index, value in enumerate(values):
        if math.isnan(value):
            continue
        if best is None or sign * value < best - min_delta:
            best, epoch = sign * value, index + 1
    return epoch


def stored_config(model: Model) -> dict[str, Any]:
    """The model's training config as plain data ({} when it carries none)."""
    from fcnn_cli.yamlfile import parse

    try:
        loaded = parse(model.config_text, "its stored config") if model.config_text else None
    except FcnnError:  # an unreadable stored config: the card shows what the file holds
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _layers(model: Model, config: dict[str, Any]) -> list[LayerSummary]:
    configured = (config.get("model") or {}).get("layers") or []
    net = model.network
    rows = []
    for l, (w, b, act) in enumerate(zip(net.w, net.b, net.activations), start=1):
        dropout = configured[l - 1].get("dropout", 0.0) if l <= len(configured) else 0.0
        slopes = getattr(act, "alpha", None)
        extra = 0 if slopes is None else int(slopes.size)
        rows.append(LayerSummary(l, w.shape[0], act.name, float(dropout or 0.0),
                                 int(w.size + b.size + extra)))
    return rows


def _row(history: dict[str, Any], epoch: int | None) -> dict[str, float]:
    if not epoch:
        return {}
    return {key: float(values[epoch - 1]) for key, values in history.items()
            if len(values) >= epoch}


def optimiser_text(training: dict[str, Any]) -> str:
    """`SGD, η 0.1, Nesterov momentum 0.9, batch 128`, from the config's training block."""
    optimizer = training.get("optimizer") or {}
    name = optimizer.get("name")
    if name is None:
        return "not recorded"
    lr = f"η {optimizer.get('lr')}"
    if name == "adam":
        text = f"Adam, {lr} (β₁ {optimizer.get('beta1')}, β₂ {optimizer.get('beta2')})"
    elif optimizer.get("momentum"):
        kind = "Nesterov momentum" if optimizer.get("nesterov") else "momentum"
        text = f"SGD, {lr}, {kind} {optimizer['momentum']}"
    else:
        text = f"SGD, {lr}"
    if training.get("l2"):
        text += f", L2 {training['l2']}"
    if "batch_size" in training:
        text += f", batch {training['batch_size']}"
    return text


def schedule_text(training: dict[str, Any]) -> str:
    schedule = training.get("lr_schedule") or {}
    name = schedule.get("name")
    if name == "step":
        return f"step: × {schedule.get('gamma')} every {schedule.get('step_size')} epochs"
    if name == "exponential":
        return f"exponential: × {schedule.get('gamma')} each epoch"
    if name == "cosine":
        return f"cosine, down to {schedule.get('min_lr', 0)}"
    return str(name or "not recorded")


BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 60, log: bool = False,
              scale: tuple[float, float] | None = None) -> tuple[str, float, float]:
    """`values` as one line of bars (epochs averaged in groups when there are more than
    `width`) and the range the bars span, lowest to highest bar: the smallest and largest
    value, or `scale` when given. `log`: bar heights by log₁₀ of the values (for numbers
    spanning decades). Values that cannot be drawn (NaN, infinite; ≤ 0 on a log scale) are
    left out: a gap when a whole group is."""
    def drawn(v: float) -> bool:
        return math.isfinite(v) and (v > 0 or not log)

    def height(v: float) -> float:
        return math.log10(v) if log else v

    usable = [v for v in values if drawn(v)]
    if not usable:
        return "", math.nan, math.nan
    groups = max(1, math.ceil(len(values) / width))
    means = []
    for start in range(0, len(values), groups):
        chunk = [height(v) for v in values[start:start + groups] if drawn(v)]
        means.append(sum(chunk) / len(chunk) if chunk else math.nan)
    low, high = scale or (min(usable), max(usable))
    bottom, span = height(low), (height(high) - height(low)) or 1.0
    top = len(BARS) - 1

    def bar(m: float) -> str:
        return " " if math.isnan(m) else BARS[min(top, max(0, round((m - bottom) / span * top)))]
    return "".join(bar(m) for m in means), low, high


def column_of(epoch: int, epochs: int, width: int = 60) -> int:
    """Where epoch (1-based) falls in a sparkline of `epochs` values."""
    return (epoch - 1) // max(1, math.ceil(epochs / width))
