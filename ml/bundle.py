"""Model files: a signed zip holding the fitted pipeline and what is known about it.

Layout of a bundle (one zip file):

- `manifest.json`: format and version, created_at, library versions, the payload's name,
  size and sha256, and the caller's metadata (input schema, classes, task, target, metrics...).
- `pipeline.pkl`: the whole fitted pipeline, pickled with joblib.
- `signature`: hex HMAC-SHA256(key, manifest bytes + payload bytes).

`load_bundle` checks the zip layout, the signature and the payload checksum before anything is
unpickled: unpickling runs code, so only files this platform signed are ever unpickled.
Writing the file atomically is the storage layer's job; these functions only use the file
object they are given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import platform
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import IO, Any

import joblib

from ml.errors import BundleError, ExportError
from ml.jsonsafe import to_json_safe

FORMAT = "modelworks-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOAD = "pipeline.pkl"
SIGNATURE = "signature"
_MEMBERS = {MANIFEST, PAYLOAD, SIGNATURE}
_MAX_MANIFEST_BYTES = 20 * 1024 * 1024
_NOT_A_BUNDLE = "This file is not a Modelworks model file"


@dataclass
class Bundle:
    """A loaded model: the fitted pipeline, the caller's metadata and the full manifest."""

    pipeline: Any
    metadata: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    # Bytes of the pickled pipeline: about what the loaded pipeline holds in memory.
    nbytes: int = 0


def save_bundle(pipeline: Any, metadata: dict[str, Any], fileobj: IO[bytes], *,
                key: bytes) -> str:
    """Write a signed bundle to fileobj and return the sha256 hex of the bytes written.

    The pickle is written to a temporary file and copied into the zip in chunks, so saving a
    large model needs little memory beyond the model itself.
    """
    import tempfile

    _check_key(key)
    with tempfile.TemporaryFile() as spool:
        joblib.dump(pipeline, spool)
        size = spool.tell()
        payload_hash = hashlib.sha256()
        spool.seek(0)
        for chunk in iter(lambda: spool.read(_CHUNK), b""):
            payload_hash.update(chunk)
        manifest = _manifest_bytes(pipeline, metadata, size=size,
                                   sha256=payload_hash.hexdigest())
        mac = hmac.new(bytes(key), manifest, hashlib.sha256)
        spool.seek(0)
        for chunk in iter(lambda: spool.read(_CHUNK), b""):
            mac.update(chunk)
        start = fileobj.tell() if fileobj.seekable() else None
        digest = hashlib.sha256()
        target: Any = fileobj if start is not None else _Hashing(fileobj, digest)
        # Level 1: a third of level 6's time for nearly its size on pickled arrays (trees).
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED,
                             compresslevel=1) as zf:
            zf.writestr(MANIFEST, manifest)
            spool.seek(0)
            with zf.open(PAYLOAD, "w", force_zip64=size > 2**31) as member:
                for chunk in iter(lambda: spool.read(_CHUNK), b""):
                    member.write(chunk)
            zf.writestr(SIGNATURE, mac.hexdigest().encode("ascii"))
    if start is not None:  # the zip rewrites its headers in place: hash what is there now
        fileobj.seek(start)
        for chunk in iter(lambda: fileobj.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


_CHUNK = 1024 * 1024


class _Hashing:
    """A write-only stream that hashes what goes through it."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self.raw, self.digest = raw, digest

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def load_bundle(fileobj: IO[bytes], *, key: bytes) -> Bundle:
    """Verify and load a bundle; raise BundleError if it is damaged, altered or foreign."""
    _check_key(key)
    manifest_bytes, payload, signature = _read_members(fileobj.read())
    expected = _sign(key, manifest_bytes, payload)
    if not hmac.compare_digest(expected, signature):
        raise BundleError(
            "The model file's signature does not match: it was altered after it was saved, "
            "or it was not written by this platform. It was not loaded."
        )
    manifest = _parse_manifest(manifest_bytes)
    digest = hashlib.sha256(payload).hexdigest()
    if not hmac.compare_digest(digest, str(manifest["payload"].get("sha256", ""))):
        raise BundleError("The model file's checksum does not match its contents.")
    pipeline = _unpickle(payload, manifest)
    return Bundle(pipeline=pipeline, metadata=manifest.get("metadata") or {}, manifest=manifest,
                  nbytes=len(payload))


def metadata_from_result(result: Any) -> dict[str, Any]:
    """Return the JSON-safe metadata worth keeping with a model, from a TrainResult."""
    names = ("task", "target", "algorithm", "params", "input_schema", "classes", "metrics",
             "cv_metrics", "primary_metric", "score", "best_params", "feature_importance",
             "duration_s")
    recorded = result.to_dict()
    return {name: recorded.get(name) for name in names}


def library_versions(pipeline: Any = None) -> dict[str, str | None]:
    """Return the versions of the libraries a pickled pipeline depends on."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name, dist in (("sklearn", "scikit-learn"), ("pandas", "pandas"), ("numpy", "numpy"),
                       ("joblib", "joblib")):
        versions[name] = _version(dist)
    for name in _booster_libraries(pipeline):
        versions[name] = _version("xgboost-cpu" if name == "xgboost" else name) or _version(name)
    if pipeline is not None and uses_keras(pipeline):
        versions["keras"] = _version("keras")
        versions["tensorflow"] = _version("tensorflow-cpu") or _version("tensorflow")
    return versions


