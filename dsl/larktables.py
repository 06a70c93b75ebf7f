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


def parser(grammar: str, folder: Optional[Path], **options) -> Lark:
    """A Lark LALR parser of ``grammar`` with ``options``: its tables read from
    ``folder`` if a trusted file there has them, else built (and saved there
    when the folder is ours)."""
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


def _load(path: Path, key: str, options: dict) -> Optional[Lark]:
    data = read(path)
    if data is None:
        return None
    try:
        doc = decode(data)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("key") != key:
            return None
        inst = Lark.__new__(Lark)
        return inst._load(doc["tables"], **{k: v for k, v in options.items() if k in _LOAD_OPTIONS})
    except Exception:  # noqa: BLE001 - a file Lark cannot load: build the tables instead
        return None


def _save(built: Lark, path: Path, key: str) -> None:
    """Write the tables beside the grammar, whole or not at all; remove the
    files of earlier versions of the grammar (same Lark, same Python)."""
    try:
        from lark.grammar import Rule
        from lark.lark import _LOAD_ALLOWED_OPTIONS
        from lark.lexer import TerminalDef
        data, memo = built.memo_serialize([TerminalDef, Rule])
        data["options"] = {n: v for n, v in data["options"].items() if n not in _LOAD_ALLOWED_OPTIONS}
        text = json.dumps({"format": FORMAT, "key": key, "tables": _encode({"data": data, "memo": memo})},
                          separators=(",", ":"), allow_nan=False)
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
