"""One backend policy for every compiled kernel: the deal's waterfall
(``ckernel``), the collateral projection (``collateral.c_backend``) and the analytics.

Which backend runs:

- the request is the ``engine`` argument, else ``$WATERFALL_ENGINE``, else
  ``auto`` (``requested``); ``numpy`` also hides the compiler from every kernel
  (``build.compiler`` returns None), so nothing is compiled;
- ``auto`` runs C when a compiler is there and the kernel builds; when it
  cannot (no compiler, a compile error or timeout), the numpy path runs and the
  reason is said once on stderr, as a RuntimeWarning (``fall_back``; run-deal
  prints it as one line);
- ``c`` runs C or stops with the reason (``Unavailable``);
- a quick start (``quick_start``, run-deal's tables): a kernel not built yet is
  built (-O3) in the background for the next run, and this run gets it
  compiled unoptimised (-O0, a fifth of the time for a deal; the same IEEE
  operations, so the same numbers: tests/native/test_kernels_c.py).
  ``WATERFALL_QUICK_START=off`` compiles with optimisation first, as a library
  call always does.

How a call is split: ``n_threads`` counts the threads (the CPUs this process
may use, a kernel's own thresholds and cap, and the budget of the calling
thread, ``threads``: a grid with chunks in flight gives each one thread), and
``run_split`` runs a function over contiguous ranges of scenarios in that many
threads (the compiled code runs without the GIL, ctypes releases it).
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Callable, List, Optional, Tuple

from .build import later

ENGINES = ("auto", "c", "numpy")


class UnknownEngine(ValueError):
    """An engine name that is not one of ENGINES."""


class Unavailable(RuntimeError):
    """The compiled backend was required (``c``) and cannot run."""


def requested(engine: Optional[str] = None) -> str:
    """The backend asked for: ``engine``, else $WATERFALL_ENGINE, else 'auto'."""
    want = (engine or os.environ.get("WATERFALL_ENGINE") or "auto").strip().lower()
    if want not in ENGINES:
        raise UnknownEngine(f"unknown engine '{want}': use auto, c or numpy")
    return want


def fall_back(what: str, reason, engine: Optional[str] = None, instead: str = "using numpy") -> None:
    """C cannot run (``what``, e.g. "analytics C kernel unavailable") because of
    ``reason``: with 'c' asked for, raise Unavailable; otherwise say so on
    stderr (a RuntimeWarning) and return, and the caller runs numpy."""
    if requested(engine) == "c":
        raise Unavailable(f"{what}: {reason}")
    warnings.warn(f"{what}, {instead}: {reason}", RuntimeWarning, stacklevel=3)


def quick_start_enabled() -> bool:
    return os.environ.get("WATERFALL_QUICK_START", "").strip().lower() not in ("0", "off", "no", "false")


@contextlib.contextmanager
def quick_start(engine: Optional[str] = None):
    """Within the block (in this thread), a kernel not built yet is built for the
    next run by a process of its own, and this run compiles it unoptimised;
    only on 'auto', and unless WATERFALL_QUICK_START=off. For short runs
    (run-deal's tables), where -O3 takes longer than the run."""
    with later(requested(engine) == "auto" and quick_start_enabled()):
        yield


# ---- threads
_local = threading.local()


def thread_budget() -> Optional[int]:
    """How many threads a kernel called from this thread may use (None: as many
    as it likes). A caller that already runs work in parallel, such as a grid
    with several chunks in flight, sets it with ``threads(1)``."""
    return getattr(_local, "budget", None)


@contextlib.contextmanager
def threads(n: int):
    """Within the block, kernels called from this thread use at most ``n`` threads."""
    old = getattr(_local, "budget", None)
    _local.budget = n
    try:
        yield
    finally:
        _local.budget = old


def cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def n_threads(S: int, *, min_scenarios: int = 2, per_thread: int = 1, work: int = 0, min_work: int = 0,
              cap: Optional[int] = None, override: Optional[int] = None) -> int:
    """Threads for a call over ``S`` scenarios: 1 below ``min_scenarios`` or
    ``min_work`` (a thread costs more than it saves); else ``override`` if
    given, else the CPUs, at most ``cap`` and one per ``per_thread`` scenarios;
    never more than the calling thread's budget or than S."""
    if S < max(2, min_scenarios) or work < min_work:
        return 1
    if override is not None:
        n = int(override)
    else:
        n = cpus() if cap is None else min(cap, cpus())
        n = min(n, S // max(1, per_thread))
    budget = thread_budget()
    if budget is not None:
        n = min(n, budget)
    return max(1, min(n, S))


def split(S: int, n: int) -> List[Tuple[int, int]]:
    """``n`` contiguous ranges [s0, s1) covering 0..S-1, as even as whole scenarios allow."""
    n = max(1, min(n, S)) if S > 0 else 1
    bounds = [S * i // n for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run_split(fn: Callable[[int, int, int], None], S: int, n: int) -> None:
    """``fn(i, s0, s1)`` for the i-th of ``split(S, n)``, in ``n`` threads (the
    first in this one); the first error raised in any of them is raised here
    once all have ended."""
    parts = split(S, n)
    if len(parts) == 1:
        fn(0, *parts[0])
        return
    errors: list = []

    def one(i, s0, s1):
        try:
            fn(i, s0, s1)
        except BaseException as e:  # noqa: BLE001 - raised below, in the caller's thread
            errors.append(e)
    workers = [threading.Thread(target=one, args=(i, s0, s1)) for i, (s0, s1) in enumerate(parts) if i > 0]
    for w in workers:
        w.start()
    one(0, *parts[0])
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
