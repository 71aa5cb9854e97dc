"""Fixtures for experiments: small ready datasets written as Parquet into storage."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest


def _frame(name: str) -> pd.DataFrame:
    from sklearn import datasets

    if name == "iris":
        bunch = datasets.load_iris(as_frame=True)
        frame = bunch.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
        frame["species"] = [bunch.target_names[i] for i in bunch.target]
        return frame.drop(columns=["target"])
    if name == "cancer":
        bunch = datasets.load_breast_cancer(as_frame=True)
        frame = bunch.frame.iloc[:, list(range(6)) + [-1]].sample(200, random_state=0)
        frame.columns = [c.replace(" ", "_") for c in frame.columns]
        return frame.reset_index(drop=True)
    if name == "diabetes":
        bunch = datasets.load_diabetes(as_frame=True)
        return bunch.frame.sample(150, random_state=0).reset_index(drop=True)
    raise ValueError(name)


@pytest.fixture
def make_dataset(workspace: Any) -> Callable[..., Any]:
    """Return make(frame_or_name, workspace=..., status="ready") -> a Dataset row with Parquet."""
    from apps.core.files import storage_path, storage_save
    from apps.datasets.models import Dataset
    from ml.data import column_kind, write_parquet

    def make(data: str | pd.DataFrame = "iris", *, ws: Any = None, status: str = "ready",
             name: str | None = None) -> Any:
        ws = ws or workspace
        frame = _frame(data) if isinstance(data, str) else data
        buffer = io.BytesIO()
        write_parquet(frame, buffer)
        stored = storage_save(storage_path(ws, "datasets", ".parquet"), buffer.getvalue())
        columns = [
            {"name": str(c), "dtype": str(frame[c].dtype), "kind": column_kind(frame[c]),
             "n_missing": int(frame[c].isna().sum()), "n_unique": int(frame[c].nunique())}
            for c in frame.columns
        ]
        return Dataset.objects.create(
            workspace=ws, name=name or (data if isinstance(data, str) else "frame"),
            file="", parquet=stored, status=status, n_rows=len(frame),
            n_columns=frame.shape[1], columns=columns,
        )

    return make


@pytest.fixture
def iris(make_dataset: Callable[..., Any]) -> Any:
    return make_dataset("iris")
