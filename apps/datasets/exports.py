"""The "Download as CSV" export: streamed from the Parquet, every cell formula-escaped."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from apps.core.csvsafe import csv_safe_cell
from apps.core.models import Verb
from apps.core.services import audit_record
from apps.datasets.models import Dataset, DatasetStatus

BATCH_ROWS = 10_000


class _Echo:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def dataset_csv_rows(*, dataset: Dataset) -> Iterator[str]:
    """Yield the dataset as escaped CSV lines, batch by batch from its Parquet."""
    import pyarrow.parquet as pq

    writer = csv.writer(_Echo())
    with default_storage.open(dataset.parquet, "rb") as fh:
        parquet = pq.ParquetFile(fh)
        yield writer.writerow([csv_safe_cell(n) for n in parquet.schema_arrow.names])
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            frame = batch.to_pandas()
            for row in frame.itertuples(index=False, name=None):
                yield writer.writerow([_cell(v) for v in row])


def _cell(value: Any) -> Any:
    # Missing values of any kind (NaN, NaT, NA) are empty cells.
    try:
        import pandas as pd

        if value is None or pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return csv_safe_cell(value)


def dataset_csv_response(*, dataset: Dataset, user: Any) -> StreamingHttpResponse:
    """Return a streamed CSV download of a ready dataset; record it in the audit log."""
    if dataset.status != DatasetStatus.READY or not dataset.parquet:
        raise ValidationError(f"The dataset is {dataset.status}; only ready datasets download.")
    audit_record(workspace=dataset.workspace, actor=user, verb=Verb.DATASET_DOWNLOAD,
                 target=dataset, detail={"dataset_id": dataset.pk})
    response = StreamingHttpResponse(dataset_csv_rows(dataset=dataset),
                                     content_type="text/csv; charset=utf-8")
    filename = f"{slugify(dataset.name) or 'dataset'}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
