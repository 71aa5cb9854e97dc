"""The REST contract (shared/spec/api-v1.md), checked black-box through the API only.

A client logs in with `POST /api/v1/auth/token/`, creates a workspace, uploads CSVs, trains,
predicts and deletes, and every answer is compared with the contract. Jobs run inline
(`Q_CLUSTER["sync"]`), so the on-commit callbacks are executed around the writing requests.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

API = "/api/v1"

DATASET_FIELDS = {"id", "name", "status", "error", "n_rows", "n_columns", "size_bytes",
                  "created_at", "columns", "quality"}
COLUMN_FIELDS = {"name", "dtype", "kind", "n_missing", "n_unique"}
KINDS = {"numeric", "categorical", "boolean", "datetime", "text"}
EXPERIMENT_FIELDS = {"id", "name", "dataset", "target", "task", "algorithm", "params", "status",
                     "progress", "error", "metrics", "cv_metrics", "history", "leaderboard",
                     "best_params", "plots", "model", "created_at", "started_at",
                     "finished_at", "duration_s"}
MODEL_FIELDS = {"id", "name", "version", "experiment", "algorithm", "task", "target",
                "features", "classes", "metrics", "created_at", "size_bytes"}
CLASSIFICATION_METRICS = {"accuracy", "balanced_accuracy", "precision_macro", "recall_macro",
                          "f1_macro", "f1_weighted", "roc_auc", "log_loss"}
REGRESSION_METRICS = {"mae", "mse", "rmse", "r2", "mape"}
PAGE_FIELDS = {"count", "next", "previous", "results"}
BOTH_TASKS = {"linear", "random_forest", "extra_trees", "gradient_boosting",
              "hist_gradient_boosting", "svm", "knn", "decision_tree", "mlp", "cnn", "auto"}


# ---------------------------------------------------------------- helpers


def iris_csv() -> bytes:
    """Iris with a second, binary target `wide` (yes/no), as CSV bytes."""
    from sklearn.datasets import load_iris

    bunch = load_iris()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "species",
                     "wide"])
    for row, target in zip(bunch.data, bunch.target, strict=True):
        wide = "yes" if row[1] > 3.0 else "no"
        writer.writerow([*(f"{v:.1f}" for v in row), bunch.target_names[target], wide])
    return out.getvalue().encode()


def houses_csv(n: int = 600) -> bytes:
    """A regression table of `n` rows (more than the preview's maximum of 500)."""
    rng = np.random.default_rng(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["size", "rooms", "color", "price"])
    for _ in range(n):
        size, rooms = rng.uniform(20, 200), int(rng.integers(1, 6))
        color = str(rng.choice(["red", "green", "blue"]))
        writer.writerow([f"{size:.2f}", rooms, color,
                         f"{size * 3 + rooms * 10 + rng.normal(scale=5):.2f}"])
    return out.getvalue().encode()


def login(username: str) -> APIClient:
    """Return a client that authenticates with a token obtained from the token endpoint."""
    client = APIClient()
    answer = client.post(f"{API}/auth/token/", {"username": username,
                                                "password": f"pw-{username}"}, format="json")
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def assert_utc(value: Any) -> None:
    """Assert `value` is an ISO 8601 string in UTC."""
    assert isinstance(value, str), value
    assert value.endswith(("Z", "+00:00")), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)


def assert_page(answer: Any) -> dict[str, Any]:
    """Assert a DRF page and return its body."""
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == PAGE_FIELDS, body
    assert isinstance(body["count"], int) and isinstance(body["results"], list)
    return body


def assert_paginates(client: APIClient, url: str) -> None:
    """Assert `url` pages with ?page_size=1 and ?page=2 (needs at least two items)."""
    first = assert_page(client.get(url, {"page_size": 1}))
    assert first["count"] >= 2, (url, first)
    assert len(first["results"]) == 1
    assert first["previous"] is None and first["next"]
    second = assert_page(client.get(url, {"page_size": 1, "page": 2}))
    assert len(second["results"]) == 1 and second["previous"]
    assert second["results"][0] != first["results"][0]
    everything = assert_page(client.get(url, {"page_size": 200}))
    assert len(everything["results"]) == everything["count"]
    assert everything["next"] is None


