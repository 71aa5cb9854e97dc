"""The models API: read, download, predict, rename and delete, with tenancy."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.core.models import AuditEvent
from apps.models.cache import bundle_cache
from apps.models.models import Model
from ml.bundle import load_bundle
from ml.predict import predict, rows_to_frame

pytestmark = pytest.mark.django_db

CLF_ROWS = [
    {"x1": 1.2, "x2": -0.3, "color": "red"},
    {"x1": -1.5, "x2": 0.8, "color": "blue"},
    {"x1": 0.1, "x2": None, "color": "green", "unused": "ignored"},
]


def url(model: Any, suffix: str = "", slug: str = "acme") -> str:
    return f"/api/v1/workspaces/{slug}/models/{model.pk}/{suffix}"


def _csv_upload(text: str, name: str = "rows.csv") -> Any:
    upload = io.BytesIO(text.encode())
    upload.name = name
    return upload


def _downloaded_bundle(api: Any, model: Any) -> Any:
    response = api.get(url(model, "download/"))
    assert response.status_code == 200
    return load_bundle(io.BytesIO(b"".join(response.streaming_content)),
                       key=settings.MODEL_SIGNING_KEY)


# --- reading --------------------------------------------------------------------------------


def test_it_lists_and_shows_models_as_the_contract_says(
    api: Any, register: Any, clf_result: Any, reg_result: Any
) -> None:
    clf = register(clf_result, name="Churn")
    register(reg_result, name="Price")
    listing = api.get("/api/v1/workspaces/acme/models/").json()
    assert listing["count"] == 2 and {"next", "previous", "results"} <= set(listing)
    only_clf = api.get("/api/v1/workspaces/acme/models/?task=classification").json()
    assert [m["id"] for m in only_clf["results"]] == [clf.pk]
    body = api.get(url(clf)).json()
    assert {"id", "name", "version", "experiment", "algorithm", "task", "target", "features",
            "classes", "metrics", "created_at", "size_bytes"} <= set(body)
    assert body["features"] == [{"name": "x1", "kind": "numeric"},
                                {"name": "x2", "kind": "numeric"},
                                {"name": "color", "kind": "categorical"}]
    assert body["classes"] == ["no", "yes"] and body["experiment"] is None


# --- download and predict agree ---------------------------------------------------------------


def test_downloaded_bundle_predicts_what_the_api_predicts_for_classification(
    api: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    answer = api.post(url(model, "predict/"), {"rows": CLF_ROWS}, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["classes"] == ["no", "yes"]
    assert len(body["probabilities"]) == 3
    assert all(abs(sum(p) - 1) < 1e-9 for p in body["probabilities"])
    bundle = _downloaded_bundle(api, model)
    local = predict(bundle, rows_to_frame(CLF_ROWS, model.input_schema))
    assert local["predictions"] == body["predictions"]
    assert np.allclose(local["probabilities"], body["probabilities"], atol=0)


def test_downloaded_bundle_predicts_what_the_api_predicts_for_regression(
    api: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    rows = [{"size": 50, "rooms": 2}, {"size": "120.5", "rooms": 4}]
    body = api.post(url(model, "predict/"), {"rows": rows}, format="json").json()
    assert body["probabilities"] is None
    local = predict(_downloaded_bundle(api, model), rows_to_frame(rows, model.input_schema))
    assert local["predictions"] == body["predictions"]
    assert body["predictions"][0] == pytest.approx(50 * 3 + 20, abs=15)


def test_a_download_is_an_attachment_with_a_safe_name_and_is_audited(
    api: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result, name='../evil "name"')
    response = api.get(url(model, "download/"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="evil-name-v1.mwm"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(verb="model.download", detail__format="bundle").count() == 1


def _hand_fitted(estimator: Any, frame: Any, y: Any, task: str, classes: Any = None) -> Any:
    """A TrainResult around a plain scikit-learn pipeline that skl2onnx converts."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), list(frame.columns))])),
        ("model", estimator),
    ]).fit(frame, y)
    schema = [{"name": c, "kind": "numeric", "dtype": "float64", "example": 1.0}
              for c in frame.columns]
    from ml.train import TrainResult

    return TrainResult(
        pipeline=pipeline, task=task, target="y", algorithm="linear", params={},
        input_schema=schema, classes=classes, metrics={}, cv_metrics={},
    )


def _onnx_run(content: bytes, frame: Any) -> list[Any]:
    import onnxruntime as ort

    session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    feeds = {i.name: frame[[i.name]].to_numpy(dtype=np.float32) for i in session.get_inputs()}
    return session.run(None, feeds)


def test_onnx_export_matches_the_pipeline_for_regression(api: Any, register: Any) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    result = _hand_fitted(LinearRegression(), frame, frame.a * 2 - frame.b + 0.5, "regression")
    model = register(result)
    response = api.get(url(model, "download/") + "?format=onnx")
    assert response.status_code == 200, response.content
    assert response["Content-Disposition"].endswith('.onnx"')
    onnx_out = np.asarray(_onnx_run(response.content, frame)[0]).ravel()
    assert np.allclose(onnx_out, result.pipeline.predict(frame), rtol=1e-5, atol=1e-5)
    assert AuditEvent.objects.filter(verb="model.download", detail__format="onnx").exists()


