"""Stop a search inside a running fit: at a deadline (SIGALRM) or when asked to (SIGUSR1).

A candidate's fit can run for many seconds inside a library, where the engine checks nothing.
Python runs signal handlers between bytecodes of the main thread, and every library the engine
uses returns to Python between boosting rounds or trees, so a handler that raises reaches the
fit within a fraction of a second. It raises only inside `interruptible()`: elsewhere (saving,
refitting the winner) a signal is only remembered.

The job runner's child process installs `on_stop_signal` for SIGUSR1 when it starts; the
supervisor sends SIGUSR1 when someone asks to stop and keep the best so far.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

_state: dict[str, Any] = {"requested": False, "armed": False, "fired": None}


class Interrupted(BaseException):  # noqa: N818 - it is what happened, not an error
    """A fit was interrupted: `reason` is "stop" (asked to stop) or "clock" (deadline).

    A BaseException, like KeyboardInterrupt, so that no library's `except Exception` in the
    middle of a fit swallows it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def on_stop_signal(_signum: int = 0, _frame: Any = None) -> None:
    """Remember a request to stop early; interrupt the fit when one is running."""
    _state["requested"] = True
    if _state["armed"]:
        _state["fired"] = "stop"
        raise Interrupted("stop")


def _on_alarm(_signum: int, _frame: Any) -> None:
    if _state["armed"]:
        _state["fired"] = "clock"
        raise Interrupted("clock")


def reason_of(exc: BaseException) -> str | None:
    """Why a fit ended with `exc`: "stop" or "clock" when one of our signals ended it, else
    None (a real error, or a real Ctrl-C). CatBoost turns any exception a signal handler
    raises during its training into KeyboardInterrupt, so that one is read from the state."""
    if isinstance(exc, Interrupted):
        return exc.reason
    if isinstance(exc, KeyboardInterrupt):
        return _state["fired"]
    return None


def stop_requested() -> bool:
    """Tell whether this process was asked to stop early (SIGUSR1 or `request_stop`)."""
    return _state["requested"]


def request_stop() -> None:
    """Ask to stop early from Python (a cooperative stop; tests, inline jobs)."""
    _state["requested"] = True


def reset() -> None:
    """Forget an earlier request (each job starts afresh)."""
    _state["requested"] = False
    _state["armed"] = False
    _state["fired"] = None


@contextlib.contextmanager
def interruptible(deadline: float | None) -> Iterator[None]:
    """Run the block so that a stop request or the monotonic `deadline` raises Interrupted in
    it. In other threads than the main one nothing is armed (signals reach only the main
    thread): the block runs to its end and the caller checks between steps."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state["requested"]:
        raise Interrupted("stop")
    _state["fired"] = None
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    if deadline is not None:
        signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()))
    _state["armed"] = True
    try:
        yield
    finally:
        _state["armed"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
