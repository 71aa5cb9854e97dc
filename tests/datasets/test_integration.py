"""An upload processed by a real django-q2 worker process."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.datasets.models import Dataset
from tests.conftest import wait_for
from tests.datasets.conftest import api_url


@pytest.mark.integration
def test_an_uploaded_file_becomes_ready_in_the_real_worker(worker, api, workspace):
    rows = "".join(f"{i},{i * 0.5},{'ab'[i % 2]}\n" for i in range(200))
    body = {"file": SimpleUploadedFile("w.csv", f"n,x,c\n{rows}".encode(), "text/csv")}
    response = api.post(api_url(workspace), body, format="multipart")
    assert response.status_code == 201 and response.json()["status"] == "processing"
    pk = response.json()["id"]

    def finished():
        status = Dataset.objects.get(pk=pk).status
        return status if status != "processing" else None

    try:
        assert wait_for(finished, timeout=90) == "ready"
    except AssertionError:
        print(worker.log_tail())
        raise
    detail = api.get(api_url(workspace, f"{pk}/")).json()
    assert (detail["n_rows"], detail["n_columns"]) == (200, 3)
    assert Dataset.objects.get(pk=pk).attempts == 1
    # through the one job runner (its line follows the row's end by a moment)
    assert wait_for(lambda: worker.ran_in_a_job_process("Dataset", pk), timeout=10)
