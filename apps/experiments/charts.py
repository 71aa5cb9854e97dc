"""Tiny server-side charts: the live learning curve as SVG polyline points."""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, PAD = 320.0, 120.0, 6.0


def learning_curve(history: list[dict[str, Any]], keys: tuple[str, ...] = ("loss", "val_loss")
                   ) -> dict[str, Any] | None:
    """Return {"series": [{"name", "points"}], "min", "max", "epochs"} or None if < 2 epochs."""
    series = {k: [_num(row.get(k)) for row in history] for k in keys}
    values = [v for vals in series.values() for v in vals if v is not None]
    if len(history) < 2 or not values:
        return None
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / (len(history) - 1)
    out = []
    for name, vals in series.items():
        points = " ".join(
            f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
            for i, v in enumerate(vals) if v is not None
        )
        if points:
            out.append({"name": name, "points": points})
    return {"series": out, "min": low, "max": high, "epochs": len(history),
            "width": WIDTH, "height": HEIGHT}


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
