"""Training configuration: dataclasses with the API's defaults, validated into ConfigError."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.errors import ConfigError

logger = logging.getLogger(__name__)

TASKS = ("classification", "regression")
NUMERIC_IMPUTERS = ("mean", "median", "most_frequent", "constant", "knn", "none")
SCALERS = ("standard", "minmax", "robust", "none")
CATEGORICAL_ENCODERS = ("onehot", "ordinal", "target")
TEXT_HANDLING = ("drop", "hash")
SPLITS = ("random", "time_series")
TUNING_METHODS = ("grid", "random", "bayesian")
CLASSIFICATION_METRICS = (
    "accuracy", "balanced_accuracy", "precision_macro", "recall_macro",
    "f1_macro", "f1_weighted", "roc_auc", "log_loss",
)
REGRESSION_METRICS = ("mae", "mse", "rmse", "r2", "mape")
MAX_GRID_SIZE = 500
MAX_CLASSES = 1000


@dataclass
class PreprocessingConfig:
    """How raw columns become numbers (API field `preprocessing`)."""

    numeric_imputer: str = "median"
    scaler: str = "standard"
    categorical_encoder: str = "onehot"
    datetime_features: bool = True
    # Extras beyond the API body; all optional with safe defaults.
    fill_value: float = 0.0
    min_frequency: int | float | None = None
    max_categories: int | None = None
    text: str = "drop"
    text_hash_features: int = 64


@dataclass
class FeatureConfig:
    """Feature engineering steps after preprocessing (API field `feature_engineering`)."""

    polynomial_degree: int = 1
    interactions: bool = False
    select_k_best: int | None = None
    select_from_model: bool = False


@dataclass
class ValidationConfig:
    """How the data is split and cross-validated (API field `validation`)."""

    test_size: float = 0.2
    cv_folds: int = 5
    stratify: bool = True
    random_state: int = 42
    split: str = "random"
    time_column: str | None = None


@dataclass
class TuningConfig:
    """Hyper-parameter search (API field `tuning`); `space=None` uses the algorithm's own."""

    method: str = "random"
    n_trials: int = 20
    metric: str | None = None
    space: dict[str, Any] | None = None


@dataclass
class TrainConfig:
    """Everything one training run needs besides the data."""

    target: str
    algorithm: str
    task: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    features: list[str] | None = None
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    feature_engineering: FeatureConfig = field(default_factory=FeatureConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    tuning: TuningConfig | None = None
    time_budget_s: float | None = None
    n_threads: int = 1

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, columns: list[str] | None = None) -> TrainConfig:
        """Build a config from an API body, raising ConfigError(field=...) for what is wrong."""
        return config_from_dict(d, columns=columns)


# ---------------------------------------------------------------- small checkers


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return ok and math.isfinite(float(value))