def assert_error(answer: Any, status: int, field: str | None = None) -> None:
    """Assert a 4xx with `{"detail": "..."}` or field errors naming `field`."""
    assert answer.status_code == status, (answer.status_code, answer.content)
    body = answer.json()
    if field is None:
        assert isinstance(body.get("detail"), str) and body["detail"], body
    else:
        assert field in body, body
        messages = body[field] if isinstance(body[field], list) else [body[field]]
        assert all(isinstance(m, str) and m for m in messages), body


def upload(client: APIClient, slug: str, content: bytes, name: str, capture: Any) -> Any:
    file = SimpleUploadedFile(f"{name}.csv", content, content_type="text/csv")
    with capture(execute=True):
        return client.post(f"{API}/workspaces/{slug}/datasets/", {"file": file, "name": name},
                           format="multipart")


def run(client: APIClient, slug: str, body: dict[str, Any], capture: Any) -> dict[str, Any]:
    """Create an experiment (it runs inline) and return its JSON after it ended."""
    with capture(execute=True):
        created = client.post(f"{API}/workspaces/{slug}/experiments/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "queued"
    answer = client.get(f"{API}/workspaces/{slug}/experiments/{created.json()['id']}/")
    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded", answer.json()
    return answer.json()


@pytest.fixture
def owner(alice: Any) -> APIClient:
    return login("alice")


@pytest.fixture
def lab(owner: APIClient) -> str:
    """A workspace created through the API; return its slug."""
    answer = owner.post(f"{API}/workspaces/", {"name": "Contract Lab"}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["name"] == "Contract Lab" and body["role"] == "owner"
    assert body["slug"] == "contract-lab"
    return body["slug"]


@pytest.fixture
def datasets(owner: APIClient, lab: str, django_capture_on_commit_callbacks: Any
             ) -> dict[str, dict[str, Any]]:
    """Upload iris and houses into the lab; return their JSON once ready."""
    out = {}
    for name, content in (("iris", iris_csv()), ("houses", houses_csv())):
        answer = upload(owner, lab, content, name, django_capture_on_commit_callbacks)
        assert answer.status_code == 201, answer.content
        assert answer.json()["status"] in ("processing", "ready")
        ready = owner.get(f"{API}/workspaces/{lab}/datasets/{answer.json()['id']}/")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready", ready.json()
        out[name] = ready.json()
    return out


# ---------------------------------------------------------------- auth


def test_tokens_come_from_the_token_endpoint_and_bad_credentials_are_refused(alice: Any) -> None:
    client = APIClient()
    wrong = client.post(f"{API}/auth/token/", {"username": "alice", "password": "nope"},
                        format="json")
    assert wrong.status_code in (400, 401)
    assert "token" not in wrong.json()
    assert isinstance(wrong.json().get("detail"), str)
    missing = client.post(f"{API}/auth/token/", {"username": "alice"}, format="json")
    assert_error(missing, 400, "password")
    assert_page(login("alice").get(f"{API}/workspaces/"))


@pytest.mark.parametrize("path", ["/workspaces/", "/workspaces/acme/", "/algorithms/",
                                  "/workspaces/acme/datasets/", "/workspaces/acme/experiments/",
                                  "/workspaces/acme/models/", "/workspaces/acme/members/"])
def test_every_endpoint_answers_401_without_or_with_a_bad_token(path: str, workspace: Any
                                                                 ) -> None:
    assert_error(APIClient().get(API + path), 401)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(bad.get(API + path), 401)


# ---------------------------------------------------------------- algorithms


def test_the_algorithm_catalogue_lists_every_required_key_with_typed_params(alice: Any) -> None:
    answer = login("alice").get(f"{API}/algorithms/")
    assert answer.status_code == 200
    catalogue = answer.json()
    assert isinstance(catalogue, list), "the catalogue is not paginated"
    seen = set()
    for entry in catalogue:
        assert {"key", "task", "family", "label", "params"} <= set(entry), entry
        assert entry["task"] in ("classification", "regression")
        assert entry["family"] in ("sklearn", "keras")
        assert isinstance(entry["label"], str) and entry["label"]
        assert (entry["key"], entry["task"]) not in seen, "a key appears once per task"
        seen.add((entry["key"], entry["task"]))
        for name, spec in entry["params"].items():
            assert isinstance(spec, dict) and "type" in spec and "default" in spec, (name, spec)
            if spec["default"] is None:
                assert spec.get("nullable") is True, (entry["key"], name, spec)
            for bound in ("min", "max"):
                if bound in spec:
                    assert isinstance(spec[bound], int | float), (entry["key"], name, spec)
    for key in BOTH_TASKS:
        assert (key, "classification") in seen and (key, "regression") in seen, key
    assert ("ridge", "regression") in seen and ("naive_bayes", "classification") in seen
    forest = next(e for e in catalogue
                  if e["key"] == "random_forest" and e["task"] == "classification")
    assert forest["params"]["n_estimators"]["type"] == "int"
    assert forest["params"]["n_estimators"]["default"] == 100
    assert forest["params"]["max_depth"]["nullable"] is True
    mlp = next(e for e in catalogue if e["key"] == "mlp" and e["task"] == "classification")
    assert mlp["family"] == "keras"
    assert mlp["params"]["epochs"]["default"] == 50
    assert mlp["params"]["batch_size"]["default"] == 32


# ---------------------------------------------------------------- datasets


def test_datasets_report_every_field_and_preview_within_limits(
    owner: APIClient, lab: str, datasets: dict[str, dict[str, Any]]
) -> None:
    iris = datasets["iris"]
    assert DATASET_FIELDS <= set(iris), set(iris) ^ DATASET_FIELDS
    assert iris["name"] == "iris" and iris["error"] is None
    assert (iris["n_rows"], iris["n_columns"]) == (150, 6)
    assert iris["size_bytes"] == len(iris_csv())
    assert_utc(iris["created_at"])
    assert [c["name"] for c in iris["columns"]][:5] == [
        "sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    for column in iris["columns"]:
        assert set(column) >= COLUMN_FIELDS and column["kind"] in KINDS, column
    by_name = {c["name"]: c for c in iris["columns"]}
    assert by_name["sepal_length"]["kind"] == "numeric"
    assert by_name["species"]["kind"] == "categorical"
    assert by_name["species"]["n_unique"] == 3 and by_name["species"]["n_missing"] == 0
    quality = iris["quality"]
    assert {"missing_cells", "duplicate_rows", "warnings"} <= set(quality)
    assert quality["missing_cells"] == 0 and isinstance(quality["duplicate_rows"], int)
    for warning in quality["warnings"]:
        assert {"column", "code", "message"} <= set(warning)

    url = f"{API}/workspaces/{lab}/datasets/{datasets['houses']['id']}/preview/"
    default = owner.get(url)
    assert default.status_code == 200
    assert set(default.json()) == {"columns", "rows"}
    assert default.json()["columns"] == ["size", "rooms", "color", "price"]
    assert len(default.json()["rows"]) == 20
    assert all(len(row) == 4 for row in default.json()["rows"])
    assert len(owner.get(url, {"rows": 7}).json()["rows"]) == 7
    assert len(owner.get(url, {"rows": 10_000}).json()["rows"]) == 500
    assert_error(owner.get(url, {"rows": "many"}), 400, "rows")

    listing = f"{API}/workspaces/{lab}/datasets/"
    assert_paginates(owner, listing)
    assert_error(owner.get(f"{listing}999999/"), 404)


def test_a_file_that_is_not_a_csv_is_refused_or_fails_in_words(
    owner: APIClient, lab: str, django_capture_on_commit_callbacks: Any
) -> None:
    answer = upload(owner, lab, b"\x89PNG\r\n\x1a\n\x00\x00binary", "picture",
                    django_capture_on_commit_callbacks)
    if answer.status_code == 201:
        later = owner.get(f"{API}/workspaces/{lab}/datasets/{answer.json()['id']}/").json()
        assert later["status"] == "failed" and later["error"], later
    else:
        assert 400 <= answer.status_code < 500
        body = answer.json()
        assert body.get("detail") or body.get("file"), body


# ---------------------------------------------------------------- experiments and models


def test_experiments_and_models_follow_the_contract_end_to_end(
    owner: APIClient, lab: str, datasets: dict[str, dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = django_capture_on_commit_callbacks
    base = f"{API}/workspaces/{lab}"
    iris, houses = datasets["iris"], datasets["houses"]

    # Only dataset, target and algorithm: the rest takes the documented defaults.
    multi = run(owner, lab, {"dataset": iris["id"], "target": "species",
                             "algorithm": "decision_tree"}, capture)
    assert EXPERIMENT_FIELDS <= set(multi), EXPERIMENT_FIELDS - set(multi)
    assert multi["dataset"] == iris["id"] and multi["target"] == "species"
    assert multi["task"] == "classification" and multi["algorithm"] == "decision_tree"
    assert isinstance(multi["name"], str) and multi["name"]
    assert "max_depth" in multi["params"], "params report the defaults used"
    config = multi["config"]
    defaults = {
        "preprocessing": {"numeric_imputer": "median", "scaler": "standard",
                          "categorical_encoder": "onehot", "datetime_features": True},
        "feature_engineering": {"polynomial_degree": 1, "interactions": False,
                                "select_k_best": None},
        "validation": {"test_size": 0.2, "cv_folds": 5, "stratify": True, "random_state": 42},
    }
    for section, documented in defaults.items():
        assert {k: config[section].get(k) for k in documented} == documented, section
    assert config["tuning"] is None and config["time_budget_s"] is None
    assert multi["progress"] == 1.0 and multi["error"] is None
    assert CLASSIFICATION_METRICS <= set(multi["metrics"])
    assert all(isinstance(v, float | int) for v in multi["metrics"].values())
    assert set(multi["cv_metrics"]["f1_macro"]) == {"mean", "std"}
    assert multi["history"] == [] and isinstance(multi["leaderboard"], list)
    assert isinstance(multi["best_params"], dict)
    for key in ("created_at", "started_at", "finished_at"):
        assert_utc(multi[key])
    assert isinstance(multi["duration_s"], float | int) and multi["duration_s"] >= 0
    names = {p["name"] for p in multi["plots"]}
    assert {"confusion_matrix", "feature_importance"} <= names, names
    for plot in multi["plots"]:
        assert set(plot) == {"name", "url"}
        png = owner.get(plot["url"])
        assert png.status_code == 200 and png["Content-Type"] == "image/png"
        assert b"".join(png.streaming_content).startswith(b"\x89PNG")
        assert APIClient().get(plot["url"]).status_code == 401

    binary = run(owner, lab, {"dataset": iris["id"], "target": "wide",
                              "algorithm": "decision_tree", "params": {"max_depth": 3}},
                 capture)
    assert CLASSIFICATION_METRICS <= set(binary["metrics"])
    names = {p["name"] for p in binary["plots"]}
    assert {"confusion_matrix", "roc_curve", "precision_recall_curve",
            "feature_importance"} <= names, names

    regression = run(owner, lab, {"dataset": houses["id"], "target": "price",
                                  "algorithm": "linear"}, capture)
    assert regression["task"] == "regression"
    assert REGRESSION_METRICS <= set(regression["metrics"])
    names = {p["name"] for p in regression["plots"]}
    assert {"residuals", "predicted_vs_actual", "feature_importance"} <= names, names

    # A queued job cancels (202) and ends cancelled; once ended, 409.
    with capture(execute=False):
        queued = owner.post(f"{base}/experiments/", {"dataset": houses["id"], "target": "price",
                                                     "algorithm": "linear"}, format="json")
    cancel = f"{base}/experiments/{queued.json()['id']}/cancel/"
    with capture(execute=True):
        answer = owner.post(cancel)
    assert answer.status_code == 202, answer.content
    assert owner.get(f"{base}/experiments/{queued.json()['id']}/").json()["status"] == \
        "cancelled"
    assert_error(owner.post(cancel), 409)
    assert_error(owner.post(f"{base}/experiments/{multi['id']}/cancel/"), 409)

    # Ordering, filters and pages.
    primary = {"classification": "f1_macro", "regression": "r2"}
    ordered = assert_page(owner.get(f"{base}/experiments/", {"ordering": "-score"}))["results"]
    scores = [e["metrics"].get(primary[e["task"]]) if e["metrics"] else None for e in ordered]
    assert len(scores) == 4 and scores[-1] is None, scores
    assert scores[:3] == sorted(scores[:3], reverse=True), scores
    on_houses = assert_page(owner.get(f"{base}/experiments/", {"dataset": houses["id"]}))
    assert {e["id"] for e in on_houses["results"]} == {regression["id"], queued.json()["id"]}
    done = assert_page(owner.get(f"{base}/experiments/", {"status": "succeeded"}))
    assert {e["id"] for e in done["results"]} == {multi["id"], binary["id"], regression["id"]}
    assert_error(owner.get(f"{base}/experiments/", {"status": "sleeping"}), 400, "status")
    assert_paginates(owner, f"{base}/experiments/")

    # Validation errors name the field.
    bad = owner.post(f"{base}/experiments/", {"dataset": iris["id"], "target": "ghost",
                                              "algorithm": "decision_tree"}, format="json")
    assert_error(bad, 400, "target")
    bad = owner.post(f"{base}/experiments/", {"dataset": iris["id"], "target": "species"},
                     format="json")
    assert_error(bad, 400, "algorithm")

    # Models.
    model_url = f"{base}/models/{multi['model']}/"
    model = owner.get(model_url).json()
    assert MODEL_FIELDS <= set(model), MODEL_FIELDS - set(model)
    assert model["experiment"] == multi["id"] and model["algorithm"] == "decision_tree"
    assert model["task"] == "classification" and model["target"] == "species"
    assert sorted(model["classes"]) == ["setosa", "versicolor", "virginica"]
    assert {f["name"] for f in model["features"]} == {
        "sepal_length", "sepal_width", "petal_length", "petal_width", "wide"}
    assert all(set(f) == {"name", "kind"} and f["kind"] in KINDS for f in model["features"])
    assert model["metrics"] == multi["metrics"]
    assert isinstance(model["size_bytes"], int) and model["size_bytes"] > 0
    assert_utc(model["created_at"])
    regression_model = owner.get(f"{base}/models/{regression['model']}/").json()
    assert regression_model["classes"] is None and regression_model["task"] == "regression"
    assert_paginates(owner, f"{base}/models/")

    rows = [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2,
             "wide": "yes"},
            {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3,
             "wide": "no"}]
    predicted = owner.post(f"{model_url}predict/", {"rows": rows}, format="json")
    assert predicted.status_code == 200, predicted.content
    answer = predicted.json()
    assert set(answer) >= {"predictions", "probabilities", "classes"}
    assert answer["predictions"] == ["setosa", "virginica"]
    assert answer["classes"] == model["classes"]
    assert [len(p) for p in answer["probabilities"]] == [3, 3]
    assert all(abs(sum(p) - 1) < 1e-6 for p in answer["probabilities"])
    missing = owner.post(f"{model_url}predict/", {"rows": [{"sepal_length": 5.0}]},
                         format="json")
    assert missing.status_code == 400 and "petal_width" in missing.content.decode()

    table = "sepal_length,sepal_width,petal_length,petal_width,wide\n" \
            "5.1,3.5,1.4,0.2,yes\n6.7,3.0,5.2,2.3,no\n"
    file = SimpleUploadedFile("rows.csv", table.encode(), content_type="text/csv")
    as_csv = owner.post(f"{model_url}predict/", {"file": file}, format="multipart")
    assert as_csv.status_code == 200, as_csv.content
    assert as_csv["Content-Type"].startswith("text/csv")
    out = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    header = list(out[0])
    assert header[:5] == ["sepal_length", "sepal_width", "petal_length", "petal_width", "wide"]
    assert [r["prediction"] for r in out] == ["setosa", "virginica"]
    extra = [h for h in header if h not in rows[0] and h != "prediction"]
    assert len(extra) == 3 and all(any(c in h for h in extra) for c in model["classes"]), header

    download = owner.get(f"{model_url}download/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    bundle_bytes = b"".join(download.streaming_content)
    assert len(bundle_bytes) == model["size_bytes"]
    # The downloaded file predicts what the API predicts, with plain scikit-learn calls.
    import pandas as pd
    from django.conf import settings

    from ml.bundle import load_bundle

    pipeline = load_bundle(io.BytesIO(bundle_bytes), key=settings.MODEL_SIGNING_KEY).pipeline
    frame = pd.DataFrame(rows)
    assert list(pipeline.predict(frame)) == answer["predictions"]
    assert list(pipeline.classes_) == answer["classes"]
    assert np.allclose(pipeline.predict_proba(frame), answer["probabilities"])
    # The regression model (numbers and a category) converts to ONNX.
    onnx = owner.get(f"{base}/models/{regression['model']}/download/", {"format": "onnx"})
    assert onnx.status_code == 200, onnx.content
    assert ".onnx" in onnx["Content-Disposition"]
    import onnx as onnx_lib

    onnx_lib.load_from_string(onnx.content)

    deleted = owner.delete(f"{base}/experiments/{binary['id']}/")
    assert deleted.status_code == 204
    assert_error(owner.get(f"{base}/experiments/{binary['id']}/"), 404)
    assert owner.delete(model_url).status_code == 204
    assert_error(owner.get(model_url), 404)


# ---------------------------------------------------------------- tenancy, pages, deletion


def test_another_workspaces_ids_answer_404_and_its_dataset_is_a_400(
    owner: APIClient, lab: str, datasets: dict[str, dict[str, Any]], workspace: Any,
    other_workspace: Any, charlie: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    iris = datasets["iris"]
    experiment = run(owner, lab, {"dataset": iris["id"], "target": "species",
                                  "algorithm": "decision_tree",
                                  "validation": {"cv_folds": 0}},
                     django_capture_on_commit_callbacks)
    ids = {"datasets": iris["id"], "experiments": experiment["id"],
           "models": experiment["model"]}
    outsider = login("charlie")
    for area, pk in ids.items():
        # Alice's id under Acme's path (she is a member there): 404.
        assert_error(owner.get(f"{API}/workspaces/acme/{area}/{pk}/"), 404)
        # Charlie is no member of the lab: 404, exactly as if it did not exist.
        assert_error(outsider.get(f"{API}/workspaces/{lab}/{area}/{pk}/"), 404)
        assert_error(outsider.get(f"{API}/workspaces/{lab}/{area}/"), 404)
        assert_error(outsider.delete(f"{API}/workspaces/{lab}/{area}/{pk}/"), 404)
        # Under his own workspace: 404 as well.
        assert_error(outsider.get(f"{API}/workspaces/rival/{area}/{pk}/"), 404)
    assert_error(outsider.get(f"{API}/workspaces/{lab}/"), 404)
    wrong = outsider.post(f"{API}/workspaces/rival/experiments/",
                          {"dataset": iris["id"], "target": "species",
                           "algorithm": "decision_tree"}, format="json")
    assert_error(wrong, 400, "dataset")


def test_every_list_paginates_and_page_size_stops_at_200(
    owner: APIClient, lab: str, workspace: Any, dave: Any
) -> None:
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Membership, Role, Workspace

    added = owner.post(f"{API}/workspaces/{lab}/members/", {"username": "dave",
                                                            "role": "member"}, format="json")
    assert added.status_code == 201, added.content
    assert added.json() == {"username": "dave", "email": "dave@example.com", "role": "member"}
    assert_error(owner.post(f"{API}/workspaces/{lab}/members/", {"username": "ghost"},
                            format="json"), 400, "username")
    assert_paginates(owner, f"{API}/workspaces/{lab}/members/")
    workspaces = assert_page(owner.get(f"{API}/workspaces/"))
    assert {(w["slug"], w["role"]) for w in workspaces["results"]} == {
        ("acme", "owner"), ("contract-lab", "owner")}
    assert_paginates(owner, f"{API}/workspaces/")
    detail = owner.get(f"{API}/workspaces/{lab}/").json()
    assert set(detail) >= {"slug", "name", "role", "created_at"}
    assert_utc(detail["created_at"])

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"user{i}", email=f"user{i}@example.com") for i in range(205))
    ws = Workspace.objects.get(slug=lab)
    Membership.objects.bulk_create(Membership(user=u, workspace=ws, role=Role.VIEWER)
                                   for u in users)
    capped = assert_page(owner.get(f"{API}/workspaces/{lab}/members/", {"page_size": 1000}))
    assert capped["count"] == 207 and len(capped["results"]) == 200 and capped["next"]


def test_deleting_a_workspace_takes_its_data_and_files_with_it(
    owner: APIClient, lab: str, datasets: dict[str, dict[str, Any]],
    django_capture_on_commit_callbacks: Any, settings: Any,
) -> None:
    from django.core.files.storage import default_storage

    from apps.accounts.models import Workspace

    experiment = run(owner, lab, {"dataset": datasets["iris"]["id"], "target": "species",
                                  "algorithm": "decision_tree",
                                  "validation": {"cv_folds": 0}},
                     django_capture_on_commit_callbacks)
    assert experiment["model"] is not None
    folder = default_storage.path(f"workspaces/{Workspace.objects.get(slug=lab).pk}")
    before = [os.path.join(r, n) for r, _d, names in os.walk(folder) for n in names]
    assert len(before) >= 4, before  # two uploads, plots, a model
    dave_client = login_member(owner, lab)
    assert_error(dave_client.delete(f"{API}/workspaces/{lab}/"), 403)
    with django_capture_on_commit_callbacks(execute=True):
        gone = owner.delete(f"{API}/workspaces/{lab}/")
    assert gone.status_code == 204
    assert not any(os.path.exists(p) for p in before)
    assert_error(owner.get(f"{API}/workspaces/{lab}/"), 404)
    assert_error(owner.get(f"{API}/workspaces/{lab}/datasets/"), 404)
    from apps.datasets.models import Dataset
    from apps.experiments.models import Experiment
    from apps.models.models import Model

    assert not Dataset.objects.filter(pk=datasets["iris"]["id"]).exists()
    assert not Experiment.objects.filter(pk=experiment["id"]).exists()
    assert not Model.objects.filter(pk=experiment["model"]).exists()


def login_member(owner: APIClient, slug: str) -> APIClient:
    """Make a fresh user an admin of `slug` through the API and log them in."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    erin = get_user_model().objects.create_user(username="erin", email="erin@example.com",
                                                password="pw-erin")
    EmailAddress.objects.create(user=erin, email=erin.email, verified=True, primary=True)
    added = owner.post(f"{API}/workspaces/{slug}/members/", {"email": "erin@example.com",
                                                             "role": "admin"}, format="json")
    assert added.status_code == 201, added.content
    return login("erin")


# ---------------------------------------------------------------- the schema


def test_the_schema_lists_the_fields_the_api_answers_with(
    owner: APIClient, lab: str, datasets: dict[str, dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    schema = owner.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    spec = schema.json()
    components = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def properties(path: str, method: str = "get", code: str = "200") -> set[str]:
        """Return the fields of the object (or of a page's / list's items) an answer holds."""
        content = spec["paths"][path][method]["responses"][code]["content"]
        node = resolve(content["application/json"]["schema"])
        if "results" in node.get("properties", {}):
            node = resolve(node["properties"]["results"]["items"])
        elif node.get("type") == "array":
            node = resolve(node["items"])
        return set(node["properties"])

    def assert_described(path: str, answer: dict[str, Any], method: str = "get",
                         code: str = "200") -> None:
        """Assert the schema names exactly the answer's fields, all required, nulls nullable."""
        content = spec["paths"][path][method]["responses"][code]["content"]
        node = resolve(content["application/json"]["schema"])
        assert set(node["properties"]) == set(answer), (path, set(node["properties"]) ^
                                                        set(answer))
        assert set(node.get("required", [])) == set(answer), (path, "every field is required")
        for name, value in answer.items():
            if value is None:
                assert node["properties"][name].get("nullable") is True, (path, name)

    ws = "/api/v1/workspaces/{slug}"
    assert_described(ws + "/datasets/{id}/", datasets["iris"])
    assert properties(ws + "/datasets/") == set(datasets["iris"])
    experiment = run(owner, lab, {"dataset": datasets["iris"]["id"], "target": "species",
                                  "algorithm": "decision_tree",
                                  "validation": {"cv_folds": 0}},
                     django_capture_on_commit_callbacks)
    assert_described(ws + "/experiments/{id}/", experiment)
    assert properties(ws + "/experiments/") == set(experiment)
    with django_capture_on_commit_callbacks(execute=False):
        queued = owner.post(f"{API}/workspaces/{lab}/experiments/",
                            {"dataset": datasets["iris"]["id"], "target": "species",
                             "algorithm": "decision_tree"}, format="json").json()
    assert_described(ws + "/experiments/", queued, "post", "201")  # error, model... are null
    model = owner.get(f"{API}/workspaces/{lab}/models/{experiment['model']}/").json()
    assert_described(ws + "/models/{id}/", model)
    regression = owner.get(f"{API}/workspaces/{lab}/models/",
                           {"task": "regression"}).json()["results"]
    assert regression == []
    assert properties(ws + "/models/") == set(model)
    workspace = owner.get(f"{API}/workspaces/{lab}/").json()
    assert properties(ws + "/") == set(workspace)
    listed = owner.get(f"{API}/workspaces/").json()
    assert set(listed) == PAGE_FIELDS
    assert properties("/api/v1/workspaces/") == set(listed["results"][0])
    for path in ("/api/v1/workspaces/", ws + "/members/", ws + "/datasets/",
                 ws + "/experiments/", ws + "/models/"):
        listing = spec["paths"][path]["get"]
        body = resolve(listing["responses"]["200"]["content"]["application/json"]["schema"])
        assert set(body.get("properties", {})) == PAGE_FIELDS, (path, "is paginated")
        assert {"page", "page_size"} <= {p["name"] for p in listing.get("parameters", [])}, path
    algorithms = resolve(spec["paths"]["/api/v1/algorithms/"]["get"]["responses"]["200"][
        "content"]["application/json"]["schema"])
    assert algorithms["type"] == "array", "the catalogue is a plain list"
    assert set(resolve(algorithms["items"])["properties"]) == {
        "key", "task", "family", "label", "params"}
    members = owner.get(f"{API}/workspaces/{lab}/members/").json()
    assert properties(ws + "/members/") == set(members["results"][0])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("body", [[], "text", 5, [{"dataset": 1}]])
def test_a_body_that_is_not_an_object_is_a_400_not_a_500(
    owner: APIClient, lab: str, body: Any
) -> None:
    owner.raise_request_exception = False
    for path in ("/experiments/", "/members/"):
        answer = owner.post(f"{API}/workspaces/{lab}{path}", body, format="json")
        assert answer.status_code == 400, (path, answer.status_code)
        assert answer.json(), path


def test_unknown_list_options_are_refused_naming_them(owner: APIClient, lab: str) -> None:
    base = f"{API}/workspaces/{lab}"
    assert_error(owner.get(f"{base}/experiments/", {"ordering": "colour"}), 400, "ordering")
    assert_error(owner.get(f"{base}/experiments/", {"dataset": "abc"}), 400, "dataset")
    assert_error(owner.get(f"{base}/models/", {"ordering": "colour"}), 400, "ordering")
    assert_error(owner.get(f"{base}/models/", {"task": "clustering"}), 400, "task")
    assert_error(owner.get(f"{base}/experiments/", {"page": 99}), 404)


@pytest.mark.parametrize("path", ["/workspaces/contract-lab/experiments/abc/",
                                  "/workspaces/contract-lab/datasets/abc/",
                                  "/workspaces/contract-lab/models/abc/",
                                  "/workspaces/contract-lab/experiments/1/nothing/",
                                  "/workspaces/contract-lab/nothing/", "/nothing/"])
def test_a_path_that_names_nothing_is_a_json_404(owner: APIClient, lab: str, path: str) -> None:
    assert_error(owner.get(API + path), 404)
    assert_error(owner.delete(API + path), 404)
    # An unknown path is not tenant data: anyone gets the same JSON 404 (handler404).
    assert_error(APIClient().get(API + path), 404)
    assert_error(owner.get(API + path.rstrip("/")), 404)
