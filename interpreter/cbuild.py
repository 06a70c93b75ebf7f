"""Compile C source into a shared library, once, and load it with ctypes.

The engine's fast paths (the compiled waterfall, the collateral and analytics
kernels) are C generated or written here and built with the machine's C
compiler (``$CC``, else ``cc``/``gcc``). A library is cached under
``dsl.cachedir.cache_dir('c')`` by a hash of its source, the compiler (its
path and ``--version``), the flags and the machine, so it is compiled once per
deal edit, not once per run. Without a compiler the numpy engine runs instead
(same results, slower): ``available()`` says which.

Flags keep IEEE arithmetic exact as written (no -ffast-math, no fused
multiply-add contraction), so the C paths reproduce the numpy paths.

The SHA-256 of every library's bytes is recorded beside it when it is built
(``<name>-<key>.sha256``) and checked before the library is loaded: a library
truncated, altered or without its record, or one that cannot be loaded (built
for another machine), is built again (and replaces it), not an error that
repeats. The cache folder's owner and permissions are what is trusted (see
``dsl.cachedir``); the record catches damage.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from dsl import cachedir
from dsl.cachedir import cache_dir

FLAGS = ("-O3", "-std=c99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno", "-w")
_loaded: Dict[str, ctypes.CDLL] = {}


class CompileError(RuntimeError):
    """The C compiler rejected source this package generated (a bug here, not in
    the deal), or its library could not be loaded."""


_which: Dict[str, Optional[str]] = {}
_versions: Dict[str, str] = {}


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


def compiler_version(cc: str) -> str:
    """The first line of ``cc --version`` (once per process and compiler)."""
    if cc not in _versions:
        try:
            proc = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=10,
                                  stdin=subprocess.DEVNULL)
            lines = (proc.stdout or proc.stderr).strip().splitlines()
            _versions[cc] = lines[0] if lines else ""
        except (OSError, subprocess.SubprocessError):
            _versions[cc] = ""
    return _versions[cc]


def key_parts(cc: str) -> Tuple[str, ...]:
    """What, besides its source, a library depends on: the compiler (path and
    version), the flags, the operating system and the machine architecture."""
    return (cc, compiler_version(cc), *FLAGS, sys.platform, platform.machine())


def library_key(cc: str, source: str) -> str:
    return hashlib.sha256("\0".join((source, *key_parts(cc))).encode()).hexdigest()[:20]


LIBRARY_NAME = re.compile(r"[a-z]+-[0-9a-f]{20}\.so")  # what load() names its libraries


def load(name: str, source: str, note: str = "") -> Optional[ctypes.CDLL]:
    """The library built from ``source`` (compiled now if not cached), or None
    when there is no C compiler. Raises CompileError if compilation fails.
    ``note`` is said on a terminal's stderr while compiling (it takes seconds)."""
    cc = compiler()
    if cc is None:
        return None
    key = library_key(cc, source)
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    folder = cache_dir("c")
    so_name = f"{name}-{key}.so"
    lib = None
    if folder is not None and os.path.lexists(folder / so_name):
        # None if it is not the library recorded when it was built, or cannot be
        # loaded: then built again
        lib = _open(folder / so_name, _recorded(folder / so_name))
        if lib is not None:
            _touch(folder / so_name)  # recently used: kept when the folder is pruned
    if lib is None:
        if note and sys.stderr.isatty():
            print(f"compiling {note} (once, until it changes) ...", file=sys.stderr, flush=True)
        lib = _build(cc, source, folder, so_name, note or f"the {name} kernel")
    _loaded[key] = lib
    return lib


