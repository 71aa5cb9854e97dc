"""A configurable ColumnTransformer that turns raw columns into numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from ml.config import PreprocessingConfig
from ml.errors import DataError
from ml.kinds import FALSE_WORDS, TRUE_WORDS

KINDS = ("numeric", "categorical", "boolean", "datetime", "text")
# One-hot without limits turns a 2,000-level column into 2,000 dense columns (gigabytes on
# 100k rows) for no gain: levels rarer than 1% of the rows share one column, and no column
# yields more than 100. A user's own min_frequency / max_categories replace these.
DEFAULT_MIN_FREQUENCY = 0.01
DEFAULT_MAX_CATEGORIES = 100
# HistGradientBoosting bins a native categorical feature into at most 255 codes.
NATIVE_MAX_CATEGORIES = 255
MISSING = "__missing__"
RARE = "__rare__"



# ---------------------------------------------------------------- column kinds


def column_kind(series: pd.Series) -> str:
    """Return the kind of a column: numeric, categorical, boolean, datetime or text (the one
    rule, ml.data's, the profile uses too)."""
    from ml.kinds import column_kind as data_column_kind

    return str(data_column_kind(series))


def column_kinds(df: pd.DataFrame, columns: list[str] | None = None) -> dict[str, str]:
    """Return {column: kind} for the given columns of df (all columns by default)."""
    return {str(c): column_kind(df[c]) for c in (columns or list(df.columns))}


# ---------------------------------------------------------------- small transformers


def to_category_strings(X: Any) -> Any:
    """Turn a 2-D block into strings, with missing values as their own category."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    columns = [_column_strings(column) for _name, column in frame.items()]
    return np.column_stack(columns) if columns else np.empty((len(frame), 0), dtype=object)


def _column_strings(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if pd.api.types.infer_dtype(values[~missing], skipna=False) in ("string", "empty"):
        # Already text (what ml.predict sends): fill the gaps without pandas' casts.
        out = values.copy()
        out[missing] = MISSING
        return out
    return column.astype(object).where(column.notna(), MISSING).astype(str).to_numpy(dtype=object)


def to_numbers(X: Any) -> np.ndarray:
    """Turn a 2-D block into floats; text that is not a number becomes NaN."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
           for t in frame.dtypes):
        values = frame.to_numpy(dtype=float, na_value=np.nan)  # the common, fast path
    else:
        values = frame.apply(_column_to_numbers).to_numpy(dtype=float, na_value=np.nan)
    # The layout a consolidated frame gives (C for one dtype, Fortran for several), however
    # the caller built the frame: matrix products downstream round the last bit differently
    # on C and Fortran order, and predictions must not depend on that.
    one_dtype = len(set(map(str, frame.dtypes))) <= 1
    return np.ascontiguousarray(values) if one_dtype else np.asfortranarray(values)


def _column_to_numbers(column: pd.Series) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(column):
        return column.dt.total_seconds()
    return pd.to_numeric(column, errors="coerce")


def to_text(X: Any) -> np.ndarray:
    """Flatten one text column to a 1-D array of strings ('' for missing)."""
    frame = pd.DataFrame(X)
    return frame.iloc[:, 0].astype(object).where(frame.iloc[:, 0].notna(), "").map(str).to_numpy()


class _EngineTransformer(TransformerMixin, BaseEstimator):
    """What every engine transformer checks, as scikit-learn's own do (they pass
    `check_estimator`; tests/ml/test_estimator_checks.py lists the checks that cannot apply).

    A DataFrame stays a DataFrame (each column keeps its own type: these transformers read text,
    dates and booleans); anything else becomes an array. Refused with a clear error: sparse,
    complex, 1-D or empty input, a transform before fit, and a column count other than fit's.
    Missing values and text are accepted (tags `allow_nan`, `string`).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _input(self, X: Any, *, fitting: bool) -> Any:
        name = type(self).__name__
        if issparse(X):
            raise TypeError(f"{name} does not accept sparse input: pass a dense array or a "
                            "DataFrame.")
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(f"Expected a 2-D array, got {X.ndim}-D. Reshape your data, "
                                 "e.g. with array.reshape(-1, 1) for a single feature.")
            if np.iscomplexobj(X):
                raise ValueError("Complex data not supported.")
        n_samples, n_features = X.shape
        if fitting:
            for count, what in ((n_samples, "sample"), (n_features, "feature")):
                if count == 0:
                    raise ValueError(f"Found array with 0 {what}(s) (shape={X.shape}) while a "
                                     "minimum of 1 is required.")
            self.feature_names_in_ = _names_in(X)
            self.n_features_in_ = n_features
        else:
            if not hasattr(self, "n_features_in_"):
                raise NotFittedError(f"This {name} instance is not fitted yet: call fit first.")
            if n_features != self.n_features_in_:
                raise ValueError(f"X has {n_features} features, but {name} is expecting "
                                 f"{self.n_features_in_} features as input.")
        return X

    def fit(self, X: Any, y: Any = None) -> Any:
        self._input(X, fitting=True)
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None
                          else self.feature_names_in_, dtype=object)


class _TextOut(_EngineTransformer):
    """Its output is text: no dtype of the input is kept."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


