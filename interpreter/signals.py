"""Signals during a run: SIGTERM, SIGINT and SIGHUP end run-deal quietly
(``Interrupted`` unwinds the run, every ``finally`` removes its temporaries,
the exit status is 128 + the signal); a step that must not be cut in half
(a swap of output folders) defers them (``signals_deferred``)."""
from __future__ import annotations

import contextlib
import signal


class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived while ``main`` ran. A BaseException, so
    no ``except Exception`` stops it: it unwinds the run, every ``finally`` on
    the way removes its temporaries, and ``main`` returns 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_deferred = {"depth": 0, "pending": None}


def _on_signal(signum, frame):
    if _deferred["depth"]:
        _deferred["pending"] = signum  # raised when the step in progress is done
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_deferred():
    """A step that must not be cut in half (a swap, a clean-up): a signal that
    arrives meanwhile is raised when the step ends."""
    _deferred["depth"] += 1
    try:
        yield
    finally:
        _deferred["depth"] -= 1
        if not _deferred["depth"] and _deferred["pending"] is not None:
            signum, _deferred["pending"] = _deferred["pending"], None
            raise Interrupted(signum)


@contextlib.contextmanager
def signals_end_quietly():
    """While run-deal runs: SIGTERM, SIGINT and SIGHUP raise Interrupted (a signal
    ignored on entry, as under nohup, stays ignored); the handlers found on entry
    are put back on the way out."""
    import threading
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGINT", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is None or signal.getsignal(sig) == signal.SIG_IGN:
                continue
            try:
                previous[sig] = signal.signal(sig, _on_signal)
            except (ValueError, OSError):
                pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _deferred["pending"] = None
