"""Make the example tables in examples/data/ from scikit-learn's bundled datasets (run once).

    pip install scikit-learn
    python examples/make_tables.py

No network: scikit-learn ships both datasets inside its wheel. Writes

- `cancer.csv`: the Breast Cancer Wisconsin (Diagnostic) data, 569 rows in the original
  order, the 30 features under spreadsheet-friendly names (`mean radius` → `mean_radius`)
  and the label `diagnosis` (`malignant` / `benign`, words as a user's file has them) last;
- `diabetes.csv`: Efron et al.'s diabetes data, 442 rows, the 10 raw (unscaled) features
  and the target `progression` last, written with a decimal point (`151.0`) so that fcnn
  reads it as a regression target, not as class 151;
- `cancer-new.csv`, `diabetes-new.csv`: 5 rows of each without the label and with the
  columns in another order, a user's "new patients" file: predict takes features by name.

Numbers are written with 6 significant digits (`%.6g`), which reproduces every value of
both datasets exactly (checked below), so the files are small and faithful.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes

OUT = Path(__file__).resolve().parent / "data"
SEED = 2024  # fixes which rows and which column orders the "-new" files get
NEW_ROWS = 5


def main() -> None:
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(SEED)
    cancer = load_breast_cancer()
    names = [spreadsheet_name(name) for name in cancer.feature_names]
    diagnosis = [str(cancer.target_names[k]) for k in cancer.target]
    write_table(OUT / "cancer.csv", names, cancer.data, "diagnosis", diagnosis)
    rows = write_new(OUT / "cancer-new.csv", names, cancer.data, rng)
    print("cancer-new.csv: rows", ", ".join(f"{r} ({diagnosis[r]})" for r in rows))

    diabetes = load_diabetes(scaled=False)
    features = [str(name) for name in diabetes.feature_names]
    progression = [repr(float(value)) for value in diabetes.target]  # 151.0: a number
    write_table(OUT / "diabetes.csv", features, diabetes.data, "progression", progression)
    rows = write_new(OUT / "diabetes-new.csv", features, diabetes.data, rng)
    print("diabetes-new.csv: rows",
          ", ".join(f"{r} ({progression[r]})" for r in rows))
    for path in sorted(OUT.glob("*.csv")):
        print(f"{path.name}: {path.stat().st_size:,} bytes")


def spreadsheet_name(name: str) -> str:
    """`mean concave points` → `mean_concave_points`: one word a spreadsheet, a shell and
    a `--set` override can all use without quoting."""
    return "_".join(name.lower().split())


def number(value: float) -> str:
    """Compact text for a value; 6 significant digits hold both datasets exactly, and a
    value they would not hold stops the script rather than being rounded silently."""
    text = format(float(value), ".6g")
    if float(text) != float(value):
        raise ValueError(f"{value!r} does not survive %.6g; write more digits")
    return text


def write_table(path: Path, features: Sequence[str], x: np.ndarray,
                label: str | None = None, labels: Sequence[str] | None = None) -> None:
    """One header row, then one row per example; the label column, if any, last (where
    people put the answer, and where fcnn looks for nothing in particular: it goes by name)."""
    header = list(features) + ([label] if label else [])
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for i, row in enumerate(x):
            cells = [number(v) for v in row]
            writer.writerow(cells + ([labels[i]] if labels is not None else []))


def write_new(path: Path, features: Sequence[str], x: np.ndarray,
              rng: np.random.Generator) -> list[int]:
    """A few rows without the label, columns shuffled: what a user's "new cases" file looks
    like, to show that predict matches columns by name, not by position. Returns the row
    indices (in the full table) so that the answers can be checked."""
    rows = sorted(int(r) for r in rng.choice(len(x), NEW_ROWS, replace=False))
    order = rng.permutation(len(features))
    write_table(path, [features[c] for c in order], x[np.ix_(rows, order)])
    return rows


if __name__ == "__main__":
    main()
