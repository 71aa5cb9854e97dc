"""A web process warms up at start: prediction code first, then recent models into its cache."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from apps.models.cache import bundle_cache, warm_start
from apps.models.models import Model

pytestmark = pytest.mark.django_db


def test_warm_start_loads_the_most_recent_models_within_the_count(
        register: Any, clf_result: Any, reg_result: Any, other_workspace: Any) -> None:
    first = register(reg_result)
    second = register(clf_result, ws=other_workspace)
    third = register(reg_result, name="newest")
    warm_start(models=2, background=False)
    keys = bundle_cache.stats().keys
    assert (third.pk, third.sha256) in keys and (second.pk, second.sha256) in keys
    assert all(key[0] != first.pk for key in keys)


@pytest.mark.django_db(transaction=True)  # the thread reads through its own connection
def test_the_background_warm_start_fills_the_cache_and_skips_damaged_files(
        register: Any, reg_result: Any) -> None:
    good = register(reg_result)
    damaged = register(reg_result, name="damaged")
    Model.objects.filter(pk=damaged.pk).update(sha256="0" * 64)
    warmer = warm_start(models=5, poll_s=0)
    assert warmer is not None
    warmer.join(timeout=60)
    keys = bundle_cache.stats().keys
    assert keys == [(good.pk, good.sha256)]


def test_keras_models_are_never_loaded_into_the_web_process(
        register: Any, reg_result: Any) -> None:
    model = register(reg_result)
    Model.objects.filter(pk=model.pk).update(algorithm="mlp")
    warm_start(models=5, background=False)
    assert bundle_cache.stats().keys == []


def test_a_count_of_zero_warms_only_the_code(register: Any, reg_result: Any) -> None:
    register(reg_result)
    assert warm_start(models=0) is None
    assert bundle_cache.stats().keys == []


@pytest.mark.django_db(transaction=True)
def test_models_registered_after_start_are_loaded_by_the_poller(
        register: Any, reg_result: Any, clf_result: Any) -> None:
    old = register(reg_result)
    warmer = warm_start(models=4, poll_s=0.05)
    assert warmer is not None
    try:
        _wait(lambda: warmer.passes >= 1)
        assert (old.pk, old.sha256) in bundle_cache.stats().keys
        bundle_cache.clear()  # what is loaded from now on comes from polling
        new = register(clf_result, name="registered later")
        _wait(lambda: (new.pk, new.sha256) in bundle_cache.stats().keys)
        assert all(key[0] != old.pk for key in bundle_cache.stats().keys)
    finally:
        warmer.stop()
        warmer.join(timeout=30)
    assert not warmer.is_alive()


def _wait(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the warmer did not get there in time"
        time.sleep(0.02)


def test_concurrent_first_calls_load_a_model_once(
        register: Any, reg_result: Any, monkeypatch: Any) -> None:
    from apps.models import cache

    model = register(reg_result)
    loads: list[int] = []
    gate = threading.Event()
    real = cache.bundle_load

    def slow_load(m: Any) -> Any:
        loads.append(m.pk)
        gate.wait(10)
        return real(m)

    monkeypatch.setattr(cache, "bundle_load", slow_load)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(bundle_cache.get(model)))
               for _ in range(3)]
    for t in threads:
        t.start()
    _wait(lambda: len(loads) == 1)
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join(timeout=30)
    assert loads == [model.pk]
    assert len(results) == 3 and results[0] is results[1] is results[2]


def test_a_failed_load_reaches_every_waiter_and_is_not_cached(
        register: Any, reg_result: Any) -> None:
    from ml.errors import BundleError

    model = register(reg_result)
    Model.objects.filter(pk=model.pk).update(sha256="0" * 64)
    model.refresh_from_db()
    with pytest.raises(BundleError):
        bundle_cache.get(model)
    assert bundle_cache.stats().keys == []


@pytest.mark.django_db(transaction=True)
def test_waiting_warm_start_has_loaded_the_models_when_it_returns(
        register: Any, reg_result: Any) -> None:
    """A web process loads its models before it serves (config/wsgi.py waits), then polls."""
    model = register(reg_result)
    warmer = warm_start(models=3, poll_s=0.05, wait=True)
    assert warmer is not None
    try:
        assert (model.pk, model.sha256) in bundle_cache.stats().keys  # already, no waiting
        assert warmer.passes == 1 and warmer.is_alive()
    finally:
        warmer.stop()
        warmer.join(timeout=30)


def test_a_loaded_model_has_its_encoder_tables_built(register: Any, clf_result: Any) -> None:
    """Loading builds the fast path's lookup tables, so the first call does not build them."""
    from ml.fastpath import _TABLES, _table_encoder, _walk

    model = register(clf_result)
    bundle = bundle_cache.get(model)
    encoders = [s for s in _walk(bundle.pipeline) if _table_encoder(s)]
    assert encoders and all(e in _TABLES for e in encoders)


def test_a_warmer_announces_which_models_its_process_holds(
        register: Any, reg_result: Any) -> None:
    from apps.models.cache import serving_process_name
    from apps.models.models import ServingProcess

    model = register(reg_result)
    warm_start(models=3, background=False)
    row = ServingProcess.objects.get(name=serving_process_name())
    assert row.loaded == [model.pk]


def test_a_finished_model_waits_for_the_live_serving_processes_only(
        register: Any, reg_result: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.models.models import ServingProcess
    from apps.models.services import model_wait_served

    model = register(reg_result)
    assert model_wait_served(model=model, timeout=5) == (0, 0)  # nobody serves: no wait
    ServingProcess.objects.create(name="dead:1", seen_at=timezone.now() - timedelta(hours=1),
                                  loaded=[])
    ServingProcess.objects.create(name="web:1", seen_at=timezone.now(), loaded=[model.pk])
    started = time.monotonic()
    assert model_wait_served(model=model, timeout=5) == (1, 1)  # the dead one is not waited for
    assert time.monotonic() - started < 2
    ServingProcess.objects.create(name="web:2", seen_at=timezone.now(), loaded=[])
    started = time.monotonic()
    assert model_wait_served(model=model, timeout=0.3) == (1, 2)  # bounded: gives up
    assert time.monotonic() - started >= 0.3


def test_keras_models_are_not_waited_for(register: Any, reg_result: Any) -> None:
    from django.utils import timezone

    from apps.models.models import ServingProcess
    from apps.models.services import model_wait_served

    model = register(reg_result)
    Model.objects.filter(pk=model.pk).update(algorithm="mlp")
    model.refresh_from_db()
    ServingProcess.objects.create(name="web:1", seen_at=timezone.now(), loaded=[])
    assert model_wait_served(model=model, timeout=5) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_the_poller_loads_a_new_model_while_the_experiment_waits(
        register: Any, reg_result: Any, clf_result: Any) -> None:
    """The handshake end to end in one process: register, the poller loads, the wait ends."""
    from apps.models.services import model_wait_served

    register(reg_result)
    warmer = warm_start(models=4, poll_s=0.05, wait=True)
    assert warmer is not None
    try:
        new = register(clf_result, name="registered later")
        holding, live = model_wait_served(model=new, timeout=30)
        assert (holding, live) == (1, 1)
        assert (new.pk, new.sha256) in bundle_cache.stats().keys
    finally:
        warmer.stop()
        warmer.join(timeout=30)


def test_the_warmer_thread_keeps_its_own_name() -> None:
    """The serving process's name is not the thread's (Thread.name names it in logs)."""
    from apps.models.cache import ModelWarmer, serving_process_name

    warmer = ModelWarmer(1)
    assert warmer.name == "model-warm-start"
    assert warmer.process_name == serving_process_name()
