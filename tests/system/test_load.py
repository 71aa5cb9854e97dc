"""A short run of the load test (bench/load.py) in CI: no 5xx and no lost write under 20
concurrent users (the figures for 50 users over two minutes are in the README)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.system.stack import ROOT

pytestmark = pytest.mark.system


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_concurrent_users_get_no_server_error_and_lose_no_write(database: str) -> None:
    # By its file: bench/ on sys.path would shadow the standard library (bench/queue.py).
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec and spec.loader
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    result = load.run(database, clients=20, seconds=30)
    load.report(result, 20, 30)
    total = next(r for r in result["rows"] if r["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 300
    assert result["server_errors"] == []
    assert int(total["Failure Count"]) == 0
    assert result["writes"] > 10 and result["lost"] == 0
