"""The search's result as a config file: the base config with the best values set in."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import yaml

from fcnn_cli.atomic import replaced
from fcnn_cli.config import set_value
from fcnn_cli.tuning.plan import Plan
from fcnn_cli.tuning.search import TrialRow
from fcnn_cli.tuning.space import flow_text

METRIC_NAMES = {"val_accuracy": "validation accuracy", "val_loss": "validation loss"}


def write_best_config(plan: Plan, best: TrialRow, trials: int, path: Path) -> Path:
    """Write `plan.raw` with `best`'s values to `path` (atomically), ready for
    `fcnn train`; its model goes beside it (`<name>.h5`), not over the base config's."""
    raw = copy.deepcopy(plan.raw)
    values = {p.key: p.value(best.params[p.key]) for p in plan.space.params}
    for key, value in values.items():
        set_value(raw, key, value)
    raw["output"] = str(path.with_suffix(".h5"))
    today = datetime.date.today().isoformat()
    lines = [f"# The best of {trials} trials of study {plan.study!r} (fcnn tune, {today}):",
             f"# trial {best.number}, {METRIC_NAMES[plan.metric]} {best.value:.6g}, with"]
    lines += [f"#   {key}: {flow_text(value)}" for key, value in values.items()]
    lines += [f"# Train it: fcnn train {path}", ""]
    text = "\n".join(lines) + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    with replaced(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path
