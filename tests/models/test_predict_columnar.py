"""Predict's columnar body (`columns` + `data`, pandas' "split" layout) and the JSON fast path."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.errors import SchemaError
from ml.predict import columns_to_frame, rows_to_frame

pytestmark = pytest.mark.django_db

ROWS = [
    {"x1": 1.2, "x2": -0.3, "color": "red"},
    {"x1": "-1.5", "x2": 0.8, "color": "blue"},
    {"x1": 0.1, "x2": None, "color": "green"},
    {"x1": 2, "x2": "", "color": None},
]


def url(model: Any, slug: str = "acme") -> str:
    return f"/api/v1/workspaces/{slug}/models/{model.pk}/predict/"


def _split(rows: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    return {"columns": columns, "data": [[row.get(c) for c in columns] for row in rows]}


def test_the_columnar_layout_predicts_what_the_records_layout_predicts(
        api: Any, register: Any, clf_result: Any) -> None:
    model = register(clf_result)
    records = api.post(url(model), {"rows": ROWS}, format="json")
    # Columns in another order than the schema's: matched by name.
    columnar = api.post(url(model), _split(ROWS, ["color", "x2", "x1"]), format="json")
    assert records.status_code == columnar.status_code == 200
    assert records.json() == columnar.json()
    assert len(columnar.json()["predictions"]) == len(ROWS)
    assert len(columnar.json()["probabilities"][0]) == len(columnar.json()["classes"])


def test_the_columnar_layout_matches_for_a_regression_with_integer_columns(
        api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    rows = [{"size": 50 + i, "rooms": 1 + i % 4} for i in range(50)]
    records = api.post(url(model), {"rows": rows}, format="json").json()
    columnar = api.post(url(model), _split(rows, ["size", "rooms"]), format="json").json()
    assert records == columnar and records["probabilities"] is None


@pytest.mark.parametrize(("body", "named"), [
    ({"columns": ["x1", "x2", "color"], "data": [[1, 2, "red"], [1, 2]]}, "Row 1 has 2 values"),
    ({"columns": ["x1", "x2", "color", "colour"], "data": [[1, 2, "red", "red"]]},
     "Unknown columns: colour"),
    ({"columns": ["x1", "color"], "data": [[1, "red"]]}, "Missing columns: x2"),
    ({"columns": ["x1", "x2", "color"], "data": [["lots", 2, "red"]]}, "'x1' expects numbers"),
    ({"columns": ["x1", "x2", "color"], "data": [[{"a": 1}, 2, "red"]]}, "'x1' expects numbers"),
    ({"columns": ["x1", "x1", "x2", "color"], "data": [[1, 1, 2, "red"]]},
     "named more than once: x1"),
    ({"columns": "x1,x2", "data": [[1, 2]]}, '"columns" must be'),
    ({"columns": ["x1", "x2", "color"], "data": [{"x1": 1}]}, '"data" must be'),
    ({"columns": ["x1", "x2", "color"], "data": []}, "No rows"),
])
def test_bad_columnar_bodies_are_400s_naming_the_problem(
        api: Any, register: Any, clf_result: Any, body: dict[str, Any], named: str) -> None:
    model = register(clf_result)
    response = api.post(url(model), body, format="json")
    assert response.status_code == 400, response.content
    assert named in response.json()["detail"]


def test_wrongly_typed_and_unknown_columns_are_named_in_columns(
        api: Any, register: Any, clf_result: Any) -> None:
    model = register(clf_result)
    wrong = api.post(url(model), {"columns": ["x1", "x2", "color"],
                                  "data": [[1, "many", "red"]]}, format="json")
    assert wrong.json()["columns"] == ["x2"]
    unknown = api.post(url(model), {"columns": ["x1", "x2", "color", "zzz"],
                                    "data": [[1, 2, "red", 0]]}, format="json")
    assert unknown.json()["columns"] == ["zzz"]


def test_more_than_10000_columnar_rows_is_a_400_naming_data(
        api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    body = {"columns": ["size", "rooms"], "data": [[1, 1]] * 10_001}
    response = api.post(url(model), body, format="json")
    assert response.status_code == 400
    assert "10,000" in response.json()["data"][0]


@pytest.mark.parametrize(("body", "field"), [
    ({"columns": ["size", "rooms"]}, "data"),
    ({"data": [[1, 2]]}, "columns"),
    ({"columns": ["size"], "data": [[1]], "rows": [{"size": 1}]}, "rows"),
])
def test_an_incomplete_or_mixed_body_is_a_400_naming_the_field(
        api: Any, register: Any, reg_result: Any, body: dict[str, Any], field: str) -> None:
    model = register(reg_result)
    response = api.post(url(model), body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_the_schema_documents_both_json_layouts(api: Any) -> None:
    schema = api.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/workspaces/{slug}/models/{id}/predict/"]["post"][
        "requestBody"]["content"]["application/json"]["schema"]
    components = schema["components"]["schemas"]
    layouts = components[body["$ref"].rsplit("/", 1)[1]]["oneOf"]
    names = [layout["$ref"].rsplit("/", 1)[1] for layout in layouts]
    assert [set(components[name]["required"]) for name in names] == [{"rows"},
                                                                     {"columns", "data"}]


def test_bad_json_is_a_400_and_a_unicode_body_round_trips(
        api: Any, register: Any, clf_result: Any) -> None:
    model = register(clf_result)
    broken = api.post(url(model), data='{"rows": [', content_type="application/json")
    assert broken.status_code == 400 and "JSON parse error" in broken.json()["detail"]
    rows = [{"x1": 1, "x2": 2, "color": "rouge ☂ é"}]
    ok = api.post(url(model), data=json.dumps({"rows": rows}), content_type="application/json")
    assert ok.status_code == 200


# --- the engine: the one-pass numeric path gives what the per-value path gives -----------------

SCHEMA = [{"name": "n", "kind": "numeric", "dtype": "float64"},
          {"name": "i", "kind": "numeric", "dtype": "int64"},
          {"name": "t", "kind": "categorical", "dtype": "str"}]


@pytest.mark.parametrize("values", [
    [1, 2.5, None, "3", " 4 ", True],
    [1.0, float("nan"), 2.0],
    ["1_000", "1e3", -0.0],
])
def test_numbers_are_read_in_one_pass_as_one_value_at_a_time(values: list[Any]) -> None:
    from ml.schema import _coerce_numeric, _is_missing, _to_number

    series, bad = _coerce_numeric(values, "float64")
    expected = [np.nan if _is_missing(v) else _to_number(v) for v in values]
    assert bad == []
    np.testing.assert_array_equal(np.asarray(series), np.array(expected, dtype=float))


@pytest.mark.parametrize(("values", "bad"), [
    ([1, "nan", 2], ["nan"]),
    ([1, "inf"], ["inf"]),
    ([1, float("inf")], [float("inf")]),
    ([1, "", "abc"], ["abc"]),
    ([1, [2, 3]], [[2, 3]]),
    ([[1], [2]], [[1], [2]]),
    ([10 ** 400], [10 ** 400]),
])
def test_values_that_are_not_finite_numbers_are_named(values: list[Any], bad: list[Any]) -> None:
    from ml.schema import _coerce_numeric

    assert _coerce_numeric(values, "float64")[1] == bad


def test_columns_and_rows_build_the_same_frame() -> None:
    rows = [{"n": 1.5, "i": 2, "t": "a"}, {"n": None, "i": "3", "t": " "},
            {"n": "2", "i": 4, "t": 12345.0}]
    by_rows = rows_to_frame(rows, SCHEMA)
    by_columns = columns_to_frame(["t", "n", "i"],
                                  [[r["t"], r["n"], r["i"]] for r in rows], SCHEMA)
    pd.testing.assert_frame_equal(by_rows, by_columns)
    assert by_rows["i"].dtype == np.int64
    assert by_rows["t"].tolist()[0] == "a" and pd.isna(by_rows["t"][1])
    assert by_rows["t"][2] == "12345"


def test_an_empty_columns_list_is_refused() -> None:
    with pytest.raises(SchemaError, match='"columns"'):
        columns_to_frame([], [[1]], SCHEMA)
