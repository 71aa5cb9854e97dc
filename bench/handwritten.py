"""What a practitioner writes by hand in a notebook, run as its own process by bench/train.py.

Run: .venv/bin/python -P bench/handwritten.py --csv table.csv --target target \
         --algorithm hist_gradient_boosting [--random-state 42]

It reads the CSV with pandas, splits 80/20 stratified (scikit-learn's `train_test_split`, the
same seed as the platform's default, so both score the same test rows), fits the usual
pipeline for the algorithm with library defaults, predicts the test rows and prints one JSON
line: `seconds` (split + fit + predict + score, what the notebook cell costs), `f1_macro`, and
`memory_rise_mb` (the process's peak resident memory minus its memory before reading the file).
These pipelines are not the platform's: median imputation and a one-hot encoding of the text
columns with `min_frequency=0.01`, as the scikit-learn user guide suggests, and Keras written
the plain way.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1024 / 1024


def _columns(X: Any) -> tuple[list[str], list[str]]:
    text = [c for c in X.columns if X[c].dtype.kind not in "biuf"]
    return [c for c in X.columns if c not in text], text


def _preprocess(X: Any, *, scale: bool, sparse: bool) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers, text = _columns(X)
    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer([
        ("num", make_pipeline(*numeric), numbers),
        ("cat", make_pipeline(
            SimpleImputer(strategy="most_frequent"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01,
                          sparse_output=sparse)), text),
    ])


def _sklearn(algorithm: str, X: Any, random_state: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    if algorithm == "hist_gradient_boosting":
        return make_pipeline(_preprocess(X, scale=False, sparse=False),
                             HistGradientBoostingClassifier(random_state=random_state))
    if algorithm == "random_forest":
        return make_pipeline(_preprocess(X, scale=False, sparse=False),
                             RandomForestClassifier(n_estimators=100, random_state=random_state))
    if algorithm == "linear":
        return make_pipeline(_preprocess(X, scale=True, sparse=True),
                             LogisticRegression(max_iter=1000))
    raise SystemExit(f"unknown algorithm {algorithm}")


def _keras_mlp(X_train: Any, y_train: Any, X_test: Any, random_state: int) -> Any:
    """A dense network in plain Keras: two ReLU layers, Adam, early stopping on 10%."""
    import keras
    import numpy as np
    from sklearn.preprocessing import LabelEncoder, StandardScaler

    keras.utils.set_random_seed(random_state)
    scaler, labels = StandardScaler(), LabelEncoder()
    Xt = scaler.fit_transform(X_train).astype("float32")
    yt = labels.fit_transform(y_train)
    model = keras.Sequential([
        keras.Input(shape=(Xt.shape[1],)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(len(labels.classes_), activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(Xt, yt, epochs=50, batch_size=32, validation_split=0.1, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=5,
                                                       restore_best_weights=True)])
    proba = model.predict(scaler.transform(X_test).astype("float32"), verbose=0)
    return labels.inverse_transform(np.argmax(proba, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--algorithm", required=True)
    parser.add_argument("--random-state", type=int, default=42)
    args = parser.parse_args()
    import pandas as pd
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split

    if args.algorithm == "mlp":
        import keras  # noqa: F401  (imported before the baseline, like the notebook's first cell)
    before = _rss_mb()
    frame = pd.read_csv(args.csv)
    X, y = frame.drop(columns=[args.target]), frame[args.target]
    started = time.perf_counter()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=args.random_state, stratify=y)
    if args.algorithm == "mlp":
        predicted = _keras_mlp(X_train, y_train, X_test, args.random_state)
    else:
        model = _sklearn(args.algorithm, X, args.random_state).fit(X_train, y_train)
        predicted = model.predict(X_test)
    f1 = f1_score(y_test, predicted, average="macro")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "f1_macro": round(float(f1), 4),
                      "memory_rise_mb": round(peak - before, 1)}))


if __name__ == "__main__":
    main()
