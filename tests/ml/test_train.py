"""ml.train: end-to-end training on real and synthetic data, progress, cancellation, errors."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine  # noqa: E402

from ml.callbacks import ProgressCallback  # noqa: E402
from ml.config import TrainConfig  # noqa: E402
from ml.errors import ConfigError, DataError, TrainingCancelled  # noqa: E402
from ml.train import TrainResult, train  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


class Recorder(ProgressCallback):
    def __init__(self, stop_after: int | None = None) -> None:
        self.fractions: list[float] = []
        self.epochs: list[int] = []
        self.logs: list[str] = []
        self.stop_after = stop_after

    def on_progress(self, fraction: float, message: str) -> None:
        self.fractions.append(fraction)

    def on_epoch(self, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)

    def on_log(self, message: str) -> None:
        self.logs.append(message)

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.fractions) >= self.stop_after


def run(df: pd.DataFrame, callback: ProgressCallback | None = None, **body: object) -> TrainResult:
    body.setdefault("validation", {"cv_folds": 3})
    return train(df, TrainConfig.from_dict({"target": "target", **body}), callback=callback)


def sklearn_frame(loader) -> pd.DataFrame:
    return loader(as_frame=True).frame


@pytest.fixture(scope="module")
def cancer() -> tuple[TrainResult, Recorder]:
    recorder = Recorder()
    result = run(sklearn_frame(load_breast_cancer), recorder, algorithm="random_forest",
                 params={"n_estimators": 30})
    return result, recorder


def test_it_classifies_breast_cancer_well(cancer) -> None:
    result, _ = cancer
    assert result.task == "classification" and result.primary_metric == "f1_macro"
    assert result.metrics["accuracy"] >= 0.93
    assert result.score == result.metrics["f1_macro"]
    assert {"roc_auc", "log_loss", "balanced_accuracy", "f1_weighted"} <= set(result.metrics)
    assert result.cv_metrics["accuracy"]["mean"] > 0.9
    assert result.classes == [0, 1] and all(type(c) is int for c in result.classes)


def test_it_draws_the_classification_figures(cancer) -> None:
    result, _ = cancer
    assert {"confusion_matrix", "roc_curve",
            "precision_recall_curve", "feature_importance"} <= set(result.figures)
    assert all(png.startswith(PNG) for png in result.figures.values())
    assert result.feature_importance[0]["feature"] in result.pipeline.feature_names_in_


def test_its_progress_rises_to_one(cancer) -> None:
    _, recorder = cancer
    assert recorder.fractions == sorted(recorder.fractions)
    assert recorder.fractions[0] == 0.0 and recorder.fractions[-1] == 1.0


def test_it_describes_the_inputs(cancer) -> None:
    result, _ = cancer
    first = result.input_schema[0]
    assert first["name"] == "mean radius" and first["kind"] == "numeric"
    assert first["dtype"] == "float64" and isinstance(first["example"], float)
    assert len(result.input_schema) == 30


def test_it_fits_diabetes_with_ridge() -> None:
    result = run(sklearn_frame(load_diabetes), algorithm="ridge")
    assert result.task == "regression" and result.primary_metric == "r2"
    assert result.metrics["r2"] >= 0.35
    assert {"mae", "mse", "rmse", "mape"} <= set(result.metrics)
    assert {"residuals", "predicted_vs_actual", "feature_importance"} <= set(result.figures)
    assert "confusion_matrix" not in result.figures


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_it_handles_multiclass(loader) -> None:
    result = run(sklearn_frame(loader), algorithm="linear", validation={"cv_folds": 2})
    assert result.metrics["accuracy"] >= 0.85
    assert len(result.classes) == 3 and "roc_auc" in result.metrics
    assert result.figures["roc_curve"].startswith(PNG)


def mixed_frame(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["paris", "lyon", "nice", None], n),
        "joined": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
        "member": rng.choice([True, False], n),
    })
    df.loc[rng.choice(n, n // 10, replace=False), "age"] = np.nan
    score = df["age"].fillna(40) + (df["city"] == "paris") * 15 + rng.normal(0, 4, n)
    df["target"] = np.where(score > 45, "high", "low")
    return df


def test_it_trains_on_mixed_columns_with_missing_values() -> None:
    result = run(mixed_frame(), algorithm="random_forest", params={"n_estimators": 20},
                 preprocessing={"categorical_encoder": "onehot", "min_frequency": 3})
    assert result.classes == ["high", "low"]
    kinds = {c["name"]: c["kind"] for c in result.input_schema}
    assert kinds == {"age": "numeric", "city": "categorical", "joined": "datetime",
                     "member": "boolean"}
    assert result.metrics["accuracy"] > 0.7
    assert {r["feature"] for r in result.feature_importance} <= set(kinds)
    predictions = result.pipeline.predict(mixed_frame(10).drop(columns="target"))
    assert set(predictions) <= {"high", "low"}


def test_it_drops_rows_without_a_target_and_says_so() -> None:
    df = mixed_frame()
    df.loc[:4, "target"] = None
    result = run(df, algorithm="linear", validation={"cv_folds": 0})
    assert any("Dropped 5 rows" in line for line in result.log)
    assert result.cv_metrics == {}


def test_it_keeps_the_latest_rows_for_a_time_series_test() -> None:
    result = run(mixed_frame(), algorithm="linear",
                 validation={"split": "time_series", "cv_folds": 2, "time_column": "joined"})
    assert any("last 32 rows" in line for line in result.log)
    assert result.cv_metrics["accuracy"]["mean"] is not None


def test_it_applies_feature_engineering() -> None:
    result = run(sklearn_frame(load_diabetes), algorithm="ridge", validation={"cv_folds": 0},
                 feature_engineering={"polynomial_degree": 2, "select_k_best": 8})
    assert [name for name, _ in result.pipeline.steps] == [
        "preprocess", "polynomial", "select_k_best", "model"]
    assert result.pipeline.named_steps["model"].coef_.shape == (8,)
    assert result.feature_importance  # by permutation, on the input columns
    assert {r["feature"] for r in result.feature_importance} <= set(load_diabetes().feature_names)


def test_it_stops_when_the_callback_cancels() -> None:
    recorder = Recorder(stop_after=3)
    with pytest.raises(TrainingCancelled):
        run(sklearn_frame(load_iris), recorder, algorithm="random_forest",
            params={"n_estimators": 5})
    assert recorder.fractions[-1] < 1.0


def test_it_refuses_bad_params_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        run(sklearn_frame(load_iris), algorithm="random_forest", params={"n_estimators": -1})
    assert info.value.field == "params" and "n_estimators" in str(info.value)


def test_it_refuses_too_few_rows() -> None:
    df = pd.DataFrame({"x": range(6), "target": [0, 1] * 3})
    with pytest.raises(DataError, match="at least 10 rows"):
        run(df, algorithm="linear")


def test_it_explains_missing_values_the_model_cannot_take() -> None:
    df = mixed_frame()
    with pytest.raises(DataError, match="missing values"):
        run(df, algorithm="linear", preprocessing={"numeric_imputer": "none"},
            validation={"cv_folds": 0})


def test_it_trains_a_keras_network_and_keeps_its_history() -> None:
    recorder = Recorder()
    result = run(sklearn_frame(load_iris), recorder, algorithm="mlp",
                 params={"epochs": 3, "hidden_layers": [8], "early_stopping_patience": 0})
    assert [h["epoch"] for h in result.history] == [1, 2, 3] == recorder.epochs
    assert "loss" in result.history[0]
    assert result.figures["learning_curve"].startswith(PNG)
    assert any("skipped for neural networks" in line for line in result.log)
    assert recorder.fractions == sorted(recorder.fractions) and recorder.fractions[-1] == 1.0
