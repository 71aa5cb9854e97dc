"""Model factory: the catalogue of algorithms, their params, and how to build them.

Every algorithm is an `AlgorithmSpec` registered for one task ("classification" or
"regression"). A spec knows its params (`ParamSpec`: type, default, bounds, choices), validates
user params, builds a fresh unfitted scikit-learn estimator, and offers a default search space
for `ml.tuning`. `list_algorithms()` is what `GET /api/v1/algorithms/` returns.

Adding an algorithm is one registration in `_register_all()` at the bottom of this module::

    _add(
        "my_key", CLS, "sklearn", "My model",
        params=[_int("n_things", 10, min=1, help="How many things.")],
        build=lambda p, rs: MyClassifier(n_things=p["n_things"], random_state=rs),
        space={"n_things": {"low": 5, "high": 50}},
    )

`build` receives the validated params (defaults filled in) and the random state. Import heavy
libraries inside `build`, never at module level: TensorFlow/Keras must not load when this module
is imported.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ml.callbacks import ProgressCallback
from ml.errors import ConfigError

CLS = "classification"
REG = "regression"
TASKS = (CLS, REG)

PARAM_TYPES = ("int", "float", "bool", "str", "list[int]", "list[str]")

Builder = Callable[[dict[str, Any], "int | None"], Any]


@dataclass(frozen=True)
class ParamSpec:
    """One tunable param: its type, default, bounds and allowed choices."""

    name: str
    type: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    help: str = ""
    # Lists: the most items allowed (a network's layers), so no request can ask for millions.
    max_items: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Render the param as the API catalogue shows it."""
        default = list(self.default) if isinstance(self.default, tuple) else self.default
        return {
            "type": self.type,
            "default": default,
            "min": self.min,
            "max": self.max,
            "nullable": self.nullable,
            "choices": list(self.choices) if self.choices is not None else None,
            "help": self.help,
            "max_items": self.max_items,
        }

    def validate(self, value: Any) -> Any:
        """Return the value in its canonical Python type, or raise ConfigError naming the param."""
        if value is None:
            if self.nullable:
                return None
            raise self._error()
        if self.type == "int":
            return self._check_number(value, integral=True)
        if self.type == "float":
            return self._check_number(value, integral=False)
        if self.type == "bool":
            if not isinstance(value, bool):
                raise self._error(value)
            return value
        if self.type == "str":
            return self._check_choice(value)
        return self._check_list(value)

    def describe(self) -> str:
        """Say in words what the param accepts, e.g. 'an integer >= 1'."""
        kind = {
            "int": "an integer",
            "float": "a number",
            "bool": "true or false",
            "str": "a string",
            "list[int]": "a non-empty list of integers",
            "list[str]": "a non-empty list of strings",
        }[self.type]
        text = kind + self._bounds_text()
        if self.max_items is not None and self.type == "list[int]":
            text = f"a list of 1 to {self.max_items} integers{self._bounds_text()}"
        if self.choices is not None:
            text = f"one of {', '.join(repr(c) for c in self.choices)}"
            if self.type == "list[str]":
                text = f"a non-empty list of {', '.join(repr(c) for c in self.choices)}"
        if self.nullable:
            text += " or null"
        return text

    def _bounds_text(self) -> str:
        lo, hi = _fmt(self.min), _fmt(self.max)
        if self.min is not None and self.max is not None:
            return f" between {lo} and {hi}"
        if self.min is not None:
            return f" >= {lo}"
        if self.max is not None:
            return f" <= {hi}"
        return ""

    def _error(self, value: Any = None) -> ConfigError:
        got = "" if value is None else f" (got {value!r})"
        return ConfigError(f"{self.name} must be {self.describe()}{got}.", field="params")

    def _check_number(self, value: Any, *, integral: bool) -> int | float:
        # bool is an int subclass in Python, but True is not a tree depth.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._error(value)
        if integral and not isinstance(value, numbers.Integral):
            raise self._error(value)
        number = int(value) if integral else float(value)  # type: ignore[call-overload]  # Real
        if not math.isfinite(number) or not self._in_range(number):
            raise self._error(value)
        return number

    def _in_range(self, number: float) -> bool:
        return (self.min is None or number >= self.min) and (
            self.max is None or number <= self.max
        )

    def _check_choice(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self._error(value)
        if self.choices is not None and value not in self.choices:
            raise self._error(value)
        return value

    def _check_list(self, value: Any) -> list[Any]:
        if not isinstance(value, list | tuple) or not value:
            raise self._error(value)
        if self.max_items is not None and len(value) > self.max_items:
            raise ConfigError(f"{self.name} must be {self.describe()} (got {len(value)} "
                              "items).", field="params")
        if self.type == "list[str]":
            if any(not isinstance(v, str) for v in value):
                raise self._error(value)
            if self.choices is not None and any(v not in self.choices for v in value):
                raise self._error(value)
            return list(value)
        items = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, numbers.Integral):
                raise self._error(value)
            if not self._in_range(int(item)):
                raise self._error(value)
            items.append(int(item))
        return items


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else repr(number)


