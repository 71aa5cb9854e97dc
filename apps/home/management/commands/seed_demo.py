"""Seed a demo user and workspace (idempotent): `manage.py seed_demo`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.accounts.models import Workspace
from apps.accounts.services import workspace_create

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "modelworks-demo"
DEMO_WORKSPACE = "Demo"


class Command(BaseCommand):
    help = "Create the demo user, workspace, sample datasets and a trained model (once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-train", action="store_true", help="Skip the demo experiment.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            workspace = workspace_create(name=DEMO_WORKSPACE, owner=user)
        from apps.home.demo import demo_seed_content

        demo_seed_content(workspace=workspace, user=user, train=not options["no_train"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: log in at http://127.0.0.1:8000/ as "
                f"“{DEMO_USERNAME}” / “{DEMO_PASSWORD}” (workspace “{workspace.name}”)."
            )
        )
