"""The lexing side of the parser: the indenter and the lexers' shared regexes.

``DealIndenter`` turns indentation into INDENT/DEDENT tokens (Python-style)
and reports a dedent to a column no block opened with its position;
``_share_regexes`` gives Lark's contextual lexers per-terminal regexes
compiled once per process (see below).
"""
from __future__ import annotations

import functools
import re
import sys

from lark import Lark, Token
from lark.indenter import Indenter


class _BadDedent(Exception):
    def __init__(self, line: int, column: int, levels):
        self.line, self.column, self.levels = line, column, levels


class DealIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR"]
    CLOSE_PAREN_types = ["RPAR"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 4

    def handle_NL(self, token):
        # Lark's own, but a dedent to a column no enclosing block uses is
        # reported with its position instead of a bare DedentError.
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
        else:
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
            if indent != self.indent_level[-1]:
                raise _BadDedent(token.end_line, indent + 1, sorted(set(self.indent_level + [indent])))


# ------------------------------------------------------------------ the lexer's regexes
# Lark's contextual lexer has one scanner per set of terminals a parser state
# accepts (88 of them for J4), and compiles each as one alternation of those
# terminals' regexes: 40-50 ms of re.compile on every first parse, most of it
# compiling the same terminals again and again. A scanner here tries its
# terminals one by one, in the alternation's order, each terminal's regex
# compiled once per process. It is the same match (an alternation takes its
# first alternative that matches; nothing follows it in the pattern), and
# tests/dsl/test_lexer.py compares the two lexers token by token.


class _Alternation:
    """Lark's compiled scanner pattern, ``(?P<A>...)|(?P<B>...)|...``, as its
    alternatives matched in turn; a match is the alternative's own re.Match
    (its lastgroup names the terminal, as the alternation's would)."""

    __slots__ = ("_pieces", "_flags", "_matches", "_fullmatches")

    def __init__(self, pieces, flags):
        self._pieces, self._flags = pieces, flags
        self._matches = self._fullmatches = None

    def _compile(self):
        compiled = [_piece(p, self._flags) for p in self._pieces]
        self._matches = [c.match for c in compiled]
        self._fullmatches = [c.fullmatch for c in compiled]

    def match(self, text, pos=0, endpos=sys.maxsize):
        if self._matches is None:
            self._compile()
        for match in self._matches:
            m = match(text, pos, endpos)
            if m is not None:
                return m
        return None

    def fullmatch(self, text, pos=0, endpos=sys.maxsize):
        if self._fullmatches is None:
            self._compile()
        for fullmatch in self._fullmatches:
            m = fullmatch(text, pos, endpos)
            if m is not None:
                return m
        return None


@functools.lru_cache(maxsize=None)
def _piece(pattern: str, flags: int):
    return re.compile(pattern, flags)


class _SharedRe:
    """Stands in for the ``re`` module in Lark's lexers: ``compile`` of a
    scanner's alternation gives an ``_Alternation``; anything else is ``re``'s."""

    error = re.error

    def __init__(self, terminals):
        self._alternatives = {t.name: "(?P<%s>%s)" % (t.name, t.pattern.to_regexp()) for t in terminals}

    def match(self, pattern, string, flags=0):
        return re.match(pattern, string, flags)

    def compile(self, pattern, flags=0):
        pieces = self._split(pattern) if isinstance(pattern, str) else None
        return re.compile(pattern, flags) if pieces is None else _Alternation(pieces, flags)

    def _split(self, pattern: str):
        """The alternatives of a pattern Lark built by joining terminals with '|', or None."""
        out, i, n = [], 0, len(pattern)
        while i < n:
            j = pattern.find(">", i + 4) if pattern.startswith("(?P<", i) else -1
            piece = self._alternatives.get(pattern[i + 4:j]) if j > 0 else None
            if piece is None or not pattern.startswith(piece, i):
                return None
            out.append(piece)
            i += len(piece)
            if i < n:
                if pattern[i] != "|" or i + 1 == n:
                    return None
                i += 1
        return out or None


def _share_regexes(parser: Lark) -> None:
    """Give the lexers of every parser state the shared regexes (a Lark whose
    insides differ from the ones this was written for keeps its own)."""
    lexer = getattr(parser.parser, "lexer", None)
    lexer = getattr(lexer, "lexer", lexer)  # inside the PostLexConnector of the indenter
    states = getattr(lexer, "lexers", None)
    root = getattr(lexer, "root_lexer", None)
    if not isinstance(states, dict) or root is None:
        return
    basics = [*states.values(), root]
    if not all(getattr(b, "_scanner", 1) is None and getattr(b, "re", None) is re for b in basics):
        return
    shared = _SharedRe(parser.terminals)
    for b in basics:
        b.re = shared


# Human names for the grammar's terminals, for "expected ..." lines.
