from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The floor above the others: pages and commands that read or drive every app."""

    name = "apps.home"
    label = "home"
