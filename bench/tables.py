"""Generated tables for the benchmarks: the shapes users bring, with known signal.

`mixed_table` is the table of issue #10: floats, ints and three text columns with 3, 50 and
2,000 levels (a long-tailed, Zipf-like spread), about 2% missing cells, and a binary target that
depends on numbers and on the levels of every text column, so encoding the categories well
matters to the score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LEVELS = (3, 50, 2000)


def mixed_table(n_rows: int = 100_000, *, seed: int = 0, missing: float = 0.02) -> pd.DataFrame:
    """Return n_rows x 19 features (11 float, 5 int, 3 text) and a binary `target`."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    logit = np.zeros(n_rows)
    for i in range(11):
        values = rng.normal(0, 1 + i / 4, n_rows)
        if i < 6:
            logit += (0.8 - 0.12 * i) * values / (1 + i / 4)
        if i == 6:
            logit += 0.5 * np.sin(values)
        data[f"f{i}"] = values
    for i in range(5):
        values = rng.integers(0, 10 * (i + 1), n_rows)
        if i < 2:
            logit += 0.15 * (values - 5 * (i + 1)) / (i + 1)
        data[f"i{i}"] = values
    for j, n_levels in enumerate(LEVELS):
        weights = 1 / np.arange(1, n_levels + 1) ** 0.7
        codes = rng.choice(n_levels, size=n_rows, p=weights / weights.sum())
        effect = np.random.default_rng(seed + 100 + j).normal(0, 0.8, n_levels)
        logit += effect[codes]
        data[f"c{j}"] = np.array([f"L{j}_{k}" for k in range(n_levels)], dtype=object)[codes]
    frame = pd.DataFrame(data)
    for column in frame.columns:
        holes = rng.random(n_rows) < missing
        if frame[column].dtype.kind == "i":
            frame[column] = frame[column].astype("float64")  # a CSV with gaps reads as float
        frame.loc[holes, column] = np.nan if frame[column].dtype.kind == "f" else None
    frame["target"] = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-(logit - 0.3))), "yes", "no")
    return frame


def small_numeric_table(n_rows: int = 5_000, *, seed: int = 0) -> pd.DataFrame:
    """Return a small all-numeric binary table (for the neural-network comparison)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=10,
                               random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["target"] = np.where(y == 1, "yes", "no")
    return frame
