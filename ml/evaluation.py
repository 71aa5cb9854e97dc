"""Metrics and plots (PNG bytes) for a fitted model on held-out data."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a display: plots are made on workers

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.preprocessing import label_binarize  # noqa: E402

PRIMARY_METRIC = {"classification": "f1_macro", "regression": "r2"}
# Metrics where a smaller value is better (for sorting leaderboards).
LOWER_IS_BETTER = {"log_loss", "mae", "mse", "rmse", "mape"}
MAX_CLASSES_SHOWN = 20
MAX_CURVES_SHOWN = 10
MAX_FEATURES_SHOWN = 20
MAX_POINTS_SHOWN = 5000
MAX_PERMUTATIONS = 60
MAX_PERMUTED_CELLS = 2_000_000


# ---------------------------------------------------------------- metrics


def _clean(values: dict[str, Any]) -> dict[str, float]:
    """Keep finite floats only, so the result is JSON-safe."""
    out = {}
    for name, value in values.items():
        if value is not None and math.isfinite(float(value)):
            out[name] = float(value)
    return out


def classification_metrics(
    y_true: Any, y_pred: Any, y_proba: Any = None, classes: Sequence[Any] | None = None
) -> dict[str, float]:
    """Compute accuracy, balanced accuracy, macro/weighted scores, and ROC AUC / log loss."""
    y_true, y_pred, coded = _as_codes(y_true, y_pred, classes)
    values: dict[str, Any] = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
        "precision_macro": skm.precision_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y_true, y_pred, average="macro", zero_division=0),
        "f1_macro": skm.f1_score(y_true, y_pred, average="macro", zero_division=0),
        "f1_weighted": skm.f1_score(y_true, y_pred, average="weighted", zero_division=0),
    }
    if y_proba is not None and classes is not None:
        labels = list(range(len(list(classes)))) if coded is not None else list(classes)
        values.update(_probability_metrics(y_true, np.asarray(y_proba, dtype=float), labels))
    return _clean(values)


def _as_codes(y_true: Any, y_pred: Any,
              classes: Sequence[Any] | None) -> tuple[np.ndarray, np.ndarray, list[Any] | None]:
    """Return both label arrays as integer codes (class i -> i) and the labels coded.

    scikit-learn's metrics sort and compare the labels; on text labels that costs ten times
    more than the metric itself. Labels outside `classes` get codes after them. Where labels
    cannot be coded one to one, the arrays come back as they are, with None.
    """
    import pandas as pd

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(classes) if classes is not None else []
    known = set(labels)
    for array in (y_true, y_pred):
        for value in pd.unique(array):
            if value not in known:
                known.add(value)
                labels.append(value)
    index = pd.Index(labels)
    if index.has_duplicates or len(known) != len(labels):  # e.g. 1 and 1.0 and True
        return y_true, y_pred, None
    return index.get_indexer(y_true), index.get_indexer(y_pred), labels


def _probability_metrics(y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]) -> dict:
    labels = list(classes)
    out: dict[str, Any] = {}
    present = set(np.unique(y_true).tolist())
    if len(present) < 2:
        return out  # AUC is undefined with one class in the test split
    try:
        if len(labels) == 2:
            out["roc_auc"] = skm.roc_auc_score(y_true == labels[1], proba[:, 1])
        elif present == set(labels):
            out["roc_auc"] = skm.roc_auc_score(
                y_true, proba, multi_class="ovr", average="macro", labels=labels
            )
        out["log_loss"] = skm.log_loss(y_true, np.clip(proba, 1e-15, 1), labels=labels)
    except ValueError:
        pass  # e.g. a class absent from the test split: leave the metric out
    return out


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Compute MAE, MSE, RMSE, R² and MAPE."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    mse = skm.mean_squared_error(y_true, y_pred)
    values = {
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": skm.r2_score(y_true, y_pred) if len(y_true) > 1 else None,
        "mape": skm.mean_absolute_percentage_error(y_true, y_pred),
    }
    return _clean(values)


BASELINE_STRATEGY = {
    "classification": ("most_frequent", "always predicting the most frequent class"),
    "regression": ("mean", "always predicting the mean of the training rows"),
}


def baseline(task: str, y_train: Any, y_test: Any, classes: Sequence[Any] | None,
             model_metrics: dict[str, float]) -> dict[str, Any]:
    """Score the trivial model on the same split, and say whether the model beats it.

    Classification: the most frequent training class, with the training classes' shares as its
    probabilities (so log loss and ROC AUC have their chance values); regression: the training
    mean. `beaten` compares the primary metric; None when either score is missing.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    strategy, description = BASELINE_STRATEGY[task]
    X_train, X_test = np.zeros((len(y_train), 1)), np.zeros((len(y_test), 1))
    if task == "classification":
        dummy = DummyClassifier(strategy="prior").fit(X_train, y_train)
        proba = dummy.predict_proba(X_test)
        if classes is not None and list(dummy.classes_) != list(classes):
            # Line the dummy's columns up with the model's classes (a class may be absent).
            lookup = {c: i for i, c in enumerate(dummy.classes_)}
            aligned = np.zeros((len(y_test), len(classes)))
            for j, c in enumerate(classes):
                if c in lookup:
                    aligned[:, j] = proba[:, lookup[c]]
            proba = aligned
        metrics = classification_metrics(y_test, dummy.predict(X_test), proba,
                                         classes if classes is not None else dummy.classes_)
    else:
        dummy = DummyRegressor(strategy="mean").fit(X_train, np.asarray(y_train, dtype=float))
        metrics = regression_metrics(y_test, dummy.predict(X_test))
    primary = PRIMARY_METRIC[task]
    score, model_score = metrics.get(primary), model_metrics.get(primary)
    beaten = None
    if score is not None and model_score is not None:
        beaten = bool(metric_is_better(primary, model_score, score))
    return {"strategy": strategy, "description": description, "metric": primary,
            "score": score, "metrics": metrics, "beaten": beaten}


