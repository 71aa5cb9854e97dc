"""One runner for every background job: dataset processing, experiments, batch predictions.

A job is a row (its status is the truth) and a work function that takes the row's id. The
runner, called by the django-q2 task in a worker process:

1. claims the row atomically (queued -> running, or a redelivered job whose worker died,
   within `JOB_MAX_ATTEMPTS`);
2. forks a **child process** that runs the work function and writes its results and its own
   normal ending (succeeded, or failed with the engine's message);
3. supervises the child from the worker: it beats the heartbeat, watches for a cancel or a
   deleted row, measures the child's private memory, and enforces the time limit. Whatever
   the child is doing - even deep inside a C-level `fit` - a cancel, a timeout or a memory
   overrun kills it with SIGKILL within a fraction of a second, the files it announced are
   deleted, and the row ends with words a person understands. A child killed by the kernel
   ends as "ran out of memory"; the worker itself survives and takes the next job.

The child is forked, so the engine's modules are already imported (no start-up cost), and
TensorFlow, which the worker never imports, is loaded only in a child that runs Keras and is
gone with it. With `JOBS_IN_CHILD_PROCESS` off (the inline test settings, `Q_SYNC`), the same
claim, work and endings run in the calling process and a cancel is cooperative.

`fail_stale` is the sweeper's half: a running job whose heartbeat stopped (its worker died)
ends failed, or cancelled if a cancel was asked; a queued job that is no longer waiting in the
broker (a cluster took it off the queue, then died before starting it) is queued again; a job
never started within its queue timeout ends failed. A job queued twice runs once: `claim` lets
only one copy move the row from queued to running.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the supervisor looks at the child (exit, memory, time)
ROW_CHECK_S = 0.5  # how often it reads the row (cancel asked, deleted, failed elsewhere)
ENDED_GRACE_S = 10.0  # a child still alive this long after its row ended is stopped
# Imported once by the worker before its first fork, so no job pays for them (about 2 s):
# every child starts with the engine loaded. Never TensorFlow (~520 MB): Keras jobs load it.
PRELOAD = ("ml.train", "ml.evaluation", "ml.bundle", "ml.validation", "ml.predict",
           "apps.datasets.services", "apps.experiments.services", "apps.models.services")
_warmed = False


@dataclass(frozen=True)
class JobKind:
    """How one kind of job maps onto its table; the runner needs nothing else."""

    noun: str  # "experiment", in log lines and messages
    model: str  # "apps.experiments.models.Experiment"
    work: str  # dotted path of work(pk) -> status: runs the job and writes its normal end
    queued: str
    running: str
    succeeded: str
    failed: str
    cancelled: str | None  # None: this kind cannot be cancelled (only deleted)
    ended_field: str  # the timestamp set when the job ends
    stale_message: str
    lost_message: str  # no worker started it within the queue timeout
    retry_message: str = ""  # redelivered past the attempt limit (needs an `attempts` field)
    queue_timeout_setting: str = "JOB_QUEUE_TIMEOUT_S"
    log_field: str = ""  # a JSON list of log lines the runner may append to
    on_end: str = ""  # dotted path of on_end(pk), called once the job has ended, any way
    # A boolean field asking the job to stop early and keep what it has: the supervisor sends
    # the child SIGUSR1 once (ml.interrupt), which ends a search even inside a fit.
    stop_field: str = ""
    # An ending, beside succeeded, whose results and files are kept ("stopped": best kept).
    kept: str = ""
    # The django-q2 task (dotted path, called with the row's id) that runs this job: the
    # sweeper queues it again when the worker that took it off the queue died before starting.
    task: str = ""

    @property
    def rows(self) -> Any:
        module, name = self.model.rsplit(".", 1)
        return getattr(importlib.import_module(module), name).objects

    @property
    def cancellable(self) -> bool:
        return self.cancelled is not None


def _call(path: str, pk: int) -> Any:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(pk)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def stale_after_s() -> float:
    return float(_setting("JOB_STALE_AFTER_S", 120))


def memory_limit_mb() -> int:
    return int(_setting("JOB_MEMORY_LIMIT_MB", 4096))


def time_limit_s() -> float:
    return float(_setting("JOB_TIME_LIMIT_S", 3600))


def time_limit_message() -> str:
    return (f"The job ran longer than its time limit of {time_limit_s():g} seconds and was "
            "stopped. Try fewer rows, fewer trials or a smaller time budget; an administrator "
            "can raise JOB_TIME_LIMIT_S.")


def memory_message(limit_mb: int | None = None) -> str:
    limit = f" (more than {limit_mb} MB)" if limit_mb else ""
    return (f"The job ran out of memory{limit} and was stopped. Try fewer rows or columns, or "
            "a lighter algorithm; an administrator can raise JOB_MEMORY_LIMIT_MB.")


INTERNAL_END = ("The job stopped because of an unexpected internal error. The details are in "
                "the log for administrators; try again.")


INTERRUPTED_END = ("The worker running this job was stopped (shut down or timed out) while it ran. "
                   "Run it again.")


# ---------------------------------------------------------------- claim


def claim(kind: JobKind, pk: int) -> bool:
    """Atomically move the row to running; False if another worker has it or it ended."""
    now = timezone.now()
    rows = kind.rows.filter(pk=pk)
    fields: dict[str, Any] = {"status": kind.running, "started_at": now, "heartbeat_at": now}
    if kind.retry_message:
        fields["attempts"] = F("attempts") + 1
    fresh = rows.filter(status=kind.queued)
    if kind.queued == kind.running:  # datasets: "processing" from upload to the end
        fresh = fresh.filter(started_at__isnull=True)
    if kind.cancellable:
        fresh = fresh.filter(cancel_requested=False)
    if not fresh.update(**fields):
        if not kind.retry_message:
            return False
        # Redelivered after the worker died mid-run (its heartbeat stopped): run it again.
        cutoff = now - timedelta(seconds=stale_after_s())
        dead = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
        if not rows.filter(dead, status=kind.running).update(**fields):
            return False
    if kind.retry_message:
        attempts = rows.values_list("attempts", flat=True).first() or 0
        if attempts > int(_setting("JOB_MAX_ATTEMPTS", 2)):
            end(kind, pk, kind.failed, error=kind.retry_message.format(tries=attempts - 1))
            return False
    return True


def end(kind: JobKind, pk: int, status: str, *, error: str = "", **fields: Any) -> bool:
    """End a running job; return False if it was no longer running (ended elsewhere)."""
    now = timezone.now()
    fields.update({kind.ended_field: now, "heartbeat_at": now})
    return bool(kind.rows.filter(pk=pk, status=kind.running).update(
        status=status, error=error, **fields))


# ---------------------------------------------------------------- what the child tells us


class _Link:
    """The child's end of the pipe to its supervisor: one line per message."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, kind: str, value: str = "") -> None:
        os.write(self.fd, f"{kind}\t{value}\n".encode())


