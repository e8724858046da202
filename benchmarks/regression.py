"""fcnn against scikit-learn's MLPRegressor on the diabetes data: test errors, same rows.

    python benchmarks/regression.py                 # 5 seeds
    python benchmarks/regression.py --seeds 1       # a smoke run

The data are examples/data/diabetes.csv (442 patients, 10 raw features, the disease
progression a year later as the target; scikit-learn's bundled copy). For each seed,
fcnn's own split (test_fraction 0.2, val_fraction 0.1) fixes the test rows; every model
is scored on exactly those rows, in the target's own units, and learns from the rest
(fcnn: train + its validation part, which early stopping watches; scikit-learn's early
stopping carves its own 10 %). The seed also sets each model's initial weights.

Peers, all with standardised features (StandardScaler fitted on their training rows):
- `MLPRegressor`, as its documentation's examples use it: raw targets;
- `MLPRegressor` with standardised targets (`TransformedTargetRegressor`), the stronger
  baseline, as fcnn does by default;
- `RidgeCV`, a linear model, for scale: on this data a line is hard to beat.

It prints the median over the seeds of each model's test MAE, RMSE and R², and fcnn's
MAE ratio against each MLPRegressor (peer MAE / fcnn MAE: at least 1 means fcnn is no
worse). scikit-learn is needed (`pip install scikit-learn`).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from fcnn_cli import api
from fcnn_cli.data.sources import load_dataset
from fcnn_cli.data.split import make_splits
from fcnn_cli.metrics import regression_report

DATA = Path(__file__).resolve().parents[1] / "examples" / "data" / "diabetes.csv"
SPLIT = {"val_fraction": 0.1, "test_fraction": 0.2}


def fcnn_config(seed: int) -> dict:
    return {
        "name": "diabetes", "seed": seed,
        "data": {"path": str(DATA), "label_column": "progression", "normalize": "standardize",
                 **SPLIT},
        "model": {"layers": [{"units": 32, "activation": "relu"},
                             {"units": 1, "activation": "linear"}]},
        "cost": "quadratic",
        "training": {"epochs": 300, "batch_size": 16, "l2": 0.05,
                     "optimizer": {"name": "adam", "lr": 0.001},
                     "early_stopping": {"patience": 30, "monitor": "val_loss"},
                     "checkpoint_every": 0},
    }


def rows(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_learn, y_learn, x_test, y_test) in raw units: the test rows of fcnn's split with
    this seed, and the rest to learn from."""
    dataset = load_dataset(path=DATA, label_column="progression")
    splits = make_splits(dataset, SPLIT["val_fraction"], SPLIT["test_fraction"], seed, "none")
    x_learn = np.concatenate([splits.x_train, splits.x_val])
    y_learn = np.concatenate([splits.y_train, splits.y_val])
    return x_learn, y_learn.ravel(), splits.x_test, splits.y_test


def run_fcnn(seed: int, x_test: np.ndarray, y_test: np.ndarray, out: Path
             ) -> tuple[dict, float]:
    started = time.perf_counter()
    model = api.train(fcnn_config(seed), out=out).model
    seconds = time.perf_counter() - started
    values = model.predict(x_test)
    return regression_report(values, y_test, 0.0, ["progression"]).per_output["progression"], \
        seconds


def run_sklearn(kind: str, seed: int, x_learn: np.ndarray, y_learn: np.ndarray,
                x_test: np.ndarray, y_test: np.ndarray) -> tuple[dict, float]:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "ridge":
        regressor = RidgeCV(alphas=np.logspace(-3, 3, 13))
    else:
        regressor = MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, early_stopping=True,
                                 n_iter_no_change=30, random_state=seed)
        if kind == "mlp-scaled":
            regressor = TransformedTargetRegressor(regressor, transformer=StandardScaler())
    model = make_pipeline(StandardScaler(), regressor)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on raw targets
        model.fit(x_learn, y_learn)
    seconds = time.perf_counter() - started
    values = model.predict(x_test).reshape(-1, 1)
    return regression_report(values, y_test, 0.0, ["progression"]).per_output["progression"], \
        seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="weight seeds per model")
    parser.add_argument("--out", type=Path, default=Path("/tmp/fcnn-diabetes.h5"))
    args = parser.parse_args()
    models = ("fcnn", "mlp-raw", "mlp-scaled", "ridge")
    results: dict[str, list[tuple[dict, float]]] = {name: [] for name in models}
    for seed in range(42, 42 + args.seeds):  # taking turns: a busy machine slows all alike
        x_learn, y_learn, x_test, y_test = rows(seed)
        print(f"seed {seed}: {len(x_learn)} rows to learn from, {len(x_test)} test rows")
        results["fcnn"].append(run_fcnn(seed, x_test, y_test, args.out))
        for kind in models[1:]:
            results[kind].append(run_sklearn(kind, seed, x_learn, y_learn, x_test, y_test))
    labels = {"fcnn": "fcnn 10-32-1 relu, adam", "mlp-raw": "MLPRegressor(32), raw targets",
              "mlp-scaled": "MLPRegressor(32), scaled targets", "ridge": "RidgeCV (linear)"}
    print(f"{'model':<34}{'MAE':>8}{'RMSE':>8}{'R²':>7}{'seconds':>9}")
    median = {name: {key: statistics.median(r[0][key] for r in runs)
                     for key in ("mae", "rmse", "r2")} for name, runs in results.items()}
    for name, runs in results.items():
        m = median[name]
        seconds = statistics.median(r[1] for r in runs)
        print(f"{labels[name]:<34}{m['mae']:>8.2f}{m['rmse']:>8.2f}{m['r2']:>7.3f}"
              f"{seconds:>9.2f}")
    for peer in ("mlp-raw", "mlp-scaled"):
        print(f"MAE ratio {peer} / fcnn: {median[peer]['mae'] / median['fcnn']['mae']:.3f} "
              "(≥ 1: fcnn no worse)")


if __name__ == "__main__":
    main()