def _booster_libraries(pipeline: Any) -> list[str]:
    """The boosting libraries (lightgbm, xgboost, catboost) whose models the pipeline holds."""
    if pipeline is None or not hasattr(pipeline, "get_params"):
        return []
    from ml.boosters import _CatBoost, _LightGBM, _XGBoost

    found = []
    parts = [pipeline, *pipeline.get_params(deep=True).values()]
    for cls, name in ((_LightGBM, "lightgbm"), (_XGBoost, "xgboost"), (_CatBoost, "catboost")):
        if any(isinstance(p, cls) for p in parts):
            found.append(name)
    return found


def uses_keras(pipeline: Any) -> bool:
    """Tell whether a pipeline contains one of the Keras wrappers."""
    from ml.keras_models import _KerasEstimator

    if isinstance(pipeline, _KerasEstimator):
        return True
    if not hasattr(pipeline, "get_params"):
        return False
    return any(isinstance(v, _KerasEstimator) for v in pipeline.get_params(deep=True).values())


def to_onnx(bundle: Bundle | Any) -> bytes:
    """Export a scikit-learn bundle (or pipeline) to ONNX bytes; raise ExportError if not."""
    pipeline, metadata = (bundle.pipeline, bundle.metadata) if isinstance(bundle, Bundle) else (
        bundle, {})
    if uses_keras(pipeline):
        raise ExportError(
            "Keras models (mlp, cnn) cannot be exported to ONNX; download the model file instead."
        )
    try:
        from skl2onnx import convert_sklearn
    except ImportError as exc:
        raise ExportError("ONNX export is not available on this server (skl2onnx is missing).") \
            from exc
    inputs = _onnx_inputs(pipeline, metadata.get("input_schema"))
    _register_engine_converters()
    from ml import onnx_converters

    onnx_converters.register()
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    # Probabilities as a plain tensor rather than a list of dicts, which most runtimes prefer.
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else {}
    options.update(onnx_converters.member_options(pipeline))
    try:
        from skl2onnx import get_latest_tested_opset_version

        # onnxmltools' tree converters (LightGBM, XGBoost) write version 3 of the ML domain.
        opsets = {"": get_latest_tested_opset_version(), "ai.onnx.ml": 3}
        model = convert_sklearn(pipeline, initial_types=inputs, options=options or None,
                                target_opset=opsets)
    except ExportError:
        raise
    except Exception as exc:  # skl2onnx raises many types for steps it cannot convert
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(
            f"This model cannot be exported to ONNX: one of its steps is not supported "
            f"({reason[:300]})."
        ) from exc
    # Tell whoever loads the file how to feed it, inside the file itself.
    entry = model.metadata_props.add()
    entry.key, entry.value = "modelworks_inputs", json.dumps(
        onnx_input_spec(metadata.get("input_schema")))
    try:
        return model.SerializeToString()
    except ValueError as exc:  # protobuf's 2 GB limit; we never write ONNX external data
        raise ExportError("This model is too large to export to ONNX (over 2 GB).") from exc


