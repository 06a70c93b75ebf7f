"""The deal cache: parsed and checked deals, kept so a second run skips Lark.

``load_deal`` asks ``lookup(path, text)`` before parsing and hands a deal that
checked clean to ``store(path, text, deal)``. An entry is a pickle of the
``Deal`` in ``cache_dir('deals')`` (see ``dsl.cachedir``), named by a SHA-256
of:

* this package's own code and grammar (every ``dsl/*.py``, ``grammar/*.lark``)
  and the installed Lark (its ``__init__.py``, which holds its version), so an
  upgrade or an edit of the parser never reads an entry made by older code;
* the path as given (the spans of the AST name it) and the deal's text.

An edited file is a different name, so a stale entry is never read. A deal
with errors is never stored: its diagnostics come from parsing it each time.
Only files this module wrote are read (its own folder, its own names, its own
header line), and an entry that cannot be read is parsed again and rewritten.
``WATERFALL_CACHE=off`` turns the cache off. The folder keeps at most
``MAX_ENTRIES`` deals; the least recently used go first.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Optional

from . import ast as A
from .cachedir import cache_dir, prune

MAGIC = b"waterfall-dsl deal cache 1\n"
MAX_ENTRIES = 256
_HERE = Path(__file__).resolve().parent
_fingerprint: Optional[bytes] = None


def code_fingerprint() -> bytes:
    """A digest of everything a parsed, checked deal depends on besides its text."""
    global _fingerprint
    if _fingerprint is None:
        h = hashlib.sha256()
        h.update(f"python {sys.version_info[0]}.{sys.version_info[1]} pickle {pickle.HIGHEST_PROTOCOL}\n".encode())
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


def entry_path(path: str, text: str) -> Optional[Path]:
    """Where the deal at ``path`` with this ``text`` is (or would be) kept; None when caching is off."""
    folder = cache_dir("deals")
    if folder is None:
        return None
    h = hashlib.sha256(code_fingerprint())
    h.update(path.encode("utf-8", "surrogatepass") + b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return folder / (h.hexdigest() + ".pickle")


def lookup(path: str, text: str) -> Optional[A.Deal]:
    """The cached deal read from ``path`` with this ``text``, or None."""
    try:
        entry = entry_path(path, text)
        if entry is None:
            return None
        with open(entry, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if not data.startswith(MAGIC):
        return None
    try:
        deal = pickle.loads(memoryview(data)[len(MAGIC):])
    except Exception:  # noqa: BLE001 - a damaged entry is a miss; store() rewrites it
        return None
    if type(deal) is not A.Deal or deal.path != path or deal.source != (text if text.endswith("\n") else text + "\n"):
        return None
    try:
        os.utime(entry)  # recently used: kept when the folder is pruned
    except OSError:
        pass
    return deal


def store(path: str, text: str, deal: A.Deal) -> None:
    """Keep a deal that parsed and checked clean. Never raises: a cache that
    cannot be written is only a slower next run."""
    try:
        entry = entry_path(path, text)
        if entry is None:
            return
        data = MAGIC + pickle.dumps(deal, protocol=pickle.HIGHEST_PROTOCOL)
        tmp = entry.with_name(f".{entry.stem}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, entry)
        finally:
            if tmp.exists():
                tmp.unlink()
        _prune(entry.parent)
    except Exception:  # noqa: BLE001 - e.g. a read-only or full disk, an unpicklable value
        return


def _prune(folder: Path) -> None:
    prune(folder, "*.pickle", MAX_ENTRIES)
