"""ml.preprocessing: each column kind, options, feature names, and no leakage from test rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config import PreprocessingConfig
from ml.preprocessing import (
    DatetimeFeatures,
    build_preprocessor,
    column_kinds,
    feature_origins,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["paris", "lyon", "nice"], n).astype(object),
        "joined": pd.date_range("2021-03-01 08:00", periods=n, freq="37h").astype(str),
        "member": rng.choice(["yes", "no"], n),
        "note": [f"free text number {i} about a thing with several words" for i in range(n)],
    })
    df.loc[[1, 5, 9], "age"] = np.nan
    df.loc[[2, 4], "city"] = None
    return df


def fit(df: pd.DataFrame, y: object = None, **options: object):
    pre = build_preprocessor(column_kinds(df), PreprocessingConfig(**options))
    return pre.fit(df, y)


def test_it_detects_each_column_kind(frame: pd.DataFrame) -> None:
    assert column_kinds(frame) == {"age": "numeric", "city": "categorical", "joined": "datetime",
                                   "member": "boolean", "note": "text"}


def test_it_learns_statistics_from_the_training_rows_only(frame: pd.DataFrame) -> None:
    train, test = frame.iloc[:40], frame.iloc[40:].copy()
    test["age"] = 1e6  # a test split this far off would move any statistic it leaked into
    pre = fit(train)
    numeric = pre.named_transformers_["num"]
    assert numeric.named_steps["impute"].statistics_[0] == pytest.approx(train["age"].median())
    imputed = train["age"].fillna(train["age"].median())
    assert numeric.named_steps["scale"].mean_[0] == pytest.approx(imputed.mean())
    out = pre.transform(test)
    assert np.all(out[:, 0] > 1000)  # scaled with the training mean/std, not re-fitted


def test_it_names_every_output_column(frame: pd.DataFrame) -> None:
    pre = fit(frame)
    names = list(pre.get_feature_names_out())
    assert len(names) == pre.transform(frame).shape[1]
    assert "num__age" in names and "bool__member" in names
    assert {"cat__city_paris", "cat__city___missing__"} <= set(names)
    assert [n for n in names if n.startswith("date__")] == [
        f"date__joined_{p}" for p in ("year", "month", "day", "weekday", "hour")]
    assert not any("note" in n for n in names)  # text is dropped by default


def test_it_extracts_date_parts() -> None:
    parts = DatetimeFeatures().fit_transform(pd.DataFrame({"d": ["2024-02-29 13:45", None]}))
    assert parts[0].tolist() == [2024, 2, 29, 3, 13]  # a Thursday
    assert np.isnan(parts[1]).all()


def test_it_turns_booleans_into_zero_and_one(frame: pd.DataFrame) -> None:
    pre = fit(frame, scaler="none")
    column = list(pre.get_feature_names_out()).index("bool__member")
    out = pre.transform(frame)[:, column]
    assert set(out) == {0.0, 1.0}
    assert (out == 1.0).tolist() == (frame["member"] == "yes").tolist()


def test_it_hashes_text_when_asked(frame: pd.DataFrame) -> None:
    pre = fit(frame, text="hash", text_hash_features=16)
    names = list(pre.get_feature_names_out())
    assert sum(n.startswith("text0__note_hash_") for n in names) == 16
    assert pre.transform(frame).shape[1] == len(names)


def test_it_groups_rare_categories_and_tolerates_unknown_ones() -> None:
    df = pd.DataFrame({"c": ["a"] * 10 + ["b"] * 10 + ["rare"]})
    pre = fit(df, min_frequency=3)
    names = list(pre.get_feature_names_out())
    assert "cat__c_rare" not in names and "cat__c_infrequent_sklearn" in names
    unseen = pre.transform(pd.DataFrame({"c": ["never seen"]}))
    assert unseen.shape == (1, len(names))


@pytest.mark.parametrize("imputer", ["mean", "median", "most_frequent", "constant", "knn"])
def test_it_imputes_every_missing_number(frame: pd.DataFrame, imputer: str) -> None:
    out = fit(frame, numeric_imputer=imputer).transform(frame)
    assert not np.isnan(out).any()


def test_it_leaves_missing_numbers_without_an_imputer(frame: pd.DataFrame) -> None:
    out = fit(frame, numeric_imputer="none", scaler="none").transform(frame)
    assert np.isnan(out[:, 0]).sum() == 3


@pytest.mark.parametrize(("scaler", "check"), [
    ("minmax", lambda v: v.min() == pytest.approx(0) and v.max() == pytest.approx(1)),
    ("standard", lambda v: v.mean() == pytest.approx(0, abs=1e-9)),
    ("robust", lambda v: np.median(v) == pytest.approx(0, abs=1e-9)),
])
def test_it_scales_as_configured(frame: pd.DataFrame, scaler: str, check) -> None:
    assert check(fit(frame, scaler=scaler).transform(frame)[:, 0])


def test_it_encodes_categories_as_ordinals(frame: pd.DataFrame) -> None:
    pre = fit(frame, categorical_encoder="ordinal")
    names = list(pre.get_feature_names_out())
    values = pre.transform(frame)[:, names.index("cat__city")]
    assert set(values) == {0.0, 1.0, 2.0, 3.0}  # three cities and "missing"


def test_it_target_encodes_categories(frame: pd.DataFrame) -> None:
    y = (frame["city"] == "paris").astype(int).to_numpy()
    pre = build_preprocessor(column_kinds(frame), PreprocessingConfig(categorical_encoder="target"))
    out = pre.fit_transform(frame, y)
    names = list(pre.get_feature_names_out())
    encoded = out[:, names.index("cat__city")]
    assert encoded[y == 1].mean() > encoded[y == 0].mean() + 0.5


def test_it_maps_output_columns_back_to_input_columns(frame: pd.DataFrame) -> None:
    pre = fit(frame)
    origins = feature_origins(pre)
    assert len(origins) == len(pre.get_feature_names_out())
    assert set(origins) == {"age", "member", "city", "joined"}
    assert origins.count("city") == 4 and origins.count("joined") == 5


def test_it_skips_date_features_when_turned_off(frame: pd.DataFrame) -> None:
    names = fit(frame, datetime_features=False).get_feature_names_out()
    assert not any("joined" in n for n in names)


def test_it_reads_numbers_stored_as_text() -> None:
    df = pd.DataFrame({"n": ["1.5", "2.5", None, "4"]})
    out = build_preprocessor({"n": "numeric"}, PreprocessingConfig(scaler="none")).fit_transform(df)
    assert out[:, 0].tolist() == [1.5, 2.5, 2.5, 4.0]