@dataclass(frozen=True)
class AlgorithmSpec:
    """One algorithm for one task: params, how to build it, and its default search space."""

    key: str
    task: str
    family: str
    label: str
    params: dict[str, ParamSpec]
    builder: Builder | None
    default_space: dict[str, Any] = field(default_factory=dict)
    # Splits on category codes itself (HistGradientBoosting): one-hot would only slow it down.
    native_categories: bool = False
    # Trees split on thresholds: scaling changes nothing but float32 rounding (ONNX scales in
    # float32, which flips splits that sit on a threshold), so no scaler runs before it.
    scale_free: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Render the spec as one entry of `GET /api/v1/algorithms/`."""
        return {
            "key": self.key,
            "task": self.task,
            "family": self.family,
            "label": self.label,
            "params": {name: p.to_dict() for name, p in self.params.items()},
        }

    def validate_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Return params with defaults filled in; raise ConfigError(field="params") if wrong."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ConfigError("params must be an object of param names to values.", field="params")
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(self.params) or "none"
            raise ConfigError(
                f"Unknown param {', '.join(unknown)} for {self.key} ({self.task}); "
                f"it accepts: {known}.",
                field="params",
            )
        resolved = {}
        for name, spec in self.params.items():
            value = params.get(name, spec.default)
            if isinstance(value, tuple):
                value = list(value)
            resolved[name] = spec.validate(value)
        return resolved

    def build(
        self,
        params: dict[str, Any] | None = None,
        *,
        random_state: int | None = None,
        callback: ProgressCallback | None = None,
    ) -> Any:
        """Validate params and return a fresh, unfitted estimator."""
        if self.builder is None:
            raise ConfigError(
                f"'{self.key}' is a search over several algorithms, not one model; "
                "ml.tuning builds its candidates.",
                field="algorithm",
            )
        estimator = self.builder(self.validate_params(params), random_state)
        if self.family == "keras":
            # Not a constructor param, so sklearn's clone()/get_params() never see it.
            estimator.callback = callback
        return estimator


_REGISTRY: dict[tuple[str, str], AlgorithmSpec] = {}


def list_algorithms() -> list[dict[str, Any]]:
    """Return the catalogue exactly as `GET /api/v1/algorithms/` shows it."""
    return [spec.to_dict() for spec in _REGISTRY.values()]


def algorithm_keys(task: str | None = None, *, family: str | None = None) -> list[str]:
    """Return the registered keys (for one task, of one family, if given), in catalogue order."""
    keys = [key for (key, spec_task), spec in _REGISTRY.items()
            if (task is None or spec_task == task) and (family is None or spec.family == family)]
    return list(dict.fromkeys(keys))


def get_algorithm(key: str, task: str) -> AlgorithmSpec:
    """Return the spec for key and task; raise ConfigError(field="algorithm") if none."""
    if task not in TASKS:
        raise ConfigError(
            f"task must be 'classification' or 'regression' (got {task!r}).", field="task"
        )
    spec = _REGISTRY.get((key, task))
    if spec is not None:
        return spec
    if key in algorithm_keys():
        other = [t for t in TASKS if (key, t) in _REGISTRY]
        raise ConfigError(
            f"The algorithm '{key}' is for {' and '.join(other)} only, "
            f"but this is a {task} task.",
            field="algorithm",
        )
    raise ConfigError(
        f"Unknown algorithm {key!r}. Choose one of: {', '.join(algorithm_keys(task))}.",
        field="algorithm",
    )


# --- Param helpers -------------------------------------------------------------------------


def _int(name: str, default: int | None, *, min: int | None = None, max: int | None = None,
         nullable: bool = False, help: str = "") -> ParamSpec:
    return ParamSpec(name, "int", default, min, max, None, nullable, help)


def _float(name: str, default: float | None, *, min: float | None = None,
           max: float | None = None, nullable: bool = False, help: str = "") -> ParamSpec:
    return ParamSpec(name, "float", default, min, max, None, nullable, help)


def _bool(name: str, default: bool, *, help: str = "") -> ParamSpec:
    return ParamSpec(name, "bool", default, help=help)


def _str(name: str, default: str | None, choices: tuple[str, ...], *, nullable: bool = False,
         help: str = "") -> ParamSpec:
    return ParamSpec(name, "str", default, choices=choices, nullable=nullable, help=help)


def _add(key: str, task: str, family: str, label: str, *, params: list[ParamSpec],
         build: Builder | None, space: dict[str, Any] | None = None,
         native_categories: bool = False, scale_free: bool = False) -> None:
    if (key, task) in _REGISTRY:
        raise RuntimeError(f"Algorithm {key!r} is registered twice for {task}.")
    _REGISTRY[(key, task)] = AlgorithmSpec(
        key, task, family, label, {p.name: p for p in params}, build,
        copy.deepcopy(space or {}), native_categories, scale_free,
    )


# --- Shared param sets ---------------------------------------------------------------------


def _tree_params(task: str) -> list[ParamSpec]:
    return [
        _int("max_depth", None, min=1, nullable=True,
             help="Deepest a tree may grow; null grows until leaves are pure."),
        _int("min_samples_split", 2, min=2, max=100_000,
             help="Fewest rows a node needs before it may split."),
        _int("min_samples_leaf", 1, min=1, max=100_000, help="Fewest rows in a leaf."),
    ] + _class_weight(task, ("balanced",))


def _forest_params(task: str) -> list[ParamSpec]:
    return [
        _int("n_estimators", 100, min=1, max=5000, help="Number of trees."),
        *_tree_params(task)[:3],
        _str("max_features", "sqrt" if task == CLS else "all", ("sqrt", "log2", "all"),
             help="Features considered at each split."),
    ] + _class_weight(task, ("balanced", "balanced_subsample"))


def _class_weight(task: str, choices: tuple[str, ...]) -> list[ParamSpec]:
    if task != CLS:
        return []
    return [_str("class_weight", None, choices, nullable=True,
                 help="'balanced' weights classes inversely to their frequency.")]


def _boosting_params() -> list[ParamSpec]:
    return [
        _float("learning_rate", 0.1, min=1e-4, max=1.0, help="Shrinks each tree's contribution."),
    ]


def _keras_common() -> list[ParamSpec]:
    return [
        _float("dropout", 0.0, min=0.0, max=0.9, help="Fraction of units dropped in training."),
        _bool("batch_norm", False, help="Add batch normalisation after each hidden layer."),
        _float("learning_rate", 0.001, min=1e-6, max=1.0, help="Adam learning rate."),
        _int("epochs", 50, min=1, max=10_000, help="Passes over the training data."),
        _int("batch_size", 32, min=1, max=65_536, help="Rows per gradient step."),
        _int("early_stopping_patience", 5, min=0, max=10_000, nullable=True,
             help="Epochs without validation improvement before stopping (best weights are "
                  "kept); 0 or null trains all epochs."),
        _float("validation_fraction", 0.1, min=0.01, max=0.5,
               help="Share of the training rows held out to watch for early stopping."),
    ]


_KERAS_SPACE = {
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
    "dropout": [0.0, 0.1, 0.3],
    "batch_size": [32, 64, 128],
}
_TREE_SPACE = {
    "max_depth": [None, 3, 5, 10, 20],
    "min_samples_leaf": {"low": 1, "high": 20, "log": True},
}
_FOREST_SPACE = {
    "n_estimators": {"low": 50, "high": 500, "log": True},
    "max_depth": [None, 5, 10, 20],
    "min_samples_leaf": {"low": 1, "high": 10},
    "max_features": ["sqrt", "log2", "all"],
}


def _max_features(value: str) -> str | None:
    return None if value == "all" else value


# --- Builders (imports inside, so importing this module stays cheap) ------------------------


def _build_linear_cls(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        C=p["C"], max_iter=p["max_iter"], class_weight=p["class_weight"], random_state=rs
    )


def _build_linear_reg(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=p["fit_intercept"])


def _build_ridge(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p["alpha"], fit_intercept=p["fit_intercept"], random_state=rs)


def _forest_builder(kind: str, task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from sklearn import ensemble

        name = {"random_forest": "RandomForest", "extra_trees": "ExtraTrees"}[kind]
        cls = getattr(ensemble, name + ("Classifier" if task == CLS else "Regressor"))
        extra = {"class_weight": p["class_weight"]} if task == CLS else {}
        return cls(
            n_estimators=p["n_estimators"], max_depth=p["max_depth"],
            min_samples_split=p["min_samples_split"], min_samples_leaf=p["min_samples_leaf"],
            max_features=_max_features(p["max_features"]), random_state=rs, **extra,
        )

    return build


def _gb_builder(task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

        cls = GradientBoostingClassifier if task == CLS else GradientBoostingRegressor
        return cls(
            n_estimators=p["n_estimators"], learning_rate=p["learning_rate"],
            max_depth=p["max_depth"], subsample=p["subsample"], random_state=rs,
        )

    return build


def _hgb_builder(task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
        from sklearn.ensemble import HistGradientBoostingRegressor as HGBR

        extra = {"class_weight": p["class_weight"]} if task == CLS else {}
        return (HGBC if task == CLS else HGBR)(
            max_iter=p["max_iter"], learning_rate=p["learning_rate"], max_depth=p["max_depth"],
            max_leaf_nodes=p["max_leaf_nodes"], l2_regularization=p["l2_regularization"],
            random_state=rs, **extra,
        )

    return build


def _build_svc(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    svc = SVC(C=p["C"], kernel=p["kernel"], gamma=p["gamma"], class_weight=p["class_weight"],
              random_state=rs)
    # SVC(probability=True) is deprecated since scikit-learn 1.9; this is its replacement
    # and gives predict_proba the same way (Platt scaling on internal CV).
    return CalibratedClassifierCV(svc, ensemble=False)


def _build_svr(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.svm import SVR

    return SVR(C=p["C"], kernel=p["kernel"], gamma=p["gamma"], epsilon=p["epsilon"])


def _knn_builder(task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        cls = KNeighborsClassifier if task == CLS else KNeighborsRegressor
        return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])

    return build


def _tree_builder(task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        extra = {"class_weight": p["class_weight"]} if task == CLS else {}
        return (DecisionTreeClassifier if task == CLS else DecisionTreeRegressor)(
            criterion=p["criterion"], max_depth=p["max_depth"],
            min_samples_split=p["min_samples_split"], min_samples_leaf=p["min_samples_leaf"],
            random_state=rs, **extra,
        )

    return build


def _build_naive_bayes(p: dict[str, Any], rs: int | None) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(var_smoothing=p["var_smoothing"])


def _keras_builder(name: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from ml import keras_models  # keras itself loads only when the model is fitted

        return getattr(keras_models, name)(**p, random_state=rs)

    return build


# --- The catalogue -------------------------------------------------------------------------


def _register_linear() -> None:
    _add("linear", CLS, "sklearn", "Logistic regression", params=[
        _float("C", 1.0, min=1e-6, max=1e6, help="Inverse regularisation strength."),
        _int("max_iter", 1000, min=10, max=100_000, help="Solver iterations."),
        *_class_weight(CLS, ("balanced",)),
    ], build=_build_linear_cls, space={"C": {"low": 1e-3, "high": 100.0, "log": True}})
    _add("linear", REG, "sklearn", "Linear regression", params=[
        _bool("fit_intercept", True, help="Fit a constant term."),
    ], build=_build_linear_reg, space={"fit_intercept": [True, False]})
    _add("ridge", REG, "sklearn", "Ridge regression", params=[
        _float("alpha", 1.0, min=0.0, max=1e6, help="L2 regularisation strength."),
        _bool("fit_intercept", True, help="Fit a constant term."),
    ], build=_build_ridge, space={"alpha": {"low": 1e-3, "high": 100.0, "log": True}})


def _register_trees() -> None:
    for task in TASKS:
        _add("random_forest", task, "sklearn", "Random forest", params=_forest_params(task),
             build=_forest_builder("random_forest", task), space=_FOREST_SPACE)
        _add("extra_trees", task, "sklearn", "Extra trees", params=_forest_params(task),
             build=_forest_builder("extra_trees", task), space=_FOREST_SPACE)
        _add("gradient_boosting", task, "sklearn", "Gradient boosting", params=[
            _int("n_estimators", 100, min=1, max=5000, help="Number of boosting stages."),
            *_boosting_params(),
            _int("max_depth", 3, min=1, max=100, help="Depth of each tree."),
            _float("subsample", 1.0, min=0.05, max=1.0, help="Share of rows used per stage."),
        ], build=_gb_builder(task), space={
            "n_estimators": {"low": 50, "high": 500, "log": True},
            "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
            "max_depth": {"low": 2, "high": 8},
            "subsample": {"low": 0.5, "high": 1.0},
        })
        _add("hist_gradient_boosting", task, "sklearn", "Histogram gradient boosting", params=[
            _int("max_iter", 100, min=1, max=10_000, help="Number of boosting iterations."),
            *_boosting_params(),
            _int("max_depth", None, min=1, nullable=True, help="Depth of each tree."),
            _int("max_leaf_nodes", 31, min=2, max=10_000, nullable=True,
                 help="Most leaves per tree."),
            _float("l2_regularization", 0.0, min=0.0, max=1e4, help="L2 penalty on leaves."),
            *_class_weight(task, ("balanced",)),
        ], build=_hgb_builder(task), native_categories=True, space={
            "max_iter": {"low": 50, "high": 500, "log": True},
            "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
            "max_leaf_nodes": {"low": 8, "high": 128, "log": True},
            "l2_regularization": [0.0, 0.1, 1.0],
        })
        criteria = ("gini", "entropy", "log_loss") if task == CLS else (
            "squared_error", "friedman_mse", "absolute_error")
        _add("decision_tree", task, "sklearn", "Decision tree", params=[
            _str("criterion", criteria[0], criteria, help="Split quality measure."),
            *_tree_params(task),
        ], build=_tree_builder(task), space=_TREE_SPACE)


def _register_others() -> None:
    svm_common = [
        _float("C", 1.0, min=1e-6, max=1e6, help="Inverse regularisation strength."),
        _str("kernel", "rbf", ("rbf", "linear", "poly", "sigmoid"), help="Kernel function."),
        _str("gamma", "scale", ("scale", "auto"), help="Kernel coefficient."),
    ]
    svm_space = {"C": {"low": 0.01, "high": 100.0, "log": True}, "kernel": ["rbf", "linear"]}
    _add("svm", CLS, "sklearn", "Support vector machine",
         params=[*svm_common, *_class_weight(CLS, ("balanced",))],
         build=_build_svc, space=svm_space)
    _add("svm", REG, "sklearn", "Support vector machine", params=[
        *svm_common, _float("epsilon", 0.1, min=0.0, max=1e6, help="No-penalty tube width."),
    ], build=_build_svr, space=svm_space)
    for task in TASKS:
        _add("knn", task, "sklearn", "k-nearest neighbours", params=[
            _int("n_neighbors", 5, min=1, max=10_000, help="Neighbours that vote."),
            _str("weights", "uniform", ("uniform", "distance"), help="How neighbours weigh."),
            _int("p", 2, min=1, max=2, help="1 = Manhattan distance, 2 = Euclidean."),
        ], build=_knn_builder(task), space={
            "n_neighbors": {"low": 1, "high": 50, "log": True},
            "weights": ["uniform", "distance"],
        })
    _add("naive_bayes", CLS, "sklearn", "Gaussian naive Bayes", params=[
        _float("var_smoothing", 1e-9, min=0.0, max=1.0, help="Variance added for stability."),
    ], build=_build_naive_bayes, space={"var_smoothing": {"low": 1e-12, "high": 1e-3,
                                                          "log": True}})


def _gbm_common() -> list[ParamSpec]:
    return [
        _int("early_stopping_rounds", 50, min=0, max=10_000, nullable=True,
             help="Rounds without improvement on held-out rows before boosting stops (the "
                  "best round is kept); 0 or null trains every round on every row."),
        _float("validation_fraction", 0.1, min=0.01, max=0.5,
               help="Share of the training rows held out to watch for early stopping."),
    ]


def _booster_builder(name: str, task: str) -> Builder:
    def build(p: dict[str, Any], rs: int | None) -> Any:
        from ml import boosters

        cls = getattr(boosters, name + ("Classifier" if task == CLS else "Regressor"))
        return cls(**p, random_state=rs)

    return build


def _register_boosters() -> None:
    """LightGBM, XGBoost and CatBoost (ml.boosters): native missing values and categories,
    early stopping on held-out rows."""
    for task in TASKS:
        _add("lightgbm", task, "sklearn", "LightGBM", params=[
            _int("n_estimators", 1000, min=1, max=20_000, help="Most boosting rounds."),
            _float("learning_rate", 0.1, min=1e-4, max=1.0,
                   help="Shrinks each tree's contribution."),
            _int("num_leaves", 31, min=2, max=4096, help="Most leaves per tree."),
            _int("max_depth", None, min=1, max=64, nullable=True,
                 help="Depth limit of each tree; null: no limit (num_leaves bounds it)."),
            _int("min_child_samples", 20, min=1, max=100_000, help="Fewest rows in a leaf."),
            _float("subsample", 1.0, min=0.05, max=1.0, help="Share of rows used per round."),
            _float("colsample_bytree", 1.0, min=0.05, max=1.0,
                   help="Share of columns used per tree."),
            _float("reg_lambda", 0.0, min=0.0, max=1e4, help="L2 penalty on leaf values."),
            *_class_weight(task, ("balanced",)),
            *_gbm_common(),
        ], build=_booster_builder("LightGBM", task), native_categories=True, scale_free=True,
            space={
            "learning_rate": {"low": 0.01, "high": 0.2, "log": True},
            "num_leaves": {"low": 8, "high": 256, "log": True},
            "min_child_samples": {"low": 2, "high": 100, "log": True},
            "colsample_bytree": {"low": 0.4, "high": 1.0},
            "reg_lambda": [0.0, 0.1, 1.0, 10.0],
        })
        _add("xgboost", task, "sklearn", "XGBoost", params=[
            _int("n_estimators", 1000, min=1, max=20_000, help="Most boosting rounds."),
            _float("learning_rate", 0.1, min=1e-4, max=1.0,
                   help="Shrinks each tree's contribution."),
            _int("max_depth", 6, min=1, max=32, help="Depth of each tree."),
            _float("min_child_weight", 1.0, min=0.0, max=1e4,
                   help="Least total weight (hessian) in a leaf."),
            _float("subsample", 1.0, min=0.05, max=1.0, help="Share of rows used per round."),
            _float("colsample_bytree", 1.0, min=0.05, max=1.0,
                   help="Share of columns used per tree."),
            _float("reg_lambda", 1.0, min=0.0, max=1e4, help="L2 penalty on leaf values."),
            *_gbm_common(),
        ], build=_booster_builder("XGBoost", task), native_categories=True, scale_free=True,
            space={
            "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
            "max_depth": {"low": 2, "high": 10},
            "min_child_weight": {"low": 0.5, "high": 20.0, "log": True},
            "subsample": {"low": 0.5, "high": 1.0},
            "colsample_bytree": {"low": 0.4, "high": 1.0},
        })
        _add("catboost", task, "sklearn", "CatBoost", params=[
            _int("n_estimators", 1000, min=1, max=20_000, help="Most boosting rounds."),
            _float("learning_rate", None, min=1e-4, max=1.0, nullable=True,
                   help="Shrinks each tree's contribution; null: CatBoost picks it from the "
                        "data size."),
            _int("depth", 6, min=1, max=16, help="Depth of each (symmetric) tree."),
            _float("l2_leaf_reg", 3.0, min=0.0, max=1e4, help="L2 penalty on leaf values."),
            *_gbm_common(),
        ], build=_booster_builder("CatBoost", task), native_categories=True, scale_free=True,
            space={
            "learning_rate": {"low": 0.01, "high": 0.3, "log": True},
            "depth": {"low": 3, "high": 10},
            "l2_leaf_reg": {"low": 0.5, "high": 30.0, "log": True},
        })


def _register_keras() -> None:
    for task, suffix in ((CLS, "Classifier"), (REG, "Regressor")):
        _add("mlp", task, "keras", "Neural network (dense)", params=[
            ParamSpec("hidden_layers", "list[int]", (64, 32), 1, 4096,
                      help="Units in each hidden layer, e.g. [64, 32].", max_items=8),
            *_keras_common(),
        ], build=_keras_builder("KerasMLP" + suffix), space=_KERAS_SPACE)
        _add("cnn", task, "keras", "Convolutional network (square images)", params=[
            ParamSpec("filters", "list[int]", (32, 64), 1, 1024,
                      help="Filters of each convolution block, e.g. [32, 64].", max_items=6),
            _int("kernel_size", 3, min=1, max=9, help="Side of each convolution window."),
            _int("dense_units", 64, min=1, max=4096, help="Units in the dense layer."),
            *_keras_common(),
        ], build=_keras_builder("KerasCNN" + suffix), space=_KERAS_SPACE)


def _register_auto() -> None:
    for task in TASKS:
        choices = tuple(k for k in algorithm_keys(task) if k != "auto")
        _add("auto", task, "sklearn", "Automatic (best of several)", params=[
            ParamSpec("candidates", "list[str]", None, choices=choices, nullable=True,
                      help="Algorithms to try, each with its defaults; null tries the "
                           "portfolio: a linear model, LightGBM, XGBoost, CatBoost, "
                           "histogram boosting, forests and k-NN, in several configurations, "
                           "and blends the best into an ensemble."),
        ], build=None)


def _register_all() -> None:
    _register_linear()
    _register_trees()
    _register_others()
    _register_boosters()
    _register_keras()
    _register_auto()


_register_all()