def _require_dict(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be an object.", field=name)
    return value


def _reject_unknown(d: dict[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        where = f" in {name}" if name != "non_field_errors" else ""
        raise ConfigError(
            f"Unknown setting{'s' if len(unknown) > 1 else ''}{where}: {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(allowed))}.",
            field=name if name != "non_field_errors" else unknown[0],
        )


def _choice(value: Any, choices: tuple[str, ...], label: str, api_field: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(
            f"{label} must be one of {', '.join(choices)} (got {value!r}).", field=api_field
        )
    return value


def _bool(value: Any, label: str, api_field: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{label} must be true or false (got {value!r}).", field=api_field)
    return bool(value)


def _int(value: Any, label: str, api_field: str, low: int, high: int | None = None) -> int:
    if not _is_int(value):
        raise ConfigError(f"{label} must be a whole number (got {value!r}).", field=api_field)
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{label} must be {bounds} (got {value}).", field=api_field)
    return int(value)


# ---------------------------------------------------------------- sections


def _preprocessing(d: Any) -> PreprocessingConfig:
    name = "preprocessing"
    if d is None:
        return PreprocessingConfig()
    d = _require_dict(d, name)
    _reject_unknown(d, {f.name for f in dataclasses.fields(PreprocessingConfig)}, name)
    cfg = PreprocessingConfig(**d)
    cfg.numeric_imputer = _choice(
        cfg.numeric_imputer, NUMERIC_IMPUTERS, "preprocessing.numeric_imputer", name
    )
    cfg.scaler = _choice(cfg.scaler, SCALERS, "preprocessing.scaler", name)
    cfg.categorical_encoder = _choice(
        cfg.categorical_encoder, CATEGORICAL_ENCODERS, "preprocessing.categorical_encoder", name
    )
    cfg.datetime_features = _bool(cfg.datetime_features, "preprocessing.datetime_features", name)
    cfg.text = _choice(cfg.text, TEXT_HANDLING, "preprocessing.text", name)
    cfg.text_hash_features = _int(
        cfg.text_hash_features, "preprocessing.text_hash_features", name, 2, 4096
    )
    if not _is_number(cfg.fill_value):
        raise ConfigError("preprocessing.fill_value must be a number.", field=name)
    cfg.min_frequency = _min_frequency(cfg.min_frequency)
    if cfg.max_categories is not None:
        cfg.max_categories = _int(cfg.max_categories, "preprocessing.max_categories", name, 2)
    return cfg


def _min_frequency(value: Any) -> int | float | None:
    if value is None:
        return None
    if _is_int(value) and value >= 1:
        return int(value)
    if _is_number(value) and 0 < float(value) < 1:
        return float(value)
    raise ConfigError(
        "preprocessing.min_frequency must be a count (1 or more) or a fraction between 0 and 1.",
        field="preprocessing",
    )


def _feature_engineering(d: Any) -> FeatureConfig:
    name = "feature_engineering"
    if d is None:
        return FeatureConfig()
    d = _require_dict(d, name)
    _reject_unknown(d, {f.name for f in dataclasses.fields(FeatureConfig)}, name)
    cfg = FeatureConfig(**d)
    cfg.polynomial_degree = _int(
        cfg.polynomial_degree, "feature_engineering.polynomial_degree", name, 1, 3
    )
    cfg.interactions = _bool(cfg.interactions, "feature_engineering.interactions", name)
    if cfg.select_k_best is not None:
        cfg.select_k_best = _int(cfg.select_k_best, "feature_engineering.select_k_best", name, 1)
    cfg.select_from_model = _bool(
        cfg.select_from_model, "feature_engineering.select_from_model", name
    )
    return cfg


def _validation(d: Any) -> ValidationConfig:
    name = "validation"
    if d is None:
        return ValidationConfig()
    d = _require_dict(d, name)
    _reject_unknown(d, {f.name for f in dataclasses.fields(ValidationConfig)}, name)
    cfg = ValidationConfig(**d)
    if not _is_number(cfg.test_size) or not 0 < float(cfg.test_size) <= 0.9:
        raise ConfigError(
            f"validation.test_size must be a fraction above 0 and at most 0.9 "
            f"(got {cfg.test_size!r}).",
            field=name,
        )
    cfg.test_size = float(cfg.test_size)
    cfg.cv_folds = _int(cfg.cv_folds, "validation.cv_folds", name, 0, 20)
    cfg.stratify = _bool(cfg.stratify, "validation.stratify", name)
    cfg.random_state = _int(cfg.random_state, "validation.random_state", name, 0, 2**32 - 1)
    cfg.split = _choice(cfg.split, SPLITS, "validation.split", name)
    if cfg.time_column is not None and not isinstance(cfg.time_column, str):
        raise ConfigError("validation.time_column must be a column name.", field=name)
    return cfg


def _tuning(d: Any) -> TuningConfig | None:
    name = "tuning"
    if d is None:
        return None
    d = _require_dict(d, name)
    _reject_unknown(d, {f.name for f in dataclasses.fields(TuningConfig)}, name)
    cfg = TuningConfig(**d)
    cfg.method = _choice(cfg.method, TUNING_METHODS, "tuning.method", name)
    cfg.n_trials = _int(cfg.n_trials, "tuning.n_trials", name, 1, 1000)
    if cfg.metric is not None:
        cfg.metric = _choice(
            cfg.metric, CLASSIFICATION_METRICS + REGRESSION_METRICS, "tuning.metric", name
        )
    if cfg.space is not None:
        cfg.space = validate_space(cfg.space, method=cfg.method)
    return cfg


def validate_space(space: Any, *, method: str) -> dict[str, Any]:
    """Check a search space: lists of candidates, or {"low","high","log"} ranges (not for grid)."""
    if not isinstance(space, dict) or not space:
        raise ConfigError("tuning.space must be a non-empty object.", field="tuning")
    grid_size = 1
    for param, dim in space.items():
        if isinstance(dim, list):
            if not dim:
                raise ConfigError(f"tuning.space.{param} has no candidates.", field="tuning")
            grid_size *= len(dim)
        elif isinstance(dim, dict):
            if method == "grid":
                raise ConfigError(
                    f"tuning.space.{param}: grid search takes lists of values only, not ranges.",
                    field="tuning",
                )
            _check_range(param, dim)
        else:
            raise ConfigError(
                f"tuning.space.{param} must be a list of values or a "
                '{"low", "high", "log"} range.',
                field="tuning",
            )
    if method == "grid" and grid_size > MAX_GRID_SIZE:
        raise ConfigError(
            f"The grid has {grid_size} combinations; at most {MAX_GRID_SIZE} are allowed.",
            field="tuning",
        )
    return space


def _check_range(param: str, dim: dict[str, Any]) -> None:
    _reject_unknown(dim, {"low", "high", "log"}, "tuning")
    low: Any = dim.get("low")
    high: Any = dim.get("high")
    if not (_is_number(low) and _is_number(high)) or low >= high:
        raise ConfigError(
            f"tuning.space.{param} needs numbers low < high (got low={low!r}, high={high!r}).",
            field="tuning",
        )
    log = dim.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"tuning.space.{param}.log must be true or false.", field="tuning")
    if log and low <= 0:
        raise ConfigError(f"tuning.space.{param}: a log range needs low > 0.", field="tuning")


# ---------------------------------------------------------------- the whole body

_TOP_LEVEL = {f.name for f in dataclasses.fields(TrainConfig)}


def config_from_dict(d: Any, *, columns: list[str] | None = None) -> TrainConfig:
    """Validate an API-shaped dict into a TrainConfig (no data needed)."""
    if not isinstance(d, dict):
        raise ConfigError("The training config must be an object.")
    _reject_unknown(d, _TOP_LEVEL, "non_field_errors")
    for required in ("target", "algorithm"):
        if required not in d or d[required] in (None, ""):
            raise ConfigError(f"{required} is required.", field=required)
    target, algorithm = d["target"], d["algorithm"]
    if not isinstance(target, str):
        raise ConfigError("target must be a column name.", field="target")
    if not isinstance(algorithm, str):
        raise ConfigError("algorithm must be an algorithm key.", field="algorithm")
    task = _choice(d.get("task", "auto"), ("auto", *TASKS), "task", "task")
    params = d.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError("params must be an object.", field="params")
    cfg = TrainConfig(
        target=target,
        algorithm=algorithm,
        task=task,
        params=dict(params),
        features=_features(d.get("features"), target),
        preprocessing=_preprocessing(d.get("preprocessing")),
        feature_engineering=_feature_engineering(d.get("feature_engineering")),
        validation=_validation(d.get("validation")),
        tuning=_tuning(d.get("tuning")),
        time_budget_s=_time_budget(d.get("time_budget_s")),
        n_threads=_int(d.get("n_threads", 1), "n_threads", "n_threads", 1, 256),
    )
    if cfg.algorithm == "auto" and cfg.tuning is not None:
        raise ConfigError(
            "tuning applies to one algorithm; auto already searches several. Remove tuning "
            "or pick an algorithm.",
            field="tuning",
        )
    _check_algorithm(cfg)
    if columns is not None:
        _check_columns(cfg, list(columns))
    return cfg


def _features(value: Any, target: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("features must be a list of column names or null.", field="features")
    if not value:
        raise ConfigError("features must name at least one column.", field="features")
    duplicates = sorted({v for v in value if value.count(v) > 1})
    if duplicates:
        raise ConfigError(f"features lists {', '.join(duplicates)} twice.", field="features")
    if target in value:
        raise ConfigError(f"The target {target!r} cannot also be a feature.", field="features")
    return list(value)


def _time_budget(value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0 < float(value) <= 7 * 24 * 3600:
        raise ConfigError(
            "time_budget_s must be a positive number of seconds (at most a week).",
            field="time_budget_s",
        )
    return float(value)


def _check_algorithm(cfg: TrainConfig) -> None:
    """Check the algorithm key exists (for the task, when the task is already known)."""
    from ml import algorithms as registry  # imported here: it imports scikit-learn

    if cfg.task in TASKS:
        spec = registry.get_algorithm(cfg.algorithm, cfg.task)
        cfg.params = spec.validate_params(cfg.params)
        _check_space_params(cfg, spec)
        return
    keys = {a["key"] for a in registry.list_algorithms()}
    if cfg.algorithm not in keys:
        raise ConfigError(f"Unknown algorithm {cfg.algorithm!r}.", field="algorithm")


def _check_space_params(cfg: TrainConfig, spec: Any) -> None:
    """Check a tuning space only names the algorithm's params, with valid candidate values."""
    space = cfg.tuning.space if cfg.tuning is not None else None
    if not space:
        return
    known = getattr(spec, "params", {})
    for name, dim in space.items():
        if name not in known:
            raise ConfigError(
                f"tuning.space.{name} is not a param of {cfg.algorithm}; "
                f"it accepts: {', '.join(known) or 'none'}.",
                field="tuning",
            )
        values = dim if isinstance(dim, list) else [dim["low"], dim["high"]]
        for value in values:
            try:
                known[name].validate(value)
            except ConfigError as exc:
                raise ConfigError(f"tuning.space: {exc.message}", field="tuning") from exc


def _check_columns(cfg: TrainConfig, columns: list[str]) -> None:
    if cfg.target not in columns:
        raise ConfigError(f"The target {cfg.target!r} is not a column.", field="target")
    missing = [f for f in cfg.features or [] if f not in columns]
    if missing:
        raise ConfigError(f"Not columns of the dataset: {', '.join(missing)}.", field="features")
    time_column = cfg.validation.time_column
    if time_column is not None and time_column not in columns:
        raise ConfigError(f"The time column {time_column!r} is not a column.", field="validation")


# ---------------------------------------------------------------- with the data


def validate_for_data(config: TrainConfig, df: pd.DataFrame,
                      columns: list[str] | None = None) -> TrainConfig:
    """Resolve task "auto" and check target, features and algorithm against the data.

    `df` needs only the target column when `columns` names all of the data's columns.
    """
    names = list(columns) if columns is not None else [str(c) for c in df.columns]
    _check_columns(config, names)
    target = df[config.target]
    present = target.dropna()
    if present.empty:
        raise ConfigError(f"The target {config.target!r} has no values.", field="target")
    task = config.task if config.task in TASKS else infer_task(present)
    config = dataclasses.replace(config, task=task)
    if task == "classification":
        _check_classification_target(present, config.target)
    else:
        _check_regression_target(present, config.target)
    features = config.features or [c for c in names if c != config.target]
    if not features:
        raise ConfigError("There are no feature columns besides the target.", field="features")
    _check_algorithm(config)
    _check_tuning_for_task(config)
    return config


def _check_classification_target(target: pd.Series, name: str) -> None:
    n_classes = target.nunique()
    if n_classes < 2:
        raise ConfigError(
            f"The target {name!r} has only one class; classification needs at least two.",
            field="target",
        )
    if n_classes > MAX_CLASSES:
        raise ConfigError(
            f"The target {name!r} has {n_classes} classes (at most {MAX_CLASSES}); "
            "is this a regression target?",
            field="target",
        )
    if pd.api.types.is_float_dtype(target) and not np.all(np.mod(target, 1) == 0):
        raise ConfigError(
            f"The target {name!r} holds fractional numbers; use regression.", field="target"
        )


def _check_regression_target(target: pd.Series, name: str) -> None:
    numeric = pd.to_numeric(target, errors="coerce") if not _is_bool(target) else None
    if numeric is None or numeric.isna().any():
        raise ConfigError(
            f"The target {name!r} is not numeric; regression needs numbers.", field="target"
        )
    if numeric.nunique() < 2:
        raise ConfigError(f"The target {name!r} has a single value.", field="target")


def _is_bool(series: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(series)


def _check_tuning_for_task(config: TrainConfig) -> None:
    tuning = config.tuning
    if tuning is None or tuning.metric is None:
        return
    allowed = CLASSIFICATION_METRICS if config.task == "classification" else REGRESSION_METRICS
    if tuning.metric not in allowed:
        raise ConfigError(
            f"tuning.metric {tuning.metric!r} does not fit {config.task}; "
            f"use one of {', '.join(allowed)}.",
            field="tuning",
        )


def infer_task(series: pd.Series) -> str:
    """Return "classification" or "regression" for a target column (ml.validation's rule)."""
    from ml.targets import infer_task as infer

    return infer(series)
