"""Benchmark: the engine's train() against a hand-written scikit-learn pipeline doing the same work.

Run: .venv/bin/python bench/engine.py [--rows 100000]

Both sides get the same synthetic table (numeric, categorical and missing values), the same
stratified 80/20 split, the same preprocessing (median imputer + standard scaler for numbers;
missing-as-category + one-hot for categories) and the same HistGradientBoostingClassifier with
fixed params, under the same thread limit. The engine runs with cv_folds=0 so the work is equal;
its extra work after predicting (metrics, feature importance, figures) is timed separately from
its progress messages.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Run as a script, bench/ is first on sys.path and its other scripts (e.g. bench/queue.py)
# would shadow standard-library modules: put the repository root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from ml.callbacks import ProgressCallback  # noqa: E402
from ml.config import TrainConfig  # noqa: E402
from ml.train import train  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 15, 5
HGB_PARAMS = {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 31}
THREADS = 1


def make_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Return n_rows x 20 features (15 numeric, 5 categorical, ~5% missing) plus a target."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(N_NUMERIC):
        values = rng.normal(i, 1 + i / 5, n_rows)
        values[rng.random(n_rows) < 0.05] = np.nan
        data[f"num_{i}"] = values
    for i in range(N_CATEGORICAL):
        levels = np.array([f"c{i}_{k}" for k in range(4 + 3 * i)], dtype=object)
        values = levels[rng.integers(len(levels), size=n_rows)]
        values[rng.random(n_rows) < 0.05] = None
        data[f"cat_{i}"] = values
    df = pd.DataFrame(data)
    signal = np.nan_to_num(df["num_0"]) + 0.5 * np.nan_to_num(df["num_3"]) \
        + (df["cat_1"] == "c1_2") * 2 + rng.normal(0, 1, n_rows)
    df["target"] = np.where(signal > np.median(signal), "yes", "no")
    return df


def hand_written(df: pd.DataFrame) -> tuple[tuple[float, float], float]:
    """Fit and predict with a plain scikit-learn pipeline; return ((wall, cpu), f1_macro)."""
    started = clocks()
    X, y = df.drop(columns="target"), df["target"].to_numpy(dtype=object)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=42, stratify=y)
    numeric = [c for c in X if c.startswith("num_")]
    categorical = [c for c in X if c.startswith("cat_")]
    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), numeric),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
                          ("encode", OneHotEncoder(handle_unknown="ignore",
                                                   sparse_output=False))]), categorical),
    ], sparse_threshold=0.0)
    model = Pipeline([("preprocess", pre),
                      ("model", HistGradientBoostingClassifier(random_state=42, **HGB_PARAMS))])
    model.fit(X_train, y_train)
    predictions = model.predict(X_test)
    elapsed = since(started, clocks())
    return elapsed, f1_score(y_test, predictions, average="macro")


class StepTimer(ProgressCallback):
    """Record (wall, cpu) clocks when each progress message arrives."""

    def __init__(self) -> None:
        self.marks: dict[str, tuple[float, float]] = {}

    def on_progress(self, fraction: float, message: str) -> None:
        self.marks.setdefault(message, clocks())


def clocks() -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds (CPU time is steadier on a shared machine)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float], end: tuple[float, float]) -> tuple[float, float]:
    """Elapsed (wall, cpu) between two clocks() readings."""
    return end[0] - start[0], end[1] - start[1]


def engine(df: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Run train(); return ((wall, cpu) fit+predict, (wall, cpu) metrics+importance+figures, f1)."""
    config = TrainConfig.from_dict({
        "target": "target", "algorithm": "hist_gradient_boosting",
        "params": {**HGB_PARAMS, "max_depth": None, "l2_regularization": 0.0},
        "validation": {"cv_folds": 0, "test_size": 0.2, "random_state": 42},
        "n_threads": THREADS,
    })
    timer = StepTimer()
    started = clocks()
    result = train(df, config, callback=timer)
    ended = clocks()
    predicted = timer.marks["Computing metrics"]  # split + fit + predict are done here
    return since(started, predicted), since(predicted, ended), result.metrics["f1_macro"]


def main() -> None:
    """Time both sides, interleaved, best of `--repeat`, and print them side by side."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    df = make_table(args.rows)
    print(f"table: {df.shape[0]:,} rows x {df.shape[1] - 1} features "
          f"({N_NUMERIC} numeric, {N_CATEGORICAL} categorical), "
          f"{int(df.isna().sum().sum()):,} missing cells; threads={THREADS}")
    hand_runs, engine_runs, extra_runs = [], [], []
    for _ in range(args.repeat):
        with threadpool_limits(THREADS):
            hand_s, hand_f1 = hand_written(df)
        engine_s, extra_s, engine_f1 = engine(df)
        hand_runs.append(hand_s)
        engine_runs.append(engine_s)
        extra_runs.append(extra_s)
    hand = [min(r[i] for r in hand_runs) for i in (0, 1)]
    eng = [min(r[i] for r in engine_runs) for i in (0, 1)]
    extra = [min(r[i] for r in extra_runs) for i in (0, 1)]
    print(f"{'(best of ' + str(args.repeat) + ')':38}{'wall s':>9}{'cpu s':>9}{'f1_macro':>10}")
    print(f"{'hand-written sklearn fit+predict':38}{hand[0]:>9.2f}{hand[1]:>9.2f}{hand_f1:>10.4f}")
    print(f"{'engine train() fit+predict':38}{eng[0]:>9.2f}{eng[1]:>9.2f}{engine_f1:>10.4f}")
    print(f"{'engine extra: metrics+importance+plots':38}{extra[0]:>9.2f}{extra[1]:>9.2f}")
    for label, i in (("wall", 0), ("cpu", 1)):
        ratio = eng[i] / hand[i]
        verdict = "OK" if ratio <= 1.10 else "OVER"
        print(f"ratio engine / hand-written ({label}): {ratio:.3f} (target <= 1.10) {verdict}")


if __name__ == "__main__":
    main()