def metric_is_better(metric: str, a: float, b: float) -> bool:
    """Return True when score a beats score b for this metric."""
    return a < b if metric in LOWER_IS_BETTER else a > b


# ---------------------------------------------------------------- figure helpers


def _figure(width: float = 6.4, height: float = 4.8) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot(1, 1, 1)


def figure_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """Render a Figure to PNG (or SVG) bytes and release it."""
    buffer = io.BytesIO()
    try:
        # bbox "tight" crops to what is drawn; a tight_layout pass first would draw it twice.
        fig.savefig(buffer, format=fmt, bbox_inches="tight")
    finally:
        fig.clear()
    return buffer.getvalue()


def _label(value: Any, limit: int = 24) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top_classes(y_true: np.ndarray, classes: Sequence[Any]) -> list[Any]:
    """Cap the classes shown to the most frequent ones in y_true, kept in class order."""
    labels = list(classes)
    if len(labels) <= MAX_CLASSES_SHOWN:
        return labels
    counts = {c: int(np.sum(y_true == c)) for c in labels}
    top = set(sorted(labels, key=lambda c: -counts[c])[:MAX_CLASSES_SHOWN])
    return [c for c in labels if c in top]


# ---------------------------------------------------------------- classification plots


def plot_confusion_matrix(
    y_true: Any, y_pred: Any, classes: Sequence[Any], *, normalize: bool = False,
    fmt: str = "png",
) -> bytes:
    """Plot the confusion matrix (counts, or rows normalised to 1)."""
    true_codes, pred_codes, coded = _as_codes(y_true, y_pred, classes)
    labels = _top_classes(np.asarray(y_true), classes)
    positions = [coded.index(c) for c in labels] if coded is not None else labels
    counts = skm.confusion_matrix(true_codes, pred_codes, labels=positions).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = min(4 + 0.45 * len(labels), 14)
    fig, ax = _figure(size + 1, size)
    # Coloured by the share of each true class, so rare classes read as clearly as common ones.
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("Share of the true class")
    names = [_label(c) for c in labels]
    ax.set_xticks(range(len(labels)), names, rotation=45 if len(labels) > 3 else 0, ha="right")
    ax.set_yticks(range(len(labels)), names)
    if len(labels) <= 15:
        _annotate_cells(ax, counts, shares, normalize)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    title = "Confusion matrix (normalised by true class)" if normalize else "Confusion matrix"
    if len(labels) < len(list(classes)):
        title += f" — {len(labels)} most frequent classes"
    ax.set_title(title)
    return figure_bytes(fig, fmt)


def _annotate_cells(ax: Any, counts: np.ndarray, shares: np.ndarray, normalize: bool) -> None:
    """Write each cell's share (normalised), or its count with the share under it."""
    small = counts.shape[0] > 6
    for (i, j), share in np.ndenumerate(shares):
        if normalize:
            text = f"{share:.2f}"
        else:
            text = f"{int(counts[i, j])}" if small else f"{int(counts[i, j])}\n{share:.0%}"
        color = "white" if share > 0.5 else "black"
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)