class NumberCoercer(_EngineTransformer):
    """Turn columns into floats (text that is not a number becomes NaN); see `to_numbers`.

    A class of its own rather than a FunctionTransformer: it skips that wrapper's per-call
    checks, and `ml.bundle` registers an ONNX converter for it.
    """

    def transform(self, X: Any) -> np.ndarray:
        return to_numbers(self._input(X, fitting=False))


class CategoryStrings(_TextOut):
    """Turn columns into strings with missing values as MISSING; see `to_category_strings`."""

    def transform(self, X: Any) -> np.ndarray:
        return to_category_strings(self._input(X, fitting=False))


class BooleanEncoder(_EngineTransformer):
    """Map booleans (and yes/no, true/false, 1/0 strings) to 1.0/0.0, unknown to NaN."""

    def transform(self, X: Any) -> np.ndarray:
        X = self._input(X, fitting=False)
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        return np.column_stack([_bool_column(column) for _name, column in frame.items()])


def _bool_column(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=object)
    present = ~pd.isna(values)
    text = [str(v).strip().lower() if ok else None for v, ok in zip(values, present, strict=True)]
    return np.array([1.0 if t in TRUE_WORDS else 0.0 if t in FALSE_WORDS else np.nan for t in text],
                    dtype=float)


class DatetimeFeatures(_EngineTransformer):
    """Extract year, month, day, weekday and hour from date/time columns (NaN when missing)."""

    PARTS = ("year", "month", "day", "weekday", "hour")

    def transform(self, X: Any) -> np.ndarray:
        frame = pd.DataFrame(self._input(X, fitting=False))
        blocks = [_date_parts(frame.iloc[:, i]) for i in range(frame.shape[1])]
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = input_features if input_features is not None else self.feature_names_in_
        return np.asarray([f"{c}_{p}" for c in names for p in self.PARTS], dtype=object)


def _date_parts(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = series
    else:
        dates = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    parts = [dates.dt.year, dates.dt.month, dates.dt.day, dates.dt.day_of_week, dates.dt.hour]
    return np.column_stack([p.to_numpy(dtype=float, na_value=np.nan) for p in parts])


class RareCategoryGrouper(_TextOut):
    """Replace categories seen less than `min_frequency` times (or share) in training by RARE."""

    def __init__(self, min_frequency: int | float | None = None) -> None:
        self.min_frequency = min_frequency

    def fit(self, X: Any, y: Any = None) -> RareCategoryGrouper:
        frame = pd.DataFrame(self._input(X, fitting=True))
        limit = self.min_frequency or 0
        if isinstance(limit, float):
            limit = limit * len(frame)
        self.kept_ = [
            set(counts[counts >= limit].index)
            for counts in (frame.iloc[:, i].value_counts() for i in range(frame.shape[1]))
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = pd.DataFrame(self._input(X, fitting=False)).astype(object)
        for i, kept in enumerate(self.kept_):
            column = frame.iloc[:, i]
            frame.iloc[:, i] = column.where(column.isin(kept), RARE)
        return frame.to_numpy(dtype=object)


class TextHasher(_EngineTransformer):
    """Hash the words of one text column into `n_features` dense columns."""

    def __init__(self, n_features: int = 64) -> None:
        self.n_features = n_features

    def transform(self, X: Any) -> np.ndarray:
        X = self._input(X, fitting=False)
        hasher = HashingVectorizer(n_features=self.n_features, alternate_sign=False)
        return hasher.transform(to_text(X)).toarray()

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = input_features if input_features is not None else self.feature_names_in_
        column = str(names[0])
        return np.asarray([f"{column}_hash_{i}" for i in range(self.n_features)], dtype=object)


def _names_in(X: Any) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        return np.asarray([str(c) for c in X.columns], dtype=object)
    width = np.asarray(X).shape[1] if np.ndim(X) == 2 else 1
    return np.asarray([f"x{i}" for i in range(width)], dtype=object)


# ---------------------------------------------------------------- building blocks


def _numeric_imputer(cfg: PreprocessingConfig) -> Any:
    if cfg.numeric_imputer == "none":
        return None
    if cfg.numeric_imputer == "knn":
        return KNNImputer(n_neighbors=5)
    if cfg.numeric_imputer == "constant":
        return SimpleImputer(strategy="constant", fill_value=cfg.fill_value)
    return SimpleImputer(strategy=cfg.numeric_imputer)


def _scaler(cfg: PreprocessingConfig) -> Any:
    scalers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
    return scalers[cfg.scaler]() if cfg.scaler in scalers else None


def _steps(*pairs: tuple[str, Any]) -> Pipeline | str:
    steps = [(name, step) for name, step in pairs if step is not None]
    return Pipeline(steps) if steps else "passthrough"


def numeric_pipeline(cfg: PreprocessingConfig) -> Pipeline | str:
    """Coerce to numbers, impute, then scale numeric columns."""
    return _steps(("numbers", NumberCoercer()), ("impute", _numeric_imputer(cfg)),
                  ("scale", _scaler(cfg)))


def categorical_pipeline(cfg: PreprocessingConfig, *, random_state: int = 0,
                         native: bool = False) -> Pipeline:
    """Stringify (missing is a category), group rare values, then encode.

    `native`: integer codes for a model that splits on categories itself (at most 255 codes,
    the rarest levels grouped; unknown levels become -1, which such a model reads as missing).
    """
    strings = CategoryStrings()
    encoder: Any
    grouper = None
    if native and cfg.categorical_encoder != "target":
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1,
            min_frequency=cfg.min_frequency,
            max_categories=min(cfg.max_categories or NATIVE_MAX_CATEGORIES,
                               NATIVE_MAX_CATEGORIES),
        )
    elif cfg.categorical_encoder == "onehot":
        limits = cfg.min_frequency is None and cfg.max_categories is None
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=DEFAULT_MIN_FREQUENCY if limits else cfg.min_frequency,
            max_categories=cfg.max_categories or DEFAULT_MAX_CATEGORIES, sparse_output=False,
        )
    elif cfg.categorical_encoder == "ordinal":
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1,
            min_frequency=cfg.min_frequency, max_categories=cfg.max_categories,
        )
    else:
        grouper = RareCategoryGrouper(cfg.min_frequency) if cfg.min_frequency else None
        # Cross-fitting folds keep each row's own target out of its encoding.
        encoder = TargetEncoder(cv=KFold(5, shuffle=True, random_state=random_state))
    return Pipeline([(n, s) for n, s in (("strings", strings), ("rare", grouper),
                                         ("encode", encoder)) if s is not None])


