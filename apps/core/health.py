"""Operations endpoints: /healthz and the Prometheus collector for jobs and the queue."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "down" here
        log.warning("Health check: database error: %s", exc)
        return "error"


def _check_queue() -> str:
    try:
        from django_q.brokers import get_broker

        return "ok" if get_broker().ping() else "error"
    except Exception as exc:  # broker libraries raise their own types
        log.warning("Health check: queue error: %s", exc)
        return "error"


def _check_storage() -> str:
    """Write, read back and delete a small file through the storage every upload goes to."""
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    probe = f"health/{uuid.uuid4().hex}.txt"
    try:
        name = default_storage.save(probe, ContentFile(b"ok"))
        try:
            with default_storage.open(name, "rb") as fh:
                ok = fh.read() == b"ok"
        finally:
            default_storage.delete(name)
        return "ok" if ok else "error"
    except Exception as exc:  # storage backends raise their own types
        log.warning("Health check: storage error: %s", exc)
        return "error"


def healthz(request: HttpRequest) -> JsonResponse:
    """Report whether the database, the job queue and the file storage answer (200, or 503
    naming the part that does not)."""
    body = {"status": "ok", "database": _check_database(), "queue": _check_queue(),
            "storage": _check_storage()}
    if "error" in (body["database"], body["queue"], body["storage"]):
        body["status"] = "error"
        return JsonResponse(body, status=503)
    return JsonResponse(body)


def queue_length() -> int:
    """Return the number of tasks waiting in the broker."""
    from django_q.brokers import get_broker

    return int(get_broker().queue_size() or 0)


# Jobs that ended in the last RECENT_S, read from their rows at scrape time: the worker
# processes that ran them are not scraped (they may be on other machines, or gone).
RECENT_S = 3600
JOB_TABLES = (("experiment", "experiments.Experiment", "finished_at"),
              ("dataset", "datasets.Dataset", "updated_at"),
              ("batch_prediction", "models.BatchPrediction", "finished_at"))
DURATION = ("modelworks_job_duration_seconds",
            "Run time of the jobs that ended in the last hour (quantiles 0.5, 0.95, 1)",
            None, ["kind", "quantile"])
ENDED = ("modelworks_jobs_ended_last_hour", "Jobs that ended in the last hour, by end",
         None, ["kind", "status"])


def _recent_jobs() -> Iterator[Any]:
    from datetime import timedelta

    from django.utils import timezone

    durations, ended = GaugeMetricFamily(*DURATION), GaugeMetricFamily(*ENDED)
    since = timezone.now() - timedelta(seconds=RECENT_S)
    for label, model_name, field in JOB_TABLES:
        try:
            model = apps.get_model(model_name)
            rows = list(model.objects.filter(**{f"{field}__gte": since}).exclude(
                status__in=("queued", "running", "processing")).values_list(
                "status", "started_at", field)[:100_000])
        except Exception as exc:  # a missing table must not break the whole scrape
            log.debug("recent jobs of %s unavailable: %s", model_name, exc)
            continue
        counts: dict[str, int] = {}
        seconds = []
        for status, started, finished in rows:
            counts[status] = counts.get(status, 0) + 1
            if started and finished:
                seconds.append((finished - started).total_seconds())
        for status, n in sorted(counts.items()):
            ended.add_metric([label, status], n)
        if seconds:
            seconds.sort()
            for q in (0.5, 0.95, 1.0):
                durations.add_metric([label, str(q)],
                                     seconds[min(len(seconds) - 1, int(q * len(seconds)))])
    yield durations
    yield ended


class JobsCollector:
    """Expose jobs by status and the queue length at scrape time."""

    def describe(self) -> Iterator[Any]:
        # Without describe(), registering would call collect() and query the database at start-up.
        yield GaugeMetricFamily(
            "modelworks_jobs", "Jobs by kind and status", labels=["kind", "status"]
        )
        yield GaugeMetricFamily("modelworks_queue_length", "Tasks waiting in the queue")
        yield GaugeMetricFamily(*DURATION)
        yield GaugeMetricFamily(*ENDED)

    def collect(self) -> Iterator[Any]:
        jobs = GaugeMetricFamily(
            "modelworks_jobs", "Jobs by kind and status", labels=["kind", "status"]
        )
        for label, model_name in (
            ("experiment", "experiments.Experiment"),
            ("dataset", "datasets.Dataset"),
        ):
            try:
                model = apps.get_model(model_name)
                rows = model.objects.order_by().values_list("status").annotate(n=Count("pk"))
                for status, n in sorted(rows):
                    jobs.add_metric([label, status], n)
            except Exception as exc:  # a missing table must not break the whole scrape
                log.debug("jobs metric for %s unavailable: %s", model_name, exc)
        yield jobs
        yield from _recent_jobs()
        queue = GaugeMetricFamily("modelworks_queue_length", "Tasks waiting in the queue")
        try:
            queue.add_metric([], queue_length())
        except Exception as exc:
            log.debug("queue length unavailable: %s", exc)
        yield queue
