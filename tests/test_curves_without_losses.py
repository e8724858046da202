"""Learning curves of a history whose every loss is NaN (a run that diverged at once):
drawn without a legend, never an internal error."""

from __future__ import annotations

import numpy as np

from fcnn_cli import figures


def test_curves_with_no_finite_loss_are_drawn_without_a_legend() -> None:
    history = {"train_loss": np.full(3, np.nan), "val_loss": np.full(3, np.nan),
               "lr": np.full(3, 0.1)}
    svg = figures.learning_curves(history, None, "best val loss")
    assert svg.startswith("<svg") and "legend" not in svg
