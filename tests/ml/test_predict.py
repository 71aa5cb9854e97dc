"""Rows are checked against a model's input schema; predictions come back JSON-safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.bundle import Bundle
from ml.errors import SchemaError
from ml.predict import predict, rows_to_frame, to_json_safe, validate_frame

SCHEMA = [{"name": "age", "kind": "numeric", "dtype": "float64", "example": 31.0},
          {"name": "visits", "kind": "numeric", "dtype": "int64"},
          {"name": "member", "kind": "boolean", "dtype": "bool"},
          {"name": "city", "kind": "categorical", "dtype": "str"}]


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame({"age": rng.normal(40, 10, n), "visits": rng.integers(0, 6, n),
                         "member": rng.random(n) > 0.5,
                         "city": rng.choice(["Lyon", "Oslo", "Porto"], n)})


def _pipeline(estimator: object) -> Pipeline:
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["age", "visits", "member"]),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["city"]),
    ])
    return Pipeline([("prep", prep), ("model", estimator)])


@pytest.fixture(scope="module")
def classifier(training: pd.DataFrame) -> Pipeline:
    y = np.where(training["age"] + training["visits"] * 4 > 50, "high", "low")
    return _pipeline(LogisticRegression()).fit(training, y)


def test_rows_become_a_frame_in_schema_order_with_extra_keys_dropped() -> None:
    rows = [{"city": "Oslo", "age": 30, "visits": 2, "member": True, "shoe_size": 44},
            {"city": "Lyon", "age": "41.5", "visits": "3", "member": "no"}]
    df = rows_to_frame(rows, SCHEMA)
    assert list(df.columns) == ["age", "visits", "member", "city"]
    assert df["age"].tolist() == [30.0, 41.5]
    assert df["visits"].dtype == np.int64 and df["visits"].tolist() == [2, 3]
    assert df["member"].dtype == bool and df["member"].tolist() == [True, False]
    assert df["city"].tolist() == ["Oslo", "Lyon"]


def test_missing_values_are_allowed_and_become_nan() -> None:
    rows = [{"age": None, "visits": None, "member": None, "city": None},
            {"age": 3, "visits": 1, "member": True, "city": ""}]
    df = rows_to_frame(rows, SCHEMA)
    assert df["age"].isna().tolist() == [True, False]
    assert df["visits"].isna().tolist() == [True, False]
    assert pd.isna(df["member"][0]) and df["member"][1] is True
    assert df["city"].isna().tolist() == [True, True]


def test_a_column_absent_from_every_row_is_missing() -> None:
    with pytest.raises(SchemaError) as exc:
        rows_to_frame([{"age": 3, "member": True}], SCHEMA)
    assert exc.value.columns == ["visits", "city"]
    assert "visits" in str(exc.value) and "city" in str(exc.value)


def test_it_names_every_column_with_a_wrong_type() -> None:
    rows = [{"age": "abc", "visits": 1, "member": "maybe", "city": "Oslo"},
            {"age": 4, "visits": [1], "member": True, "city": "Oslo"}]
    with pytest.raises(SchemaError) as exc:
        rows_to_frame(rows, SCHEMA)
    assert exc.value.columns == ["age", "visits", "member"]
    message = str(exc.value)
    assert "'age' expects numbers (got 'abc')" in message
    assert "'member' expects true or false (got 'maybe')" in message


def test_it_refuses_rows_that_are_not_objects() -> None:
    with pytest.raises(SchemaError, match="list of objects"):
        rows_to_frame([[1, 2, 3]], SCHEMA)
    with pytest.raises(SchemaError, match="at least one row"):
        rows_to_frame([], SCHEMA)


def test_validate_frame_drops_extra_columns_and_keeps_the_index() -> None:
    df = pd.DataFrame({"extra": [1, 2], "city": ["Oslo", "Lyon"], "age": [1.0, np.nan],
                       "visits": [1, 2], "member": [True, False]}, index=[10, 11])
    clean = validate_frame(df, SCHEMA)
    assert list(clean.columns) == ["age", "visits", "member", "city"]
    assert list(clean.index) == [10, 11]
    assert clean["city"].tolist() == ["Oslo", "Lyon"]


def test_validate_frame_reports_missing_columns() -> None:
    with pytest.raises(SchemaError) as exc:
        validate_frame(pd.DataFrame({"age": [1.0]}), SCHEMA)
    assert exc.value.columns == ["visits", "member", "city"]


def test_datetime_columns_parse_dates_and_refuse_nonsense() -> None:
    schema = [{"name": "day", "kind": "datetime", "dtype": "datetime64[ns]"}]
    df = rows_to_frame([{"day": "2024-03-01"}, {"day": None}], schema)
    assert df["day"][0] == pd.Timestamp("2024-03-01") and pd.isna(df["day"][1])
    with pytest.raises(SchemaError, match="'day' expects dates"):
        rows_to_frame([{"day": "not a date"}], schema)


def test_classification_predictions_are_json_safe_with_probabilities(
    classifier: Pipeline,
) -> None:
    df = rows_to_frame([{"age": 60, "visits": 5, "member": True, "city": "Oslo"},
                        {"age": None, "visits": 0, "member": None, "city": None}], SCHEMA)
    result = predict(classifier, df, task="classification")
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert result["classes"] == ["high", "low"]
    assert result["predictions"][0] == "high"
    assert all(type(p) is str for p in result["predictions"])
    for row in result["probabilities"]:
        assert len(row) == 2 and abs(sum(row) - 1) < 1e-9
        assert all(type(p) is float for p in row)


def test_regression_predictions_are_plain_floats(training: pd.DataFrame) -> None:
    model = _pipeline(LinearRegression()).fit(training, training["age"] * 2)
    result = predict(model, training.head(3), task="regression")
    assert result["probabilities"] is None and result["classes"] is None
    assert all(type(p) is float for p in result["predictions"])
    np.testing.assert_allclose(result["predictions"], training["age"].head(3) * 2)


def test_a_bundle_brings_its_schema_task_and_classes(classifier: Pipeline) -> None:
    bundle = Bundle(classifier, {"task": "classification", "input_schema": SCHEMA,
                                 "classes": ["low", "high"]})
    frame = pd.DataFrame({"age": ["60"], "visits": [5], "member": ["yes"], "city": ["Oslo"]})
    result = predict(bundle, frame)
    # The probability columns follow the order of the given classes.
    assert result["classes"] == ["low", "high"]
    assert result["probabilities"][0][1] > 0.5 and result["predictions"] == ["high"]
    with pytest.raises(SchemaError, match="age"):
        predict(bundle, frame.assign(age="sixty"))


def test_encoded_targets_are_decoded_with_the_given_classes(training: pd.DataFrame) -> None:
    model = _pipeline(LogisticRegression()).fit(training, (training["visits"] > 2).astype(int))
    result = predict(model, training.head(4), task="classification", classes=["few", "many"])
    expected = ["many" if v > 2 else "few" for v in training["visits"].head(4)]
    assert result["predictions"] == expected and result["classes"] == ["few", "many"]


def test_to_json_safe_converts_numpy_and_missing_values() -> None:
    value = {"a": np.int64(3), "b": np.float32(0.5), "c": [np.nan, np.inf, None],
             "d": np.array([True, False]), 4: pd.Timestamp("2024-01-02"), "e": pd.NA}
    assert to_json_safe(value) == {"a": 3, "b": 0.5, "c": [None, None, None],
                                   "d": [True, False], "4": "2024-01-02T00:00:00", "e": None}


def test_engine_pipelines_predict_one_row_exactly_as_scikit_learn_does() -> None:
    import warnings

    from sklearn.pipeline import Pipeline

    from ml.config import TrainConfig
    from ml.predict import EnginePipeline
    from ml.train import train

    rng = np.random.default_rng(5)
    n = 200
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 9, n),
                       "city": rng.choice(["x", "y", "z"], n).astype(object),
                       "when": pd.Timestamp("2021-01-01") + pd.to_timedelta(
                           rng.integers(0, 500, n), unit="D")})
    df.loc[rng.random(n) < 0.1, "a"] = np.nan
    df.loc[rng.random(n) < 0.1, "city"] = None
    df["y"] = np.where(df["a"].fillna(0) + (df["city"] == "x") > 0.5, "yes", "no")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train(df, TrainConfig.from_dict({
            "target": "y", "algorithm": "random_forest", "params": {"n_estimators": 20},
            "validation": {"cv_folds": 0}}))
    fast = result.pipeline
    assert isinstance(fast, EnginePipeline)
    plain = Pipeline(fast.steps)  # scikit-learn's own code path, same fitted steps
    X = df.drop(columns="y")
    for rows in (X.iloc[[0]], X.iloc[[1, 2]], X):
        assert np.array_equal(fast.predict_proba(rows), plain.predict_proba(rows))
        assert np.array_equal(fast.predict(rows), plain.predict(rows))
        served = predict(fast, rows, task="classification", classes=result.classes)
        assert served["predictions"] == plain.predict(rows).tolist()
        assert np.array_equal(np.array(served["probabilities"]), plain.predict_proba(rows))


def test_one_true_false_vocabulary_for_training_and_serving() -> None:
    """A boolean column's "1.0" (or 1.0) reads at serving as training encoded it."""
    from ml.kinds import FALSE_WORDS, TRUE_WORDS
    from ml.preprocessing import _bool_column
    from ml.schema import _to_bool

    for word in TRUE_WORDS | FALSE_WORDS:
        encoded = _bool_column(pd.Series([word], dtype=object))[0]
        assert _to_bool(word) is bool(encoded == 1.0), word
    assert _to_bool(1.0) is True and _to_bool(0.0) is False and _to_bool(0.5) is None


def test_a_train_result_is_recorded_as_json_safe_values() -> None:
    import json

    from ml.config import TrainConfig
    from ml.train import TrainResult, train

    frame = pd.DataFrame({"x": np.arange(40.0), "y": ["a", "b"] * 20})
    result = train(frame, TrainConfig.from_dict({
        "target": "y", "algorithm": "decision_tree", "validation": {"cv_folds": 0}}))
    result.metrics["broken"] = float("nan")
    recorded = result.to_dict()
    assert set(recorded) == set(TrainResult.RECORDED)
    assert recorded["metrics"]["broken"] is None
    json.dumps(recorded, allow_nan=False)  # strict JSON
