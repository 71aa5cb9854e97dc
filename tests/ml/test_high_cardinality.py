"""Many-level categories: never a dense one-hot of thousands of columns, and no loss of quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config import PreprocessingConfig, TrainConfig
from ml.preprocessing import build_preprocessor, column_kinds, native_category_indices
from ml.train import train


@pytest.fixture(scope="module")
def wide_levels() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 6000
    codes = rng.integers(0, 2000, n)
    effect = rng.normal(0, 1, 2000)
    x = rng.normal(0, 1, n)
    logit = effect[codes] + x
    return pd.DataFrame({
        "x": x,
        "shop": np.array([f"shop{k}" for k in range(2000)], dtype=object)[codes],
        "kind": rng.choice(["a", "b", "c"], n).astype(object),
        "target": np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"),
    })


def _config(frame: pd.DataFrame, algorithm: str) -> TrainConfig:
    return TrainConfig.from_dict({"target": "target", "algorithm": algorithm,
                                  "validation": {"cv_folds": 0}}, columns=list(frame.columns))


def test_it_gives_hist_gradient_boosting_one_code_column_per_category(wide_levels) -> None:
    result = train(wide_levels, _config(wide_levels, "hist_gradient_boosting"))
    pre = result.pipeline.named_steps["preprocess"]
    out = pre.transform(wide_levels.drop(columns="target"))
    assert out.shape == (len(wide_levels), 3)  # shop, kind, x: not 2,000 one-hot columns
    model = result.pipeline.named_steps["model"]
    assert list(model.is_categorical_) == [True, True, False]
    assert out[:, 0].max() < 255  # the native limit: rare shops share a code


def test_it_bounds_the_default_one_hot_width(wide_levels) -> None:
    features = wide_levels.drop(columns="target")
    pre = build_preprocessor(column_kinds(features), PreprocessingConfig()).fit(features)
    assert pre.transform(features).shape[1] <= 1 + 100 + 3


def test_a_users_own_limits_replace_the_defaults(wide_levels) -> None:
    features = wide_levels.drop(columns="target")
    cfg = PreprocessingConfig(max_categories=10)
    out = build_preprocessor(column_kinds(features), cfg).fit_transform(features)
    assert out.shape[1] == 1 + 10 + 3


def test_the_code_columns_are_where_the_preprocessor_puts_them() -> None:
    frame = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=8).astype(str),
                          "c": list("abcdabcd"), "n": range(8), "e": list("xyxyxyxy")})
    kinds = column_kinds(frame)
    pre = build_preprocessor(kinds, PreprocessingConfig(), native_categories=True).fit(frame)
    codes = native_category_indices(kinds, PreprocessingConfig())
    assert codes == [0, 1]
    out = pre.transform(frame)
    assert out.shape[1] == 2 + 1 + 5  # two code columns, the number, five date parts
    assert set(out[:, 0]) == {0, 1, 2, 3} and set(out[:, 1]) == {0, 1}
    assert native_category_indices({"n": "numeric"}, PreprocessingConfig()) is None
    target = PreprocessingConfig(categorical_encoder="target")
    assert native_category_indices(kinds, target) is None


def test_native_categories_score_like_a_hand_written_one_hot(wide_levels) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    result = train(wide_levels, _config(wide_levels, "hist_gradient_boosting"))
    X, y = wide_levels.drop(columns="target"), wide_levels["target"].to_numpy(dtype=object)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=42)
    hand = make_pipeline(ColumnTransformer([
        ("n", SimpleImputer(strategy="median"), ["x"]),
        ("c", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01,
                            sparse_output=False), ["shop", "kind"]),
    ]), HistGradientBoostingClassifier(random_state=42)).fit(X_train, y_train)
    by_hand = f1_score(y_test, hand.predict(X_test), average="macro")
    assert result.metrics["f1_macro"] >= by_hand - 0.005
