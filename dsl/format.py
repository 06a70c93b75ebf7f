"""The canonical layout of a deal file, keeping everything a person wrote.

``format_text(text, name)`` lays a deal file out the way ``waterfall fmt``
writes it. It works on the parser's own tokens, never on the AST, so each token
keeps its spelling: a synonym ("next business day" for "following", "interest"
for "current and unpaid interest"), a quoted label, a number's separators. Only
the space between tokens and lines changes:

- a block's items are indented four spaces under its header;
- tokens are one space apart; none after '(' or a unary '-', before ')', ','
  or ':', between a function's name and its '(', or in an open row ``85+``;
- columns are aligned as the bundled deals align them: the values of the deal
  header (two spaces after the longest item) and of a class block (one space),
  a table's rows (three spaces after the longest period), and the names (and
  '=', titles, defaults) of a run of ``classes``, ``index`` or ``parameter``
  lines with no blank line between them;
- a comment on a line of its own takes the indentation of the block it sits
  in (the deepest open block that its column reaches); a trailing comment
  keeps its column, at least two spaces after the code, and comments of
  adjacent lines that shared a column still share one;
- at most one blank line in a row, none at the start or the end;
- a line continued inside parentheses (or after a backslash) keeps its line
  breaks, and each continuation line keeps its place relative to the
  innermost parenthesis still open above it.

A text that does not parse raises the parser's ``DealError`` (positioned): such
a file is never rewritten. The result is checked before it is returned: the
parser must read it as the same tokens in the same blocks (so it builds the
same deal, spans aside) with the same comments in the same order; if not,
``FormatError`` (a bug here, never a changed deal).
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from .parse import _parser, parse

INDENT = 4
TRAILING_GAP = 2  # spaces at least between code and its trailing comment

# Gaps between aligned columns, as the bundled deals have them.
HEADER_GAP = (2,)
CLASS_GAP = (1,)
TABLE_GAP = (3,)  # then one space after each value's comma
RUN_GAPS = {"classes": (1,), "index": (1,), "parameter": (1, 3)}
# Header items whose key is two words ('first distribution' against 'cutoff').
_TWO_WORD_HEADER = {"first", "distribution", "pricing", "table"}
# Class items with no value to align ('residual', 'no cashflow', 'accrues from closing', 'accrued at coupon').
_CLASS_FLAGS = {"residual", "no", "accrues", "accrued"}

_TIGHT_AFTER = {"LPAR", "MINUS"}
_TIGHT_BEFORE = {"RPAR", "COMMA", "COLON"}
_COMMENT = re.compile(r"#[^\n]*")
_LAYOUT_TOKENS = ("_NL", "_INDENT", "_DEDENT")


class FormatError(Exception):
    """The formatted text would not say what the input says: a bug of the
    formatter. Nothing is written when it is raised."""


def format_text(text: str, name: str = "<string>") -> str:
    """``text`` in the canonical layout (see the module's doc); raises the
    parser's DealError if it does not parse."""
    parse(text, name)
    newline = "\r\n" if "\r\n" in text else "\n"
    src = _normalised(text)
    tokens = _tokens(src)
    out = _Layout(src, tokens).render()
    _verify(src, tokens, out, name)
    return out if newline == "\n" else out.replace("\n", newline)


def _verify(src: str, tokens: list, out: str, name: str) -> None:
    """The output reads as the same tokens, blocks and comments as the input:
    the parser, reading the same tokens, builds the same deal."""
    try:
        again = _tokens(out)
    except Exception as e:  # noqa: BLE001 - any failure to read the output is the formatter's bug
        raise FormatError(f"{name}: the formatted text does not parse ({type(e).__name__})") from None
    if _shape(again) != _shape(tokens):
        raise FormatError(f"{name}: the formatted text reads as different tokens")
    if _comments(out, again) != _comments(src, tokens):
        raise FormatError(f"{name}: the formatted text does not keep every comment")


def _shape(tokens) -> list:
    # Blank lines and comments before the first statement are an _NL token of their own.
    start = 1 if tokens and tokens[0].type == "_NL" else 0
    return [(t.type, "" if t.type in _LAYOUT_TOKENS else str(t)) for t in tokens[start:]]


def comments(text: str) -> List[str]:
    """The comments of a deal text that parses, in order, without trailing space."""
    src = _normalised(text)
    return _comments(src, _tokens(src))


def _comments(src: str, tokens) -> List[str]:
    # Every comment is in a gap between the tokens the parser reads (strings
    # are tokens, so a '#' inside one is never taken for a comment).
    found: List[str] = []
    pos = 0
    for tok in [t for t in tokens if t.type not in _LAYOUT_TOKENS] + [None]:
        end = len(src) if tok is None else tok.start_pos
        found.extend(c.rstrip() for c in _COMMENT.findall(src, pos, end))
        if tok is not None:
            pos = tok.end_pos
    return found


def _normalised(text: str) -> str:
    src = text.replace("\r\n", "\n")
    return src if src.endswith("\n") else src + "\n"


def _tokens(src: str) -> list:
    """The tokens the parser reads (the contextual lexer's, with the indenter's
    _NL, _INDENT and _DEDENT)."""
    return list(_parser().parse_interactive(src).iter_parse())


def _width(s: str) -> int:
    """Display width of leading text, a tab counting as the indenter counts it."""
    return len(s) + 3 * s.count("\t")


def _space(prev, tok) -> str:
    if prev.type in _TIGHT_AFTER or tok.type in _TIGHT_BEFORE:
        return ""
    if tok.type == "LPAR" and prev.type == "NAME":  # a call: min(a, b)
        return ""
    if tok.type == "PLUS" and prev.type == "INT":  # an open table row: 85+
        return ""
    return " "


class _Piece:
    __slots__ = ("sep", "text", "tok")

    def __init__(self, sep: str, text: str, tok):
        self.sep, self.text, self.tok = sep, text, tok


class _Row:
    """One output line: code pieces (or none), a backslash, a comment."""
    __slots__ = ("indent", "pieces", "backslash", "comment", "comment_col", "blank", "lead")

    def __init__(self, pieces=(), comment=None, comment_col=None, blank=False):
        self.indent = 0
        self.pieces: List[_Piece] = list(pieces)
        self.backslash = False
        self.comment: Optional[str] = comment
        self.comment_col: Optional[int] = comment_col
        self.blank = blank
        self.lead = 0  # the original width of a continuation line's leading space

    def code(self) -> str:
        if not self.pieces:
            return " " * self.indent + "\\" if self.backslash else ""
        body = "".join(p.sep + p.text for p in self.pieces)
        return " " * self.indent + body + (" \\" if self.backslash else "")


class _Logical:
    """A statement: its tokens (over one or more physical lines), its depth,
    the statement whose block it is in, its original column and its rows."""
    __slots__ = ("depth", "tokens", "parent", "rows", "col")

    def __init__(self, depth: int, parent):
        self.depth, self.parent = depth, parent
        self.tokens: list = []
        self.rows: List[_Row] = []
        self.col = 0

    @property
    def word(self) -> str:
        return self.tokens[0].value

    @property
    def first_row(self) -> int:
        return self.tokens[0].line - 1

    @property
    def last_row(self) -> int:
        return self.tokens[-1].end_line - 1


class _Layout:
    def __init__(self, src: str, tokens: list):
        self.src = src
        self.phys = src.split("\n")
        self.lines = self._statements(tokens)
        for stmt in self.lines:
            self._rows_of(stmt)

    # ---- statements and their rows
    @staticmethod
    def _statements(tokens) -> List[_Logical]:
        out: List[_Logical] = []
        opened: List[_Logical] = []  # the statement whose block each depth is
        cur: Optional[_Logical] = None
        for tok in tokens:
            if tok.type == "_NL":
                if cur is not None:
                    out.append(cur)
                    cur = None
            elif tok.type == "_INDENT":
                opened.append(out[-1])
            elif tok.type == "_DEDENT":
                opened.pop()
            else:
                if cur is None:
                    cur = _Logical(len(opened), opened[-1] if opened else None)
                cur.tokens.append(tok)
        if cur is not None:
            out.append(cur)
        return out

    def _rows_of(self, stmt: _Logical) -> None:
        by_row: Dict[int, list] = {}
        for tok in stmt.tokens:
            by_row.setdefault(tok.line - 1, []).append(tok)
        stmt.col = _width(self.phys[stmt.first_row][:stmt.tokens[0].column - 1])
        for r in range(stmt.first_row, stmt.last_row + 1):
            text = self.phys[r]
            toks = by_row.get(r, [])
            if not toks:
                rest = text.strip()
                row = _Row(blank=not rest)
                row.lead = _width(text[:len(text) - len(text.lstrip())])
                if rest.startswith("#"):
                    row.comment = rest.rstrip()  # a comment line: placed by its indentation
                elif rest:
                    row.backslash = True  # a line holding only a continuation
                stmt.rows.append(row)
                continue
            pieces, prev = [], None
            for tok in toks:
                pieces.append(_Piece(_space(prev, tok) if prev is not None else "",
                                     self.src[tok.start_pos:tok.end_pos], tok))
                prev = tok
            row = _Row(pieces)
            row.lead = _width(text[:toks[0].column - 1])
            end = toks[-1].end_column - 1 if toks[-1].end_line - 1 == r else len(text)
            tail = text[end:]
            rest = tail.strip()
            if rest.startswith("#"):
                at = end + len(tail) - len(tail.lstrip())
                row.comment, row.comment_col = rest.rstrip(), _width(text[:at])
            elif rest and r < stmt.last_row:
                row.backslash = True  # a backslash ending the statement's last line is dropped: it joins nothing
            stmt.rows.append(row)

    # ---- alignment
    def _align_all(self) -> None:
        blocks: Dict[int, List[_Logical]] = {}
        for stmt in self.lines:
            if stmt.parent is not None:
                blocks.setdefault(id(stmt.parent), []).append(stmt)
        for members in blocks.values():
            word = members[0].parent.word
            if word == "deal":
                _align([m.rows[0] for m in members], _header_columns, HEADER_GAP)
            elif word == "class":
                _align([m.rows[0] for m in members], _class_columns, CLASS_GAP)
            elif word == "table":
                _align([m.rows[0] for m in members], _table_columns, TABLE_GAP, _amounts)
        for run in self._runs():
            word = run[0].word
            _align([m.rows[0] for m in run], _RUN_COLUMNS[word], RUN_GAPS[word])

    def _runs(self) -> List[List[_Logical]]:
        """Top-level 'classes', 'index' and 'parameter' statements in a row, with
        no blank line between them (comments may be)."""
        runs: List[List[_Logical]] = []
        prev: Optional[_Logical] = None
        for stmt in self.lines:
            if stmt.depth != 0 or stmt.word not in RUN_GAPS:
                prev = None
                continue
            joined = (prev is not None and prev.word == stmt.word
                      and not any(not self.phys[r].strip() for r in range(prev.last_row + 1, stmt.first_row)))
            if joined:
                runs[-1].append(stmt)
            else:
                runs.append([stmt])
            prev = stmt
        return [r for r in runs if len(r) > 1]

    # ---- output
    def render(self) -> str:
        self._align_all()
        out: List[_Row] = []
        stack: List[tuple] = []  # (original column, depth) of the open blocks at the last statement
        r = 0
        for stmt in self.lines:
            levels = stack + ([(stmt.col, stmt.depth)] if stmt.depth >= len(stack) else [])
            out.extend(self._gap_rows(r, stmt.first_row, levels))
            out.extend(self._statement_rows(stmt))
            stack = stack[:stmt.depth] + [(stmt.col, stmt.depth)]
            r = stmt.last_row + 1
        out.extend(self._gap_rows(r, len(self.phys), stack))
        _place_trailing_comments(out)
        text: List[str] = []
        for row in out:
            if row.blank:
                if text and text[-1] != "":
                    text.append("")
                continue
            code = row.code()
            if row.comment is None:
                text.append(code)
            elif not code:
                text.append(" " * row.indent + row.comment)
            else:
                text.append(code + " " * (row.comment_col - len(code)) + row.comment)
        while text and text[-1] == "":
            text.pop()
        return "\n".join(text) + "\n"

    def _gap_rows(self, start: int, stop: int, levels) -> List[_Row]:
        """Blank lines and comments between statements; a comment is indented as
        the deepest open block whose original column it reaches."""
        rows = []
        for r in range(start, stop):
            text = self.phys[r]
            rest = text.strip()
            if not rest.startswith("#"):
                if not rest:
                    rows.append(_Row(blank=True))
                continue  # a line holding only a backslash joins nothing here
            col = _width(text[:len(text) - len(text.lstrip())])
            depth = max([d for c, d in levels if c <= col], default=0)
            row = _Row(comment=rest.rstrip())
            row.indent = INDENT * depth
            rows.append(row)
        return rows

    def _statement_rows(self, stmt: _Logical) -> List[_Row]:
        """The statement's rows indented: the first at its depth, each
        continuation moved as far as the innermost '(' open above it moved."""
        base = INDENT * stmt.depth
        new_col: Dict[int, int] = {}
        old_col: Dict[int, int] = {}
        opened: list = []
        for i, row in enumerate(stmt.rows):
            if i == 0:
                row.indent = base
            elif not row.blank:
                anchor = opened[-1] if opened else stmt.tokens[0]
                shifted = row.lead + new_col[id(anchor)] - old_col[id(anchor)]
                closing = bool(row.pieces) and row.pieces[0].tok.type == "RPAR"
                row.indent = max(shifted, base if closing else base + INDENT)
            col = row.indent
            for p in row.pieces:
                col += len(p.sep)
                new_col[id(p.tok)] = col
                old_col[id(p.tok)] = _width(self.phys[p.tok.line - 1][:p.tok.column - 1])
                col += len(p.text)
                if p.tok.type == "LPAR":
                    opened.append(p.tok)
                elif p.tok.type == "RPAR" and opened:
                    opened.pop()
        return stmt.rows


# ------------------------------------------------------------------ columns
def _align(rows: List[_Row], columns, gaps, right=None) -> None:
    """Pad ``rows`` so that each column starts at one place in all of them.
    ``columns(row)`` gives the index of the piece each column starts at (None
    for a column the row leaves empty), or None for a row not aligned; a
    column is as wide as its widest text in a row that has a later column.
    ``right(pieces)``, true of every cell of a column, right-aligns it (its
    cells end at one place: amounts with their digits in line)."""
    table = []
    for row in rows:
        starts = columns(row.pieces)
        if starts is not None and len(starts) > 1:
            table.append((row, starts, _column_texts(row.pieces, starts)))
    if not table:
        return
    ncols = max(len(s) for _, s, _ in table)
    cells = [[(row, s, t) for row, s, t in table if k < len(s) and s[k] is not None] for k in range(ncols)]
    ragged = {k for k in range(1, ncols)
              if right is not None and all(right(_cell(row.pieces, s, k)) for row, s, _ in cells[k])}
    # A right-aligned column pads its cells on the left to the longest (a trailing comma aside).
    pad = {k: max(len(t[k].rstrip(",")) for _, _, t in cells[k]) for k in ragged}
    widths = [0] * ncols
    for _, starts, texts in table:
        last = max(k for k, s in enumerate(starts) if s is not None)
        for k in range(last):
            if starts[k] is not None:
                lead = pad[k] - len(texts[k].rstrip(",")) if k in pad else 0
                widths[k] = max(widths[k], lead + len(texts[k]))
    for row, starts, texts in table:
        at = cur = 0
        for k, s in enumerate(starts):
            if k:
                at += widths[k - 1] + _gap(gaps, k - 1)
            if s is None:
                continue
            if k:
                lead = pad[k] - len(texts[k].rstrip(",")) if k in pad else 0
                row.pieces[s].sep = " " * (at + lead - cur)
                cur = at + lead
            cur += len(texts[k])


def _cell(pieces, starts, k):
    after = [s for s in starts[k + 1:] if s is not None]
    return pieces[starts[k]:after[0] if after else len(pieces)]


def _gap(gaps, k: int) -> int:
    return gaps[k] if k < len(gaps) else 1


def _column_texts(pieces: List[_Piece], starts) -> List[str]:
    bounds = [s for s in starts if s is not None] + [len(pieces)]
    texts, j = [], 0
    for s in starts:
        if s is None:
            texts.append("")
            continue
        end = bounds[j + 1]
        texts.append(pieces[s].text + "".join(p.sep + p.text for p in pieces[s + 1:end]))
        j += 1
    return texts


def _header_columns(pieces):
    key = 2 if pieces[0].text in _TWO_WORD_HEADER else 1
    return [0, key] if len(pieces) > key else None


def _class_columns(pieces):
    if pieces[0].text in _CLASS_FLAGS:
        return None
    key = 2 if pieces[0].text == "day" else 1
    return [0, key] if len(pieces) > key else None


def _table_columns(pieces):
    period = 2 if len(pieces) > 1 and pieces[1].tok.type == "PLUS" else 1
    return [0, period] + [i + 1 for i, p in enumerate(pieces) if p.tok.type == "COMMA" and i + 1 < len(pieces)]


def _amounts(pieces) -> bool:
    """A table cell holding an amount or a plain number (not a rate)."""
    return all(p.tok.type in ("AMOUNT", "NUMBER", "INT", "COMMA") for p in pieces)


def _classes_columns(pieces):
    at = next((i for i, p in enumerate(pieces) if p.tok.type == "EQUAL"), None)
    return None if at is None else [0, at]


def _index_columns(pieces):
    return [0, 2] if len(pieces) > 2 else None


def _parameter_columns(pieces):
    if len(pieces) > 2 and pieces[2].tok.type == "STRING":
        return [0, 2, 3] if len(pieces) > 3 else [0, 2]
    return [0, None, 2] if len(pieces) > 2 else None


_RUN_COLUMNS = {"classes": _classes_columns, "index": _index_columns, "parameter": _parameter_columns}


def _place_trailing_comments(rows: List[_Row]) -> None:
    """A trailing comment keeps its column, at least TRAILING_GAP after the
    code; comments of adjacent lines that shared a column keep sharing one."""
    i = 0
    while i < len(rows):
        row = rows[i]
        if row.comment is None or row.comment_col is None or not row.pieces:
            i += 1
            continue
        j = i + 1
        while (j < len(rows) and rows[j].comment is not None and rows[j].pieces
               and rows[j].comment_col == row.comment_col):
            j += 1
        col = max([row.comment_col] + [len(r.code()) + TRAILING_GAP for r in rows[i:j]])
        for r in rows[i:j]:
            r.comment_col = col
        i = j
