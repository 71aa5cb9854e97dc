"""The quality report's duplicate-row count is exactly pandas' `duplicated().sum()` (#16): on
generated tables of ints, floats (NaN, -0.0, infinities), text and missing text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.validation import profile_dataframe

FLOATS = st.sampled_from([0.0, -0.0, 1.5, -2.25, np.nan, np.inf, -np.inf, 1e300, 3.0])
INTS = st.integers(min_value=-3, max_value=3)
TEXT = st.sampled_from(["a", "b", "", "a b", None])


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(min_value=0, max_value=40))
    kinds = draw(st.lists(st.sampled_from(["int", "float", "text"]), min_size=1, max_size=4))
    columns = {}
    for i, kind in enumerate(kinds):
        values = draw(st.lists({"int": INTS, "float": FLOATS, "text": TEXT}[kind],
                               min_size=n_rows, max_size=n_rows))
        columns[f"{kind}{i}"] = pd.Series(values, dtype={"int": "int64", "float": "float64",
                                                         "text": "object"}[kind])
    return pd.DataFrame(columns)


@given(tables())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_duplicate_count_is_exactly_pandas(frame: pd.DataFrame) -> None:
    expected = int(frame.duplicated().sum())
    assert profile_dataframe(frame)["quality"]["duplicate_rows"] == expected


def test_rows_whose_hashes_collide_are_not_counted_as_duplicates() -> None:
    # Summed column hashes can collide; equal sums of different rows are not duplicates.
    from ml import validation

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 1.0], "b": [4.0, 3.0, 5.0, 4.0]})
    summaries = {0: {"n_unique": 3}, 1: {"n_unique": 3}}
    colliding = np.array([7, 7, 7, 7], dtype=np.uint64)  # every row "looks" alike
    assert validation._count_duplicates(frame, summaries, colliding, 4) == 1
