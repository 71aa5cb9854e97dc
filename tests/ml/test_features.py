"""ml.features: polynomial terms, interactions, and feature selection steps."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import Pipeline

from ml.config import FeatureConfig
from ml.errors import ConfigError
from ml.features import BoundedPolynomialFeatures, build_feature_steps, polynomial_output_size

X = np.random.default_rng(0).normal(size=(120, 3))


def steps(task: str = "regression", **options: object) -> list:
    return build_feature_steps(FeatureConfig(**options), task=task, random_state=0)


def test_it_adds_no_steps_by_default() -> None:
    assert steps() == []


def test_it_adds_squares_and_products_for_degree_two() -> None:
    (name, poly), = steps(polynomial_degree=2)
    assert name == "polynomial"
    assert poly.fit_transform(X).shape == (120, 9)  # 3 + 3 squares + 3 products


def test_it_adds_only_pairwise_products_for_interactions() -> None:
    (_, poly), = steps(interactions=True)
    out = poly.fit_transform(X)
    assert out.shape == (120, 6)
    assert np.allclose(out[:, 3], X[:, 0] * X[:, 1])


def test_it_refuses_an_explosion_of_columns() -> None:
    poly = BoundedPolynomialFeatures(degree=3, max_output_features=100)
    with pytest.raises(ConfigError, match="would make 219 columns") as info:
        poly.fit(np.zeros((2, 9)))
    assert info.value.field == "feature_engineering"
    assert polynomial_output_size(9, 3, False) == 219


def test_it_keeps_the_k_best_columns() -> None:
    y = 3 * X[:, 1] + np.random.default_rng(1).normal(scale=0.1, size=120)
    (_, select), = steps(select_k_best=1)
    select.fit(X, y)
    assert select.get_support().tolist() == [False, True, False]


def test_it_uses_the_classification_score_for_classification() -> None:
    y = np.where(X[:, 2] > 0, "up", "down")
    (_, select), = steps(task="classification", select_k_best=1)
    assert select.fit(X, y).get_support().tolist() == [False, False, True]


def test_it_selects_columns_with_a_model() -> None:
    wide = np.column_stack([X, np.random.default_rng(2).normal(size=(120, 5))])
    y = 5 * wide[:, 0] + wide[:, 1]
    (name, select), = steps(select_from_model=True)
    assert name == "select_from_model"
    kept = select.fit(wide, y).get_support()
    assert kept[0] and kept.sum() < wide.shape[1]


def test_its_steps_chain_in_a_pipeline_with_names() -> None:
    pipe = Pipeline(steps(polynomial_degree=2, select_k_best=4))
    y = X[:, 0] ** 2
    out = pipe.fit_transform(X, y)
    assert out.shape == (120, 4)
    assert "x0^2" in pipe.get_feature_names_out()
