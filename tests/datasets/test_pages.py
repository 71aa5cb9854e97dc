"""Dataset pages: list, upload (HTMX and plain), status polling, detail, rename, delete."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.datasets.models import Dataset
from tests.datasets.conftest import page_url

pytestmark = pytest.mark.django_db

CSV = b"x,y,label\n1,2.5,a\n2,,b\n3,1.0,a\n4,7.5,b\n"


@pytest.fixture
def dataset(upload):
    return Dataset.objects.get(pk=upload(CSV, "points.csv").json()["id"])


def _post_upload(client, workspace, content, capture, filename="data.csv", **headers):
    body = {"file": SimpleUploadedFile(filename, content, content_type="text/csv"), "name": ""}
    with capture(execute=True):
        return client.post(page_url(workspace, "upload/"), body, **headers)


def test_the_list_invites_an_upload_when_empty(client_as, alice, workspace):
    response = client_as(alice).get(page_url(workspace))
    assert response.status_code == 200
    assert b"No datasets yet" in response.content and b'id="upload"' in response.content


def test_a_viewer_sees_no_upload_form(client_as, bob, workspace, dataset):
    response = client_as(bob).get(page_url(workspace))
    assert response.status_code == 200
    assert b'id="upload"' not in response.content and b"points" in response.content


def test_the_list_sorts_by_rows_and_name(client_as, alice, workspace, upload):
    upload(b"a\n1\n2\n3\n", "big.csv")
    upload(b"a\n1\n", "small.csv")
    client = client_as(alice)
    by_rows = client.get(page_url(workspace, "?sort=-rows")).content.decode()
    assert by_rows.index(">big<") < by_rows.index(">small<")
    by_name = client.get(page_url(workspace, "?sort=-name")).content.decode()
    assert by_name.index(">small<") < by_name.index(">big<")
    assert client.get(page_url(workspace, "?sort=bogus&page=99")).status_code == 200


def test_an_htmx_upload_answers_the_status_fragment(client_as, dave, workspace,
                                                    django_capture_on_commit_callbacks):
    response = _post_upload(client_as(dave), workspace, CSV, django_capture_on_commit_callbacks,
                            HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'id="upload-result"' in response.content and b"<html" not in response.content
    assert Dataset.objects.get().created_by == dave


def test_a_plain_upload_redirects_to_the_dataset(client_as, alice, workspace,
                                                 django_capture_on_commit_callbacks):
    response = _post_upload(client_as(alice), workspace, CSV, django_capture_on_commit_callbacks)
    dataset = Dataset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_url(workspace, f"{dataset.pk}/")


def test_an_upload_page_shows_why_a_png_is_refused(client_as, alice, workspace,
                                                   django_capture_on_commit_callbacks):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = _post_upload(client_as(alice), workspace, png, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and b"PNG" in response.content
    htmx = _post_upload(client_as(alice), workspace, png, django_capture_on_commit_callbacks,
                        HTTP_HX_REQUEST="true")
    assert b"PNG" in htmx.content and b"flash-error" in htmx.content
    assert Dataset.objects.count() == 0


def test_an_oversized_page_upload_shows_the_limit_and_leaves_nothing(
    client_as, alice, workspace, settings, stored_files, django_capture_on_commit_callbacks
):
    settings.MAX_UPLOAD_BYTES = 10 * 1024
    before = stored_files()
    response = _post_upload(client_as(alice), workspace, b"a,b\n" + b"12345,67890\n" * 4500,
                            django_capture_on_commit_callbacks)
    assert response.status_code == 413
    assert b"upload limit" in response.content
    assert Dataset.objects.count() == 0 and stored_files() == before


def test_the_upload_page_checks_csrf(alice, workspace):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    body = {"file": SimpleUploadedFile("d.csv", CSV)}
    assert client.post(page_url(workspace, "upload/"), body).status_code == 403
    assert Dataset.objects.count() == 0


def test_upload_tenancy(client_as, bob, charlie, workspace, django_capture_on_commit_callbacks):
    assert _post_upload(client_as(charlie), workspace, CSV,
                        django_capture_on_commit_callbacks).status_code == 404
    assert _post_upload(client_as(bob), workspace, CSV,
                        django_capture_on_commit_callbacks).status_code == 403
    assert Dataset.objects.count() == 0


def test_status_polling_continues_while_processing_and_stops_when_done(client_as, alice,
                                                                       workspace, dataset):
    client = client_as(alice)
    done = client.get(page_url(workspace, f"{dataset.pk}/status/"), HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and b"ready" in done.content
    assert client.get(page_url(workspace, f"{dataset.pk}/status/?refresh=1"),
                      HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    Dataset.objects.filter(pk=dataset.pk).update(status="processing")
    running = client.get(page_url(workspace, f"{dataset.pk}/status/"), HTTP_HX_REQUEST="true")
    assert running.status_code == 200 and b'hx-trigger="every 2s"' in running.content


def test_the_detail_page_shows_schema_quality_preview_and_train_button(client_as, alice,
                                                                        workspace, dataset):
    html = client_as(alice).get(page_url(workspace, f"{dataset.pk}/")).content.decode()
    assert "Columns" in html and "numeric" in html and "categorical" in html
    assert 'class="spark"' in html  # the mini-histogram of a numeric column
    assert "First rows" in html and "<td>2.5</td>" in html
    train = reverse("experiments:create", args=[workspace.slug]) + f"?dataset={dataset.pk}"
    assert train in html
    assert "Download as CSV" in html and "Rename" in html


def test_a_viewer_sees_the_detail_without_write_controls(client_as, bob, workspace, dataset):
    html = client_as(bob).get(page_url(workspace, f"{dataset.pk}/")).content.decode()
    assert "First rows" in html
    assert "Train a model" not in html and "/delete/" not in html and "/rename/" not in html


def test_a_failed_dataset_page_shows_the_error(client_as, alice, workspace, upload):
    pk = upload(b"a,b,a\n1,2,3\n").json()["id"]
    html = client_as(alice).get(page_url(workspace, f"{pk}/")).content.decode()
    assert "could not be used" in html and "duplicate column names" in html
    assert "Train a model" not in html


def test_the_preview_fragment_shows_more_rows(client_as, bob, workspace, dataset):
    response = client_as(bob).get(page_url(workspace, f"{dataset.pk}/preview/?rows=3"),
                                  HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content.decode().count("<tr>") == 4


def test_rename_page(client_as, alice, bob, workspace, dataset):
    url = page_url(workspace, f"{dataset.pk}/rename/")
    assert client_as(bob).get(url).status_code == 403
    assert client_as(bob).post(url, {"name": "x"}).status_code == 403
    assert client_as(alice).post(url, {"name": ""}).status_code == 400
    assert client_as(alice).post(url, {"name": "Better"}).status_code == 302
    assert Dataset.objects.get().name == "Better"


def test_delete_page_confirms_then_deletes(client_as, dave, bob, workspace, dataset):
    url = page_url(workspace, f"{dataset.pk}/delete/")
    assert client_as(bob).post(url).status_code == 403
    page = client_as(dave).get(url)
    assert page.status_code == 200 and b"cannot be undone" in page.content
    assert b"experiment" in page.content
    assert client_as(dave).post(url).status_code == 302
    assert not Dataset.objects.exists()


def test_download_page_exports_escaped_csv(client_as, bob, workspace, upload):
    pk = upload(b"a,b\n=1+2,x\n-3,y\n").json()["id"]
    response = client_as(bob).get(page_url(workspace, f"{pk}/download/"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "'=1+2" in text and "\r\n-3," in text  # a negative number stays a number


@pytest.mark.parametrize(
    "suffix", ["", "{pk}/", "{pk}/status/", "{pk}/preview/", "{pk}/rename/", "{pk}/delete/",
               "{pk}/download/"],
)
def test_every_page_is_404_for_an_outsider_and_readable_by_a_member(
    client_as, charlie, dave, workspace, other_workspace, dataset, suffix
):
    url = page_url(workspace, suffix.format(pk=dataset.pk))
    assert client_as(charlie).get(url).status_code == 404
    assert client_as(dave).get(url).status_code in (200, 286)
    if "{pk}" in suffix:  # an id of workspace A under workspace B's path
        foreign = page_url(other_workspace, suffix.format(pk=dataset.pk))
        assert client_as(charlie).get(foreign).status_code == 404
