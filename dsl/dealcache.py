"""The deal cache: parsed, checked deals kept as JSON, so a second run skips Lark.

Parsing and checking J4 takes about 0.1 s; reading it back from here takes a
few milliseconds. An entry is data, never code: JSON read by a closed decoder
that builds only the record classes of ``dsl.ast`` (their fields by name),
the members of ``dsl.vocabulary``'s enums (by class and value), tuples, dates
and the JSON scalars; anything else in an entry makes it a miss.
It lives in ``cache_dir('deals')`` (0700, owned by the user: see
``dsl.cachedir``) under a SHA-256 of this package's code and grammar
(``code_fingerprint``), the path as given and the deal's text, so an edited
deal or an upgraded package never reads an old entry. A deal with errors is
never stored. ``WATERFALL_CACHE=off`` turns it off.
"""
from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple, Optional

import attrs

from . import ast as A
from .vocabulary import ENUMS
from .cachedir import cache_dir, code_fingerprint, prune, write_private

FORMAT = "waterfall-dsl deal 2"
MAX_ENTRIES = 256

# The classes an entry may name: the AST's records, and nothing else.
_RECORDS = {name: cls for name, cls in vars(A).items()
            if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == A.__name__}
_FIELDS = {cls: frozenset(f.name for f in attrs.fields(cls)) for cls in _RECORDS.values()}


def entry_path(path: str, text: str) -> Optional[Path]:
    folder = cache_dir("deals")
    if folder is None:
        return None
    h = hashlib.sha256(code_fingerprint())
    h.update(path.encode("utf-8", "surrogatepass") + b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return folder / (h.hexdigest() + ".json")


# ------------------------------------------------------------------ encoding
def encode(value, file: str):
    """JSON-able form of an AST value (spans in ``file`` without the file name)."""
    if isinstance(value, A.Span):
        pos = [value.line, value.column, value.end_line, value.end_column]
        return {"@s": pos} if value.file == file else {"@s": pos, "f": value.file}
    if ENUMS.get(type(value).__name__) is type(value):
        return {"@e": type(value).__name__, "v": value.value}
    if attrs.has(type(value)):
        out = {"@": type(value).__name__}
        for f in attrs.fields(type(value)):
            out[f.name] = encode(getattr(value, f.name), file)
        return out
    if isinstance(value, tuple):
        return {"@t": [encode(v, file) for v in value]}
    if isinstance(value, _dt.date):
        return {"@d": value.isoformat()}
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot keep a {type(value).__name__} in the deal cache")


class _Miss(Exception):
    pass


def decode(data, file: str):
    """The AST value an entry holds; raises _Miss for anything not an AST value."""
    return _loads(json.dumps(data), file)


def _loads(text, file: str):
    """Decode an entry's JSON. json calls ``hook`` on every object, innermost
    first, so each tagged object becomes its value once its parts are values;
    a JSON list is only ever the parts of a tagged object."""
    hook = functools.partial(_object, file)
    value = json.loads(text, object_hook=hook)
    if type(value) is list:
        raise _Miss
    return value


class _Entry(NamedTuple):
    """A cache entry's outer object: ``{"format": ..., "deal": ...}``."""
    format: object
    deal: object


_NOT_VALUES = (list, _Entry)  # what may not be a field of a record or an item of a tuple


def _object(file: str, data: dict):
    if data.keys() == {"format", "deal"}:
        return _Entry(data["format"], data["deal"])
    if "@s" in data:
        pos = data["@s"]
        if not (type(pos) is list and len(pos) == 4 and all(type(x) is int for x in pos)):
            raise _Miss
        f = data.get("f", file)
        if not isinstance(f, str):
            raise _Miss
        return A.Span(f, *pos)
    if "@t" in data:
        items = data["@t"]
        if type(items) is not list or len(data) != 1 or any(type(v) in _NOT_VALUES for v in items):
            raise _Miss
        return tuple(items)
    if "@d" in data:
        try:
            return _dt.date.fromisoformat(data["@d"])
        except (TypeError, ValueError):
            raise _Miss from None
    if "@e" in data:
        enum_cls = ENUMS.get(data["@e"]) if isinstance(data["@e"], str) else None
        if enum_cls is None or len(data) != 2 or not isinstance(data.get("v"), str):
            raise _Miss
        try:
            return enum_cls(data["v"])
        except ValueError:
            raise _Miss from None
    tag = data.pop("@", None)
    cls = _RECORDS.get(tag) if isinstance(tag, str) else None
    if cls is None or not data.keys() <= _FIELDS[cls] or any(type(v) in _NOT_VALUES for v in data.values()):
        raise _Miss
    try:
        return cls(**data)
    except (TypeError, ValueError):  # a missing field; a word not of its enum
        raise _Miss from None


# ------------------------------------------------------------------ the cache
def lookup(path: str, text: str) -> Optional[A.Deal]:
    """The cached deal read from ``path`` with this ``text``, or None."""
    entry = entry_path(path, text)
    if entry is None:
        return None
    try:
        with open(entry, "rb") as fh:
            doc = _loads(fh.read(), path)
        if type(doc) is not _Entry or doc.format != FORMAT:
            return None
        deal = doc.deal
    except (OSError, ValueError, RecursionError, _Miss):
        return None
    full = text if text.endswith("\n") else text + "\n"
    if type(deal) is not A.Deal or deal.path != path or deal.source != full:
        return None
    try:
        os.utime(entry)  # recently used: kept when the folder is pruned
    except OSError:
        pass
    return deal


def store(path: str, text: str, deal: A.Deal) -> None:
    """Keep a deal that parsed and checked clean; a cache that cannot be written
    is only a slower next run."""
    entry = entry_path(path, text)
    if entry is None:
        return
    try:
        data = json.dumps({"format": FORMAT, "deal": encode(deal, path)}, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return
    write_private(entry, data.encode("utf-8"))
    prune(entry.parent, "*.json", MAX_ENTRIES)
