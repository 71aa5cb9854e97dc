"""Periodic housekeeping run by the django-q2 cluster (scheduled every minute)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


# Each app with jobs registers its sweeper (in its AppConfig.ready): this module, on the
# ground floor, imports none of them.
# By dotted path, imported when a sweep runs: registering must not import the apps' services
# (pandas, pyarrow) into every process that merely starts Django.
_SWEEPERS: dict[str, str] = {}


def sweeper_register(name: str, sweep: str) -> None:
    """Run the function at dotted path `sweep` (it fails `name`'s stale jobs and returns how
    many) every sweep."""
    _SWEEPERS[name] = sweep


def sweep_stale_jobs() -> dict[str, int]:
    """Fail jobs whose worker died (no heartbeat): nothing stays running."""
    from django.utils.module_loading import import_string

    counts = {name: import_string(path)() for name, path in _SWEEPERS.items()}
    if any(counts.values()):
        log.warning("Marked stale jobs as failed: %s", counts)
    return counts