def onnx_input_spec(schema: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Describe the inputs of `to_onnx`'s model: one [n, 1] tensor per column of the schema.

    Each entry is `{"name", "type": "float32"|"string", "shape": [None, 1], "missing"}`:
    numbers (and booleans as 0/1) are float32 with NaN for a missing value; every other
    column is a string tensor where a missing value is fed as `"__missing__"`.
    """
    from ml.preprocessing import MISSING

    if not schema:
        raise ExportError("This model has no input schema, so its ONNX inputs are unknown.")
    return [{"name": str(col["name"]), "type": "float32", "shape": [None, 1], "missing": "NaN"}
            if _onnx_kind(col) == "number" else
            {"name": str(col["name"]), "type": "string", "shape": [None, 1], "missing": MISSING}
            for col in schema]


# --- helpers -------------------------------------------------------------------------------


_CONVERTERS_REGISTERED = False


def _register_engine_converters() -> None:
    """Teach skl2onnx the engine's own column transformers (identities on ONNX inputs)."""
    global _CONVERTERS_REGISTERED
    if _CONVERTERS_REGISTERED:
        return
    from skl2onnx import update_registered_converter

    from ml.preprocessing import BooleanEncoder, CategoryStrings, NumberCoercer

    for cls in (NumberCoercer, CategoryStrings, BooleanEncoder):
        update_registered_converter(cls, f"Modelworks{cls.__name__}", _same_shape,
                                    _identity_converter)
    _CONVERTERS_REGISTERED = True


def _same_shape(operator: Any) -> None:
    """Output type = input type; width = the number of input columns."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    input_type = operator.inputs[0].type
    width = input_type.shape[1] if len(input_type.shape) > 1 else 1
    out = StringTensorType if isinstance(input_type, StringTensorType) else FloatTensorType
    if isinstance(operator.raw_operator, _numeric_only()) and out is StringTensorType:
        raise ExportError("Columns of yes/no text cannot be exported to ONNX; store them as "
                          "true/false or 0/1 numbers.")
    operator.outputs[0].type = out([None, width])


def _numeric_only() -> tuple[type, ...]:
    from ml.preprocessing import BooleanEncoder, NumberCoercer

    return (NumberCoercer, BooleanEncoder)


def _identity_converter(scope: Any, operator: Any, container: Any) -> None:
    """Numbers arrive as float32 (NaN = missing) and strings with MISSING already filled in."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import FloatTensorType

    source, target = operator.inputs[0], operator.outputs[0]
    if isinstance(target.type, FloatTensorType) and not isinstance(source.type, FloatTensorType):
        container.add_node("Cast", source.full_name, target.full_name, to=TensorProto.FLOAT,
                           name=scope.get_unique_operator_name("Cast"))
        return
    container.add_node("Identity", source.full_name, target.full_name,
                       name=scope.get_unique_operator_name("Identity"))


def _onnx_inputs(pipeline: Any, schema: list[dict[str, Any]] | None) -> list[tuple[str, Any]]:
    """Return skl2onnx initial types: one [None, 1] input per column of the input schema."""
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer

    if not schema:
        raise ExportError("This model has no input schema, so its ONNX inputs are unknown.")
    kinds = {str(col["name"]): _onnx_kind(col) for col in schema}
    first = pipeline.steps[0][1] if hasattr(pipeline, "steps") else pipeline
    from ml.ensemble import is_ensemble

    firsts = [first]
    if is_ensemble(first):  # auto's ensemble: its members read the columns
        firsts = [m.steps[0][1] if hasattr(m, "steps") else m for m in first.estimators_]
    if all(isinstance(step, ColumnTransformer) for step in firsts):
        return [(name, FloatTensorType([None, 1]) if kind == "number" else
                 StringTensorType([None, 1])) for name, kind in kinds.items()]
    if all(kind == "number" for kind in kinds.values()):
        return [("input", FloatTensorType([None, len(kinds)]))]
    raise ExportError(
        "Only models whose first step is a column transformer can take text columns in ONNX."
    )


def _onnx_kind(col: dict[str, Any]) -> str:
    dtype = str(col.get("dtype", ""))
    if dtype.startswith("datetime") or col.get("kind") == "datetime":
        raise ExportError(
            f"Column {col['name']!r} holds dates, which ONNX export does not support."
        )
    if dtype.lower().startswith(("int", "uint", "float", "bool")):
        return "number"
    return "string"




def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or not key:
        raise BundleError("A non-empty signing key (bytes) is needed to save or load models.")


def _sign(key: bytes, manifest: bytes, payload: Any) -> bytes:
    mac = hmac.new(bytes(key), manifest, hashlib.sha256)
    mac.update(payload)  # the same as signing manifest + payload, without joining them
    return mac.hexdigest().encode("ascii")


def _manifest_bytes(pipeline: Any, metadata: dict[str, Any], *, size: int,
                    sha256: str) -> bytes:
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "libraries": library_versions(pipeline),
        "payload": {"name": PAYLOAD, "size": size, "sha256": sha256},
        "metadata": to_json_safe(metadata or {}),
    }
    return json.dumps(manifest, sort_keys=True, allow_nan=False).encode("utf-8")