_LINK: _Link | None = None


def job_file_created(name: str | None) -> None:
    """Tell the supervisor a stored file is (about to be) written: deleted if the job is killed.

    A no-op outside a job's child process.
    """
    if _LINK is not None and name:
        _LINK.send("file", name)


def job_saving() -> None:
    """Tell the supervisor the job is saving its results: a cancel now waits for the end.

    Killing a job between registering a model and ending the row would leave a model without
    its file; saving takes a moment, so a cancel asked meanwhile lets it finish (time and
    memory limits still apply).
    """
    if _LINK is not None:
        _LINK.send("saving")


# ---------------------------------------------------------------- running a job


def run(kind: JobKind, pk: int) -> str | None:
    """Claim job `pk` of `kind` and run it; return its final status (None if not claimed)."""
    from apps.core.logs import log_bind, log_clear, log_context

    outer = log_context()  # a request's, when the job runs inline (Q_SYNC)
    log_bind(job=f"{kind.noun} {pk}", workspace=kind.rows.filter(pk=pk).values_list(
        "workspace__slug", flat=True).first())
    if not claim(kind, pk):
        log.info("%s %s is not queued (already taken, ended or cancelled).",
                 kind.noun.capitalize(), pk)
        log_clear(outer)
        return None
    started = time.monotonic()
    try:
        if _setting("JOBS_IN_CHILD_PROCESS", True):
            _Supervisor(kind, pk).run()
        else:
            _call(kind.work, pk)
    finally:
        if kind.on_end:
            _call(kind.on_end, pk)
    status = kind.rows.filter(pk=pk).values_list("status", flat=True).first()
    log.info("%s %s: %s", kind.noun.capitalize(), pk, status, extra={
        "status": status, "duration_ms": round((time.monotonic() - started) * 1000)})
    log_clear(outer)
    return status


