"""Where waterfall-dsl keeps what it can rebuild: compiled C libraries.

``WATERFALL_CACHE`` names the folder (``WATERFALL_CACHE=off`` turns caching off);
otherwise ``$XDG_CACHE_HOME/waterfall-dsl`` or ``~/.cache/waterfall-dsl``. Every
entry is keyed by a hash of what it was built from, so a stale entry is never
read; deleting the folder is always safe.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Optional


def cache_dir(sub: str) -> Optional[Path]:
    """The cache folder ``sub`` (created), or None when caching is off or the
    folder cannot be created."""
    env = os.environ.get("WATERFALL_CACHE")
    if env is not None and env.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "waterfall-dsl"
    path = root / sub
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(path, os.W_OK):
        return None
    return path


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