def test_onnx_export_matches_the_probabilities_for_classification(
    api: Any, register: Any
) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    y = np.where(frame.a + frame.b > 0, "up", "down")
    result = _hand_fitted(LogisticRegression(), frame, y, "classification", ["down", "up"])
    model = register(result)
    response = api.get(url(model, "download/") + "?format=onnx")
    assert response.status_code == 200, response.content
    labels, proba = _onnx_run(response.content, frame)[:2]
    assert list(labels) == list(result.pipeline.predict(frame))
    assert np.allclose(proba, result.pipeline.predict_proba(frame), atol=1e-5)


def double(values: Any) -> Any:
    return values * 2


def test_a_model_that_does_not_convert_to_onnx_is_a_409_saying_why(
    api: Any, register: Any
) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = pd.DataFrame({"a": np.arange(20.0)})
    result = _hand_fitted(LinearRegression(), frame, frame.a, "regression")
    result.pipeline = Pipeline([("f", FunctionTransformer(double)),
                                ("model", LinearRegression())]).fit(frame, frame.a)
    model = register(result)
    response = api.get(url(model, "download/") + "?format=onnx")
    assert response.status_code == 409
    assert "cannot be exported to ONNX" in response.json()["detail"]
    assert api.get(url(model, "download/")).status_code == 200  # the bundle still downloads


# --- CSV batch --------------------------------------------------------------------------------


