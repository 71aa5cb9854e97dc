"""skl2onnx converters for the engine's own estimators: the boosting wrappers and the ensembles.

- LightGBM and XGBoost wrappers convert with onnxmltools' converters for the library model they
  hold (its best round, its categorical splits). The library model was fitted on class codes
  0..n-1, so it is relabelled with the wrapper's classes first. CatBoost has no converter here:
  ExportError, a clear 409.
- An ensemble converts when every member does: each member pipeline is parsed on the same
  inputs, and one node blends their probabilities (or values) with the weights; the label is
  the class of the highest blended probability, as `EnsembleClassifier.predict` gives.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ml.errors import ExportError

_REGISTERED = False
CLASSIFIER_OPTIONS = {"nocl": [True, False], "zipmap": [True, False, "columns"]}


def register() -> None:
    """Teach skl2onnx the boosting wrappers and the ensembles (once per process)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from ml import boosters
    from ml.ensemble import EnsembleClassifier, EnsembleRegressor

    for name, library in (("LightGBM", "lightgbm"), ("XGBoost", "xgboost"),
                          ("CatBoost", "catboost")):
        update_registered_converter(
            getattr(boosters, name + "Classifier"), f"Modelworks{name}Classifier",
            calculate_linear_classifier_output_shapes, _booster_converter(library),
            options=CLASSIFIER_OPTIONS)
        update_registered_converter(
            getattr(boosters, name + "Regressor"), f"Modelworks{name}Regressor",
            calculate_linear_regressor_output_shapes, _booster_converter(library))
    update_registered_converter(EnsembleClassifier, "ModelworksEnsembleClassifier",
                                _ensemble_shapes, _convert_ensemble, parser=_parse_ensemble,
                                options=CLASSIFIER_OPTIONS)
    update_registered_converter(EnsembleRegressor, "ModelworksEnsembleRegressor",
                                _ensemble_shapes, _convert_ensemble, parser=_parse_ensemble)
    _REGISTERED = True


def member_options(pipeline: Any) -> dict[int, dict[str, Any]]:
    """zipmap off for every classifier inside an ensemble (the blend reads plain tensors)."""
    from ml.ensemble import is_ensemble

    if not is_ensemble(pipeline):
        return {}
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    options = {}
    for member in final.estimators_:
        last = member.steps[-1][1] if hasattr(member, "steps") else member
        if hasattr(last, "predict_proba"):
            options[id(last)] = {"zipmap": False}
    return options


def _relabelled(model: Any, classes: np.ndarray) -> Any:
    """A shallow copy of a fitted library classifier whose classes_ are `classes`."""
    cls = type(model)
    relabelled = type(f"Relabelled{cls.__name__}", (cls,),
                      {"classes_": property(lambda _self: classes)})
    clone = copy.copy(model)
    clone.__class__ = relabelled
    return clone


def _booster_converter(library: str) -> Any:
    def convert(scope: Any, operator: Any, container: Any) -> None:
        wrapper = operator.raw_operator
        if library == "catboost":
            raise ExportError("CatBoost models cannot be exported to ONNX here; download the "
                              "model file, or train LightGBM or XGBoost for ONNX.")
        if library == "lightgbm":
            from onnxmltools.convert.lightgbm.operator_converters.LightGbm import (
                convert_lightgbm as library_convert,
            )
        else:
            from onnxmltools.convert.xgboost.operator_converters.XGBoost import (
                convert_xgboost as library_convert,
            )
        inner = wrapper.model_
        if hasattr(wrapper, "classes_"):
            inner = _relabelled(inner, np.asarray(wrapper.classes_))
        operator.raw_operator = inner
        try:
            library_convert(scope, operator, container)
        finally:
            operator.raw_operator = wrapper

    return convert


def _parse_ensemble(scope: Any, model: Any, inputs: list[Any],
                    custom_parsers: Any = None) -> list[Any]:
    from skl2onnx._parse import _parse_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    classifier = hasattr(model, "classes_")
    blended = []
    for member in model.estimators_:
        outputs = _parse_sklearn(scope, member, inputs, custom_parsers=custom_parsers)
        blended.append(outputs[1] if classifier else outputs[0])
    alias = "ModelworksEnsembleClassifier" if classifier else "ModelworksEnsembleRegressor"
    operator = scope.declare_local_operator(alias, model)
    operator.inputs = blended
    if classifier:
        strings = all(isinstance(c, str) for c in model.classes_)
        label_type = StringTensorType() if strings else Int64TensorType()
        operator.outputs.append(scope.declare_local_variable("label", label_type))
        operator.outputs.append(scope.declare_local_variable("probabilities",
                                                             FloatTensorType()))
    else:
        operator.outputs.append(scope.declare_local_variable("variable", FloatTensorType()))
    return list(operator.outputs)


def _ensemble_shapes(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    model = operator.raw_operator
    if hasattr(model, "classes_"):
        operator.outputs[0].type.shape = [None]
        operator.outputs[1].type = FloatTensorType([None, len(model.classes_)])
    else:
        operator.outputs[0].type = FloatTensorType([None, 1])


def _convert_ensemble(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    model = operator.raw_operator
    weights = np.asarray(model.weights, dtype=np.float64)
    weights = weights / weights.sum()
    terms = []
    for source, weight in zip(operator.inputs, weights, strict=True):
        name = scope.get_unique_variable_name("weight")
        container.add_initializer(name, TensorProto.FLOAT, [], [float(weight)])
        term = scope.get_unique_variable_name("weighted")
        container.add_node("Mul", [source.full_name, name], term,
                           name=scope.get_unique_operator_name("Mul"))
        terms.append(term)
    if not hasattr(model, "classes_"):
        container.add_node("Sum", terms, operator.outputs[0].full_name,
                           name=scope.get_unique_operator_name("Sum"))
        return
    probabilities = operator.outputs[1].full_name
    container.add_node("Sum", terms, probabilities, name=scope.get_unique_operator_name("Sum"))
    best = scope.get_unique_variable_name("best")
    container.add_node("ArgMax", probabilities, best, axis=1, keepdims=0,
                       name=scope.get_unique_operator_name("ArgMax"))
    classes = scope.get_unique_variable_name("classes")
    if all(isinstance(c, str) for c in model.classes_):
        container.add_initializer(classes, TensorProto.STRING, [len(model.classes_)],
                                  [str(c).encode() for c in model.classes_])
    else:
        container.add_initializer(classes, TensorProto.INT64, [len(model.classes_)],
                                  [int(c) for c in model.classes_])
    container.add_node("Gather", [classes, best], operator.outputs[0].full_name, axis=0,
                       name=scope.get_unique_operator_name("Gather"))