def private_memory_mb(pid: int) -> float | None:
    """Return the memory the process holds on its own (not shared with its parent), in MB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            total_kb = 0
            for line in fh:
                if line.startswith((b"Private_Clean:", b"Private_Dirty:")):
                    total_kb += int(line.split()[1])
        return total_kb / 1024
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return psutil.Process(pid).memory_info().rss / 1024 / 1024
        except Exception:
            return None


class _Supervisor:
    """Fork the child, watch it, and give the row its end if the child could not."""

    def __init__(self, kind: JobKind, pk: int) -> None:
        self.kind = kind
        self.pk = pk
        self.files: list[str] = []
        self.saving = False
        self.peak_mb = 0.0
        self.reason = ""  # why we killed it: cancel, gone, time, memory
        self._ended_at = 0.0  # when we first saw the row ended while the child still ran
        self._nudged = False  # SIGUSR1 sent for a stop request
        self._pid = 0
        self._buffer = b""

    def run(self) -> None:
        _warm_up()
        connections.close_all()  # the child must not share our database sockets
        # Move what the worker holds out of the collector's sight: a collection in the child
        # would otherwise touch, and so copy, every page of it (copy-on-write).
        gc.collect()
        gc.freeze()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; coverage cannot follow os._exit
            os.close(read_fd)
            _child_main(self.kind, self.pk, write_fd)
        os.close(write_fd)
        self._pid = pid
        os.set_blocking(read_fd, False)
        started = time.monotonic()
        try:
            wait_status = self._watch(pid, read_fd)
        except BaseException:  # django-q2's own timeout, or the cluster shutting down
            _kill(pid)
            self.reason = self.reason or "interrupted"
            wait_status = _reap(pid)
            self._read(read_fd)
            self._conclude(wait_status)
            raise
        finally:
            os.close(read_fd)
        log.info("%s %s ended after %.1f s; peak memory %.0f MB.", self.kind.noun.capitalize(),
                 self.pk, time.monotonic() - started, self.peak_mb)
        self._conclude(wait_status)

    def _watch(self, pid: int, fd: int) -> int:
        started = last_row = last_beat = time.monotonic()
        limit_mb, limit_s = memory_limit_mb(), time_limit_s()
        beat_s = float(_setting("JOB_HEARTBEAT_S", 10))
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            self._read(fd)
            if done:
                self._read(fd)
                return wait_status
            now = time.monotonic()
            memory = private_memory_mb(pid)
            if memory is not None:
                self.peak_mb = max(self.peak_mb, memory)
                if memory > limit_mb:
                    self.reason = "memory"
            if now - started > limit_s:
                self.reason = "time"
            if not self.reason and now - last_row >= ROW_CHECK_S:
                last_row = now
                self.reason = self._row_verdict()
            if not self.reason and now - last_beat >= beat_s:
                last_beat = now
                self._beat()
            if self.reason:
                _kill(pid)
                self._read(fd)
                return _reap(pid)
            time.sleep(POLL_S)

    def _row_verdict(self) -> str:
        fields = ["status", "cancel_requested"] if self.kind.cancellable else ["status"]
        if self.kind.stop_field:
            fields.append(self.kind.stop_field)
        try:
            row = self.kind.rows.filter(pk=self.pk).values_list(*fields).first()
        except Exception:  # a busy database: look again next time
            log.warning("Could not read %s %s", self.kind.noun, self.pk, exc_info=True)
            close_old_connections()
            return ""
        if row is None:
            return "gone"  # deleted
        if row[0] != self.kind.running:
            # Ended: by the child itself, which is exiting now, or by the sweeper.
            self._ended_at = self._ended_at or time.monotonic()
            return "gone" if time.monotonic() - self._ended_at > ENDED_GRACE_S else ""
        if self.kind.cancellable and row[1] and not self.saving:
            return "cancel"
        if self.kind.stop_field and row[-1] and not self._nudged and self._pid:
            self._nudged = True
            try:
                os.kill(self._pid, signal.SIGUSR1)  # ml.interrupt.on_stop_signal in the child
            except ProcessLookupError:
                pass
        return ""

    def _beat(self) -> None:
        try:
            self.kind.rows.filter(pk=self.pk, status=self.kind.running).update(
                heartbeat_at=timezone.now())
        except Exception:  # a busy database must not kill the job; beat again later
            log.warning("Heartbeat of %s %s failed", self.kind.noun, self.pk, exc_info=True)
            close_old_connections()

    def _read(self, fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            kind, _, value = line.decode(errors="replace").partition("\t")
            if kind == "file":
                self.files.append(value)
            elif kind == "saving":
                self.saving = True

    def _conclude(self, wait_status: int) -> None:
        """Give the row the end the child could not write, and remove what it left."""
        from apps.core.files import storage_delete

        kind, pk = self.kind, self.pk
        killed_by = os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None
        code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None
        status = kind.rows.filter(pk=pk).values_list("status", flat=True).first()
        if status not in (kind.succeeded, kind.kept):  # nothing of a failed job stays stored
            for name in self.files:
                storage_delete(name)
        if self.reason == "cancel":
            end(kind, pk, kind.cancelled or kind.failed)
            self._log("Cancelled: the job was stopped at once.")
        elif self.reason == "time":
            end(kind, pk, kind.failed, error=time_limit_message())
        elif self.reason == "memory":
            end(kind, pk, kind.failed, error=memory_message(memory_limit_mb()))
        elif self.reason == "interrupted":
            end(kind, pk, kind.failed, error=INTERRUPTED_END)
        elif killed_by == signal.SIGKILL:  # not by us: the kernel's out-of-memory killer
            end(kind, pk, kind.failed, error=memory_message())
        elif status == kind.running:  # the child died without ending the row
            log.error("%s %s: the job process ended (exit %s, signal %s) without an end.",
                      kind.noun.capitalize(), pk, code, killed_by)
            end(kind, pk, kind.failed, error=INTERNAL_END)
        if self.reason != "gone":
            self._log(f"Peak memory of the job: {self.peak_mb:.0f} MB.")

    def _log(self, line: str) -> None:
        _log_line(self.kind, self.pk, line)


def _warm_up() -> None:
    """Import the engine and draw one figure in the worker, once, before the first fork."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    started = time.monotonic()
    try:
        for module in PRELOAD:
            importlib.import_module(module)
        from ml.evaluation import plot_feature_importance

        plot_feature_importance([{"feature": "a", "importance": 1.0}])  # fonts, renderer
    except Exception:  # a warm-up is an optimisation: the child imports what it needs anyway
        log.warning("Warming up the job worker failed", exc_info=True)
    log.info("Job worker warmed up in %.1f s.", time.monotonic() - started)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _child_main(kind: JobKind, pk: int, fd: int) -> None:  # pragma: no cover - in the child
    """Run the work in the forked child and leave with os._exit (no parent clean-up runs)."""
    global _LINK
    code = 1
    try:
        _die_with_parent()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
            signal.signal(sig, signal.SIG_DFL)
        signal.alarm(0)
        from ml import interrupt

        interrupt.reset()
        # A request to stop early and keep the best (the supervisor's SIGUSR1).
        signal.signal(signal.SIGUSR1, interrupt.on_stop_signal)
        _LINK = _Link(fd)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=int(_setting("EXPERIMENT_THREADS", 1))):
            _call(kind.work, pk)
        code = 0
    except BaseException:
        log.exception("%s %s: the job process crashed", kind.noun.capitalize(), pk)
    finally:
        try:
            connections.close_all()
            for handler in logging.getLogger().handlers:
                handler.flush()
        finally:
            os._exit(code)


