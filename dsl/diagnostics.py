"""Diagnostics: errors a person can act on.

A diagnostic is a value with a source position, a short message, what was
expected and, where it fits, a "did you mean" suggestion. Errors are collected
in a list and raised together as one ``DealError``; ``render`` prints them
like a compiler does::

    deals/seq.waterfall:12:20: error: unknown class 'A3'
        pay principal sequentially to A1, A2, A3
                                              ^^
      did you mean 'A-3'?
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import attrs

from .ast import Span


@attrs.frozen
class Diagnostic:
    span: Span
    message: str
    expected: str = ""
    hint: str = ""
    severity: str = "error"

    def render(self, source: Optional[str] = None) -> str:
        where = f"{self.span.file}:{self.span.line}:{self.span.column}" if self.span.line > 0 else self.span.file
        out = [printable(f"{where}: {self.severity}: {self.message}")]
        if source is not None and self.span.line > 0:
            lines = source.split("\n")
            if 0 < self.span.line <= len(lines):
                out.extend(_echo(lines[self.span.line - 1].rstrip("\r"), self.span))
        if self.expected:
            out.append(printable(f"  expected {self.expected}"))
        if self.hint:
            out.append(printable(f"  {self.hint}"))
        return "\n".join(out)


class DealError(Exception):
    """One or more input errors, in file order. Carries the source texts so
    that each diagnostic can be shown with its line and a caret."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Optional[dict] = None):
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.column))
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.sources.get(d.span.file)) for d in self.diagnostics)


# An echoed line longer than this is shown as a window around the column.
_ECHO = 160


def _echo(text: str, span: Span) -> list:
    """The source line and the caret line under the span's columns: control
    characters escaped, and a long line (a number of thousands of digits) cut
    to a window around the column."""
    start = max(span.column - 1, 0)
    end = span.end_column - 1 if span.end_line == span.line and span.end_column > span.column else start + 1
    lead = tail = ""
    if len(text) > _ECHO:
        lo = 0 if start < _ECHO * 3 // 4 else start - _ECHO // 4  # from the line's start while the column is near it
        hi = min(len(text), lo + _ECHO)
        lead, tail = ("..." if lo else ""), ("..." if hi < len(text) else "")
        text, start, end = text[lo:hi], start - lo, min(end, hi) - lo
    before = lead + printable(text[:start])
    width = len(printable(text[start:end])) or 1
    pad = "".join(ch if ch == "\t" else " " for ch in before)
    return ["    " + lead + printable(text) + tail, "    " + pad + "^" * width]


def printable(text: str) -> str:
    """Text safe for a terminal: control and format characters (an escape
    sequence in a set's name, a carriage return, a bidirectional override) are
    shown as Python escapes (\\x1b, \\u202e); tabs and letters of any script stay."""
    if text.isprintable():
        return text
    import unicodedata
    out = []
    for ch in text:
        if ch == "\t" or not unicodedata.category(ch).startswith("C"):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
    return "".join(out)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'did you mean 'X'?' for the closest candidate, or '' if none is close."""
    import difflib  # only when there is an error to explain
    cands = list(candidates)
    best = difflib.get_close_matches(word, cands, n=1, cutoff=0.6)
    if not best:
        lowered = {c.lower(): c for c in cands}
        best = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        best = [lowered[b] for b in best]
    return f"did you mean '{best[0]}'?" if best else ""