def _curve_targets(
    y_true: np.ndarray, proba: np.ndarray, classes: Sequence[Any]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Return (name, binary truth, score) per curve: one for binary, one-vs-rest otherwise."""
    labels = list(classes)
    if len(labels) == 2:
        return [(str(labels[1]), (y_true == labels[1]).astype(int), proba[:, 1])]
    truth = label_binarize(y_true, classes=labels)
    shown = _top_classes(y_true, labels)[:MAX_CURVES_SHOWN]
    return [(str(c), truth[:, labels.index(c)], proba[:, labels.index(c)]) for c in shown
            if 0 < truth[:, labels.index(c)].sum() < len(truth)]


def plot_roc(y_true: Any, y_proba: Any, classes: Sequence[Any], *, fmt: str = "png") -> bytes:
    """Plot ROC curves (positive class for binary, one-vs-rest for multiclass)."""
    y_true, proba = np.asarray(y_true), np.asarray(y_proba, dtype=float)
    fig, ax = _figure()
    for name, truth, score in _curve_targets(y_true, proba, classes):
        fpr, tpr, _ = skm.roc_curve(truth, score)
        ax.plot(fpr, tpr, label=f"{_label(name)} (AUC {skm.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="Chance")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title("ROC curve" + (" (one vs rest)" if len(list(classes)) > 2 else ""))
    ax.legend(loc="lower right", fontsize=8)
    return figure_bytes(fig, fmt)


def plot_precision_recall(
    y_true: Any, y_proba: Any, classes: Sequence[Any], *, fmt: str = "png"
) -> bytes:
    """Plot precision-recall curves (positive class for binary, one-vs-rest for multiclass)."""
    y_true, proba = np.asarray(y_true), np.asarray(y_proba, dtype=float)
    fig, ax = _figure()
    for name, truth, score in _curve_targets(y_true, proba, classes):
        precision, recall, _ = skm.precision_recall_curve(truth, score)
        ap = skm.average_precision_score(truth, score)
        ax.plot(recall, precision, label=f"{_label(name)} (AP {ap:.3f})")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.05)
    ax.set_title("Precision-recall curve" + (" (one vs rest)" if len(list(classes)) > 2 else ""))
    ax.legend(loc="lower left", fontsize=8)
    return figure_bytes(fig, fmt)


# ---------------------------------------------------------------- regression plots


def _sample(*arrays: np.ndarray, limit: int = MAX_POINTS_SHOWN) -> list[np.ndarray]:
    n = len(arrays[0])
    if n <= limit:
        return list(arrays)
    index = np.random.default_rng(0).choice(n, size=limit, replace=False)
    return [a[index] for a in arrays]


def plot_residuals(y_true: Any, y_pred: Any, *, fmt: str = "png") -> bytes:
    """Plot residuals (actual − predicted) against the predictions."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    y_true, y_pred = _sample(y_true, y_pred)
    fig, ax = _figure()
    ax.scatter(y_pred, y_true - y_pred, s=10, alpha=0.5)
    ax.axhline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("Predicted value")
    ax.set_ylabel("Residual (actual − predicted)")
    ax.set_title("Residuals")
    return figure_bytes(fig, fmt)


def plot_predicted_vs_actual(y_true: Any, y_pred: Any, *, fmt: str = "png") -> bytes:
    """Plot predictions against actual values with the ideal diagonal."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    y_true, y_pred = _sample(y_true, y_pred)
    fig, ax = _figure(5.6, 5.6)
    ax.scatter(y_true, y_pred, s=10, alpha=0.5)
    low = float(min(y_true.min(), y_pred.min()))
    high = float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1, label="Ideal")
    ax.set_xlabel("Actual value")
    ax.set_ylabel("Predicted value")
    ax.set_title("Predicted vs actual")
    ax.legend(loc="upper left", fontsize=8)
    return figure_bytes(fig, fmt)


# ---------------------------------------------------------------- model plots


def plot_feature_importance(
    importance: list[dict[str, Any]], *, title: str = "Feature importance", fmt: str = "png"
) -> bytes:
    """Plot the top features as horizontal bars from [{"feature", "importance"}, ...]."""
    top = sorted(importance, key=lambda r: -abs(r["importance"]))[:MAX_FEATURES_SHOWN]
    top = top[::-1]  # largest at the top of the chart
    fig, ax = _figure(7.5, max(2.5, 0.35 * len(top) + 1.2))
    ax.barh(range(len(top)), [r["importance"] for r in top], color="#4C72B0")
    ax.set_yticks(range(len(top)), [_label(r["feature"], 32) for r in top])
    ax.set_xlabel("Importance")
    shown = f" (top {len(top)} of {len(importance)})" if len(importance) > len(top) else ""
    ax.set_title(title + shown)
    return figure_bytes(fig, fmt)


def plot_learning_curve(history: list[dict[str, Any]], *, fmt: str = "png") -> bytes:
    """Plot training and validation loss per epoch from a Keras history."""
    fig, ax = _figure()
    epochs = [int(h.get("epoch", i + 1)) for i, h in enumerate(history)]
    for key, label in (("loss", "Training loss"), ("val_loss", "Validation loss")):
        points = [(e, h[key]) for e, h in zip(epochs, history, strict=True)
                  if h.get(key) is not None]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss")
    ax.set_title("Learning curve")
    ax.legend(loc="upper right", fontsize=8)
    return figure_bytes(fig, fmt)


# ---------------------------------------------------------------- feature importance


def feature_importance(
    pipeline: Any, X: Any, y: Any, *, scoring: str | None = None, random_state: int = 0,
    max_rows: int = 1000, n_repeats: int = 3,
) -> list[dict[str, Any]]:
    """Rank the input columns by importance: native (summed per column) or by permutation."""
    native = _native_by_column(pipeline)
    if native is not None:
        return native
    # Each repeat permutes one column: keep the number of predicted cells bounded.
    n_columns = max(X.shape[1], 1)
    n_repeats = max(1, min(n_repeats, MAX_PERMUTATIONS // n_columns))
    rows = min(max_rows, max(50, MAX_PERMUTED_CELLS // (n_columns * (1 + n_columns * n_repeats))))
    X_small, y_small = _bounded_sample(X, y, rows, random_state)
    importances = _permutation_importance(pipeline, X_small, np.asarray(y_small),
                                          n_repeats=n_repeats, random_state=random_state)
    rows_out = [{"feature": str(c), "importance": float(v)}
                for c, v in zip(X_small.columns, importances, strict=True)]
    return sorted(rows_out, key=lambda r: -r["importance"])


def _permutation_importance(pipeline: Any, X: Any, y: np.ndarray, *, n_repeats: int,
                            random_state: int) -> list[float]:
    """Mean drop of the score when each column is shuffled, all copies in one `predict`.

    The same measure as scikit-learn's `permutation_importance` (accuracy for classifiers, R²
    for regressors), but one call over every permuted copy instead of one per copy: the
    per-call cost of a pipeline (column selection, a Keras graph) is paid once, not 60 times.
    """
    import pandas as pd

    X = X.reset_index(drop=True)
    n = len(X)
    rng = np.random.default_rng(random_state)
    blocks = [X]
    for column in X.columns:
        for _ in range(n_repeats):
            block = X.copy(deep=False)
            block[column] = X[column].iloc[rng.permutation(n)].set_axis(X.index)
            blocks.append(block)
    predicted = np.asarray(pipeline.predict(pd.concat(blocks, ignore_index=True)))
    classifier = hasattr(pipeline, "classes_")

    def score(part: np.ndarray) -> float:
        if classifier:
            return float(np.mean(part == y))
        return float(skm.r2_score(y, part))

    base = score(predicted[:n])
    drops = []
    for i in range(len(X.columns)):
        starts = [n * (1 + i * n_repeats + r) for r in range(n_repeats)]
        drops.append(float(np.mean([base - score(predicted[s:s + n]) for s in starts])))
    return drops


def _bounded_sample(X: Any, y: Any, limit: int, random_state: int) -> tuple[Any, Any]:
    if len(X) <= limit:
        return X, y
    index = np.random.default_rng(random_state).choice(len(X), size=limit, replace=False)
    return X.iloc[index], np.asarray(y)[index]


def _native_by_column(pipeline: Any) -> list[dict[str, Any]] | None:
    """Sum the model's own importances per original column, when they can be mapped back."""
    from ml.preprocessing import feature_origins

    steps = dict(pipeline.steps)
    if "polynomial" in steps or "preprocess" not in steps:
        return None  # products of columns cannot be credited to one column
    raw = _native_importance(pipeline.steps[-1][1])
    if raw is None:
        return None
    origins = np.asarray(feature_origins(steps["preprocess"]), dtype=object)
    for _name, step in pipeline.steps[1:-1]:
        if hasattr(step, "get_support"):
            origins = origins[step.get_support()]
    if len(origins) != len(raw):
        return None
    totals: dict[str, float] = {}
    for origin, value in zip(origins, raw, strict=True):
        totals[str(origin)] = totals.get(str(origin), 0.0) + float(value)
    total = sum(totals.values()) or 1.0
    rows = [{"feature": k, "importance": v / total} for k, v in totals.items()]
    return sorted(rows, key=lambda r: -r["importance"])


def _native_importance(estimator: Any) -> np.ndarray | None:
    values = getattr(estimator, "feature_importances_", None)
    if values is None:
        coef = getattr(estimator, "coef_", None)
        if coef is None:
            return None
        coef = np.abs(np.asarray(coef, dtype=float))
        values = coef.mean(axis=0) if coef.ndim == 2 else coef
    values = np.asarray(values, dtype=float).ravel()
    return values if np.all(np.isfinite(values)) else None