def _read_members(data: bytes) -> tuple[bytes, bytes, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if set(infos) != _MEMBERS or len(zf.infolist()) != len(_MEMBERS):
                found = ", ".join(sorted(infos)) or "nothing"
                raise BundleError(
                    f"{_NOT_A_BUNDLE}: it should hold exactly "
                    f"{', '.join(sorted(_MEMBERS))}, but holds {found}."
                )
            if infos[MANIFEST].file_size > _MAX_MANIFEST_BYTES:
                raise BundleError(f"{_NOT_A_BUNDLE}: its manifest is implausibly large.")
            return zf.read(MANIFEST), zf.read(PAYLOAD), zf.read(SIGNATURE).strip()
    except BundleError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError) as exc:
        raise BundleError(
            f"{_NOT_A_BUNDLE}, or it is damaged or truncated ({exc})."
        ) from exc


def _parse_manifest(manifest_bytes: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{_NOT_A_BUNDLE}: its manifest is unreadable.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{_NOT_A_BUNDLE}: its manifest is not ours.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"This model file uses format version {manifest.get('format_version')!r}; this "
            f"platform reads version {FORMAT_VERSION}."
        )
    if not isinstance(manifest.get("payload"), dict):
        raise BundleError(f"{_NOT_A_BUNDLE}: its manifest does not describe a payload.")
    return manifest


def _unpickle(payload: bytes, manifest: dict[str, Any]) -> Any:
    try:
        return joblib.load(io.BytesIO(payload))
    except BundleError:
        raise
    except Exception as exc:  # a signed file that still fails: library versions moved on
        saved = manifest.get("libraries", {})
        now = library_versions()
        raise BundleError(
            f"The model could not be loaded ({type(exc).__name__}: {exc}). It was saved with "
            f"scikit-learn {saved.get('sklearn')}, this server runs {now['sklearn']}; "
            "retrain the model."
        ) from exc


def _version(dist: str) -> str | None:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None
