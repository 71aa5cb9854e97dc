"""Small trained results shared by the registry tests (trained once per session, no DB)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest


def _classification_frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.normal(size=n),
        "color": rng.choice(["red", "green", "blue"], n),
    })
    df["label"] = np.where(df.x1 + (df.color == "red") > 0.3, "yes", "no")
    return df


def _regression_frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"size": rng.uniform(20, 200, n), "rooms": rng.integers(1, 6, n)})
    df["price"] = df["size"] * 3.0 + df["rooms"] * 10 + rng.normal(scale=5, size=n)
    return df


def _train(df: pd.DataFrame, target: str, algorithm: str, params: dict[str, Any]) -> Any:
    from ml.config import TrainConfig
    from ml.train import train

    config = TrainConfig.from_dict({
        "target": target, "algorithm": algorithm, "params": params,
        "validation": {"cv_folds": 0},
    })
    return train(df, config)


@pytest.fixture(scope="session")
def clf_frame() -> pd.DataFrame:
    return _classification_frame()


@pytest.fixture(scope="session")
def clf_result(clf_frame: pd.DataFrame) -> Any:
    """A random forest that predicts "label" (yes/no) from x1, x2 and color."""
    return _train(clf_frame, "label", "random_forest", {"n_estimators": 10, "max_depth": 4})


@pytest.fixture(scope="session")
def reg_result() -> Any:
    """A linear regression that predicts "price" from size and rooms."""
    return _train(_regression_frame(), "price", "linear", {})


@pytest.fixture
def register(workspace: Any, alice: Any) -> Any:
    """Return a function that registers a result in `workspace` (default) as alice."""
    from apps.models.services import model_register

    def make(result: Any, *, name: str | None = None, ws: Any = None) -> Any:
        return model_register(experiment=None, result=result, user=alice,
                              workspace=ws or workspace, name=name)

    return make


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    from apps.models.cache import bundle_cache

    bundle_cache.clear()
    yield
    bundle_cache.clear()
