"""Keras wrappers behave as scikit-learn estimators, learn, report epochs and pickle safely."""

from __future__ import annotations

import pickle
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.callbacks import ProgressCallback
from ml.errors import BundleError, ConfigError, TrainingCancelled
from ml.keras_models import (
    KerasCNNClassifier,
    KerasCNNRegressor,
    KerasMLPClassifier,
    KerasMLPRegressor,
)


class RecordingCallback(ProgressCallback):
    """Records epochs; asks to stop after `stop_after` epochs if given."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.epochs: list[tuple[int, dict[str, Any]]] = []
        self.stop_after = stop_after

    def on_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        self.epochs.append((epoch, logs))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.epochs) >= self.stop_after


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0, stratify=y))


def test_mlp_reaches_90_percent_on_scaled_digits_and_reports_each_epoch(digits: tuple) -> None:
    X_train, X_test, y_train, y_test = digits
    scaler = StandardScaler().fit(X_train)
    model = KerasMLPClassifier(epochs=20, random_state=0)
    model.callback = RecordingCallback()
    started = time.perf_counter()
    model.fit(scaler.transform(X_train), y_train)
    elapsed = time.perf_counter() - started
    assert model.score(scaler.transform(X_test), y_test) >= 0.9
    # ~6 s to fit (plus ~5 s to import Keras) on a 2-core box; this bound only catches a pathology.
    assert elapsed < 120
    epochs = model.callback.epochs
    assert [e for e, _ in epochs] == list(range(1, len(epochs) + 1))
    assert len(epochs) == len(model.history_)
    assert {"loss", "val_loss", "accuracy"} <= set(epochs[0][1])
    assert all(type(v) is float for _, logs in epochs for v in logs.values())
    assert list(model.classes_) == list(range(10)) and model.n_features_in_ == 64
    proba = model.predict_proba(scaler.transform(X_test[:5]))
    assert proba.shape == (5, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_cnn_learns_8x8_digits_in_a_few_epochs(digits: tuple) -> None:
    X_train, X_test, y_train, y_test = digits
    model = KerasCNNClassifier(filters=[16, 32], dense_units=32, epochs=3, random_state=0)
    model.fit(X_train / 16.0, y_train)
    assert model.score(X_test / 16.0, y_test) > 0.5
    assert len(model.history_) == 3


def test_cnn_refuses_rows_that_are_not_square_images() -> None:
    X = np.random.default_rng(0).normal(size=(30, 65))
    with pytest.raises(ConfigError, match="65 columns, which is not a perfect square"):
        KerasCNNRegressor(epochs=1).fit(X, X[:, 0])


def test_regressor_learns_a_target_on_a_large_scale() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y = 50_000 + 8_000 * X[:, 0] - 3_000 * X[:, 1]
    model = KerasMLPRegressor(hidden_layers=[16], epochs=40, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    assert abs(float(np.mean(model.predict(X))) - 50_000) < 2_000


def test_cancelling_from_the_callback_stops_training_after_that_epoch() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
    model = KerasMLPClassifier(epochs=50, early_stopping_patience=None, random_state=0)
    model.callback = RecordingCallback(stop_after=2)
    with pytest.raises(TrainingCancelled):
        model.fit(X, y)
    assert len(model.callback.epochs) == 2


def test_early_stopping_ends_training_before_the_last_epoch() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)  # nothing to learn
    model = KerasMLPRegressor(epochs=200, early_stopping_patience=2, random_state=0).fit(X, y)
    assert len(model.history_) < 200
    assert "val_loss" in model.history_[0]


def test_the_callback_is_not_a_param_and_clone_drops_it() -> None:
    model = KerasMLPClassifier(hidden_layers=[8], epochs=2)
    model.callback = RecordingCallback()
    assert "callback" not in model.get_params()
    copy = clone(model)
    assert copy.callback is None
    assert copy.get_params() == model.get_params()


def test_same_random_state_gives_the_same_model() -> None:
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(80, 4)), rng.integers(0, 3, 80)
    first = KerasMLPClassifier(hidden_layers=[8], epochs=3, random_state=7).fit(X, y)
    second = KerasMLPClassifier(hidden_layers=[8], epochs=3, random_state=7).fit(X, y)
    np.testing.assert_allclose(first.predict_proba(X), second.predict_proba(X), atol=1e-5)


def test_it_pickles_as_keras_bytes_inside_a_pipeline_with_sparse_one_hot() -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=90), "colour": rng.choice(["red", "blue"], 90)})
    y = np.where(df["colour"] == "red", "warm", "cold")
    prep = ColumnTransformer([("num", StandardScaler(), ["x"]),
                              ("cat", OneHotEncoder(sparse_output=True), ["colour"])],
                             sparse_threshold=1.0)
    pipeline = Pipeline([("prep", prep), ("model", KerasMLPClassifier(
        hidden_layers=[8], epochs=30, learning_rate=0.01, random_state=0))])
    pipeline.named_steps["model"].callback = RecordingCallback()
    pipeline.fit(df, y)
    state = pipeline.named_steps["model"].__getstate__()
    assert state["_keras_bytes"][:2] == b"PK"  # a .keras archive, not a pickled graph
    assert "model_" not in state and "callback" not in state
    restored = pickle.loads(pickle.dumps(pipeline))
    assert list(restored.classes_) == ["cold", "warm"]
    np.testing.assert_allclose(restored.predict_proba(df), pipeline.predict_proba(df), atol=1e-6)
    assert (restored.predict(df) == y).mean() > 0.9


def test_loading_refuses_a_keras_file_with_code_in_it() -> None:
    import keras

    inputs = keras.Input(shape=(2,))
    outputs = keras.layers.Lambda(lambda t: t * 2)(inputs)  # arbitrary Python code
    model = KerasMLPRegressor(epochs=1).fit(np.zeros((4, 2)), np.arange(4.0))
    model.model_ = keras.Model(inputs, outputs)
    data = pickle.dumps(model)
    with pytest.raises(BundleError, match="could not be loaded"):
        pickle.loads(data)
