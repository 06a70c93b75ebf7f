"""Builds for the next run: a library not built yet, compiled with optimisation
by a process of its own while this run goes on (``policy.quick_start``).

The builder is started in a session of its own, with nothing to read or say
(stdin, stdout and stderr are /dev/null): the run that started it exits
without waiting, and a ^C at the terminal does not stop it. It builds with
``build.load``: beside the target, renamed into place after its SHA-256
record, under the compile time limit; so the library is there whole or not at
all, and the next run loads it as any other. One builder per library at a
time: a marker ``.NAME-KEY.building.tmp`` beside the target is created
exclusively and removed at the end; one older than ``stale(limit)`` seconds was
left by a builder that died and is taken over. A builder whose compile timed
out leaves ``.NAME-KEY.timed-out.tmp`` (the limit it had): no builder is
started for that library under the same or a shorter limit until the marker is
swept, an hour later (each run still gets its own unoptimised build).

The source goes to the builder in a temporary file beside the target (mode
0600, in a folder only this user may write), which it reads and removes.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

_started: List[subprocess.Popen] = []  # kept referenced: a Popen collected while running warns


def stale(limit: Optional[float]) -> float:
    """Seconds after which a marker is taken to be a dead builder's: the
    compile time limit (None: none) and a margin."""
    return 120.0 + (limit if limit is not None else 600.0)


def start(name: str, source: str, warn: bool, so: Path, limit: Optional[float]) -> bool:
    """Start building ``source`` into the library ``so`` in the background
    (``limit``: the compile time limit); False if a builder is already at it,
    or it could not be started."""
    marker = so.parent / f".{so.stem}.building.tmp"
    if timed_out(so, limit) or not _claim(marker, limit):
        return False
    src: Optional[str] = None
    try:
        fd, src = tempfile.mkstemp(prefix=f".{so.stem}.", suffix=".source.tmp", dir=so.parent)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(source)
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the interpreter package
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        proc = subprocess.Popen(
            [sys.executable, "-m", "interpreter.native.builder", name, src, str(marker),
             "warn" if warn else "quiet", str(so.parent)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True, cwd=str(so.parent), env=env)
    except (OSError, UnicodeEncodeError, ValueError):
        for p in (src, str(marker)):
            if p is not None:
                _unlink(p)
        return False
    _started.append(proc)
    return True


def failed_marker(so: Path) -> Path:
    """Left by a builder whose compile timed out; swept with the folder's other
    ``*.tmp`` files after an hour (``dsl.cachedir.sweep``), so the build is tried again then."""
    return so.parent / f".{so.stem}.timed-out.tmp"


def timed_out(so: Path, limit: Optional[float]) -> bool:
    """A builder's compile of ``so`` timed out under a limit no shorter than ``limit``
    (None: no limit, which a timed-out build has not had): starting another would only
    time out again, each run, for as long as the source is the same."""
    try:
        recorded = float(failed_marker(so).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return False
    return limit is not None and recorded >= limit


def record_timeout(so: Path, limit: Optional[float]) -> None:
    """Say, beside the target, that its compile timed out under ``limit`` seconds."""
    if limit is None:
        return
    try:
        fd = os.open(failed_marker(so), os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{limit!r}\n")
    except OSError:
        pass


def _claim(marker: Path, limit: Optional[float]) -> bool:
    """Create ``marker`` (exclusively); a stale one is replaced."""
    for _ in range(2):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            try:
                age = time.time() - os.lstat(marker).st_mtime
            except OSError:
                continue
            if age < stale(limit):
                return False
            _unlink(str(marker))
            continue
        except OSError:
            return False
        os.close(fd)
        return True
    return False


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
