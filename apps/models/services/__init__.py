"""The model registry's writes, in three modules of one concern each:

- `registry`: register, rename, describe, delete, export; serving processes' bookkeeping;
- `predictions`: predictions answered at once (JSON rows or columns, CSV files);
- `batch`: batch predictions of CSV files (answered at once when small, else a background job).

The names callers use are importable from here (`apps.models.services.model_register`; the
job kinds name `apps.models.services.batch_prediction_work` by string).
"""

from apps.models.services.batch import (
    BATCH_JOB,
    BATCH_STALE_MESSAGE,
    BATCH_UNEXPECTED_MESSAGE,
    batch_chunk_rows,
    batch_inline,
    batch_inline_rows,
    batch_prediction_cleanup,
    batch_prediction_download_record,
    batch_prediction_execute,
    batch_prediction_fail_stale,
    batch_prediction_inline,
    batch_prediction_start,
    batch_prediction_work,
    csv_row_estimate,
)
from apps.models.services.predictions import (
    MAX_JSON_ROWS,
    NotCsv,
    _thread_controller,
    csv_max_bytes,
    csv_max_rows,
    model_predict_csv,
    model_predict_rows,
    predict_frame_columns,
)
from apps.models.services.registry import (
    model_delete,
    model_describe,
    model_download_record,
    model_onnx_bytes,
    model_onnx_possible,
    model_register,
    model_rename,
    model_wait_served,
    serving_process_announce,
    serving_process_gone,
)

__all__ = [
    "BATCH_JOB", "BATCH_STALE_MESSAGE", "BATCH_UNEXPECTED_MESSAGE", "MAX_JSON_ROWS", "NotCsv",
    "_thread_controller", "batch_chunk_rows", "batch_inline", "batch_inline_rows",
    "batch_prediction_cleanup", "batch_prediction_download_record", "batch_prediction_execute",
    "batch_prediction_fail_stale", "batch_prediction_inline", "batch_prediction_start",
    "batch_prediction_work", "csv_max_bytes", "csv_max_rows", "csv_row_estimate",
    "model_delete", "model_describe", "model_download_record", "model_onnx_bytes",
    "model_onnx_possible", "model_predict_csv", "model_predict_rows", "model_register",
    "model_rename", "model_wait_served", "predict_frame_columns", "serving_process_announce",
    "serving_process_gone",
]
