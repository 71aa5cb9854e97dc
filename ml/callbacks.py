"""Progress reporting from the engine to whoever runs it (Ludwig-style no-op hooks)."""

from __future__ import annotations

from typing import Any

from ml.errors import TrainingCancelled


class ProgressCallback:
    """Receives progress; every hook does nothing by default."""

    def on_progress(self, fraction: float, message: str) -> None:
        """Overall progress in 0..1 with a short human message."""

    def on_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        """One finished Keras epoch; `logs` holds loss, val_loss and metrics (floats)."""

    def on_log(self, message: str) -> None:
        """A log line worth showing to the user."""

    def on_trial(self, trial: dict[str, Any]) -> None:
        """One finished tuning trial or `auto` candidate: its params (and algorithm), mean and
        std score (None when it failed, with `error`), fit time."""

    def should_stop(self) -> bool:
        """Return True to cancel; the engine then raises TrainingCancelled."""
        return False

    def should_wrap_up(self) -> bool:
        """Return True to stop a search early and keep the best model found so far."""
        return False

    def check_cancelled(self) -> None:
        """Raise TrainingCancelled if the run should stop."""
        if self.should_stop():
            raise TrainingCancelled()
