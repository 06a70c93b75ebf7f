"""Loading a deal: read -> cache -> parse -> check, in one readable function.

As Beancount's loader: ``load_deal(path)`` reads the file (UTF-8; a byte-order
mark at the start is skipped; an invalid byte is an error at its line and
column), looks the text up in the deal cache (``dsl.dealcache``: an entry is
checked again, never trusted), else parses it (``dsl.parse``) and runs the
checks (``dsl.checker``), and raises one ``DealError`` with every problem.
"""
from __future__ import annotations

from pathlib import Path

from . import ast as A
from .checker import check
from .diagnostics import DealError, Diagnostic

BOM = "\ufeff"


def read_source(path: str, what: str = "deal file") -> str:
    """The text of a UTF-8 file: an unreadable file or an invalid byte is a DealError."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise DealError([Diagnostic(A.Span(path, 0, 0), f"cannot read the {what}: {e.strerror}")]) from None
    return decode(data, path)


def decode(data: bytes, path: str) -> str:
    """UTF-8 text without a leading byte-order mark; an invalid byte is an error at
    its line and column (the line shown with the byte replaced)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        line_start = data.rfind(b"\n", 0, e.start) + 1
        col = len(data[line_start:e.start].decode("utf-8", "replace")) + 1
        shown = data.decode("utf-8", "replace")
        raise DealError([Diagnostic(A.Span(path, line, col, line, col + 1),
                                    f"invalid UTF-8 byte 0x{data[e.start]:02x}",
                                    expected="text in UTF-8")], {path: shown}) from None
    return text[1:] if text.startswith(BOM) else text


def load_deal(path: str | Path) -> A.Deal:
    """Parse and check the deal file at ``path`` (a deal read before, unchanged,
    comes from the deal cache)."""
    path = str(path)
    text = read_source(path)
    from .dealcache import lookup, store
    deal = lookup(path, text)
    if deal is not None and not check(deal):  # checked again (a few ms for J4): an entry is never trusted blindly
        return deal
    from .parse import parse
    deal = parse(text, path)
    diags = check(deal)
    if diags:
        raise DealError(diags, {path: text})
    store(path, text, deal)
    return deal
