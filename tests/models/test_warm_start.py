"""A web process warms up at start: prediction code first, then recent models into its cache."""

from __future__ import annotations

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
    thread = warm_start(models=5)
    assert thread is not None
    thread.join(timeout=60)
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