def _die_with_parent() -> None:  # pragma: no cover - in the child
    """Ask Linux to SIGKILL this child if the worker dies, so no job runs unsupervised."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------- the sweeper


def enqueue(kind: JobKind, pk: int) -> str:
    """Send job `pk` to the broker (only the id travels); return django-q2's task id."""
    from django_q.tasks import async_task

    if not kind.task:
        raise ValueError(f"The {kind.noun} job kind names no task to queue.")
    return str(async_task(kind.task, pk, task_name=f"{kind.noun.replace(' ', '-')}-{pk}") or "")


# Tasks read from the broker at most, per sweep (a longer queue: the rest count as waiting).
QUEUE_SCAN_LIMIT = 10_000


def waiting_in_queue() -> set[tuple[str, Any]] | None:
    """Return (task path, first argument) of every task waiting in the broker, not yet taken.

    None when the broker cannot be read this way (or the queue is longer than we read): then
    nothing is queued again. The ORM broker's taken tasks carry a lock in the future; the Redis
    broker's are gone from its list.
    """
    from django.utils import timezone as tz
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM
    from django_q.brokers.redis_broker import Redis
    from django_q.signing import SignedPackage

    broker = get_broker()
    payloads: list[Any]
    if isinstance(broker, ORM):
        payloads = list(broker.get_connection().filter(
            key=broker.list_key, lock__lte=tz.now()).values_list("payload", flat=True)[
            :QUEUE_SCAN_LIMIT + 1])
    elif isinstance(broker, Redis):
        payloads = broker.connection.lrange(broker.list_key, 0, QUEUE_SCAN_LIMIT)
    else:
        return None
    if len(payloads) > QUEUE_SCAN_LIMIT:
        return None
    waiting: set[tuple[str, Any]] = set()
    for payload in payloads:
        try:
            task = SignedPackage.loads(payload)
        except Exception:  # another app's task, or a key change: not one of ours
            continue
        args = task.get("args") or ()
        waiting.add((str(task.get("func")), args[0] if args else None))
    return waiting


