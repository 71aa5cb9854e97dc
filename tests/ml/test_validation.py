"""ml.validation: the JSON-safe profile, every quality warning code, and the target report."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris

from ml.data import read_csv
from ml.errors import DataError
from ml.targets import infer_task, target_report
from ml.validation import (
    LONG_COLUMN_ROWS,
    _summarise_numbers,
    _summarise_numeric,
    profile_dataframe,
)

RNG = np.random.default_rng(0)


def iris() -> pd.DataFrame:
    bunch = load_iris(as_frame=True)
    df = bunch.frame.drop(columns="target")
    df["species"] = bunch.target_names[bunch.target]
    return df


def codes(report: dict) -> set[tuple[str | None, str]]:
    warnings = report["quality"]["warnings"] if "quality" in report else report["warnings"]
    return {(w["column"], w["code"]) for w in warnings}


def as_json(report: dict) -> dict:
    return json.loads(json.dumps(report, allow_nan=False))  # fails on NaN or Infinity


# ---------------------------------------------------------------- profile


def test_it_profiles_iris_columns() -> None:
    report = as_json(profile_dataframe(iris()))
    assert (report["n_rows"], report["n_columns"]) == (150, 5)
    sepal = report["columns"][0]
    assert sepal["name"] == "sepal length (cm)" and sepal["kind"] == "numeric"
    assert sepal["stats"]["min"] == 4.3 and sepal["stats"]["max"] == 7.9
    assert sepal["stats"]["mean"] == pytest.approx(5.8433, abs=1e-3)
    assert sepal["stats"]["std"] == pytest.approx(0.8281, abs=1e-3)
    assert sepal["n_unique"] == 35 and sepal["n_missing"] == 0
    histogram = sepal["histogram"]
    assert len(histogram["counts"]) == 20 and len(histogram["bins"]) == 21
    assert sum(histogram["counts"]) == 150
    assert histogram["bins"][0] == 4.3 and histogram["bins"][-1] == pytest.approx(7.9)
    species = report["columns"][4]
    assert species["kind"] == "categorical" and species["histogram"] is None
    assert species["stats"]["top"] == [
        {"value": "setosa", "count": 50},
        {"value": "versicolor", "count": 50},
        {"value": "virginica", "count": 50},
    ]


def test_it_finds_nothing_wrong_with_iris_but_its_one_duplicate_row() -> None:
    df = iris()
    assert codes(profile_dataframe(df)) == {(None, "duplicate_rows")}
    assert profile_dataframe(df)["quality"]["duplicate_rows"] == 1  # iris repeats one row
    assert codes(profile_dataframe(df.drop_duplicates())) == set()


def test_it_has_at_most_20_histogram_bins_and_fewer_for_few_values() -> None:
    df = pd.DataFrame({"wide": RNG.normal(size=500), "dice": RNG.integers(1, 7, 500)})
    columns = profile_dataframe(df)["columns"]
    assert len(columns[0]["histogram"]["counts"]) == 20
    assert len(columns[1]["histogram"]["counts"]) == 6
    assert sum(columns[1]["histogram"]["counts"]) == 500


def test_it_is_json_safe_with_nan_infinity_and_odd_values() -> None:
    df = pd.DataFrame(
        {
            "x": [1.0, np.nan, np.inf, -np.inf],
            "empty": [np.nan] * 4,
            "when": pd.to_datetime(["2020-01-01", None, "2020-03-01", "2020-01-01"]),
            "flag": [True, False, True, True],
            "obj": [1, "a", None, 2.5],
            "lists": [[1], [1], [2], None],
        }
    )
    report = as_json(profile_dataframe(df))
    x, empty, when = report["columns"][0], report["columns"][1], report["columns"][2]
    assert x["stats"] == {"min": 1.0, "max": 1.0, "mean": 1.0, "std": None}
    assert empty["stats"] == {"min": None, "max": None, "mean": None, "std": None}
    assert empty["histogram"] is None
    assert when["kind"] == "datetime" and when["stats"]["min"] == "2020-01-01T00:00:00"
    assert report["columns"][3]["kind"] == "boolean"


def test_it_counts_missing_cells_and_duplicate_rows() -> None:
    df = pd.DataFrame({"a": [1, 1, 2, None], "b": ["x", "x", "y", None]})
    quality = profile_dataframe(df)["quality"]
    assert quality["missing_cells"] == 2 and quality["duplicate_rows"] == 1


def test_it_profiles_a_frame_read_from_csv() -> None:
    data = b"id,amount,colour,when\n" + b"".join(
        b"%d,%d.5,%s,2024-01-%02d\n" % (i, i % 7, [b"red", b"blue"][i % 2], 1 + i % 28)
        for i in range(100)
    )
    report = as_json(profile_dataframe(read_csv(io.BytesIO(data))))
    kinds = [c["kind"] for c in report["columns"]]
    assert kinds == ["numeric", "numeric", "categorical", "datetime"]
    assert report["columns"][0]["id_like"] is True


def test_it_keeps_ties_in_order_of_first_appearance_and_counts_lists_by_text() -> None:
    df = pd.DataFrame(
        {
            "colour": pd.Series(["blue", "red", None, "red", "blue", "green"], dtype="str"),
            "lists": [[1], [2], [1], None, [2], [1]],
        }
    )
    colour, lists = profile_dataframe(df)["columns"]
    assert colour["stats"]["top"] == [
        {"value": "blue", "count": 2},
        {"value": "red", "count": 2},
        {"value": "green", "count": 1},
    ]
    assert (colour["n_unique"], colour["n_missing"]) == (3, 1)
    assert lists["stats"]["top"] == [{"value": "[1]", "count": 3}, {"value": "[2]", "count": 2}]


LONG = LONG_COLUMN_ROWS + 101


@pytest.mark.parametrize(
    "values",
    [
        np.where(RNG.random(LONG) < 0.05, np.nan, RNG.normal(size=LONG)),
        RNG.integers(1, 7, LONG).astype(float),
        np.concatenate([RNG.normal(size=LONG - 3), [np.inf, -np.inf, np.nan]]),
        np.tile(np.linspace(0, 1, 21), LONG // 21 + 1)[:LONG],  # values on the bin edges
        np.round(RNG.random(LONG) * 2, 1),
        np.full(LONG, 3.0),
        np.full(LONG, np.nan),
        np.concatenate([[2.5], np.full(LONG - 1, np.nan)]),
    ],
    ids=["normal", "dice", "infinities", "edges", "tenths", "constant", "empty", "one-value"],
)
def test_long_columns_get_the_same_summary_as_short_ones(values: np.ndarray) -> None:
    long = _summarise_numbers(values)
    block = _summarise_numeric(values.reshape(-1, 1))[0]
    for key, value in block["stats"].items():  # None where there is no finite value
        assert long["stats"][key] == (None if value is None else pytest.approx(value, rel=1e-9))
    assert {k: v for k, v in long.items() if k != "stats"} == {
        k: v for k, v in block.items() if k != "stats"
    }


def test_it_profiles_a_long_frame_exactly() -> None:
    n = LONG
    dice = np.arange(n) % 6 + 1.0
    dice[::10] = np.nan
    df = pd.DataFrame(
        {
            "dice": dice,
            "plan": pd.Series(np.where(np.arange(n) % 4 == 0, "pro", "free"), dtype="str"),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) % 3, unit="D"),
        }
    )
    report = as_json(profile_dataframe(df))
    dice, plan, when = report["columns"]
    assert dice["n_unique"] == 6 and dice["n_missing"] == len(range(0, n, 10))
    assert dice["stats"]["min"] == 1.0 and dice["stats"]["max"] == 6.0
    assert dice["histogram"]["counts"] == [int(np.sum(df["dice"] == v)) for v in range(1, 7)]
    assert plan["stats"]["top"] == [
        {"value": "free", "count": n - len(range(0, n, 4))},
        {"value": "pro", "count": len(range(0, n, 4))},
    ]
    assert when["stats"]["max"] == "2024-01-03T00:00:00"
    assert report["quality"]["duplicate_rows"] == n - len(df.drop_duplicates())


def test_it_counts_duplicates_of_a_long_frame_across_numeric_and_text_columns() -> None:
    i = np.arange(LONG)
    df = pd.DataFrame({"a": i % 10, "t": pd.Series((i % 7).astype(str), dtype="str")})
    assert profile_dataframe(df)["quality"]["duplicate_rows"] == LONG - 70
    df["code"] = pd.Series([f"C{j}" for j in i], dtype="str")  # every row now differs
    assert profile_dataframe(df)["quality"]["duplicate_rows"] == 0


# ---------------------------------------------------------------- each warning code


def base_frame(n: int = 200) -> pd.DataFrame:
    return pd.DataFrame({"x": RNG.normal(size=n), "colour": RNG.choice(["r", "g", "b"], n)})


def test_it_warns_about_a_constant_column() -> None:
    df = base_frame().assign(country="NZ")
    assert ("country", "constant_column") in codes(profile_dataframe(df))


def test_it_warns_about_an_all_missing_column() -> None:
    df = base_frame().assign(notes=np.nan)
    found = codes(profile_dataframe(df))
    assert ("notes", "all_missing") in found
    assert ("notes", "constant_column") not in found


def test_it_warns_about_a_mostly_missing_column() -> None:
    df = base_frame(300)
    df["income"] = np.where(np.arange(len(df)) % 3 == 0, 5.0, np.nan) * RNG.random(len(df))
    report = profile_dataframe(df)
    assert ("income", "high_missing") in codes(report)
    message = next(w["message"] for w in report["quality"]["warnings"] if w["column"] == "income")
    assert "67%" in message


def test_it_warns_about_a_high_cardinality_category() -> None:
    df = base_frame(1_000)
    df["city"] = [f"town {i % 300}" for i in range(1_000)]
    assert ("city", "high_cardinality") in codes(profile_dataframe(df))


def test_it_warns_about_an_id_like_column() -> None:
    df = base_frame().assign(customer_id=[f"C-{i:06d}" for i in range(200)])
    report = profile_dataframe(df)
    assert ("customer_id", "id_like") in codes(report)
    assert ("customer_id", "high_cardinality") not in codes(report)
    warning = next(w for w in report["quality"]["warnings"] if w["code"] == "id_like")
    assert warning["severity"] == "info"


def test_it_warns_about_numbers_mixed_with_text_in_a_csv_column() -> None:
    rows = b"".join(
        b"%d,%s\n" % (i, b"n/a?" if i % 10 == 0 else b"%d" % (i * 3)) for i in range(100)
    )
    df = read_csv(io.BytesIO(b"row,weight\n" + rows))
    report = profile_dataframe(df)
    assert ("weight", "mixed_types") in codes(report)
    message = next(
        w["message"] for w in report["quality"]["warnings"] if w["code"] == "mixed_types"
    )
    assert "90%" in message and "'n/a?'" in message


def test_it_warns_about_python_objects_of_different_types() -> None:
    df = base_frame(6).assign(mixed=[1, "one", 2, "two", 3.5, "three"])
    assert ("mixed", "mixed_types") in codes(profile_dataframe(df))


def test_it_warns_about_duplicate_rows() -> None:
    df = pd.concat([base_frame(50)] * 2, ignore_index=True)
    report = profile_dataframe(df)
    assert (None, "duplicate_rows") in codes(report)
    assert report["quality"]["duplicate_rows"] == 50


def test_a_clean_frame_gets_no_warnings() -> None:
    assert codes(profile_dataframe(base_frame())) == set()


# ---------------------------------------------------------------- target


def test_it_infers_the_task() -> None:
    assert infer_task(pd.Series(["a", "b", "a"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"
    assert infer_task(pd.Series([0, 1, 2] * 50)) == "classification"
    assert infer_task(pd.Series([0.0, 1.0, np.nan] * 50)) == "classification"
    assert infer_task(pd.Series(RNG.normal(size=100))) == "regression"
    assert infer_task(pd.Series(np.arange(500) % 60)) == "regression"  # many distinct integers
    assert infer_task(load_diabetes(as_frame=True).frame["target"]) == "regression"


def test_it_reports_iris_species_as_a_clean_classification_target() -> None:
    report = as_json(target_report(iris(), "species"))
    assert report == {
        "task": "classification",
        "n_classes": 3,
        "class_counts": {"setosa": 50, "versicolor": 50, "virginica": 50},
        "warnings": [],
    }


def test_it_reports_a_clean_regression_target() -> None:
    report = as_json(target_report(load_diabetes(as_frame=True).frame, "target"))
    assert report["task"] == "regression" and report["n_classes"] is None
    assert report["class_counts"] is None and report["warnings"] == []


def test_it_refuses_an_unknown_target() -> None:
    with pytest.raises(DataError, match="no column named 'price'"):
        target_report(iris(), "price")


def test_it_warns_about_missing_target_values() -> None:
    df = iris()
    df.loc[:9, "species"] = None
    report = target_report(df, "species")
    assert ("species", "target_missing") in codes(report)
    assert report["class_counts"] == {"setosa": 40, "versicolor": 50, "virginica": 50}


def test_it_warns_about_class_imbalance() -> None:
    df = base_frame(500).assign(fraud=["yes"] * 20 + ["no"] * 480)
    assert ("fraud", "class_imbalance") in codes(target_report(df, "fraud"))


def test_it_warns_about_too_few_rows_per_class() -> None:
    df = base_frame(60).assign(grade=["a"] * 28 + ["b"] * 28 + ["c"] * 4)
    report = target_report(df, "grade")
    assert ("grade", "too_few_per_class") in codes(report)
    assert "'c'" in next(
        w["message"] for w in report["warnings"] if w["code"] == "too_few_per_class"
    )


def test_it_warns_about_a_single_class() -> None:
    df = base_frame(50).assign(label="spam")
    assert ("label", "single_class") in codes(target_report(df, "label"))


def test_it_flags_a_feature_that_copies_a_classification_target() -> None:
    df = iris()
    df["species_code"] = df["species"].map({"setosa": 0, "versicolor": 1, "virginica": 2})
    report = target_report(df, "species")
    assert codes(report) == {("species_code", "target_leakage")}


def test_it_flags_a_feature_that_determines_a_regression_target() -> None:
    df = load_diabetes(as_frame=True).frame
    df["target_in_cents"] = df["target"] * 100 + RNG.normal(scale=1.0, size=len(df))
    assert codes(target_report(df, "target")) == {("target_in_cents", "target_leakage")}


def test_it_does_not_call_an_id_column_leakage() -> None:
    df = iris().assign(row_id=range(150))
    assert codes(target_report(df, "species")) == set()


# ---------------------------------------------------------------- speed


def test_it_profiles_100k_rows_by_20_columns_quickly() -> None:
    n = 100_000
    df = pd.DataFrame({f"x{i}": RNG.normal(size=n) for i in range(12)})
    for i in range(8):
        df[f"c{i}"] = RNG.choice(["alpha", "beta", "gamma", "delta"], n)
    start = time.process_time()
    profile_dataframe(df)
    target_report(df, "c0")
    assert time.process_time() - start < 5


def test_it_profiles_5000_columns_without_a_per_column_slowdown() -> None:
    wide = pd.DataFrame(RNG.normal(size=(100, 5_000)), columns=[f"p{i}" for i in range(5_000)])
    start = time.process_time()
    report = profile_dataframe(wide)
    assert time.process_time() - start < 3
    assert len(report["columns"]) == 5_000
    start = time.process_time()
    target_report(wide, "p0")
    assert time.process_time() - start < 3


def test_missing_values_are_always_summarised_and_warnings_do_not_repeat_the_name() -> None:
    import numpy as np
    import pandas as pd

    from ml.validation import profile_dataframe

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400),
                          "c": ["x", "y"] * 200, "k": [1] * 400})
    frame.loc[:9, "a"] = np.nan
    frame.loc[:8, "c"] = None
    warnings = profile_dataframe(frame)["quality"]["warnings"]
    summary = next(w for w in warnings if w["code"] == "missing_values")
    assert summary["severity"] == "info" and summary["column"] is None
    assert summary["message"].startswith("19 cells are empty across 2 columns")
    assert "a (10)" in summary["message"] and "c (9)" in summary["message"]
    constant = next(w for w in warnings if w["code"] == "constant_column")
    assert constant["column"] == "k" and "'k'" not in constant["message"]
    assert not any(w["column"] and repr(w["column"]) in w["message"] for w in warnings)
