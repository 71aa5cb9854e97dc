"""Predictions answered at once: JSON rows or columns, and CSV files."""

from __future__ import annotations

import threading
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.core.csvsafe import csv_frame_to_text
from apps.models.cache import bundle_cache
from apps.models.models import Model
from ml.errors import DataError

MAX_JSON_ROWS = 10_000


# --- predict -----------------------------------------------------------------------------------


_serving = threading.local()


def _serving_threads() -> None:
    """Cap the native thread pools of this serving thread (PREDICT_THREADS, default 1), once.

    A web process answers requests in parallel already (processes x threads); a prediction
    that also fans out to OpenMP threads (hist_gradient_boosting) fights the others for the
    same cores: one row took 25 ms instead of 6 on a busy 2-core machine. OpenMP's limit is
    per thread, so each serving thread sets its own.
    """
    if getattr(_serving, "limited", False):
        return
    _thread_controller().limit(limits=int(getattr(settings, "PREDICT_THREADS", 1)))
    _serving.limited = True


_controller: list[Any] = []
_controller_lock = threading.Lock()


def _thread_controller() -> Any:
    """The process's threadpoolctl controller, made once: finding the native libraries costs
    ~3-12 ms, and the development server starts a new thread for every connection."""
    with _controller_lock:
        if not _controller:
            from threadpoolctl import ThreadpoolController

            _controller.append(ThreadpoolController())
        return _controller[0]


def model_predict_rows(
    *, model: Model, rows: Any = None, columns: Any = None, data: Any = None
) -> dict[str, Any]:
    """Predict `rows` (a list of objects) or `columns` + `data` (lists of values, "split").

    Raise SchemaError (bad columns or values) or ValidationError (too many rows).
    """
    from ml.predict import columns_to_frame, predict, rows_to_frame

    _serving_threads()

    field, items = ("rows", rows) if rows is not None else ("data", data)
    if not isinstance(items, list):
        raise ValidationError({field: [f"Send {field} as a list."]})
    if len(items) > MAX_JSON_ROWS:
        raise ValidationError({field: [
            f"At most {MAX_JSON_ROWS:,} rows per call (got {len(items):,}); split them, "
            "or upload a CSV file instead."
        ]})
    if rows is not None:
        frame = rows_to_frame(rows, model.input_schema)
    else:
        frame = columns_to_frame(columns, data, model.input_schema)
    bundle = bundle_cache.get(model)
    # The frame is validated already: pass the bare pipeline so predict() doesn't redo it.
    return predict(bundle.pipeline, frame, task=model.task, classes=model.classes)


def csv_max_rows() -> int:
    """Return how many rows one synchronous CSV prediction may hold."""
    return int(getattr(settings, "MODEL_PREDICT_CSV_MAX_ROWS", 100_000))


def csv_max_bytes() -> int:
    """Return how big a file one synchronous CSV prediction may be (the answer is built in
    memory, a few times the file's size)."""
    return int(getattr(settings, "MODEL_PREDICT_CSV_MAX_BYTES", 50 * 1024 * 1024))


class NotCsv(DataError):
    """The uploaded file is not text (a PNG or zip named .csv)."""


def _read_csv(fileobj: IO[bytes]) -> Any:
    from ml.data import read_csv, sniff_bytes

    head = fileobj.read(64 * 1024)
    try:
        sniff_bytes(head)
    except DataError as exc:
        raise NotCsv(str(exc)) from exc
    fileobj.seek(0)
    return read_csv(fileobj)


def model_predict_csv(*, model: Model, fileobj: IO[bytes], max_rows: int | None = None) -> str:
    """Predict every row of a CSV file; return the rows with prediction columns, as safe CSV."""
    return _predict_csv(model=model, fileobj=fileobj, max_rows=max_rows)[0]


def _predict_csv(*, model: Model, fileobj: IO[bytes],
                 max_rows: int | None = None) -> tuple[str, int]:
    from ml.predict import validate_frame

    _serving_threads()

    frame = _read_csv(fileobj)
    if max_rows is not None and len(frame) > max_rows:
        raise DataError(f"The file has {len(frame):,} rows; at most {max_rows:,} are predicted "
                        "at once. Split it into smaller files.")
    features = validate_frame(frame, model.input_schema)
    out = predict_frame_columns(model=model, features=features)
    result = frame.reset_index(drop=True)
    for column, values in out.items():
        result[_free_name(result, column)] = values
    return csv_frame_to_text(result), len(result)


def predict_frame_columns(*, model: Model, features: Any) -> dict[str, list[Any]]:
    """Return {"prediction": [...], "proba_<class>": [...]...} for a validated frame."""
    from ml.predict import predict

    bundle = bundle_cache.get(model)
    answer = predict(bundle.pipeline, features, task=model.task, classes=model.classes)
    columns: dict[str, list[Any]] = {"prediction": answer["predictions"]}
    if answer.get("probabilities") is not None and answer.get("classes"):
        for i, label in enumerate(answer["classes"]):
            columns[f"proba_{label}"] = [row[i] for row in answer["probabilities"]]
    return columns


def _free_name(frame: Any, name: str) -> str:
    """Return `name`, suffixed with underscores if the input already has such a column."""
    while name in frame.columns:
        name += "_"
    return name
