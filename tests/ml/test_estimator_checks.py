"""The engine's own transformers are scikit-learn estimators: `check_estimator` passes on each.

They read whole DataFrames (text, dates, booleans, missing values), so they are tagged
`allow_nan` and `string`, and refuse what scikit-learn's own refuse (sparse, complex, 1-D or
empty input, a transform before fit, a column count other than fit's).

Checks that cannot apply, and why (each listed for the estimator it concerns; the property they
stand for is tested below on the estimator's real input instead):

- CategoryStrings and RareCategoryGrouper output text: scikit-learn's checks of pickling,
  pipelines, fit_transform against fit + transform, sample order and subset invariance,
  idempotence and non-array input compare outputs with `assert_allclose`, a numeric comparison
  that cannot take strings.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import check_estimator

from ml.features import BoundedPolynomialFeatures
from ml.preprocessing import (
    BooleanEncoder,
    CategoryStrings,
    DatetimeFeatures,
    NumberCoercer,
    RareCategoryGrouper,
    TextHasher,
)

NUMERIC_COMPARISON = ("Outputs text: the check compares outputs with assert_allclose, which "
                      "cannot take strings (tested with exact equality in this module).")
TEXT_OUT = {name: NUMERIC_COMPARISON for name in (
    "check_pipeline_consistency", "check_estimators_pickle", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit_idempotent")}
ALL = [(NumberCoercer(), {}), (CategoryStrings(), TEXT_OUT), (BooleanEncoder(), {}),
       (DatetimeFeatures(), {}), (RareCategoryGrouper(min_frequency=2), TEXT_OUT),
       (TextHasher(n_features=8), {}), (BoundedPolynomialFeatures(), {})]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(("estimator", "cannot_apply"), ALL, ids=lambda e: type(e).__name__)
def test_each_transformer_passes_scikit_learns_estimator_checks(estimator, cannot_apply):
    results = check_estimator(estimator, on_fail=None, expected_failed_checks=cannot_apply)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert len(results) > 40 and not failed, failed
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed <= set(cannot_apply)


def _mixed(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Oslo", "Lima", "Pune", None], n).astype(object)
    size = rng.choice(["S", "M", "L", "XL"], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    return pd.DataFrame({"city": city, "size": size, "n": rng.integers(0, 3, n)})


@pytest.mark.parametrize("make", [CategoryStrings, lambda: RareCategoryGrouper(min_frequency=5)])
def test_text_output_transformers_keep_the_properties_the_numeric_checks_stand_for(make):
    X = _mixed()
    fitted = make().fit(X)
    out = fitted.transform(X)
    assert out.dtype == object and out.shape == X.shape
    assert np.array_equal(make().fit_transform(X), out)  # fit_transform == fit + transform
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(again.transform(X), out)  # pickling
    twice = make().fit(X).fit(X)
    assert np.array_equal(twice.transform(X), out)  # idempotent fit
    order = np.random.default_rng(1).permutation(len(X))
    assert np.array_equal(fitted.transform(X.iloc[order]), out[order])  # sample order
    halves = np.vstack([fitted.transform(X.iloc[:25]), fitted.transform(X.iloc[25:])])
    assert np.array_equal(halves, out)  # subsets
    assert np.array_equal(fitted.transform(X.to_numpy()), out)  # not a DataFrame


def test_the_checks_refuse_bad_input_with_clear_errors():
    fitted = NumberCoercer().fit(pd.DataFrame({"a": [1, 2], "b": [3, 4]}))
    with pytest.raises(ValueError, match="X has 1 features, but NumberCoercer is expecting 2"):
        fitted.transform(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="Reshape your data"):
        CategoryStrings().fit(np.array(["a", "b"]))
    from scipy.sparse import csr_matrix
    from sklearn.exceptions import NotFittedError

    with pytest.raises(TypeError, match="sparse"):
        TextHasher().fit(csr_matrix(np.eye(2)))
    with pytest.raises(NotFittedError):
        BooleanEncoder().transform(pd.DataFrame({"a": ["yes"]}))