def test_csv_upload_returns_the_rows_with_predictions_and_escaped_formulas(
    api: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    text = "x1,x2,color,note\n1.2,-0.3,red,=HYPERLINK(\"http://x\")\n-1.5,0.8,blue,fine\n"
    response = api.post(url(model, "predict/"), {"file": _csv_upload(text)},
                        format="multipart")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == ["x1", "x2", "color", "note", "prediction", "proba_no", "proba_yes"]
    assert rows[0]["note"] == "'=HYPERLINK(\"http://x\")"
    json_answer = api.post(url(model, "predict/"), {"rows": CLF_ROWS[:2]}, format="json").json()
    assert [r["prediction"] for r in rows] == json_answer["predictions"]
    assert float(rows[1]["proba_yes"]) == pytest.approx(json_answer["probabilities"][1][1])


def test_a_png_uploaded_for_prediction_is_415(api: Any, register: Any, clf_result: Any) -> None:
    model = register(clf_result)
    png = io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    png.name = "rows.csv"
    response = api.post(url(model, "predict/"), {"file": png}, format="multipart")
    assert response.status_code == 415
    assert "CSV" in response.json()["detail"]


# --- bad input ----------------------------------------------------------------------------------


def test_missing_and_wrongly_typed_columns_are_400s_naming_them(
    api: Any, register: Any, clf_result: Any
) -> None:
    model = register(clf_result)
    missing = api.post(url(model, "predict/"), {"rows": [{"x1": 1, "color": "red"}]},
                       format="json")
    assert missing.status_code == 400
    assert missing.json()["columns"] == ["x2"] and "x2" in missing.json()["detail"]
    wrong = api.post(url(model, "predict/"),
                     {"rows": [{"x1": "lots", "x2": 1, "color": "red"}]}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["columns"] == ["x1"] and "lots" in wrong.json()["detail"]
    bad_csv = api.post(url(model, "predict/"), {"file": _csv_upload("x1,color\n1,red\n")},
                       format="multipart")
    assert bad_csv.status_code == 400 and bad_csv.json()["columns"] == ["x2"]


def test_more_than_10000_rows_is_a_400(api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    rows = [{"size": 1, "rooms": 1}] * 10_001
    response = api.post(url(model, "predict/"), {"rows": rows}, format="json")
    assert response.status_code == 400
    assert "10,000" in json.dumps(response.json())


def test_only_json_and_csv_are_accepted(api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    response = api.post(url(model, "predict/"), data="size,rooms\n1,2\n",
                        content_type="text/plain")
    assert response.status_code == 415
    assert "detail" in response.json()


def test_nan_literals_in_json_are_refused(api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    response = api.post(url(model, "predict/"), data='{"rows": [{"size": NaN, "rooms": 1}]}',
                        content_type="application/json")
    assert response.status_code == 400


def test_a_body_over_the_limit_is_a_json_413(
    api: Any, register: Any, reg_result: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    model = register(reg_result)
    rows = [{"size": 1, "rooms": 1}] * 200
    response = api.post(url(model, "predict/"), {"rows": rows}, format="json")
    assert response.status_code == 413
    assert "limited" in response.json()["detail"]


# --- the cache -------------------------------------------------------------------------------


def test_the_second_prediction_is_served_from_the_cache_and_delete_evicts_it(
    api: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    body = {"rows": [{"size": 10, "rooms": 1}]}
    api.post(url(model, "predict/"), body, format="json")
    api.post(url(model, "predict/"), body, format="json")
    stats = bundle_cache.stats()
    assert (stats.misses, stats.hits) == (1, 1)
    assert (model.pk, model.sha256) in stats.keys
    assert api.delete(url(model)).status_code == 204
    assert all(key[0] != model.pk for key in bundle_cache.stats().keys)


# --- damaged files ----------------------------------------------------------------------------


def _overwrite(name: str, data: bytes) -> None:
    default_storage.delete(name)
    assert default_storage.save(name, ContentFile(data)) == name


def test_a_bundle_altered_on_disk_is_refused(api: Any, register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    with default_storage.open(model.file, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0xFF
    _overwrite(model.file, bytes(data))
    response = api.post(url(model, "predict/"), {"rows": [{"size": 1, "rooms": 1}]},
                        format="json")
    assert response.status_code == 409
    assert "damaged or was not written by this platform" in response.json()["detail"]
    assert api.get(url(model, "download/")).status_code == 409


def test_a_foreign_pickle_in_place_of_the_model_is_never_executed(
    api: Any, register: Any, reg_result: Any, tmp_path: Any
) -> None:
    import hashlib
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> Any:
            return (open, (str(marker), "w"))

    payload = pickle.dumps(Exploit())
    model = register(reg_result)
    _overwrite(model.file, payload)
    # Even a registry row "fixed up" to the foreign file's checksum does not get it unpickled.
    Model.objects.filter(pk=model.pk).update(sha256=hashlib.sha256(payload).hexdigest())
    model.refresh_from_db()
    response = api.post(url(model, "predict/"), {"rows": [{"size": 1, "rooms": 1}]},
                        format="json")
    assert response.status_code == 409
    assert "not a Modelworks model file" in response.json()["detail"]
    assert not marker.exists()


def test_a_valid_bundle_of_another_model_swapped_in_is_refused(
    api: Any, register: Any, reg_result: Any, clf_result: Any
) -> None:
    victim = register(reg_result)
    other = register(clf_result)
    with default_storage.open(other.file, "rb") as fh:
        _overwrite(victim.file, fh.read())
    response = api.post(url(victim, "predict/"), {"rows": [{"size": 1, "rooms": 1}]},
                        format="json")
    assert response.status_code == 409


# --- tenancy and roles --------------------------------------------------------------------------


def test_outsiders_get_404_everywhere(
    api_as: Any, charlie: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    client = api_as(charlie)
    assert client.get(url(model)).status_code == 404
    assert client.get(url(model, "download/")).status_code == 404
    assert client.post(url(model, "predict/"), {"rows": [{"size": 1, "rooms": 1}]},
                       format="json").status_code == 404
    assert client.delete(url(model)).status_code == 404
    # An id from Acme under charlie's own workspace is a 404 too.
    assert client.get(url(model, slug="rival")).status_code == 404
    assert client.get(url(model, "download/", slug="rival")).status_code == 404
    assert client.post(url(model, "predict/", slug="rival"),
                       {"rows": [{"size": 1, "rooms": 1}]}, format="json").status_code == 404


def test_viewers_predict_and_download_but_cannot_rename_or_delete(
    api_as: Any, bob: Any, register: Any, reg_result: Any
) -> None:
    model = register(reg_result)
    client = api_as(bob)
    assert client.post(url(model, "predict/"), {"rows": [{"size": 1, "rooms": 1}]},
                       format="json").status_code == 200
    assert client.get(url(model, "download/")).status_code == 200
    assert client.patch(url(model), {"name": "x"}, format="json").status_code == 403
    assert client.delete(url(model)).status_code == 403
    assert Model.objects.filter(pk=model.pk, name=model.name).exists()


def test_members_rename_describe_and_delete(
    api_as: Any, dave: Any, register: Any, reg_result: Any, django_capture_on_commit_callbacks: Any
) -> None:
    model = register(reg_result)
    client = api_as(dave)
    response = client.patch(url(model), {"name": "Prices", "description": "v2 data"},
                            format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["description"]) == ("Prices", "v2 data")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(url(model)).status_code == 204
    assert not Model.objects.filter(pk=model.pk).exists()
    assert not default_storage.exists(model.file)


def test_the_schema_describes_the_model_endpoints(api: Any) -> None:
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/workspaces/{slug}/models/{id}/predict/" in paths
    assert "/api/v1/workspaces/{slug}/models/{id}/download/" in paths


@pytest.mark.parametrize("body", [{}, {"rows": []}, {"rows": "size=1"}, {"rows": [1, 2]},
                                  {"rows": [{"size": 1}, "x"]}, ["not", "an", "object"]])
def test_rows_that_are_not_a_list_of_objects_are_a_400_naming_rows(
        api: Any, register: Any, reg_result: Any, body: Any) -> None:
    model = register(reg_result)
    response = api.post(url(model, "predict/"), body, format="json")
    assert response.status_code == 400
    assert "rows" in response.json()