def boolean_pipeline() -> Pipeline:
    """Booleans become 0/1; missing ones take the most frequent value."""
    return Pipeline([("bool", BooleanEncoder()),
                     ("impute", SimpleImputer(strategy="most_frequent",
                                              keep_empty_features=True))])


def datetime_pipeline(cfg: PreprocessingConfig) -> Pipeline:
    """Date parts as numbers, imputed (median) and scaled like numeric columns."""
    scaler = _scaler(cfg)
    steps: list[tuple[str, Any]] = [
        ("parts", DatetimeFeatures()),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
    ]
    return Pipeline(steps + ([("scale", scaler)] if scaler is not None else []))


def build_preprocessor(
    kinds: dict[str, str], config: PreprocessingConfig, *, random_state: int = 0,
    native_categories: bool = False,
) -> ColumnTransformer:
    """Build an unfitted ColumnTransformer for columns of the given kinds.

    With `native_categories` the categorical part comes first and yields one integer code per
    column, so the model finds them at `native_category_indices`.
    """
    by_kind = _by_kind(kinds)
    parts: list[tuple[str, Any, Any]] = []
    if by_kind["numeric"]:
        parts.append(("num", numeric_pipeline(config), by_kind["numeric"]))
    if by_kind["boolean"]:
        parts.append(("bool", boolean_pipeline(), by_kind["boolean"]))
    if by_kind["categorical"]:
        categorical = ("cat", categorical_pipeline(config, random_state=random_state,
                                                   native=native_categories),
                       by_kind["categorical"])
        parts.insert(0 if native_categories else len(parts), categorical)
    if by_kind["datetime"] and config.datetime_features:
        parts.append(("date", datetime_pipeline(config), by_kind["datetime"]))
    if config.text == "hash":
        for i, column in enumerate(by_kind["text"]):
            parts.append((f"text{i}", TextHasher(config.text_hash_features), [column]))
    if not parts:
        raise DataError("None of the feature columns can be used (all text or dates turned off).")
    # Dense output: every estimator (including Keras) takes it, and widths stay bounded.
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _by_kind(kinds: dict[str, str]) -> dict[str, list[str]]:
    by_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    for column, kind in kinds.items():
        by_kind[kind if kind in by_kind else "categorical"].append(column)
    return by_kind


def native_category_indices(kinds: dict[str, str],
                            config: PreprocessingConfig) -> list[int] | None:
    """Return the output columns of a native-categories preprocessor that hold category codes.

    None when there are none (no categorical column, or target encoding makes them numbers).
    """
    n_categorical = len(_by_kind(kinds)["categorical"])
    if not n_categorical or config.categorical_encoder == "target":
        return None
    return list(range(n_categorical))  # the categorical part comes first


def feature_origins(preprocessor: ColumnTransformer) -> list[str]:
    """Return, for each output column of a fitted preprocessor, the input column it came from."""
    origins: list[str] = []
    for _name, transformer, columns in preprocessor.transformers_:
        if transformer == "drop" or not len(columns):
            continue
        columns = [str(c) for c in columns]
        if transformer == "passthrough":
            origins.extend(columns)
            continue
        for out in transformer.get_feature_names_out(columns):
            origins.append(_origin_of(str(out), columns))
    return origins


def _origin_of(name: str, columns: list[str]) -> str:
    if len(columns) == 1:
        return columns[0]
    matches = [c for c in columns if name == c or name.startswith(f"{c}_")]
    return max(matches, key=len) if matches else name
