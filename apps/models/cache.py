"""An in-process LRU of loaded bundles, so repeated predictions don't reload the model file.

Keyed by (model pk, sha256): a row whose file changes gets a new key, and `bundle_cache_forget`
drops a deleted model at once. Each web/worker process has its own cache.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage

from ml.errors import BundleError

_CHUNK = 1024 * 1024
_DAMAGED = (
    "The model file is damaged or was not written by this platform "
    "(its checksum does not match the registry); it was not loaded."
)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    keys: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    bundle: Any = None
    error: BaseException | None = None


class BundleCache:
    """A thread-safe LRU of `ml.bundle.Bundle` objects, bounded in count and in bytes.

    Bytes are each bundle's pickled size (about what it holds in memory). A bundle bigger than
    `max_bytes` on its own is served but not kept.
    """

    def __init__(self, maxsize: int, max_bytes: int | None = None) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[int, str], _Pending] = {}
        self.hits = 0
        self.misses = 0

    def get(self, model: Any) -> Any:
        """Return the model's loaded bundle, loading (and verifying) it on a miss.

        A model being loaded by another thread (the warm-up, or a concurrent request) is
        waited for, not loaded twice.
        """
        key = (model.pk, model.sha256)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            waiting = self._loading.get(key)
            owner = waiting is None
            if waiting is None:
                pending = self._loading[key] = _Pending()
                self.misses += 1
            else:
                pending = waiting
                self.hits += 1
        if not owner:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.bundle
        # Load outside the lock: a slow load must not block predictions on other models.
        try:
            pending.bundle = bundle_load(model)
        except BaseException as exc:
            pending.error = exc
            raise
        finally:
            with self._lock:
                if pending.error is None and self._fits(pending.bundle):
                    self._items[key] = pending.bundle
                    self._items.move_to_end(key)
                    while len(self._items) > self.maxsize or self._over_bytes():
                        self._items.popitem(last=False)
                del self._loading[key]
            pending.done.set()
        return pending.bundle

    def _fits(self, bundle: Any) -> bool:
        return self.max_bytes is None or getattr(bundle, "nbytes", 0) <= self.max_bytes

    def _over_bytes(self) -> bool:
        return self.max_bytes is not None and self.nbytes() > self.max_bytes

    def nbytes(self) -> int:
        """Bytes held (unlocked: callers hold the lock or accept a passing value)."""
        return sum(getattr(b, "nbytes", 0) for b in list(self._items.values()))

    def forget(self, pk: int) -> None:
        """Drop every cached bundle of model `pk`."""
        with self._lock:
            for key in [k for k in self._items if k[0] == pk]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.hits, self.misses, list(self._items))


def _file_sha256(fh: Any) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def serving_process_name() -> str:
    """This process's name among serving processes: host:pid."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def bundle_file_check(model: Any) -> None:
    """Raise BundleError unless the stored file is the one registered (same SHA-256)."""
    try:
        with default_storage.open(model.file, "rb") as fh:
            actual = _file_sha256(fh)
    except (FileNotFoundError, OSError) as exc:
        raise BundleError("The model file is missing from storage.") from exc
    if actual != model.sha256:
        raise BundleError(_DAMAGED)


def bundle_load(model: Any) -> Any:
    """Load the model's bundle after checking its checksum and (in ml.bundle) its signature."""
    from ml.bundle import load_bundle

    try:
        with default_storage.open(model.file, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError) as exc:
        raise BundleError("The model file is missing from storage.") from exc
    # One read, checked then loaded: the checksum stops a valid bundle of another model (or
    # workspace) swapped in on disk; load_bundle's HMAC stops anything this platform did not
    # sign, before anything is unpickled.
    if hashlib.sha256(data).hexdigest() != model.sha256:
        raise BundleError(_DAMAGED)
    bundle = load_bundle(io.BytesIO(data), key=settings.MODEL_SIGNING_KEY)
    from ml.fastpath import prepare

    prepare(bundle.pipeline)  # the encoders' lookup tables, now rather than on a first call
    return bundle


