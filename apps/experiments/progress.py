"""Live state of a running job: throttled progress writes, a heartbeat thread, the cancel flag.

Every write here is a plain `UPDATE ... WHERE status='running'` in autocommit mode, never inside
a transaction, so the web sees progress as it happens. An update that matches no row means the
job was ended by someone else (the stale sweeper, a delete): the callback then asks the engine
to stop.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.utils import timezone

from apps.experiments.models import Experiment, Status
from ml.callbacks import ProgressCallback
from ml.jsonsafe import finite_or_none

log = logging.getLogger(__name__)

MAX_LOG_LINES = 500


class ExperimentCallback(ProgressCallback):
    """Turn engine progress into throttled UPDATEs of one running experiment row."""

    def __init__(self, experiment_id: int, *, write_every_s: float = 0.5,
                 check_cancel_every_s: float = 0.5) -> None:
        self.experiment_id = experiment_id
        self.write_every_s = write_every_s
        self.check_cancel_every_s = check_cancel_every_s
        self.progress = 0.0
        self.lines: list[str] = []
        self.history: list[dict[str, Any]] = []
        # Finished trials (tuning) or candidates (auto), in the order they ended, each with the
        # best score so far: the page shows them while the job runs, and after a cancel.
        self.trials: list[dict[str, Any]] = []
        self._dirty = False
        self._last_write = 0.0
        self._last_check = 0.0
        self._stop = False
        self._wrap_up = False

    # -- engine hooks

    def on_progress(self, fraction: float, message: str) -> None:
        self.progress = max(self.progress, min(1.0, float(fraction)))
        if message and (not self.lines or self.lines[-1] != message):
            self.lines.append(message)
            # A new step is written at once: it often starts the longest wait ("Fitting the
            # final model"), and throttled it stayed unwritten until the step ended.
            self._dirty = True
            self.flush()
            return
        self._changed()

    def on_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if finite_or_none(v) is not None}
        self.history.append({"epoch": int(epoch), **clean})
        self._changed()

    def on_log(self, message: str) -> None:
        self.lines.append(str(message))
        self._changed()

    def on_trial(self, trial: dict[str, Any]) -> None:
        from ml.evaluation import LOWER_IS_BETTER
        from ml.predict import to_json_safe

        params = dict(trial.get("params") or {})
        row: dict[str, Any] = {"trial": len(self.trials) + 1}
        if "algorithm" in params and "params" in params:  # an auto candidate
            row["algorithm"] = params["algorithm"]
            params = dict(params["params"] or {})
        score = trial.get("mean_score")
        scores = [t["mean_score"] for t in self.trials if t.get("mean_score") is not None]
        if score is not None:
            scores.append(score)
        lower = trial.get("metric") in LOWER_IS_BETTER
        row.update({"mean_score": finite_or_none(score),
                    "std_score": finite_or_none(trial.get("std_score")),
                    "best_so_far": (finite_or_none((min if lower else max)(scores))
                                    if scores else None),
                    "fit_time_s": trial.get("fit_time_s"), "params": to_json_safe(params)})
        if trial.get("error"):
            row["error"] = str(trial["error"])[:300]
        self.trials.append(row)
        self._dirty = True
        self.flush()  # a trial takes seconds at least: show each one as it ends

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last_check >= self.check_cancel_every_s:
            self._last_check = now
            row = Experiment.objects.filter(pk=self.experiment_id).values_list(
                "status", "cancel_requested", "stop_requested").first()
            self._stop = row is None or row[0] != Status.RUNNING or bool(row[1])
            self._wrap_up = bool(row and row[2])
        return self._stop

    def should_wrap_up(self) -> bool:
        """Asked to stop early and keep the best so far (read with the cancel flag)."""
        from ml import interrupt

        self.should_stop()
        return self._wrap_up or interrupt.stop_requested()

    # -- writes

    def _changed(self) -> None:
        self._dirty = True
        if time.monotonic() - self._last_write >= self.write_every_s:
            self.flush()

    def flush(self) -> None:
        """Write progress, log and history now (always called once at the end)."""
        if not self._dirty:
            return
        self._dirty = False
        self._last_write = time.monotonic()
        fields: dict[str, Any] = {"progress": round(self.progress, 4),
                                  "log": self.lines[-MAX_LOG_LINES:], "history": self.history,
                                  "heartbeat_at": timezone.now()}
        if self.trials:
            fields["leaderboard"] = self.trials  # the final, ranked board replaces it
        updated = Experiment.objects.filter(pk=self.experiment_id,
                                            status=Status.RUNNING).update(**fields)
        if not updated:
            self._stop = True  # ended elsewhere: stop at the engine's next check
