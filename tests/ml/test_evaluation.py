"""ml.evaluation: metrics by name, and readable PNG figures for each task."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from ml import evaluation as ev
from ml.config import PreprocessingConfig
from ml.preprocessing import build_preprocessor

PNG = b"\x89PNG\r\n\x1a\n"


def test_it_names_the_primary_metrics() -> None:
    assert ev.PRIMARY_METRIC == {"classification": "f1_macro", "regression": "r2"}


def test_it_computes_classification_metrics() -> None:
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", "b", "b", "b"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.1, 0.9]])
    m = ev.classification_metrics(y_true, y_pred, proba, classes=["a", "b"])
    assert m["accuracy"] == 0.75
    assert m["recall_macro"] == pytest.approx(0.75)
    assert m["roc_auc"] == 1.0
    assert m["log_loss"] == pytest.approx(np.mean(-np.log([0.9, 0.4, 0.8, 0.9])))
    assert {"balanced_accuracy", "precision_macro", "f1_macro", "f1_weighted"} <= set(m)


def test_it_leaves_out_probability_metrics_without_probabilities() -> None:
    m = ev.classification_metrics([0, 1, 1], [0, 1, 0])
    assert "roc_auc" not in m and "log_loss" not in m


def test_it_computes_multiclass_roc_auc_one_vs_rest() -> None:
    y = np.array([0, 1, 2, 0, 1, 2])
    proba = np.eye(3)[y] * 0.8 + 0.2 / 3
    m = ev.classification_metrics(y, y, proba, classes=[0, 1, 2])
    assert m["roc_auc"] == 1.0


def test_it_computes_regression_metrics() -> None:
    m = ev.regression_metrics([1.0, 2.0, 4.0], [1.0, 3.0, 3.0])
    assert m["mae"] == pytest.approx(2 / 3)
    assert m["mse"] == pytest.approx(2 / 3)
    assert m["rmse"] == pytest.approx(np.sqrt(2 / 3))
    assert m["mape"] == pytest.approx((0 + 0.5 + 0.25) / 3)
    assert m["r2"] == pytest.approx(1 - (2 / 3) / np.var([1, 2, 4]))


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG) and len(data) > 2000


def test_it_draws_classification_figures_as_png() -> None:
    rng = np.random.default_rng(0)
    y = rng.choice(["cat", "dog", "bird"], 90)
    proba = rng.dirichlet([1, 1, 1], 90)
    classes = ["bird", "cat", "dog"]
    assert_png(ev.plot_confusion_matrix(y, y, classes))
    assert_png(ev.plot_confusion_matrix(y, y[::-1], classes, normalize=True))
    assert_png(ev.plot_roc(y, proba, classes))
    assert_png(ev.plot_precision_recall(y, proba, classes))
    binary = (y == "cat").astype(int)
    assert_png(ev.plot_roc(binary, np.column_stack([1 - proba[:, 0], proba[:, 0]]), [0, 1]))


def test_it_caps_the_classes_shown_in_a_confusion_matrix() -> None:
    y = np.arange(300) % 60
    assert_png(ev.plot_confusion_matrix(y, y, list(range(60))))


def test_it_draws_regression_figures_as_png() -> None:
    y = np.linspace(0, 10, 50)
    assert_png(ev.plot_residuals(y, y + 0.5))
    assert_png(ev.plot_predicted_vs_actual(y, y * 1.1))


def test_it_draws_importance_and_learning_curves() -> None:
    rows = [{"feature": f"column number {i}", "importance": 1 / (i + 1)} for i in range(40)]
    assert_png(ev.plot_feature_importance(rows))
    history = [{"epoch": i + 1, "loss": 1 / (i + 1), "val_loss": 1.2 / (i + 1)} for i in range(5)]
    assert_png(ev.plot_learning_curve(history))


def test_it_can_draw_svg() -> None:
    assert b"<svg" in ev.plot_residuals([1.0, 2.0], [1.5, 2.5], fmt="svg")


def test_it_leaves_no_pyplot_figures_open() -> None:
    ev.plot_residuals([1.0, 2.0, 3.0], [1.5, 2.5, 2.0])
    assert plt.get_fignums() == []


def frame_and_target() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"signal": rng.normal(size=200), "noise": rng.normal(size=200),
                       "colour": rng.choice(["red", "green", "blue"], 200)})
    y = np.where(df["signal"] + (df["colour"] == "red") * 0.5 > 0, "yes", "no")
    return df, y


def pipeline(model: object, kinds: dict[str, str]):
    from sklearn.pipeline import Pipeline

    return Pipeline([("preprocess", build_preprocessor(kinds, PreprocessingConfig())),
                     ("model", model)])


KINDS = {"signal": "numeric", "noise": "numeric", "colour": "categorical"}


def test_it_credits_native_importance_to_input_columns() -> None:
    df, y = frame_and_target()
    fitted = pipeline(RandomForestClassifier(n_estimators=20, random_state=0), KINDS).fit(df, y)
    rows = ev.feature_importance(fitted, df, y)
    assert [r["feature"] for r in rows][0] == "signal"
    assert {r["feature"] for r in rows} == {"signal", "noise", "colour"}  # one-hot summed
    assert sum(r["importance"] for r in rows) == pytest.approx(1.0)


def test_it_uses_coefficients_of_linear_models() -> None:
    df, y = frame_and_target()
    fitted = pipeline(LogisticRegression(), KINDS).fit(df, y)
    assert ev.feature_importance(fitted, df, y)[0]["feature"] == "signal"


def test_it_falls_back_to_permutation_importance() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    df, y = frame_and_target()
    fitted = pipeline(KNeighborsClassifier(), KINDS).fit(df, y)
    rows = ev.feature_importance(fitted, df, y, max_rows=100)
    assert rows[0]["feature"] == "signal" and len(rows) == 3
