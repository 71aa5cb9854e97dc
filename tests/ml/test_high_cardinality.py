"""Many-level categories: never a dense one-hot of thousands of columns, and no loss of quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config import PreprocessingConfig, TrainConfig
from ml.preprocessing import build_preprocessor, categorical_mask, column_kinds
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
    assert out.shape == (len(wide_levels), 3)  # x, shop, kind: not 2,000 one-hot columns
    model = result.pipeline.named_steps["model"]
    assert list(model.is_categorical_) == [False, True, True]
    assert out[:, 1].max() < 255  # the native limit: rare shops share a code


def test_it_bounds_the_default_one_hot_width(wide_levels) -> None:
    features = wide_levels.drop(columns="target")
    pre = build_preprocessor(column_kinds(features), PreprocessingConfig()).fit(features)
    assert pre.transform(features).shape[1] <= 1 + 100 + 3


def test_a_users_own_limits_replace_the_defaults(wide_levels) -> None:
    features = wide_levels.drop(columns="target")
    cfg = PreprocessingConfig(max_categories=10)
    out = build_preprocessor(column_kinds(features), cfg).fit_transform(features)
    assert out.shape[1] == 1 + 10 + 3


def test_the_mask_follows_the_output_layout() -> None:
    kinds = {"d": "datetime", "c": "categorical", "n": "numeric", "b": "boolean"}
    assert categorical_mask(kinds, PreprocessingConfig()) == [False, False, True] + [False] * 5
    assert categorical_mask({"n": "numeric"}, PreprocessingConfig()) is None
    target = PreprocessingConfig(categorical_encoder="target")
    assert categorical_mask(kinds, target) is None


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
