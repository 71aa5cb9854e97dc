"""Reads of datasets; every query takes the workspace."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import Workspace
from apps.accounts.tenancy import require_workspace
from apps.datasets.models import Dataset, DatasetStatus

PREVIEW_DEFAULT_ROWS = 20
PREVIEW_MAX_ROWS = 500
# ?sort= values of the list page and the ordering each stands for.
SORTS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "rows": ("n_rows", "pk"),
    "-rows": ("-n_rows", "-pk"),
    "size": ("size_bytes", "pk"),
    "-size": ("-size_bytes", "-pk"),
}


def dataset_list(*, workspace: Workspace, sort: str = "-created") -> QuerySet[Dataset]:
    """Return the workspace's datasets, newest first unless `sort` says otherwise."""
    ordering = SORTS.get(sort, SORTS["-created"])
    return (
        Dataset.objects.filter(workspace=require_workspace(workspace))
        .select_related("created_by")
        .defer("profile")
        .order_by(*ordering)
    )


def dataset_list_ready(*, workspace: Workspace) -> QuerySet[Dataset]:
    """Return the workspace's datasets that can be trained on."""
    return dataset_list(workspace=workspace).filter(status=DatasetStatus.READY)


def dataset_get(*, workspace: Workspace, pk: Any) -> Dataset:
    """Return one dataset of the workspace, or raise Http404."""
    return get_object_or_404(
        Dataset.objects.select_related("created_by"), workspace=require_workspace(workspace), pk=pk
    )


def dataset_preview(*, dataset: Dataset, rows: int = PREVIEW_DEFAULT_ROWS,
                    max_columns: int | None = None) -> dict[str, Any]:
    """Return the first `rows` rows (of the first `max_columns` columns when given) as
    JSON-safe `{"columns", "rows"}`; empty until ready."""
    rows = max(1, min(int(rows), PREVIEW_MAX_ROWS))
    if dataset.status != DatasetStatus.READY or not dataset.parquet:
        return {"columns": [c["name"] for c in dataset.columns][:max_columns], "rows": []}
    import pyarrow.parquet as pq

    with default_storage.open(dataset.parquet, "rb") as fh:
        parquet = pq.ParquetFile(fh)
        names = list(parquet.schema_arrow.names)[:max_columns]
        # Read one small batch of those columns: a preview never loads the whole file.
        batch = next(parquet.iter_batches(batch_size=rows, columns=names), None)
        if batch is None:
            return {"columns": names, "rows": []}
        frame = batch.to_pandas()
    from ml.predict import to_json_safe

    data = [[to_json_safe(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return {"columns": names, "rows": data}
