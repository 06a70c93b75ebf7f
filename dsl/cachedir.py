"""Where waterfall-dsl keeps what it can rebuild: compiled C libraries.

``WATERFALL_CACHE`` names the folder (``WATERFALL_CACHE=off`` turns caching off);
otherwise ``$XDG_CACHE_HOME/waterfall-dsl`` or ``~/.cache/waterfall-dsl``. Every
entry is keyed by a hash of what it was built from, so a stale entry is never
read; deleting the folder is always safe.

What is in the folder is loaded into this process (a library is run), so the
folder is trusted only as far as its owner and its permissions say: it and its
subfolders, and any parent this module creates, are made 0700 whatever the
umask, and files in it 0600. A folder that is not a real folder of the current
user, or that group or others may write, is refused: one line on stderr, and
the process runs without any cache. A folder that cannot be created or written
(read-only, full) is no cache too, silently: a cache is only ever a shortcut.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

STALE_SECONDS = 3600.0  # a temporary older than this was left by a process that died
_STALE = ("tmp*.c", "tmp*.so", "*.tmp")
_warned: set = set()
_swept: set = set()


def root() -> Optional[Path]:
    """The cache folder as configured (not checked, not created), or None when caching is off."""
    env = os.environ.get("WATERFALL_CACHE")
    if env is not None and env.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    if env:
        return Path(os.path.abspath(os.path.expanduser(env)))
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return Path(os.path.abspath(base / "waterfall-dsl"))


def cache_dir(sub: str) -> Optional[Path]:
    """The cache folder ``sub`` (created), or None when caching is off, or the
    folder cannot be created or written, or is refused (see the module)."""
    base = root()
    if base is None:
        return None
    path = base / sub
    for target in (base, path):  # the root checked before anything is made in it
        try:
            created = _make(target)
        except OSError:
            return None
        for folder in (*created, target):
            why = unsafe(folder)
            if why is not None:
                _refuse(base, f"cache folder {folder} {why}")
                return None
    if not os.access(path, os.W_OK | os.X_OK):
        return None
    _sweep(path)
    _sweep_legacy(base)
    return path


def unsafe(folder: Path) -> Optional[str]:
    """Why ``folder`` cannot hold this user's cache (None: it can): not a real
    folder (a symbolic link is refused), not owned by this user, or writable by
    group or others."""
    try:
        st = os.lstat(folder)
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if st.st_uid != os.geteuid():
        return "is owned by another user"
    if st.st_mode & 0o022:
        return "is writable by others"
    return None


def _make(path: Path) -> list:
    """Create ``path`` and its missing parents, each 0700 (chmod after mkdir:
    the umask does not widen it); the folders created, outermost first."""
    missing = []
    p = path
    while not os.path.lexists(p) and p.parent != p:
        missing.append(p)
        p = p.parent
    created = []
    for q in reversed(missing):
        try:
            os.mkdir(q, 0o700)
        except FileExistsError:
            pass  # made by another process meanwhile: checked as any existing folder
        else:
            os.chmod(q, 0o700)
        created.append(q)
    return created


def _refuse(base: Path, what: str) -> None:
    key = str(base)
    if key not in _warned:
        _warned.add(key)
        print(f"waterfall-dsl: {what}; running without a cache", file=sys.stderr, flush=True)


def write_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` in a cache folder, whole or not at all, mode
    0600. False (nothing written) if the folder is read-only or full."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        return False
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _sweep(folder: Path) -> None:
    """Remove the temporaries a process that died left in ``folder`` (once per
    process): half-built ``tmp*.c``/``tmp*.so``, half-written ``*.tmp``."""
    key = str(folder)
    if key in _swept:
        return
    _swept.add(key)
    sweep(folder)


# What earlier versions kept in the folder and no version reads any more: pickles
# of parsed deals and of Lark's tables.
_LEGACY = (("deals", "*.pickle"), ("lark", "*.cache"))


def _sweep_legacy(base: Path) -> None:
    key = str(base)
    if key in _swept:
        return
    _swept.add(key)
    for sub, pattern in _LEGACY:
        folder = base / sub
        if os.path.lexists(folder) and unsafe(folder) is None:
            for p in folder.glob(pattern):
                try:
                    if stat.S_ISREG(os.lstat(p).st_mode):
                        p.unlink()
                except OSError:
                    pass
            try:
                folder.rmdir()  # if now empty
            except OSError:
                pass


def sweep(folder: Path, older_than: float = STALE_SECONDS) -> None:
    """Remove the temporaries in ``folder`` older than ``older_than`` seconds."""
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for e in entries:
        if not any(fnmatch.fnmatchcase(e.name, pat) for pat in _STALE):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(e.path)
        except OSError:
            pass


def prune(folder: Path, pattern: str, keep: int) -> None:
    """Beyond ``keep`` entries matching ``pattern``, remove the least recently used
    (oldest modification time) down to half of ``keep``."""
    entries = list(folder.glob(pattern))
    if len(entries) <= keep:
        return

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0
    entries.sort(key=mtime)
    for p in entries[: len(entries) - keep // 2]:
        try:
            p.unlink()
        except OSError:
            pass


_HERE = Path(__file__).resolve().parent
_fingerprint: Optional[bytes] = None


def code_fingerprint() -> bytes:
    """A digest of everything a parsed, checked deal depends on besides its text:
    this package's parser and checker (``dsl/*.py``, ``grammar/*.lark``), the
    installed Lark (its ``__init__.py``, which holds its version) and Python's
    version. Part of the key of anything cached from a deal's text."""
    global _fingerprint
    if _fingerprint is None:
        h = hashlib.sha256()
        h.update(f"python {sys.version_info[0]}.{sys.version_info[1]}\n".encode())
        grammar = _HERE.parent / "grammar"
        files = sorted(_HERE.glob("*.py")) + sorted(grammar.glob("*.lark"))
        import importlib.util
        spec = importlib.util.find_spec("lark")
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
        for f in files:
            h.update(f.name.encode() + b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
        _fingerprint = h.digest()
    return _fingerprint
