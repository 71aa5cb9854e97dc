"""Awkward and hostile files through the API: each is ready with the right counts or refused.

Processing runs inline (django_capture_on_commit_callbacks), so a 201 is followed by the
final state in the database.
"""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from apps.datasets.models import Dataset
from tests.datasets.conftest import api_url

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def _final(response):
    assert response.status_code == 201, response.content
    return Dataset.objects.get(pk=response.json()["id"])


def _ready(response, rows, columns):
    dataset = _final(response)
    assert dataset.status == "ready", dataset.error
    assert (dataset.n_rows, dataset.n_columns) == (rows, columns)
    assert dataset.parquet
    return dataset


def _failed(response, *words):
    dataset = _final(response)
    assert dataset.status == "failed"
    assert not dataset.parquet
    for word in words:
        assert word.lower() in dataset.error.lower(), dataset.error
    return dataset


def _refused(response, status, *words, stored_before=None, stored_after=None):
    assert response.status_code == status, response.content
    text = str(response.json()).lower()
    for word in words:
        assert word.lower() in text, text
    assert Dataset.objects.count() == 0
    if stored_before is not None:
        assert stored_after == stored_before


def test_it_refuses_an_empty_file(upload, stored_files):
    before = stored_files()
    _refused(upload(b""), 400, "empty", stored_before=before, stored_after=stored_files())


def test_it_fails_a_header_only_file_with_a_clear_message(upload):
    _failed(upload(b"a,b,c\n"), "no data rows")


def test_it_reads_a_single_row(upload):
    _ready(upload(b"name,age\nAda,36\n"), 1, 2)


def test_it_fails_ragged_rows_beyond_repair(upload):
    _failed(upload(b"a,b\n1,2\n3,4,5,6\n7,8\n"), "fields")


def test_it_refuses_binary_bytes(upload, stored_files):
    before = stored_files()
    body = bytes(range(256)) * 40
    _refused(upload(body), 400, "binary", stored_before=before, stored_after=stored_files())


def test_it_refuses_a_png_named_csv(upload, stored_files):
    before = stored_files()
    _refused(upload(PNG, "photo.csv"), 400, "PNG", stored_before=before,
             stored_after=stored_files())


def test_it_refuses_gzip_bytes_without_unpacking_them(upload, stored_files):
    before = stored_files()
    body = gzip.compress(b"a,b\n1,2\n" * 1000)
    _refused(upload(body, "data.csv"), 400, "gzip", stored_before=before,
             stored_after=stored_files())


def test_it_refuses_a_zip_archive(upload):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    _refused(upload(buffer.getvalue(), "data.csv"), 400, "zip")


def test_it_refuses_a_file_that_is_not_named_like_csv(upload):
    _refused(upload(b"a,b\n1,2\n", "data.xlsx"), 400, ".csv")


def test_it_reads_utf16_text(upload):
    text = "città,prezzo\nRoma,1.5\nMilano,2.5\n"
    dataset = _ready(upload(text.encode("utf-16")), 2, 2)
    assert dataset.columns[0]["name"] == "città"


def test_it_reads_latin1_text(upload, api, workspace):
    dataset = _ready(upload("name,city\nJosé,Zürich\nRenée,Besançon\n".encode("latin-1")), 2, 2)
    preview = api.get(api_url(workspace, f"{dataset.pk}/preview/")).json()
    assert preview["rows"][0] == ["José", "Zürich"]


def test_it_strips_a_utf8_bom_from_the_first_column_name(upload):
    dataset = _ready(upload("\ufeffid,value\n1,2\n2,3\n".encode()), 2, 2)
    assert [c["name"] for c in dataset.columns] == ["id", "value"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_it_recognises_the_delimiter(upload, delimiter):
    body = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "x", "2"]) + "\n"
    body += delimiter.join(["3", "y", "4"]) + "\n"
    dataset = _ready(upload(body.encode(), "data.tsv" if delimiter == "\t" else "data.csv"), 2, 3)
    assert [c["name"] for c in dataset.columns] == ["a", "b", "c"]


def test_it_keeps_quoted_newlines_inside_a_cell(upload, api, workspace):
    dataset = _ready(upload(b'id,note\n1,"line one\nline two"\n2,plain\n'), 2, 2)
    preview = api.get(api_url(workspace, f"{dataset.pk}/preview/")).json()
    assert preview["rows"][0][1] == "line one\nline two"


def test_it_fails_duplicate_column_names(upload):
    _failed(upload(b"a,b,a\n1,2,3\n"), "duplicate", "'a'")


def test_it_reads_five_thousand_columns(upload):
    header = ",".join(f"c{i}" for i in range(5000))
    rows = "\n".join(",".join(str((r * 7 + i) % 10) for i in range(5000)) for r in range(3))
    dataset = _ready(upload(f"{header}\n{rows}\n".encode()), 3, 5000)
    assert len(dataset.columns) == 5000


def test_it_reads_a_file_whose_values_are_all_missing(upload):
    dataset = _ready(upload(b"a,b\n,\n,\n,\n"), 3, 2)
    assert dataset.quality["missing_cells"] == 6
    assert {w["code"] for w in dataset.quality["warnings"]} >= {"all_missing"}


def test_it_refuses_an_oversized_file_with_413_and_leaves_nothing_on_disk(
    upload, settings, stored_files
):
    settings.MAX_UPLOAD_BYTES = 10 * 1024
    before = stored_files()
    response = upload(b"a,b\n" + b"12345,67890\n" * 4500)  # ~54 KB
    assert response.status_code == 413
    assert "upload limit" in response.json()["detail"]
    assert Dataset.objects.count() == 0
    assert stored_files() == before


def test_it_treats_a_hostile_file_name_as_display_text_only(upload, stored_files, workspace):
    before = stored_files()
    dataset = _ready(upload(b"a,b\n1,2\n", "../../etc/$(rm -rf ~);`id`|x.csv"), 1, 2)
    assert "/" not in dataset.original_filename and "$" not in dataset.original_filename
    assert "`" not in dataset.name and ";" not in dataset.original_filename
    new = stored_files() - before
    assert len(new) == 2  # the CSV and its Parquet, both under the workspace with random names
    for path in new:
        assert f"workspaces/{workspace.pk}/datasets/" in path
        assert "etc" not in path and "rm" not in path.rsplit("/", 1)[-1]


def test_it_stores_formula_cells_as_text_and_exports_them_escaped(upload, api, workspace):
    dataset = _ready(upload(b'name,formula\nx,"=HYPERLINK(""http://evil"")"\ny,@SUM(A1)\n'), 2, 2)
    preview = api.get(api_url(workspace, f"{dataset.pk}/preview/")).json()
    assert preview["rows"][0][1] == '=HYPERLINK("http://evil")'
    response = api.get(api_url(workspace, f"{dataset.pk}/download/"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    assert "\n=" not in text and ",=" not in text


def test_no_file_is_a_400_with_a_field_error(api, workspace):
    response = api.post(api_url(workspace), {"name": "x"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()
