"""Object storage for real: web and worker on an S3-compatible server (moto), no shared disk.

Upload -> ready -> train -> model download -> predict -> delete, through gunicorn and a
qcluster, with every file in the bucket; then the store stopped mid-upload and mid-training.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.system.conftest import table_csv
from tests.system.stack import S3Server, Stack, wait_until

pytestmark = pytest.mark.system

ENDS = ("succeeded", "failed", "cancelled", "stopped")


@pytest.fixture
def stack(s3: S3Server) -> Iterator[Stack]:
    platform = Stack(s3=s3)
    try:
        platform.setup()
        platform.start_web()
        platform.start_worker()
        yield platform
    finally:
        platform.stop()


def _files_on_disk(stack: Stack) -> list[str]:
    root = stack.data / "files"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) \
        if root.exists() else []


def _upload(http: requests.Session, stack: Stack, body: bytes, name: str = "t.csv") -> Any:
    return http.post(f"{stack.api}/datasets/", files={"file": (name, body, "text/csv")})


def _ready(http: requests.Session, stack: Stack, pk: int) -> dict[str, Any]:
    url = f"{stack.api}/datasets/{pk}/"
    return wait_until(lambda: (d := http.get(url).json())["status"] != "processing" and d,
                      timeout=120, what=f"dataset {pk}")


def _train(http: requests.Session, stack: Stack, dataset: int, **extra: Any) -> int:
    body = {"dataset": dataset, "target": "target", "algorithm": "linear",
            "validation": {"cv_folds": 0}, **extra}
    response = http.post(f"{stack.api}/experiments/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _ended(http: requests.Session, stack: Stack, pk: int, timeout: float = 180) -> dict:
    url = f"{stack.api}/experiments/{pk}/"
    return wait_until(lambda: (d := http.get(url).json())["status"] in ENDS and d,
                      timeout=timeout, what=f"experiment {pk}")


def test_every_file_lives_in_the_bucket_and_deleting_leaves_none(stack: Stack, s3: S3Server):
    http = stack.session()
    assert http.get(f"{stack.url}/healthz").json()["storage"] == "ok"
    response = _upload(http, stack, table_csv())
    assert response.status_code == 201, response.text
    dataset = _ready(http, stack, response.json()["id"])
    assert dataset["status"] == "ready", dataset
    experiment = _ended(http, stack, _train(http, stack, dataset["id"]))
    assert experiment["status"] == "succeeded", (experiment, stack.log("worker"))
    model = experiment["model"]
    assert model

    keys = s3.keys("workspaces/")
    assert any(k.endswith(".csv") for k in keys)  # the upload
    assert any(k.endswith(".parquet") for k in keys)  # its columnar copy
    assert any(k.endswith(".png") for k in keys)  # plots
    assert any(k.endswith(".mwm") for k in keys)  # the model bundle
    assert _files_on_disk(stack) == []  # web and worker share no disk

    download = http.get(f"{stack.api}/models/{model}/download/")
    assert download.status_code == 200
    bundle_key = next(k for k in keys if k.endswith(".mwm"))
    stored = s3.client().get_object(Bucket=s3.bucket, Key=bundle_key)["Body"].read()
    assert download.content == stored

    rows = [{"a": 1.5, "b": 3, "c": "x"}, {"a": -2.0, "b": 1, "c": "z"}]
    predicted = http.post(f"{stack.api}/models/{model}/predict/", json={"rows": rows})
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["predictions"] == ["yes", "no"]
    batch = http.post(f"{stack.api}/models/{model}/predict/",
                      files={"file": ("in.csv", b"a,b,c\n1.5,3,x\n", "text/csv")})
    assert batch.status_code == 200 and b"prediction" in batch.content

    for path in (f"datasets/{dataset['id']}/", f"experiments/{experiment['id']}/",
                 f"models/{model}/"):
        assert http.delete(f"{stack.api}/{path}").status_code == 204
    wait_until(lambda: s3.keys("workspaces/") == [], timeout=30, what="an empty bucket")


def test_downloads_can_redirect_to_a_signed_url(s3: S3Server) -> None:
    platform = Stack(s3=s3, S3_REDIRECT_DOWNLOADS="true")
    try:
        platform.setup()
        platform.start_web()
        platform.start_worker()
        http = platform.session()
        dataset = _ready(http, platform, _upload(http, platform, table_csv()).json()["id"])
        model = _ended(http, platform, _train(http, platform, dataset["id"]))["model"]
        answer = http.get(f"{platform.api}/models/{model}/download/", allow_redirects=False)
        assert answer.status_code == 302
        signed = answer.headers["Location"]
        assert signed.startswith(s3.url) and "X-Amz-Signature=" in signed
        fetched = requests.get(signed, timeout=30)  # no token: the signature is the key
        assert fetched.status_code == 200 and fetched.content.startswith(b"PK")
        assert "attachment" in fetched.headers.get("Content-Disposition", "")
    finally:
        platform.stop()


def test_the_store_stopped_mid_upload_and_mid_training(stack: Stack, s3: S3Server) -> None:
    http = stack.session()
    dataset = _ready(http, stack, _upload(http, stack, table_csv(rows=20_000)).json()["id"])
    before = s3.keys("workspaces/")

    s3.stop()
    # Upload: a clear 503, no dataset row pointing at a file that is not there.
    response = _upload(http, stack, table_csv(seed=1), name="lost.csv")
    assert response.status_code == 503, response.text
    assert "file store is not answering" in response.json()["detail"]
    assert response.headers.get("Retry-After")
    names = [d["name"] for d in http.get(f"{stack.api}/datasets/").json()["results"]]
    assert "lost" not in names and "lost.csv" not in names
    health = http.get(f"{stack.url}/healthz")
    assert health.status_code == 503 and health.json()["storage"] == "error"
    assert health.json()["database"] == "ok"
    # A page that reads a stored file answers 503 too, not a server error.
    page = http.get(f"{stack.api}/datasets/{dataset['id']}/preview/")
    assert page.status_code == 503, page.text

    # Training: the web process checks the config against the stored data: a 503, no job.
    refused = http.post(f"{stack.api}/experiments/", json={
        "dataset": dataset["id"], "target": "target", "algorithm": "linear"})
    assert refused.status_code == 503, refused.text
    assert http.get(f"{stack.api}/experiments/").json()["count"] == 0

    s3.start(create_bucket=True)  # a new, empty store on the same address
    wait_until(lambda: http.get(f"{stack.url}/healthz").status_code == 200, timeout=30,
               what="/healthz back to 200")
    # Mid-training: stop the store while a longer job runs; it ends failed, no model row.
    s3_keys_before = s3.keys()
    fresh = _ready(http, stack, _upload(http, stack, table_csv(rows=20_000)).json()["id"])
    pk = _train(http, stack, fresh["id"], algorithm="random_forest",
                params={"n_estimators": 400})
    wait_until(lambda: http.get(f"{stack.api}/experiments/{pk}/").json()["status"] == "running",
               timeout=60, interval=0.05, what="the job running")
    time.sleep(0.5)
    s3.stop()
    failed = _ended(http, stack, pk, timeout=180)
    assert failed["status"] == "failed", failed
    assert "file store stopped answering" in failed["error"], failed["error"]
    assert failed["model"] is None
    assert http.get(f"{stack.api}/models/").json()["count"] == 0
    assert before and s3_keys_before == []
