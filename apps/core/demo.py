"""Demo content: sample datasets from scikit-learn and one trained model (idempotent)."""

from __future__ import annotations

from typing import Any


def demo_seed_content(*, workspace: Any, user: Any, train: bool = True) -> None:
    """Add the sample datasets and a finished experiment if the workspace has none."""
    # Filled in once datasets and experiments exist (see issue "whole journey").
    return None