bundle_cache = BundleCache(maxsize=getattr(settings, "MODEL_CACHE_SIZE", 16),
                           max_bytes=getattr(settings, "MODEL_CACHE_MAX_BYTES", None) or None)



def warm_start(*, models: int | None = None, background: bool = True,
               poll_s: float | None = None, wait: bool = False) -> ModelWarmer | None:
    """Make a new web process answer its first predictions at warm speed.

    Runs the engine's warm-up (imports and first-use setup of the prediction code, ~1-2 s) at
    once. Then a ModelWarmer loads the `models` most recently registered scikit-learn models
    (default MODEL_WARM_COUNT, at most the cache's size) into this process's cache and, every
    `poll_s` seconds (MODEL_WARM_POLL_S; 0 turns it off), loads models registered since - so
    the first call after a model is registered finds it loaded, not only after a restart.
    In a background thread unless `background` is False (then one pass, no polling); with
    `wait` the first pass runs before this returns (a web process loads its models before it
    serves, so its first calls are not slowed by loading them beside it).
    """
    from apps.models.services import _thread_controller
    from ml.predict import warm_up

    warm_up()
    _thread_controller()  # found once, now, not by the first prediction
    count = getattr(settings, "MODEL_WARM_COUNT", 8) if models is None else models
    count = min(count, bundle_cache.maxsize)
    if count <= 0:
        return None
    poll = getattr(settings, "MODEL_WARM_POLL_S", 0.5) if poll_s is None else poll_s
    warmer = ModelWarmer(count, poll_s=poll)
    if wait or not background:
        warmer.warm_once()
    if background:
        import atexit

        atexit.register(warmer.stop)  # a process that stops is not waited for (see announce)
        warmer.start()
    return warmer


class ModelWarmer(threading.Thread):
    """Loads recently registered models into this process's cache; Keras models excepted.

    Keras models are left out: loading one would import TensorFlow into the web process
    (~0.5 GB). Warming is best effort: a damaged file is skipped (it answers its own 409 when
    asked for) and any other error is logged; serving goes on without it.
    """

    # A live process says so at least this often (MODEL_READY_WAIT_S's readers count a process
    # seen within SERVING_LIVE_S as live).
    ANNOUNCE_EVERY_S = 5.0

    def __init__(self, count: int, *, poll_s: float = 0.0) -> None:
        super().__init__(name="model-warm-start", daemon=True)
        self.count, self.poll_s = count, poll_s
        self.since: Any = None
        self.stopped = threading.Event()
        self.passes = 0
        self.process_name = serving_process_name()  # (Thread.name is the thread's)
        self._announced: tuple[Any, float] = (None, 0.0)

    def run(self) -> None:
        from django.db import close_old_connections, connection

        try:
            if not self.passes:
                self.warm_once()
            while self.poll_s > 0 and not self.stopped.wait(self.poll_s):
                close_old_connections()  # as after a request: a broken one is replaced
                self.warm_once()
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        if self._announced[0] is not None:
            from apps.models.services import serving_process_gone

            try:
                serving_process_gone(name=self.process_name)
            except Exception:  # noqa: BLE001 - at exit the database may be gone: it ages out
                pass

    def announce(self) -> None:
        """Record which models this process holds, when that changed or every few seconds."""
        import time as _time

        from apps.models.services import serving_process_announce

        loaded = sorted({pk for pk, _sha in bundle_cache.stats().keys})
        last, at = self._announced
        if loaded != last or _time.monotonic() - at > self.ANNOUNCE_EVERY_S:
            serving_process_announce(name=self.process_name, loaded=loaded)
            self._announced = (loaded, _time.monotonic())

    def warm_once(self) -> None:
        from apps.models.selectors import models_to_warm

        try:
            for model in models_to_warm(limit=self.count, since=self.since):
                # The database's timestamps, not this machine's clock, mark what was seen.
                if self.since is None or model.created_at > self.since:
                    self.since = model.created_at
                try:
                    bundle_cache.get(model)
                except BundleError:
                    continue
            self.announce()
        except Exception:  # noqa: BLE001 - best effort, see the class
            import logging

            logging.getLogger(__name__).exception("Warming the model cache failed")
            return
        self.passes += 1
