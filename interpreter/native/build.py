"""Compile C source into a shared library, once, and load it with ctypes.

The engine's fast paths (the compiled waterfall, the collateral and analytics
kernels) are C, generated (the deal's waterfall, ``ckernel``) or fixed (the C
files of ``interpreter/kernels``, see ``native.fixed``), built with the
machine's C compiler (``$CC``, else ``cc``/``gcc``). A library is cached under
``dsl.cachedir.cache_dir('c')`` by a hash of its source, the compiler (its
path and ``--version``), the flags and the machine, so it is compiled once per
deal edit, not once per run. Without a compiler the numpy engine runs instead
(same results, slower): ``available()`` says which.

Flags keep IEEE arithmetic exact as written (no -ffast-math, no fused
multiply-add contraction), so the C paths reproduce the numpy paths. Large
sources are compiled with less optimisation (``opt_level``), and every compile
has a time limit (``WATERFALL_COMPILE_TIMEOUT``, seconds, default 20; ``off``
for none): past it the compiler is killed and ``CompileTimeout`` raised, so
a deal too large to compile quickly runs on numpy instead of hanging.

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
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from dsl import cachedir
from dsl.cachedir import cache_dir

# Without the optimisation level, which opt_level() picks by the source's size,
# and the warnings: the fixed kernels are compiled with WARN (and kept free of
# warnings: tests/native/test_kernels_c.py compiles them with -Werror); the
# generated C of a deal with QUIET, since nobody reads a warning at run time.
BASE_FLAGS = ("-std=c99", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno")
WARN = ("-Wall", "-Wextra")
QUIET = ("-w",)
# gcc's time grows faster than linearly with the size of the generated functions
# (a deal's period loop is one function). Measured with gcc 12 on 2 vCPUs:
# J4 (65 KB of C) -O3 3.7 s, -O1 0.8 s; 100 classes in one step (123 KB) -O3
# 13 s, -O1 5.6 s; 200 (239 KB) -O3 37 s, -O1 8 s, -O0 1.8 s; 500 (587 KB) -O3
# 55 s (the issue), -O1 25 s, -O0 4.5 s.
O3_MAX_CHARS = 100_000
O1_MAX_CHARS = 200_000
DEFAULT_TIMEOUT = 20.0
_loaded: Dict[str, ctypes.CDLL] = {}
_failed: Dict[str, "CompileError"] = {}  # a source that timed out is not tried again in this process


class CompileError(RuntimeError):
    """The C compiler rejected source this package generated (a bug here, not in
    the deal), or its library could not be loaded."""


class CompileTimeout(CompileError):
    """The compiler took longer than the time limit; it was stopped."""


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
    return (cc, compiler_version(cc), *BASE_FLAGS, f"O3<={O3_MAX_CHARS} O1<={O1_MAX_CHARS}",
            sys.platform, platform.machine())


def opt_level(source: str) -> str:
    if len(source) <= O3_MAX_CHARS:
        return "-O3"
    return "-O1" if len(source) <= O1_MAX_CHARS else "-O0"


def timeout() -> Optional[float]:
    """The compile time limit in seconds (None: no limit), from WATERFALL_COMPILE_TIMEOUT."""
    raw = os.environ.get("WATERFALL_COMPILE_TIMEOUT", "").strip().lower()
    if raw in ("off", "none", "0"):
        return None
    try:
        t = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return t if t > 0 and t == t else DEFAULT_TIMEOUT


def library_key(cc: str, source: str, warn: bool = False) -> str:
    return hashlib.sha256("\0".join((source, *key_parts(cc), *_warn_flags(warn))).encode()).hexdigest()[:20]


def _warn_flags(warn: bool) -> Tuple[str, ...]:
    return WARN if warn else QUIET


LIBRARY_NAME = re.compile(r"[a-z]+-[0-9a-f]{20}\.so")  # what load() names its libraries


def load(name: str, source: str, note: str = "", warn: bool = False,
         folder: Optional[Path] = None) -> Optional[ctypes.CDLL]:
    """The library built from ``source`` (compiled now if not cached), or None
    when there is no C compiler. Raises CompileError if compilation fails (or
    CompileTimeout if it takes too long). ``note`` is said on a terminal's
    stderr while compiling (it takes seconds). ``warn``: compiled with the
    warnings on (the fixed kernels). ``folder``: where the library is kept
    (default: the cache folder). Within ``later()``, a library not built yet
    is built by a process of its own for the next run, and this run gets it
    compiled without optimisation, not kept."""
    cc = compiler()
    if cc is None:
        return None
    key = library_key(cc, source, warn)
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    if key in _failed:
        raise _failed[key]
    if folder is None:
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
        if _later.on and folder is not None:
            # Built for the next run in the background; this run gets the same
            # source unoptimised (-O0: a fifth of the time of -O3 for a deal,
            # the same IEEE operations, so the same numbers to the bit),
            # compiled in a temporary folder and not kept.
            from .background import start
            start(name, source, warn, folder / so_name, timeout())
            lib = _build(cc, source, None, so_name, note or f"the {name} kernel", warn, opt="-O0")
            _loaded[key] = lib
            return lib
        if note and sys.stderr.isatty():
            print(f"compiling {note} (once, until it changes) ...", file=sys.stderr, flush=True)
        try:
            lib = _build(cc, source, folder, so_name, note or f"the {name} kernel", warn)
        except CompileTimeout as e:
            _failed[key] = e
            raise
    _loaded[key] = lib
    return lib


class _Later(threading.local):
    on = False


_later = _Later()


@contextlib.contextmanager
def later(on: bool = True):
    """Within the block (in this thread), ``load`` of a library not built yet
    starts its build in the background, for the next run, and returns the
    library compiled unoptimised now (a short run does not wait for -O3)."""
    old = _later.on
    _later.on = on
    try:
        yield
    finally:
        _later.on = old


def _build(cc: str, source: str, folder: Optional[Path], so_name: str, what: str,
           warn: bool = False, opt: Optional[str] = None) -> ctypes.CDLL:
    """Compile into the cache folder; without one (or if it is full), into a
    temporary folder removed once the library is loaded."""
    if folder is not None:
        try:
            digest = _compile(cc, source, folder / so_name, what, warn, opt)
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
            digest = _compile(cc, source, so, what, warn, opt)
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


def load_kept(so: Path, key: str) -> Optional[ctypes.CDLL]:
    """A library kept with the package (``native.fixed``), ``so`` named by its
    ``key``: loaded if it and its folder are as trustworthy as the code beside
    them (this user's or root's, not writable by group or others; not a
    symbolic link) and its bytes have the SHA-256 recorded beside it; else None."""
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    def trusted(st: os.stat_result) -> bool:  # as dsl.larktables.trusted (not imported: it imports Lark)
        return st.st_uid in (os.geteuid(), 0) and not st.st_mode & 0o022
    try:
        if not trusted(os.lstat(so.parent)):
            return None
        st = os.lstat(so)
        if not (stat.S_ISREG(st.st_mode) and trusted(st)):
            return None
        rec = _record(so)
        if not trusted(os.lstat(rec)):
            return None
    except OSError:
        return None
    digest = _recorded(so)
    if digest is None or file_digest(so) != digest:
        return None
    try:
        lib = ctypes.CDLL(str(so))
    except OSError:
        return None
    _loaded[key] = lib
    return lib


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


def _compile(cc: str, source: str, so: Path, what: str, warn: bool = False, opt: Optional[str] = None) -> str:
    """Compile ``source`` into the library ``so`` (mode 0600), recording the
    SHA-256 of its bytes beside it; returns that digest."""
    # Build beside the target and rename into place: another process building
    # the same library at the same time never sees a half-written file. The
    # record is written first: a library is never found without its own.
    fd, tmp_c = tempfile.mkstemp(suffix=".c", dir=so.parent)
    tmp_so = tmp_c[:-2] + ".so"
    limit = timeout()
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(source)
        cmd = [cc, opt or opt_level(source), *BASE_FLAGS, *_warn_flags(warn), "-o", tmp_so, tmp_c, "-lm"]
        # Its own process group: the compiler's children (cc1, as, ld) are
        # stopped with it on a timeout or an interrupt.
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise CompileTimeout(f"compiling {what} took longer than {limit:g} s "
                                 f"(WATERFALL_COMPILE_TIMEOUT); the compiler was stopped") from None
        except BaseException:
            _kill(proc)
            raise
        if proc.returncode != 0:
            raise CompileError(f"{cc} failed on generated source {so.name}:\n{err[-4000:]}")
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


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.kill()
    proc.communicate()


def ptr(a) -> ctypes.c_void_p:
    """A numpy array's data pointer for a C call (the array must stay alive)."""
    return ctypes.c_void_p(a.ctypes.data)
