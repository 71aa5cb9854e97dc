"""Tiny server-side charts: the live learning curve as SVG polyline points."""

from __future__ import annotations

import math
from typing import Any

# The plot area only: the SVG stretches to the page width (preserveAspectRatio="none", strokes
# do not scale), and the axis labels are HTML around it so they stay readable on a phone.
WIDTH, HEIGHT, PAD = 600.0, 200.0, 4.0
COLOURS = ("#1f5fbf", "#c2410c", "#15803d", "#7e22ce")
LABELS = {"loss": "training loss", "val_loss": "validation loss"}


def learning_curve(history: list[dict[str, Any]], keys: tuple[str, ...] = ("loss", "val_loss")
                   ) -> dict[str, Any] | None:
    """Return the curve's series (points, colour), axis labels and size; None if < 2 epochs."""
    series = {k: [_num(row.get(k)) for row in history] for k in keys}
    values = [v for vals in series.values() for v in vals if v is not None]
    if len(history) < 2 or not values:
        return None
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / (len(history) - 1)
    out = []
    for index, (name, vals) in enumerate(series.items()):
        points = " ".join(
            f"{PAD + i * step:.1f},{HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD):.1f}"
            for i, v in enumerate(vals) if v is not None
        )
        if points:
            out.append({"name": name, "label": LABELS.get(name, name), "points": points,
                        "colour": COLOURS[index % len(COLOURS)], "dashed": index % 2 == 1,
                        "last": next((v for v in reversed(vals) if v is not None), None)})
    return {"series": out, "min": low, "max": high, "mid": (low + high) / 2,
            "epochs": len(history), "width": WIDTH, "height": HEIGHT,
            "grid": [PAD, HEIGHT / 2, HEIGHT - PAD]}


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
