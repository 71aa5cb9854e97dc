"""Registering, renaming and deleting models."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.storage import default_storage

from apps.core.models import AuditEvent
from apps.models.models import Model
from apps.models.services import model_delete, model_register, model_rename

pytestmark = pytest.mark.django_db


def test_it_registers_a_train_result_with_a_signed_bundle(register: Any, clf_result: Any) -> None:
    from django.conf import settings

    from ml.bundle import load_bundle

    model = register(clf_result, name="Churn")
    assert (model.name, model.version, model.task, model.target) == (
        "Churn", 1, "classification", "label")
    assert model.classes == ["no", "yes"]
    assert [c["name"] for c in model.input_schema] == ["x1", "x2", "color"]
    assert model.metrics["f1_macro"] == pytest.approx(clf_result.metrics["f1_macro"])
    assert model.file.startswith(f"workspaces/{model.workspace.pk}/models/")
    assert model.library_versions["sklearn"]
    with default_storage.open(model.file, "rb") as fh:
        data = fh.read()
    assert len(data) == model.size_bytes
    bundle = load_bundle(io.BytesIO(data), key=settings.MODEL_SIGNING_KEY)
    assert bundle.metadata["target"] == "label"
    assert AuditEvent.objects.filter(verb="model.register", workspace=model.workspace).exists()


def test_it_names_a_model_after_its_algorithm_by_default(register: Any, reg_result: Any) -> None:
    assert register(reg_result).name == "linear on price"


def test_versions_increase_per_name_within_a_workspace(
    register: Any, clf_result: Any, other_workspace: Any
) -> None:
    first = register(clf_result, name="Churn")
    second = register(clf_result, name="Churn")
    other_name = register(clf_result, name="Fraud")
    elsewhere = register(clf_result, name="Churn", ws=other_workspace)
    assert (first.version, second.version, other_name.version, elsewhere.version) == (1, 2, 1, 1)


def test_renaming_makes_the_model_the_next_version_of_the_new_name(
    register: Any, clf_result: Any, alice: Any
) -> None:
    register(clf_result, name="Churn")
    model = register(clf_result, name="Draft")
    model_rename(model=model, name="Churn", user=alice)
    model.refresh_from_db()
    assert (model.name, model.version) == ("Churn", 2)


def test_deleting_removes_the_file_and_the_row(
    register: Any, clf_result: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    model = register(clf_result)
    name = model.file
    with django_capture_on_commit_callbacks(execute=True):
        model_delete(model=model, user=alice)
    assert not Model.objects.filter(pk=model.pk).exists()
    assert not default_storage.exists(name)


def test_a_failed_row_insert_leaves_no_file_behind(
    register: Any, clf_result: Any, alice: Any, workspace: Any, monkeypatch: Any
) -> None:
    from apps.models.services import registry

    saved: list[str] = []
    real_save = registry.storage_save

    def spy(name: str, content: Any) -> str:
        saved.append(real_save(name, content))
        return saved[-1]

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(registry, "storage_save", spy)
    monkeypatch.setattr(registry, "_create_row", broken)
    with pytest.raises(RuntimeError):
        model_register(experiment=None, result=clf_result, user=alice, workspace=workspace)
    assert saved and not default_storage.exists(saved[0])
