"""The engine's own exceptions: each carries a message meant for a person."""

from __future__ import annotations


class MLError(Exception):
    """Base class; `str(exc)` is a message a user can read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DataError(MLError):
    """The data cannot be used (unreadable CSV, no rows, bad target...)."""


class ConfigError(MLError):
    """A training config or param is wrong; `field` names it (e.g. "params.max_depth")."""

    def __init__(self, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.field = field


class SchemaError(MLError):
    """Input rows do not match a model's input schema; `columns` names the bad ones."""

    def __init__(self, message: str, *, columns: list[str] | None = None) -> None:
        super().__init__(message)
        self.columns = columns or []


class TrainingCancelled(MLError):
    """Raised inside training when the callback asks to stop."""

    def __init__(self, message: str = "Training was cancelled.") -> None:
        super().__init__(message)


class BundleError(MLError):
    """A model file is damaged, altered or was not written by this platform."""


class ExportError(MLError):
    """A model cannot be exported to the requested format."""
