"""Lark's LALR tables for the deal grammar, kept with the package, never in the cache.

Lark takes about 0.15-0.45 s to build the tables from ``grammar/waterfall.lark``
and a few ms to load them. They are kept in the grammar's own folder, as JSON
(Lark's serialised form: names, numbers, patterns; never a pickle), in a file
named by the grammar's hash, the options, Lark's version and Python's:
``grammar/waterfall-<hash>-lark<version>-py<major><minor>.tables.json``.

The file is written at the first parse when that folder is this user's and
not writable by group or others (a source checkout, a user's virtualenv), and
read only when it, and the folder, are owned by this user or by root and not
writable by group or others: the same trust as the package's own code beside
it. Anywhere else (a system install this user cannot write, or a file that
fails those checks) Lark builds the tables in memory, every process.

A fresh checkout has them already: ``grammar/waterfall.tables.json.gz`` is
committed (about 21 KB), keyed by the grammar, the options and Lark's version
(not Python's: the one field of Lark's tables that Python's ``re`` computes,
a pattern's width, is left out and computed again on loading). It is read
first, with the same trust checks; when it is not for this grammar and this
Lark, the tables come from the file above or are built. ``python -m
dsl.shiptables`` writes it again after the grammar changes
(tests/security/test_larktables.py says when it is due).
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Optional

import lark
from lark import Lark

FORMAT = "waterfall-dsl lark tables 1"
_TUPLE, _INTKEYS = "\0tuple", "\0int-keys"
_LOAD_OPTIONS = ("postlex", "propagate_positions")  # given again when loading (Lark does not save them)


SHIPPED = "waterfall.tables.json.gz"


def parser(grammar: str, folder: Optional[Path], **options) -> Lark:
    """A Lark LALR parser of ``grammar`` with ``options``: its tables read from
    ``folder`` if a trusted file there has them (the shipped one first), else
    built (and saved there when the folder is ours)."""
    if folder is not None:
        shipped = _load(folder / SHIPPED, shipped_key(grammar, options), options, gzip_=True)
        if shipped is not None:
            return shipped
    key = _key(grammar, options)
    path = None if folder is None else folder / file_name(grammar, options)
    if path is not None:
        loaded = _load(path, key, options)
        if loaded is not None:
            return loaded
    built = Lark(grammar, **options)
    if path is not None and _ours(folder):
        _save(built, path, key)
    return built


def file_name(grammar: str, options: dict) -> str:
    digest = _key(grammar, options)[:24]
    return f"waterfall-{digest}-lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}.tables.json"


def _key(grammar: str, options: dict) -> str:
    shown = sorted((k, repr(v)) for k, v in options.items() if k not in _LOAD_OPTIONS)
    h = hashlib.sha256(grammar.encode("utf-8"))
    h.update(repr((shown, lark.__version__, sys.version_info[:2], FORMAT)).encode())
    return h.hexdigest()


def shipped_key(grammar: str, options: dict) -> str:
    """The key of the shipped tables: as ``_key``, without Python's version."""
    shown = sorted((k, repr(v)) for k, v in options.items() if k not in _LOAD_OPTIONS)
    h = hashlib.sha256(grammar.encode("utf-8"))
    h.update(repr((shown, lark.__version__, FORMAT, "shipped")).encode())
    return h.hexdigest()


def trusted(st: os.stat_result) -> bool:
    """A file or folder as trustworthy as the code beside it: this user's or
    root's, not writable by group or others."""
    return st.st_uid in (os.geteuid(), 0) and not st.st_mode & 0o022


def _ours(folder: Path) -> bool:
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022
            and os.access(folder, os.W_OK | os.X_OK))


def read(path: Path) -> Optional[bytes]:
    """The bytes of ``path`` if it and its folder are trusted (see ``trusted``),
    a regular file reached without a symbolic link; else None."""
    try:
        st = os.lstat(path.parent)
        if not stat.S_ISDIR(st.st_mode) or not trusted(st):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not trusted(st):
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)


def _load(path: Path, key: str, options: dict, gzip_: bool = False) -> Optional[Lark]:
    data = read(path)
    if data is None:
        return None
    try:
        if gzip_:
            import gzip
            data = gzip.decompress(data)
        doc = decode(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        inst = Lark.__new__(Lark)
        return inst._load(doc["tables"], **{k: v for k, v in options.items() if k in _LOAD_OPTIONS})
    except Exception:  # noqa: BLE001 - a file Lark cannot load: build the tables instead
        return None


def _text(built: Lark, key: str, shipped: bool = False) -> str:
    from lark.grammar import Rule
    from lark.lark import _LOAD_ALLOWED_OPTIONS
    from lark.lexer import TerminalDef
    data, memo = built.memo_serialize([TerminalDef, Rule])
    data["options"] = {n: v for n, v in data["options"].items() if n not in _LOAD_ALLOWED_OPTIONS}
    tables = _encode({"data": data, "memo": memo})
    if shipped:
        _forget_widths(tables)
    doc = {"format": FORMAT, "key": key, "tables": tables}
    if shipped:
        doc["lark"] = lark.__version__  # said when it is not for the Lark installed (tests)
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def _forget_widths(x) -> None:
    """A pattern's width is computed by Python's ``re`` (it may differ between
    Pythons): left out (None), Lark computes it again when it needs it."""
    if isinstance(x, dict):
        if "_width" in x:
            x["_width"] = None
        for v in x.values():
            _forget_widths(v)
    elif isinstance(x, list):
        for v in x:
            _forget_widths(v)


def _save(built: Lark, path: Path, key: str) -> None:
    """Write the tables beside the grammar, whole or not at all; remove the
    files of earlier versions of the grammar (same Lark, same Python)."""
    try:
        text = _text(built, key)
    except Exception:  # noqa: BLE001 - tables this encoder cannot write: built in memory each time
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=".waterfall-", suffix=".tmp", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        return
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    suffix = path.name.split("-", 2)[2]  # lark<version>-py<version>.tables.json
    for old in path.parent.glob(f"waterfall-*-{suffix}"):
        try:
            if old.name != path.name and os.lstat(old).st_uid == os.geteuid():
                old.unlink()
        except OSError:
            pass


# JSON keeps str keys, lists and scalars; Lark's tables also hold tuples and
# int-keyed dicts, written as one-key objects whose key no table uses.
def _encode(x):
    if isinstance(x, dict):
        if all(type(k) is str for k in x):
            if any(k.startswith("\0") for k in x):
                raise ValueError("a key this encoding reserves")
            return {k: _encode(v) for k, v in x.items()}
        if all(type(k) is int for k in x):
            return {_INTKEYS: [[k, _encode(v)] for k, v in x.items()]}
        raise ValueError("mixed dict keys")
    if isinstance(x, tuple):
        return {_TUPLE: [_encode(v) for v in x]}
    if isinstance(x, list):
        return [_encode(v) for v in x]
    if x is None or type(x) in (str, int, float, bool):
        return x
    raise ValueError(f"cannot write {type(x).__name__}")


def _hook(obj: dict):
    if len(obj) == 1:
        if _TUPLE in obj:
            return tuple(obj[_TUPLE])
        if _INTKEYS in obj:
            return {int(k): v for k, v in obj[_INTKEYS]}
    return obj


def decode(data: bytes):
    """The tables from a file's bytes: JSON, so nothing in it is run."""
    return json.loads(data.decode("utf-8"), object_hook=_hook)
