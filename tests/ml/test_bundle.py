"""Signed model bundles: round trip, tamper detection before unpickling, ONNX export."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ml.bundle import (
    Bundle,
    load_bundle,
    metadata_from_result,
    onnx_input_spec,
    save_bundle,
    to_onnx,
)
from ml.errors import BundleError, ExportError
from ml.keras_models import KerasMLPClassifier

KEY = b"test-signing-key"
NUMERIC = ["age", "income", "visits"]
SCHEMA = [{"name": "age", "kind": "numeric", "dtype": "float64"},
          {"name": "income", "kind": "numeric", "dtype": "float64"},
          {"name": "visits", "kind": "numeric", "dtype": "int64"},
          {"name": "city", "kind": "categorical", "dtype": "str"}]


class _Marker:
    """A pickle that creates a file when it is unpickled (stands in for malicious code)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.path,))


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 160
    df = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.normal(50_000, 9_000, n),
                       "visits": rng.integers(0, 6, n),
                       "city": rng.choice(["Lyon", "Oslo", "Porto"], n)})
    df.loc[::13, "age"] = np.nan
    return df


def _pipeline(estimator: object, *, scale: bool = True) -> Pipeline:
    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    prep = ColumnTransformer([
        ("num", make_pipeline(*numeric), NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
    ])
    return Pipeline([("prep", prep), ("model", estimator)])


def _labels(df: pd.DataFrame) -> np.ndarray:
    score = df["age"].fillna(40) / 10 + (df["city"] == "Oslo") * 2 + df["visits"] * 0.3
    return np.where(score > 5.5, "yes", "no")


@pytest.fixture
def fitted(frame: pd.DataFrame) -> Pipeline:
    return _pipeline(LogisticRegression()).fit(frame, _labels(frame))


def _saved(pipeline: object, **metadata: object) -> bytes:
    buffer = io.BytesIO()
    save_bundle(pipeline, {"task": "classification", "input_schema": SCHEMA, **metadata},
                buffer, key=KEY)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_it_round_trips_a_pipeline_with_its_metadata(fitted: Pipeline, frame: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    digest = save_bundle(fitted, {"task": "classification", "classes": ["no", "yes"],
                                  "metrics": {"f1": np.float64(0.9), "auc": float("nan")}},
                         buffer, key=KEY)
    assert digest == hashlib.sha256(buffer.getvalue()).hexdigest()
    bundle = load_bundle(io.BytesIO(buffer.getvalue()), key=KEY)
    assert isinstance(bundle, Bundle)
    assert bundle.metadata == {"task": "classification", "classes": ["no", "yes"],
                               "metrics": {"f1": 0.9, "auc": None}}
    np.testing.assert_array_equal(bundle.pipeline.predict(frame), fitted.predict(frame))
    manifest = bundle.manifest
    assert manifest["format_version"] == 1 and manifest["created_at"]
    assert {"python", "sklearn", "pandas", "numpy"} <= set(manifest["libraries"])
    assert "keras" not in manifest["libraries"]
    payload = _members(buffer.getvalue())["pipeline.pkl"]
    assert manifest["payload"]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_the_zip_holds_manifest_payload_and_an_hmac_signature(fitted: Pipeline) -> None:
    members = _members(_saved(fitted))
    assert set(members) == {"manifest.json", "pipeline.pkl", "signature"}
    expected = hmac.new(KEY, members["manifest.json"] + members["pipeline.pkl"],
                        hashlib.sha256).hexdigest()
    assert members["signature"].decode() == expected
    assert json.loads(members["manifest.json"])["metadata"]["input_schema"] == SCHEMA


def test_it_refuses_a_bundle_whose_payload_was_swapped(fitted: Pipeline, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    members = _members(_saved(fitted))
    members["pipeline.pkl"] = pickle.dumps(_Marker(marker))
    with pytest.raises(BundleError, match="signature does not match"):
        load_bundle(io.BytesIO(_zip(members)), key=KEY)
    assert not marker.exists()


def test_it_refuses_a_forged_bundle_signed_with_another_key(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    forged = io.BytesIO()
    save_bundle(_Marker(marker), {}, forged, key=b"attacker-key")
    with pytest.raises(BundleError, match="signature does not match"):
        load_bundle(io.BytesIO(forged.getvalue()), key=KEY)
    assert not marker.exists()
    # The same bytes load with the key they were signed with: the check is what stopped it.
    load_bundle(io.BytesIO(forged.getvalue()), key=b"attacker-key")
    assert marker.exists()


def test_it_refuses_a_plain_pickle_placed_where_a_model_file_should_be(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(BundleError, match="not a Modelworks model file"):
        load_bundle(io.BytesIO(pickle.dumps(_Marker(marker))), key=KEY)
    assert not marker.exists()


def test_it_refuses_a_bundle_with_an_edited_manifest(fitted: Pipeline) -> None:
    members = _members(_saved(fitted))
    manifest = json.loads(members["manifest.json"])
    manifest["metadata"]["task"] = "regression"
    members["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(BundleError, match="signature"):
        load_bundle(io.BytesIO(_zip(members)), key=KEY)


def test_it_refuses_a_bundle_with_extra_files(fitted: Pipeline) -> None:
    members = _members(_saved(fitted))
    members["extra.pkl"] = b"x"
    with pytest.raises(BundleError, match="should hold exactly"):
        load_bundle(io.BytesIO(_zip(members)), key=KEY)


@pytest.mark.parametrize("cut", [0, 10, 200, -30])
def test_it_refuses_truncated_bytes(fitted: Pipeline, cut: int) -> None:
    data = _saved(fitted)
    with pytest.raises(BundleError):
        load_bundle(io.BytesIO(data[:cut]), key=KEY)


def test_it_refuses_a_bundle_altered_on_disk(fitted: Pipeline, tmp_path: Path) -> None:
    path = tmp_path / "model.mwb"
    path.write_bytes(_saved(fitted))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with path.open("rb") as fh, pytest.raises(BundleError):
        load_bundle(fh, key=KEY)


def test_it_needs_a_key() -> None:
    with pytest.raises(BundleError, match="signing key"):
        save_bundle(Ridge(), {}, io.BytesIO(), key=b"")


def test_keras_pipelines_record_keras_and_refuse_onnx() -> None:
    pipeline = Pipeline([("scale", StandardScaler()), ("model", KerasMLPClassifier())])
    data = _saved(pipeline)
    bundle = load_bundle(io.BytesIO(data), key=KEY)
    assert bundle.manifest["libraries"]["keras"]
    with pytest.raises(ExportError, match="Keras"):
        to_onnx(bundle)


def _onnx_session(bundle: Bundle) -> ort.InferenceSession:
    return ort.InferenceSession(to_onnx(bundle), providers=["CPUExecutionProvider"])


def _feeds(df: pd.DataFrame) -> dict[str, np.ndarray]:
    feeds = {name: df[[name]].to_numpy(dtype=np.float32) for name in NUMERIC}
    feeds["city"] = df[["city"]].to_numpy(dtype=object)
    return feeds


@pytest.mark.parametrize("estimator", [LogisticRegression(),
                                       RandomForestClassifier(n_estimators=25, random_state=0)])
def test_onnx_export_matches_a_classifier(frame: pd.DataFrame, estimator: object) -> None:
    pipeline = _pipeline(estimator).fit(frame, _labels(frame))
    bundle = load_bundle(io.BytesIO(_saved(pipeline)), key=KEY)
    labels, probabilities = _onnx_session(bundle).run(None, _feeds(frame))
    np.testing.assert_array_equal(labels, pipeline.predict(frame))
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(frame), atol=1e-5)


# Trees without a scaler: ONNX scales in float32, which can flip a split that sits exactly
# on a threshold, while scikit-learn scales in float64.
@pytest.mark.parametrize(("estimator", "scale"), [
    (Ridge(), True), (RandomForestRegressor(n_estimators=20, random_state=0), False)])
def test_onnx_export_matches_a_regressor(frame: pd.DataFrame, estimator: object,
                                         scale: bool) -> None:
    target = frame["income"] / 1000 + frame["visits"] * 3
    pipeline = _pipeline(estimator, scale=scale).fit(frame, target)
    (predictions,) = _onnx_session(Bundle(pipeline, {"input_schema": SCHEMA})).run(
        None, _feeds(frame))
    np.testing.assert_allclose(predictions.ravel(), pipeline.predict(frame), rtol=1e-5, atol=1e-4)


def test_onnx_export_explains_an_unsupported_step(frame: pd.DataFrame) -> None:
    prep = ColumnTransformer([("num", FunctionTransformer(np.log1p), ["income"])])
    pipeline = Pipeline([("prep", prep), ("model", Ridge())]).fit(frame, frame["age"].fillna(0))
    with pytest.raises(ExportError, match="cannot be exported to ONNX"):
        to_onnx(Bundle(pipeline, {"input_schema": SCHEMA}))


def test_onnx_export_refuses_date_columns(fitted: Pipeline) -> None:
    schema = [*SCHEMA, {"name": "signed_up", "kind": "datetime", "dtype": "datetime64[ns]"}]
    with pytest.raises(ExportError, match="signed_up"):
        to_onnx(Bundle(fitted, {"input_schema": schema}))


def test_metadata_from_result_is_json_safe() -> None:
    from ml.train import TrainResult

    result = TrainResult(
        pipeline=None, task="classification", target="y", algorithm="linear", params={},
        input_schema=[], classes=np.array(["a", "b"]),  # type: ignore[arg-type]
        metrics={"f1_macro": np.float32(0.5), "roc_auc": np.nan},  # type: ignore[dict-item]
        cv_metrics={}, duration_s=1.5)
    metadata = metadata_from_result(result)
    assert metadata["classes"] == ["a", "b"] and metadata["metrics"]["roc_auc"] is None
    assert metadata["metrics"]["f1_macro"] == 0.5 and metadata["duration_s"] == 1.5
    json.dumps(metadata, allow_nan=False)


def _engine_frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 9, n),
                       "city": rng.choice(["x", "y", "z"], n).astype(object)})
    df.loc[rng.random(n) < 0.1, "a"] = np.nan
    df.loc[rng.random(n) < 0.1, "city"] = None
    df["y"] = np.where(df["a"].fillna(0) + (df["city"] == "x") > 0.5, "yes", "no")
    return df


def _engine_feeds(X: pd.DataFrame, spec: list[dict]) -> dict[str, np.ndarray]:
    feeds = {}
    for item in spec:
        col = X[item["name"]]
        if item["type"] == "float32":
            feeds[item["name"]] = col.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
        else:
            filled = col.astype(object).where(col.notna(), item["missing"])
            feeds[item["name"]] = filled.to_numpy(dtype=object).reshape(-1, 1)
    return feeds


@pytest.mark.parametrize("algorithm", ["linear", "gradient_boosting", "decision_tree"])
def test_onnx_export_of_an_engine_pipeline_with_missing_categories_matches(
        algorithm: str) -> None:
    from ml.config import TrainConfig
    from ml.train import train

    df = _engine_frame()
    result = train(df, TrainConfig.from_dict({"target": "y", "algorithm": algorithm,
                                              "validation": {"cv_folds": 0}}))
    bundle = Bundle(result.pipeline, metadata_from_result(result))
    data = to_onnx(bundle)
    spec = onnx_input_spec(bundle.metadata["input_schema"])
    assert [(s["name"], s["type"]) for s in spec] == [
        ("a", "float32"), ("b", "float32"), ("city", "string")]
    model = onnx.load_from_string(data)
    assert json.loads({p.key: p.value for p in model.metadata_props}["modelworks_inputs"]) == spec
    X = df.drop(columns="y")
    labels, probabilities = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(
        None, _engine_feeds(X, spec))
    np.testing.assert_array_equal(labels, result.pipeline.predict(X))
    np.testing.assert_allclose(probabilities, result.pipeline.predict_proba(X), atol=1e-5)