def _build(cc: str, source: str, folder: Optional[Path], so_name: str, what: str) -> ctypes.CDLL:
    """Compile into the cache folder; without one (or if it is full), into a
    temporary folder removed once the library is loaded."""
    if folder is not None:
        try:
            digest = _compile(cc, source, folder / so_name, what)
        except OSError:
            pass  # e.g. a full disk: build outside the cache
        else:
            prune(folder)
            lib = _open(folder / so_name, digest)
            if lib is None:
                raise CompileError(f"the library compiled from {so_name} cannot be loaded")
            return lib
    try:
        tmp_root = tempfile.mkdtemp(prefix="waterfall-c-")
    except OSError as e:
        raise CompileError(f"no folder to compile {what} in: {e.strerror}") from None
    try:
        so = Path(tmp_root) / so_name
        try:
            digest = _compile(cc, source, so, what)
        except OSError as e:
            raise CompileError(f"cannot compile {what}: {e.strerror or e}") from None
        lib = _open(so, digest)
        if lib is None:
            raise CompileError(f"the library compiled from {so_name} cannot be loaded")
        return lib
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def _open(so: Path, sha256: Optional[str]) -> Optional[ctypes.CDLL]:
    """The library at ``so``; None if it is not a file of this user's (a symbolic
    link is not), its bytes do not have the SHA-256 recorded when it was built
    (truncated or damaged: loading such a file can crash the process), or it
    cannot be loaded (e.g. built for another machine). Such a file is left to
    be replaced, in one rename, by the library built again."""
    try:
        st = os.lstat(so)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and sha256 is not None \
                and file_digest(so) == sha256:
            return ctypes.CDLL(str(so))
    except OSError:
        pass
    return None


MAX_LIBRARIES = 200  # compiled libraries kept in the cache folder (a deal makes one per edit)


def prune(folder: Path, keep: int = MAX_LIBRARIES) -> None:
    """Remove the least recently used libraries (and index entries) beyond ``keep``."""
    cachedir.prune(folder, "*.so", keep)
    cachedir.prune(folder, "*-index-*", 2 * keep)
    for rec in folder.glob("*.sha256"):
        if not os.path.lexists(rec.with_suffix(".so")):
            try:
                rec.unlink()
            except OSError:
                pass


def _record(so: Path) -> Path:
    return so.with_suffix(".sha256")


def _recorded(so: Path) -> Optional[str]:
    """The SHA-256 recorded beside a library when it was built, or None."""
    try:
        with open(_record(so), "rb") as fh:
            text = fh.read(100).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def _touch(p: Path) -> None:
    try:
        os.utime(p)
    except OSError:
        pass


def file_digest(path: Path) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def load_file(so: Path, sha256: str) -> Optional[ctypes.CDLL]:
    """A library this module built earlier in the cache folder (see ``load``), by
    its path, if its content still has the SHA-256 recorded when it was built;
    None if it is gone, elsewhere, altered or cannot be loaded (then it is built
    again from source)."""
    folder = cache_dir("c")
    if folder is None or not LIBRARY_NAME.fullmatch(so.name):
        return None
    try:
        if so.resolve().parent != folder.resolve():
            return None
    except OSError:
        return None
    key = str(so)
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    lib = _open(so, sha256)  # None if altered or damaged: the caller builds it again
    if lib is not None:
        _touch(so)
        _loaded[key] = lib
    return lib


def _compile(cc: str, source: str, so: Path, what: str) -> str:
    """Compile ``source`` into the library ``so`` (mode 0600), recording the
    SHA-256 of its bytes beside it; returns that digest."""
    # Build beside the target and rename into place: another process building
    # the same library at the same time never sees a half-written file. The
    # record is written first: a library is never found without its own.
    fd, tmp_c = tempfile.mkstemp(suffix=".c", dir=so.parent)
    tmp_so = tmp_c[:-2] + ".so"
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        proc = subprocess.run([cc, *FLAGS, "-o", tmp_so, tmp_c, "-lm"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise CompileError(f"{cc} failed on generated source {so.name}:\n{proc.stderr[-4000:]}")
        os.chmod(tmp_so, 0o600)
        digest = file_digest(Path(tmp_so))
        if digest is None:
            raise CompileError(f"{cc} wrote no library for {so.name}")
        cachedir.write_private(_record(so), digest.encode("ascii") + b"\n")
        os.replace(tmp_so, so)
        return digest
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
