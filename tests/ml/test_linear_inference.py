"""Type inference is linear-time: one long cell cannot hold a worker (security review, #14).

The old number pattern `\\d+\\.?\\d*` split a run of digits between two quantifiers in every
possible way: `"1" * 40_000 + "x"` took 42 s, and a field may hold a million characters. These
inputs are a million characters long; a quadratic pattern would not finish in hours, so each
check runs under an alarm that turns a hang into a failure instead of a stuck suite.
"""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator

import pandas as pd
import pytest

from ml.data import is_date_like, is_number, kind_of_uniques, read_csv
from ml.preprocessing import column_kind
from ml.validation import profile_dataframe

LONG = 1_000_000
HOSTILE = [
    "1" * LONG + "x",
    "1" * LONG + ".",
    "." + "1" * LONG + "e",
    "2020-01-01 00:00" + " " * LONG + "x",
    "1-1" * (LONG // 3),
]


@pytest.fixture(autouse=True)
def alarm() -> Iterator[None]:
    def hung(*_: object) -> None:
        raise TimeoutError("type inference did not finish: it is not linear-time")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("cell", HOSTILE, ids=["digits-x", "digits-dot", "dot-digits-e",
                                                "date-spaces", "dashes"])
def test_a_million_character_cell_is_classified_at_once(cell: str) -> None:
    assert not is_number(cell)
    assert not is_date_like(cell)
    assert kind_of_uniques([cell, "2"], 2, 2) in ("categorical", "text")
    assert column_kind(pd.Series([cell] * 3 + ["1-2-2020"])) in ("categorical", "text")


def test_a_hostile_cell_in_an_upload_is_profiled_as_text() -> None:
    rows = [f"{i},{'1' * 40_000 + 'x' if i == 0 else i}" for i in range(50)]
    frame = read_csv(io.BytesIO(("id,value\n" + "\n".join(rows)).encode()))
    profile = profile_dataframe(frame)
    value = next(c for c in profile["columns"] if c["name"] == "value")
    assert value["kind"] != "numeric"


@pytest.mark.parametrize("text", ["1", "-1.5", "+3E-2", ".5", "1.", "12345678901234567890"])
def test_numbers_are_still_numbers(text: str) -> None:
    assert is_number(text)


@pytest.mark.parametrize("text", ["2020-01-02", "1/2/2020", "2020-01-02T10:00:00.123Z",
                                  "2020-01-02 10:00 +01:00", "31.12.99 23:59:59"])
def test_dates_are_still_dates(text: str) -> None:
    assert is_date_like(text)
