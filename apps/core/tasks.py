"""Periodic housekeeping run by the django-q2 cluster (scheduled every minute)."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


# Each app with jobs registers its sweeper (in its AppConfig.ready): this module, on the
# ground floor, imports none of them.
_SWEEPERS: dict[str, Callable[[], int]] = {}


def sweeper_register(name: str, sweep: Callable[[], int]) -> None:
    """Run `sweep` (it fails `name`'s stale jobs and returns how many) every sweep."""
    _SWEEPERS[name] = sweep


def sweep_stale_jobs() -> dict[str, int]:
    """Fail jobs whose worker died (no heartbeat): nothing stays running."""
    counts = {name: sweep() for name, sweep in _SWEEPERS.items()}
    if any(counts.values()):
        log.warning("Marked stale jobs as failed: %s", counts)
    return counts
