"""Keras 3 networks wrapped as scikit-learn estimators (`mlp` and `cnn`).

The wrappers follow scikit-learn's rules: `__init__` only stores params, `fit` returns `self`,
learned attributes end in `_`. Only the backend-neutral Keras 3 API is used (`keras.layers`,
`keras.ops`, `keras.callbacks`); Keras is imported inside `fit` and when a pickled model is
loaded, never when this module is imported.

Progress: set `estimator.callback = ProgressCallback(...)` before `fit`. It is a plain attribute,
not a constructor param, so `clone()`/`get_params()` ignore it and pickling drops it. Once per
epoch the wrapper calls `callback.on_epoch(epoch, logs)` (epoch counts from 1, logs are floats)
and then `callback.check_cancelled()`; an exception raised there stops training.

Pickling stores the Keras model as `.keras` bytes and loads it back with `safe_mode=True`.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ml.callbacks import ProgressCallback
from ml.errors import BundleError, ConfigError

# Too few rows to hold some out: train on all of them without early stopping.
_MIN_ROWS_FOR_VALIDATION = 20


def import_keras() -> Any:
    """Import Keras with quiet logs and a bounded thread pool."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow reads these once at start-up; without them it takes every core, which
    # starves the other jobs sharing the worker.
    threads = str(max(1, min(4, os.cpu_count() or 1)))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    import keras

    # Each new model retraces its step function; TensorFlow warns about that on every fit
    # after the fifth, which floods the logs of a tuning run.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return keras