def requeue_after_s() -> float:
    return float(_setting("JOB_REQUEUE_AFTER_S", 120))


def requeue_lost(kind: JobKind) -> int:
    """Queue again the jobs queued for a while that no longer wait in the broker; return how many.

    A cluster takes tasks off the queue ahead of its free workers; one killed then takes them
    along. Queuing such a job again is safe even when it was only slow to start: the first copy
    to claim the row runs it, the other finds it taken and does nothing.
    """
    if not kind.task:
        return 0
    cutoff = timezone.now() - timedelta(seconds=requeue_after_s())
    queued = kind.rows.filter(status=kind.queued, created_at__lt=cutoff)
    if kind.queued == kind.running:
        queued = queued.filter(started_at__isnull=True)
    if kind.cancellable:
        queued = queued.filter(cancel_requested=False)
    pks = list(queued.values_list("pk", flat=True))
    waiting = waiting_in_queue() if pks else None  # the broker read only when it matters
    if waiting is None:
        return 0
    count = 0
    for pk in pks:
        if (kind.task, pk) in waiting:
            continue
        enqueue(kind, pk)
        count += 1
        log.warning("%s %s was no longer in the queue (its worker stopped before starting it): "
                    "queued again.", kind.noun.capitalize(), pk)
        _log_line(kind, pk, "The worker that took this job stopped before starting it; it was "
                            "queued again.")
    return count


def _log_line(kind: JobKind, pk: int, line: str) -> None:
    if not kind.log_field:
        return
    lines = kind.rows.filter(pk=pk).values_list(kind.log_field, flat=True).first()
    if lines is not None:
        kind.rows.filter(pk=pk).update(**{kind.log_field: [*lines, line][-500:]})


def fail_stale(kind: JobKind, *, stale_s: float | None = None) -> int:
    """End running jobs whose heartbeat stopped, queue again the queued ones a dead worker took,
    and fail queued ones never started within the queue timeout; return how many."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_s if stale_s is not None else stale_after_s())
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    dead = kind.rows.filter(stale, status=kind.running)
    if kind.queued == kind.running:
        dead = dead.filter(started_at__isnull=False)
    pks = list(dead.values_list("pk", flat=True))
    count = 0
    if kind.cancellable:  # someone asked to cancel it and the worker is gone: their wish wins
        count += dead.filter(cancel_requested=True).update(
            status=kind.cancelled, **{kind.ended_field: now})
    count += dead.update(status=kind.failed, error=kind.stale_message, **{kind.ended_field: now})
    # A job no worker started within its queue timeout fails; one queued for less long that no
    # longer waits in the broker is queued again (after this, so never both).
    queued_s = float(_setting(kind.queue_timeout_setting, 24 * 3600))
    lost = kind.rows.filter(status=kind.queued, created_at__lt=now - timedelta(seconds=queued_s))
    if kind.queued == kind.running:
        lost = lost.filter(started_at__isnull=True)
    pks += list(lost.values_list("pk", flat=True))
    count += lost.update(status=kind.failed, error=kind.lost_message, **{kind.ended_field: now})
    count += requeue_lost(kind)
    if kind.on_end:
        for pk in pks:
            _call(kind.on_end, pk)
    return count
