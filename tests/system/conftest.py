"""System tests: the platform as an operator runs it (tests/system/stack.py), on loopback.

They start their own processes and databases (no pytest-django database), bounded in time, and
run in .ci/run after the suite: `pytest -m system tests/system`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from tests.system.stack import S3Server


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def table_csv(rows: int = 300, seed: int = 0) -> bytes:
    """A small classification table: two numbers, a text column and a yes/no target."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.integers(0, 9, rows),
                          "c": rng.choice(["x", "y", "z"], rows)})
    frame["target"] = np.where(frame.a + (frame.c == "x") > 0.3, "yes", "no")
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()
