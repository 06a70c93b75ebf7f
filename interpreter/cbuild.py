"""Compile C source into a shared library, once, and load it with ctypes.

The engine's fast paths (the compiled waterfall, the collateral and analytics
kernels) are C generated or written here and built with the machine's C
compiler (``$CC``, else ``cc``/``gcc``). A library is cached under
``dsl.cachedir.cache_dir('c')`` by a hash of its source, compiler and flags,
so it is compiled once per deal edit, not once per run. Without a compiler the
numpy engine runs instead (same results, slower): ``available()`` says which.

Flags keep IEEE arithmetic exact as written (no -ffast-math, no fused
multiply-add contraction), so the C paths reproduce the numpy paths.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional

from dsl import cachedir
from dsl.cachedir import cache_dir

FLAGS = ("-O3", "-std=c99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-w")
_loaded: Dict[str, ctypes.CDLL] = {}


class CompileError(RuntimeError):
    """The C compiler rejected source this package generated: a bug here, not in the deal."""


_which: Dict[str, Optional[str]] = {}


def compiler() -> Optional[str]:
    """The C compiler to use, or None (then the numpy paths run)."""
    if os.environ.get("WATERFALL_ENGINE", "").strip().lower() == "numpy":
        return None
    cc = os.environ.get("CC") or ""
    if cc not in _which:  # a PATH search, once per process
        _which[cc] = shutil.which(cc) if cc else (shutil.which("cc") or shutil.which("gcc"))
    return _which[cc]


def available() -> bool:
    return compiler() is not None


def load(name: str, source: str, note: str = "") -> Optional[ctypes.CDLL]:
    """The library built from ``source`` (compiled now if not cached), or None
    when there is no C compiler. Raises CompileError if compilation fails.
    ``note`` is said on a terminal's stderr while compiling (it takes seconds)."""
    cc = compiler()
    if cc is None:
        return None
    key = hashlib.sha256("\0".join((source, cc, *FLAGS, sys.platform)).encode()).hexdigest()[:20]
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    folder = cache_dir("c")
    tmp_root = None
    if folder is None:
        tmp_root = tempfile.mkdtemp(prefix="waterfall-c-")
        folder = Path(tmp_root)
    so = folder / f"{name}-{key}.so"
    if not so.exists():
        if note and sys.stderr.isatty():
            print(f"compiling {note} (once, until it changes) ...", file=sys.stderr, flush=True)
        _compile(cc, source, so)
        if tmp_root is None:
            prune(folder)
    else:
        _touch(so)  # recently used: kept when the folder is pruned
    lib = ctypes.CDLL(str(so))
    _loaded[key] = lib
    if tmp_root is not None:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return lib


MAX_LIBRARIES = 200  # compiled libraries kept in the cache folder (a deal makes one per edit)


def prune(folder: Path, keep: int = MAX_LIBRARIES) -> None:
    """Remove the least recently used libraries (and index entries) beyond ``keep``."""
    cachedir.prune(folder, "*.so", keep)
    cachedir.prune(folder, "*-index-*", 2 * keep)


def _touch(p: Path) -> None:
    try:
        os.utime(p)
    except OSError:
        pass


def load_file(so: Path) -> Optional[ctypes.CDLL]:
    """A library this module built earlier (see ``load``), by its path; None if it is gone."""
    key = str(so)
    lib = _loaded.get(key)
    if lib is None and so.exists():
        lib = _loaded[key] = ctypes.CDLL(key)
    return lib


def _compile(cc: str, source: str, so: Path) -> None:
    # Build beside the target and rename into place: another process building
    # the same library at the same time never sees a half-written file.
    fd, tmp_c = tempfile.mkstemp(suffix=".c", dir=so.parent)
    tmp_so = tmp_c[:-2] + ".so"
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        proc = subprocess.run([cc, *FLAGS, "-o", tmp_so, tmp_c, "-lm"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise CompileError(f"{cc} failed on generated source {so.name}:\n{proc.stderr[-4000:]}")
        os.replace(tmp_so, so)
    finally:
        for p in (tmp_c, tmp_so):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


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


def ptr(a) -> ctypes.c_void_p:
    """A numpy array's data pointer for a C call (the array must stay alive)."""
    return ctypes.c_void_p(a.ctypes.data)