class _KerasEstimator(BaseEstimator):
    """Shared fit/predict/pickling logic; subclasses define the layers and the task."""

    _is_classifier = False
    callback: ProgressCallback | None = None

    # --- fitting --------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> _KerasEstimator:
        """Train the network on X, y and return self."""
        keras = import_keras()
        X, y = validate_data(self, X, y, accept_sparse=True, dtype=np.float32, y_numeric=False)
        X = _dense(X)
        self._check_input_shape(X.shape[1])
        if self.random_state is not None:
            keras.utils.set_random_seed(int(self.random_state))
        targets = self._encode_targets(np.asarray(y))
        self.model_ = self._compile(keras, X.shape[1])
        self.history_ = self._train(keras, X, targets)
        return self

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if self._is_classifier:
            check_classification_targets(y)  # a continuous target is refused, saying so
            encoder = LabelEncoder().fit(y)
            self.classes_ = encoder.classes_
            return encoder.transform(y).astype(np.int32)
        y = y.astype(np.float64)
        # Scale the target so that the default learning rate suits prices and ratios alike.
        self.y_mean_ = float(np.mean(y))
        self.y_scale_ = float(np.std(y)) or 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _compile(self, keras: Any, n_features: int) -> Any:
        inputs = keras.Input(shape=(n_features,))
        hidden = self._hidden(keras, inputs, n_features)
        if self._is_classifier:
            outputs = keras.layers.Dense(len(self.classes_), activation="softmax")(hidden)
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        else:
            outputs = keras.layers.Dense(1)(hidden)
            loss, metrics = "mse", ["mae"]
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss=loss, metrics=metrics,
            # Several batches per backend call: about twice as fast on small tabular data.
            steps_per_execution=8,
        )
        return model

    def _dense_block(self, keras: Any, x: Any, units: int) -> Any:
        x = keras.layers.Dense(units, activation="relu")(x)
        if self.batch_norm:
            x = keras.layers.BatchNormalization()(x)
        if self.dropout:
            x = keras.layers.Dropout(self.dropout)(x)
        return x

    def _train(self, keras: Any, X: np.ndarray, y: np.ndarray) -> list[dict[str, float]]:
        callbacks: list[Any] = [_EpochReporter.make(keras, self.callback)]
        X_fit, y_fit, validation = self._split_validation(X, y)
        if validation is not None:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.early_stopping_patience,
                restore_best_weights=True,
            ))
        history = self.model_.fit(
            X_fit, y_fit, validation_data=validation, epochs=self.epochs,
            batch_size=self.batch_size, callbacks=callbacks, verbose=0, shuffle=True,
        )
        epochs = len(history.epoch)
        return [
            {"epoch": i + 1, **{k: _float(v[i]) for k, v in history.history.items()}}
            for i in range(epochs)
        ]

    def _split_validation(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
        if not self.early_stopping_patience or len(X) < _MIN_ROWS_FOR_VALIDATION:
            return X, y, None
        stratify = y if self._is_classifier and _can_stratify(y, self.validation_fraction) else None
        X_fit, X_val, y_fit, y_val = train_test_split(
            X, y, test_size=self.validation_fraction, random_state=self.random_state,
            stratify=stratify,
        )
        return X_fit, y_fit, (X_val, y_val)

    def _check_input_shape(self, n_features: int) -> None:
        """Refuse inputs the architecture cannot take; the dense network takes any."""

    # --- predicting -----------------------------------------------------------------------

    def _raw_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = _dense(validate_data(self, X, accept_sparse=True, dtype=np.float32, reset=False))
        return np.asarray(self.model_.predict(X, verbose=0, batch_size=1024), dtype=np.float64)

    # --- pickling -------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ gives __dict__ itself
        state.pop("callback", None)  # callbacks hold live resources (DB handles, locks)
        model = state.pop("model_", None)
        if model is not None:
            state["_keras_bytes"] = _model_to_bytes(model)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        data = state.pop("_keras_bytes", None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = _model_from_bytes(data)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.non_deterministic = True  # threaded float sums differ in the last bits
        return tags


class _ClassifierOutputs:
    """predict / predict_proba for the classifiers (softmax over `classes_`)."""

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return class probabilities, one column per entry of `classes_`."""
        proba = np.clip(self._raw_predict(X), 0.0, None)  # type: ignore[attr-defined]
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Return the most probable class label for each row."""
        best = np.argmax(self.predict_proba(X), axis=1)  # NotFittedError before classes_ is read
        return self.classes_[best]  # type: ignore[attr-defined]


class _RegressorOutputs:
    """predict for the regressors (undoes the target scaling)."""

    def predict(self, X: Any) -> np.ndarray:
        """Return the predicted value for each row."""
        scaled = self._raw_predict(X).ravel()  # type: ignore[attr-defined]
        return scaled * self.y_scale_ + self.y_mean_  # type: ignore[attr-defined]


class _KerasMLP(_KerasEstimator):
    """Dense network: hidden layers of ReLU units, optional batch norm and dropout."""

    def __init__(
        self, hidden_layers: list[int] | tuple[int, ...] = (64, 32), dropout: float = 0.0,
        batch_norm: bool = False, learning_rate: float = 0.001, epochs: int = 50,
        batch_size: int = 32, early_stopping_patience: int | None = 5,
        validation_fraction: float = 0.1, random_state: int | None = None,
    ) -> None:
        self.hidden_layers = hidden_layers
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _hidden(self, keras: Any, inputs: Any, n_features: int) -> Any:
        x = inputs
        for units in self.hidden_layers:
            x = self._dense_block(keras, x, int(units))
        return x


class _KerasCNN(_KerasEstimator):
    """Convolutional network on rows of N*N pixel columns, seen as N x N one-channel images."""

    def __init__(
        self, filters: list[int] | tuple[int, ...] = (32, 64), kernel_size: int = 3,
        dense_units: int = 64, dropout: float = 0.0, batch_norm: bool = False,
        learning_rate: float = 0.001, epochs: int = 50, batch_size: int = 32,
        early_stopping_patience: int | None = 5, validation_fraction: float = 0.1,
        random_state: int | None = None,
    ) -> None:
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _check_input_shape(self, n_features: int) -> None:
        side = math.isqrt(n_features)
        if side * side != n_features or side < 2:
            raise ConfigError(
                f"The cnn algorithm reads each row as a square image, but the rows have "
                f"{n_features} columns, which is not a perfect square (e.g. 64 = 8x8 or "
                f"784 = 28x28 pixel columns). Pick the pixel columns only, or use mlp.",
                field="algorithm",
            )

    def _hidden(self, keras: Any, inputs: Any, n_features: int) -> Any:
        side = math.isqrt(n_features)
        x = keras.layers.Reshape((side, side, 1))(inputs)
        for n_filters in self.filters:
            x = keras.layers.Conv2D(
                int(n_filters), self.kernel_size, padding="same", activation="relu"
            )(x)
            if self.batch_norm:
                x = keras.layers.BatchNormalization()(x)
            # Pool while the image is big enough; tiny images (8x8) keep their last pixels.
            if side >= 2:
                x = keras.layers.MaxPooling2D(2)(x)
                side //= 2
        x = keras.layers.Flatten()(x)
        return self._dense_block(keras, x, int(self.dense_units))


class KerasMLPClassifier(_ClassifierOutputs, ClassifierMixin, _KerasMLP):
    """Dense Keras network for classification (softmax over the classes)."""

    _is_classifier = True


class KerasMLPRegressor(_RegressorOutputs, RegressorMixin, _KerasMLP):
    """Dense Keras network for regression (one linear output, scaled target)."""


class KerasCNNClassifier(_ClassifierOutputs, ClassifierMixin, _KerasCNN):
    """Convolutional Keras network for classifying square images."""

    _is_classifier = True


class KerasCNNRegressor(_RegressorOutputs, RegressorMixin, _KerasCNN):
    """Convolutional Keras network for a numeric target on square images."""


class _EpochReporter:
    """Build a keras Callback that forwards epochs to the engine's ProgressCallback."""

    @staticmethod
    def make(keras: Any, callback: ProgressCallback | None) -> Any:
        """Return a keras.callbacks.Callback reporting to `callback` (if any)."""

        class EpochReporter(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                if callback is None:
                    return
                floats = {k: _float(v) for k, v in (logs or {}).items()}
                callback.on_epoch(epoch + 1, floats)
                callback.check_cancelled()

        return EpochReporter()


def _dense(X: Any) -> np.ndarray:
    # One-hot encoders may hand over sparse matrices; Keras wants dense arrays.
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=np.float32)


def _float(value: Any) -> float:
    number = float(np.asarray(value))
    return number if math.isfinite(number) else float("nan")


def _can_stratify(y: np.ndarray, fraction: float) -> bool:
    _, counts = np.unique(y, return_counts=True)
    n_val = math.ceil(len(y) * fraction)
    return bool(counts.min() >= 2 and n_val >= len(counts))


def _model_to_bytes(model: Any) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as fh:
            return fh.read()


def _model_from_bytes(data: bytes) -> Any:
    keras = import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as fh:
            fh.write(data)
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a damaged archive
            raise BundleError(f"The stored Keras model could not be loaded: {exc}") from exc
