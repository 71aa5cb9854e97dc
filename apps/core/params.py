"""Query-string values read strictly: a malformed one is a 400, never a server error.

`str.isdigit()` accepts "²" and "٣", which `int()` refuses or reads; an id beyond a 64-bit
integer makes PostgreSQL raise. Pages raise Django's BadRequest (the 400 page), the API a
ValidationError naming the parameter (the exception handler maps BadRequest too).
"""

from __future__ import annotations

from django.core.exceptions import BadRequest

MAX_ID = 2**63 - 1


def parse_id(raw: object) -> int | None:
    """Return the id written in `raw` (None when absent or empty); ValueError when malformed."""
    if raw is None or raw == "":
        return None
    text = str(raw)
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        raise ValueError(text)
    return int(text)


def id_param(params: object, name: str) -> int | None:
    """Read the id parameter `name` from a QueryDict; BadRequest (400) when malformed."""
    try:
        return parse_id(params.get(name))  # type: ignore[attr-defined]
    except ValueError:
        raise BadRequest(f"The {name} parameter must be an id (a whole number).") from None


def id_list_param(params: object, name: str) -> list[int]:
    """Read every value of the repeated id parameter `name`; BadRequest when one is malformed."""
    try:
        values = [parse_id(v) for v in params.getlist(name)]  # type: ignore[attr-defined]
    except ValueError:
        raise BadRequest(f"Each {name} parameter must be an id (a whole number).") from None
    return [v for v in values if v is not None]


def int_param(params: object, name: str, default: int, *, low: int, high: int) -> int:
    """Read a whole number within [low, high] (clamped); BadRequest when not a number."""
    raw = params.get(name)  # type: ignore[attr-defined]
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 18:
        raise BadRequest(f"The {name} parameter must be a whole number.")
    return max(low, min(int(text), high))
