"""Turn the new-experiment page's form fields into an API-shaped body, and back."""

from __future__ import annotations

import json
from typing import Any

from django.http import QueryDict

from ml.config import (
    CATEGORICAL_ENCODERS,
    NUMERIC_IMPUTERS,
    SCALERS,
    FeatureConfig,
    PreprocessingConfig,
    ValidationConfig,
)
from ml.config import TUNING_METHODS as ENGINE_TUNING_METHODS

# The form's choices and defaults are the engine's own (ml.config), never a copy.
_PRE, _FEATURES, _VALIDATION = PreprocessingConfig(), FeatureConfig(), ValidationConfig()
PREPROCESSING = {
    "numeric_imputer": (_PRE.numeric_imputer, list(NUMERIC_IMPUTERS)),
    "scaler": (_PRE.scaler, list(SCALERS)),
    "categorical_encoder": (_PRE.categorical_encoder, list(CATEGORICAL_ENCODERS)),
}
TUNING_METHODS = list(ENGINE_TUNING_METHODS)
VALIDATION_DEFAULTS = _VALIDATION


def _number(text: Any, kind: type) -> Any:
    """Parse a number; give back the text unchanged so the engine names the bad field."""
    try:
        value = float(text)
    except ValueError:
        return text
    if kind is int:
        return int(value) if value.is_integer() else value
    return value


def _param_value(spec: dict[str, Any], raw: str | None, checked: bool) -> Any:
    kind = spec["type"]
    if kind == "bool":
        return checked
    if raw is None or raw.strip() == "":
        return None if spec.get("nullable") else spec.get("default")
    raw = raw.strip()
    if kind == "int":
        return _number(raw, int)
    if kind == "float":
        return _number(raw, float)
    if kind in ("list[int]", "list[str]"):
        items = [p.strip() for p in raw.split(",") if p.strip()]
        return [_number(p, int) for p in items] if kind == "list[int]" else items
    return raw


def params_from_post(post: QueryDict, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Read `param_<name>` fields typed by the algorithm's param schema."""
    params = {}
    for name, spec in schema.items():
        key = f"param_{name}"
        if spec["type"] == "list[str]" and spec.get("choices"):
            chosen = post.getlist(key)
            params[name] = chosen or None
            continue
        params[name] = _param_value(spec, post.get(key), key in post)
    return params


def body_from_post(post: QueryDict, schema: dict[str, dict[str, Any]],
                   columns: list[str]) -> dict[str, Any]:
    """Return the experiment body the form describes (validated later by the service)."""
    target = post.get("target", "")
    include = [c for c in post.getlist("features") if c != target]
    exclude = set(post.getlist("exclude"))
    features = None
    if include or exclude:
        chosen = include or [c for c in columns if c != target]
        features = [c for c in chosen if c not in exclude]
    body: dict[str, Any] = {
        "name": post.get("name", ""),
        "dataset": post.get("dataset") or None,
        "target": target,
        "task": post.get("task") or "auto",
        "algorithm": post.get("algorithm", ""),
        "params": params_from_post(post, schema),
        "features": features,
        "preprocessing": {
            **{k: post.get(k) or default for k, (default, _) in PREPROCESSING.items()},
            "datetime_features": "datetime_features" in post,
        },
        "feature_engineering": {
            "polynomial_degree": _number(
                post.get("polynomial_degree") or str(_FEATURES.polynomial_degree), int),
            "interactions": "interactions" in post,
            "select_k_best": _number(post["select_k_best"], int)
            if post.get("select_k_best") else None,
        },
        "validation": {
            "test_size": _number(post.get("test_size") or str(_VALIDATION.test_size), float),
            "cv_folds": _number(post.get("cv_folds") or str(_VALIDATION.cv_folds), int),
            "stratify": "stratify" in post,
            "random_state": _number(
                post.get("random_state") or str(_VALIDATION.random_state), int),
        },
        "tuning": _tuning(post),
        "time_budget_s": _number(post["time_budget_s"], float)
        if post.get("time_budget_s") else None,
    }
    return body


def _tuning(post: QueryDict) -> Any:
    method = post.get("tuning_method") or ""
    if not method:
        return None
    tuning: dict[str, Any] = {"method": method,
                              "n_trials": _number(post.get("n_trials") or "20", int)}
    if post.get("tuning_metric"):
        tuning["metric"] = post["tuning_metric"]
    space = (post.get("tuning_space") or "").strip()
    if space:
        try:
            tuning["space"] = json.loads(space)
        except json.JSONDecodeError:
            tuning["space"] = space  # the engine says "must be an object" on the tuning field
    return tuning


def initial_from_body(body: dict[str, Any]) -> dict[str, Any]:
    """Return template-friendly initial values for the form from a stored body."""
    tuning = body.get("tuning") or {}
    return {
        **body,
        "params": body.get("params") or {},
        "preprocessing": body.get("preprocessing") or {},
        "feature_engineering": body.get("feature_engineering") or {},
        "validation": body.get("validation") or {},
        "tuning_method": tuning.get("method", ""),
        "n_trials": tuning.get("n_trials", 20),
        "tuning_metric": tuning.get("metric") or "",
        "tuning_space": json.dumps(tuning["space"]) if tuning.get("space") else "",
    }
