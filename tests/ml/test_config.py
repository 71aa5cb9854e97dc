"""ml.config: defaults as the API body, ConfigError naming the field, checks against data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from ml.config import TrainConfig, validate_for_data
from ml.errors import ConfigError


def body(**extra: object) -> dict:
    return {"target": "y", "algorithm": "random_forest", **extra}


def field_of(d: dict, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict(d, **kwargs)
    assert str(info.value)  # a message for a person
    return info.value.field


def test_it_fills_the_api_defaults() -> None:
    cfg = TrainConfig.from_dict(body())
    assert cfg.task == "auto" and cfg.features is None and cfg.tuning is None
    assert (cfg.preprocessing.numeric_imputer, cfg.preprocessing.scaler,
            cfg.preprocessing.categorical_encoder, cfg.preprocessing.datetime_features) == (
        "median", "standard", "onehot", True)
    fe = cfg.feature_engineering
    assert (fe.polynomial_degree, fe.interactions, fe.select_k_best) == (1, False, None)
    v = cfg.validation
    assert (v.test_size, v.cv_folds, v.stratify, v.random_state, v.split) == (
        0.2, 5, True, 42, "random")
    assert cfg.time_budget_s is None


def test_it_fills_tuning_defaults() -> None:
    cfg = TrainConfig.from_dict(body(tuning={"method": "bayesian"}))
    assert (cfg.tuning.method, cfg.tuning.n_trials, cfg.tuning.space) == ("bayesian", 20, None)


@pytest.mark.parametrize(("d", "field"), [
    (body(colour="red"), "colour"),
    (body(preprocessing={"scaler": "standard", "extra": 1}), "preprocessing"),
    (body(preprocessing={"numeric_imputer": "average"}), "preprocessing"),
    (body(preprocessing={"datetime_features": "yes"}), "preprocessing"),
    (body(validation={"test_size": 0.95}), "validation"),
    (body(validation={"test_size": 0}), "validation"),
    (body(validation={"cv_folds": 21}), "validation"),
    (body(validation={"cv_folds": 2.5}), "validation"),
    (body(validation={"stratify": 1}), "validation"),
    (body(validation={"split": "sideways"}), "validation"),
    (body(feature_engineering={"polynomial_degree": 4}), "feature_engineering"),
    (body(feature_engineering={"select_k_best": 0}), "feature_engineering"),
    (body(tuning={"method": "annealing"}), "tuning"),
    (body(tuning={"method": "grid", "space": {"max_depth": {"low": 1, "high": 9}}}), "tuning"),
    (body(tuning={"method": "random", "space": {"max_depth": {"low": 9, "high": 1}}}), "tuning"),
    (body(tuning={"method": "random", "space": {"max_depth": 3}}), "tuning"),
    (body(time_budget_s=-5), "time_budget_s"),
    (body(features="age"), "features"),
    (body(features=["y"]), "features"),
    (body(task="clustering"), "task"),
    ({"algorithm": "random_forest"}, "target"),
    (body(algorithm="telepathy"), "algorithm"),
    (body(params=[1, 2]), "params"),
])
def test_it_refuses_bad_settings_naming_the_field(d: dict, field: str) -> None:
    assert field_of(d) == field


def test_it_accepts_grid_lists_and_random_ranges() -> None:
    grid = TrainConfig.from_dict(body(tuning={"method": "grid", "space": {"max_depth": [3, None]}}))
    ranges = TrainConfig.from_dict(body(tuning={
        "method": "random", "space": {"n_estimators": {"low": 10, "high": 50, "log": True}}}))
    assert grid.tuning.space == {"max_depth": [3, None]}
    assert ranges.tuning.space["n_estimators"]["log"] is True


def test_it_checks_params_when_the_task_is_given() -> None:
    d = body(task="classification", params={"n_estimators": 0})
    assert field_of(d) == "params"


def test_it_refuses_a_tuning_space_for_a_param_the_algorithm_lacks() -> None:
    d = body(task="regression", tuning={"method": "random", "space": {"alpha": [1, 2]}})
    assert field_of(d) == "tuning"


def test_it_checks_target_and_features_against_columns() -> None:
    assert field_of(body(), columns=["a", "b"]) == "target"
    assert field_of(body(features=["a", "zz"]), columns=["a", "y"]) == "features"


def test_it_resolves_the_task_from_the_data() -> None:
    iris = load_iris(as_frame=True).frame
    diabetes = load_diabetes(as_frame=True).frame
    cls = validate_for_data(TrainConfig.from_dict(body(target="target")), iris)
    reg = validate_for_data(TrainConfig.from_dict(body(target="target")), diabetes)
    assert (cls.task, reg.task) == ("classification", "regression")
    assert cls.params["n_estimators"] == 100  # defaults resolved by the algorithm


def test_it_refuses_a_target_with_one_class() -> None:
    df = pd.DataFrame({"x": range(20), "y": ["same"] * 20})
    with pytest.raises(ConfigError, match="only one class") as info:
        validate_for_data(TrainConfig.from_dict(body()), df)
    assert info.value.field == "target"


def test_it_refuses_an_algorithm_that_does_not_fit_the_task() -> None:
    df = pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10})
    with pytest.raises(ConfigError) as info:
        validate_for_data(TrainConfig.from_dict(body(algorithm="ridge")), df)
    assert info.value.field == "algorithm"


def test_it_refuses_regression_on_text() -> None:
    df = pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10})
    cfg = TrainConfig.from_dict(body(task="regression"))
    with pytest.raises(ConfigError, match="not numeric") as info:
        validate_for_data(cfg, df)
    assert info.value.field == "target"


def test_it_refuses_a_target_column_missing_from_the_data() -> None:
    df = pd.DataFrame({"x": np.arange(5.0)})
    with pytest.raises(ConfigError) as info:
        validate_for_data(TrainConfig.from_dict(body()), df)
    assert info.value.field == "target"


def test_it_refuses_a_metric_for_the_other_task() -> None:
    df = pd.DataFrame({"x": range(20), "y": ["a", "b"] * 10})
    cfg = TrainConfig.from_dict(body(tuning={"method": "random", "metric": "rmse"}))
    with pytest.raises(ConfigError) as info:
        validate_for_data(cfg, df)
    assert info.value.field == "tuning"
