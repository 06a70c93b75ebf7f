"""Parse a .waterfall file into the immutable AST of ``dsl.ast``.

Lark parses with the grammar in ``grammar/waterfall.lark`` (LALR, with a
Python-style indenter); ``ToAst`` turns the tree into AST nodes, each with
the span of the text it came from. Syntax errors become ``Diagnostic``s with
the line, a caret and what the parser expected there.
"""
from __future__ import annotations

import functools
import re
import importlib.resources

import lark
from lark import Lark

from . import ast as A
from .build import ToAst
from .diagnostics import DealError, Diagnostic, did_you_mean
from .lexer import DealIndenter, _Alternation, _BadDedent, _SharedRe, _share_regexes  # noqa: F401
from .walk import MAX_NESTING


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return _new_parser(shared_regexes=True)


def parser_options() -> dict:
    """Lark's options for the deal grammar (the key of its tables, dsl.larktables)."""
    return dict(parser="lalr", lexer="contextual", postlex=DealIndenter(), propagate_positions=True,
                maybe_placeholders=False)


def _new_parser(shared_regexes: bool) -> Lark:
    from . import larktables
    text = importlib.resources.files("grammar").joinpath("waterfall.lark").read_text(encoding="utf-8")
    parser = larktables.parser(text, _tables_folder(), **parser_options())
    if shared_regexes:
        _share_regexes(parser)
    return parser


def _tables_folder():
    """Where Lark's tables for the grammar are kept (0.15-0.45 s to build, a few
    ms to load): the grammar's own folder, never the cache folder (see
    ``dsl.larktables``); None when the package is not in a folder (a zip)."""
    from pathlib import Path
    folder = importlib.resources.files("grammar")
    return folder if isinstance(folder, Path) else None


_TERMINAL_NAMES = {
    "_NL": "end of line",
    "_INDENT": "an indented block",
    "_DEDENT": "end of the block",
    "NAME": "a name",
    "STRING": 'a quoted string',
    "DATE": "a date (YYYY-MM-DD)",
    "PERCENT": "a percentage (e.g. 5.25%)",
    "BP": "basis points (e.g. 25bp)",
    "AMOUNT": "an amount (e.g. 119,257,000)",
    "NUMBER": "a number",
    "INT": "a whole number",
    "DAY_COUNT": "a day count (30/360, actual/360, actual/365, actual/actual)",
    "SPEED_UNIT": "a speed unit (CPR, SMM, PSA, PPC, ABS)",
    "PAYABLE": "what to pay (interest, current interest, principal, carryover, ...)",
    "FUND_KIND": "interest, principal or funds",
    "COMP_OP": "a comparison",
    "ADD_OP": "+ or -",
    "MUL_OP": "* or /",
    "PERIOD_SPAN": "a period range (e.g. 1-36)",
    "TABLE_KEY": "period or month",
    "BUSINESS_RULE": "a business-day rule (next business day, following, ...)",
    "SEQUENTIALLY": "sequentially",
    "PRO_RATA": "pro rata",
    "COLON": "':'",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "EQUAL": "'='",
    "THEN": "then",
}


def _describe_expected(expected) -> str:
    names = []
    for term in sorted(expected):
        if term in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[term])
            continue
        try:
            pattern = _parser().get_terminal(term).pattern
        except KeyError:
            names.append(term)
            continue
        if isinstance(pattern, lark.lexer.PatternStr):
            names.append(f"'{pattern.value}'")
        else:
            names.append(term.lower())
    names = sorted(set(names))
    if len(names) > 8:
        names = names[:8] + ["..."]
    return "one of " + ", ".join(names) if len(names) > 1 else (names[0] if names else "")


def _keywords(expected) -> list:
    """The literal words among the expected terminals ('coupon', 'balance', ...)."""
    words = []
    for term in expected:
        try:
            pattern = _parser().get_terminal(term).pattern
        except KeyError:
            continue
        if isinstance(pattern, lark.lexer.PatternStr) and pattern.value[:1].isalpha():
            words.append(pattern.value)
    return words


def parse(text: str, path: str = "<string>") -> A.Deal:
    """Parse deal text; raise DealError with positioned diagnostics."""
    if text.startswith("\ufeff"):  # a byte-order mark, as editors on Windows write one
        text = text[1:]
    if not text.endswith("\n"):
        text += "\n"
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as e:
        raise DealError([_syntax_diagnostic(e, text, path)], {path: text}) from None
    except _BadDedent as e:
        raise DealError([Diagnostic(A.Span(path, e.line, e.column, e.line, e.column + 1),
                                    "this line's indentation matches no enclosing block",
                                    expected="the indentation of the block it belongs to")], {path: text}) from None
    _check_nesting(tree, path, text)
    try:
        deal = ToAst(path).transform(tree)
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, DealError):
            err = e.orig_exc
            raise DealError(err.diagnostics, {path: text}) from None
        raise
    return A.Deal(**{**_deal_fields(deal), "source": text, "path": path})




def _check_nesting(tree, path: str, text: str) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = getattr(node, "meta", None)
            line, col = getattr(meta, "line", 0) or 0, getattr(meta, "column", 0) or 0
            raise DealError([Diagnostic(A.Span(path, line, col, line, col + 1),
                                        f"this nests more than {MAX_NESTING} levels deep",
                                        hint="an expression of hundreds of terms in a row, or of parentheses "
                                             "in parentheses: split it into formulas ('define')")], {path: text})
        for child in getattr(node, "children", ()):
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))


def _deal_fields(deal: A.Deal) -> dict:
    return {f.name: getattr(deal, f.name) for f in deal.__attrs_attrs__ if f.name not in ("source", "path")}


def _syntax_diagnostic(e: lark.exceptions.UnexpectedInput, text: str, path: str) -> Diagnostic:
    line = getattr(e, "line", 0) or 0
    col = getattr(e, "column", 0) or 0
    bad = _bad_date(text, line, col, path) or _bad_number(text, line, col, path)
    if bad is not None:
        return bad
    if isinstance(e, lark.exceptions.UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            msg = "unexpected end of file"
        elif tok.type == "_NL":
            msg = "unexpected end of line"
        elif tok.type == "_DEDENT":
            msg = "unexpected end of block"
        elif tok.type == "_INDENT":
            msg = "unexpected indentation"
        else:
            msg = f"unexpected {tok.value!r}"
            src = text.split("\n")[line - 1] if 0 < line <= len(text.split("\n")) else ""
            if tok.value == "-" and src[col:col + 1].isdigit():  # balance -1,500,000
                msg = "unexpected '-': a number here is written without a sign (it is not negative)"
        expected = _describe_expected(e.accepts or e.expected)
        width = len(tok.value) if tok.type not in ("_NL", "_DEDENT", "_INDENT", "$END") else 1
        if tok.type == "_INDENT" and tok.end_line:
            # Point at the over-indented line itself, or at the line before when that
            # line is the one out of step (the first line of a block indented less than the rest).
            line, col = tok.end_line, tok.end_column
            short = _short_block_start(text, line)
            if short is not None:
                at, have, want = short
                return Diagnostic(A.Span(path, at, have + 1, at, have + 2),
                                  f"this line is indented {have} spaces and the next line {want}: "
                                  f"the lines of one block are indented alike",
                                  expected=f"{want} spaces, as the lines after it")
            return Diagnostic(A.Span(path, line, col, line, col + 1), msg, expected=expected)
        if tok.type in ("_NL", "_DEDENT", "_INDENT", "$END") or not line:
            # Point after the last real token of the line.
            line, col = _end_of_previous_token(text, e)
            width = 1
        hint = ""
        if tok.type not in ("_NL", "_DEDENT", "_INDENT", "$END") and str(tok.value)[:1].isalpha():  # 'cupon'
            hint = did_you_mean(str(tok.value), _keywords(e.accepts or e.expected))
        return Diagnostic(A.Span(path, line, col, line, col + width), msg, expected=expected, hint=hint)
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        expected = _describe_expected(e.allowed or ())
        if ch == '"':
            return Diagnostic(A.Span(path, line, col, line, col + 1), "unterminated string",
                              expected='a closing " on the same line')
        return Diagnostic(A.Span(path, line, col, line, col + 1), f"unexpected character {ch!r}", expected=expected)
    return Diagnostic(A.Span(path, line, col), str(e).splitlines()[0])


# A word that starts as a number and goes wrong: '1,5000,00', '92.5MM', '$1.5M'.
_NUMBERISH = re.compile(r"\$?\d[\d,.]*[A-Za-z]*")
_SUFFIXES = {"k": 10 ** 3, "m": 10 ** 6, "mm": 10 ** 6, "mil": 10 ** 6, "b": 10 ** 9, "bn": 10 ** 9}
_HOW = "digits with thousands commas in groups of three (150,000,000) or none (150000000)"


_DATEISH = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def _bad_date(text: str, line: int, col: int, path: str):
    """A diagnostic for a date written another way than YYYY-MM-DD (2026-1-28, 1/28/2026),
    with the date meant; None if the error is not inside one."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    src = lines[line - 1]
    for m in _DATEISH.finditer(src):
        if m.start() <= col - 1 < m.end():
            y, mo, d = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(6), m.group(4), m.group(5))
            meant = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
            span = A.Span(path, line, m.start() + 1, line, m.end() + 1)
            return Diagnostic(span, f"'{m.group()}' is not a date as a deal writes one",
                              expected="a date written YYYY-MM-DD, the month and day in two digits",
                              hint=f"did you mean {meant}?")
    return None


def _bad_number(text: str, line: int, col: int, path: str):
    """A diagnostic for a syntax error inside a number-like word (the lexer took
    part of it as a number, and the rest is unexpected): how an amount is written,
    and the amount meant where it can be told. None if the error is elsewhere."""
    lines = text.split("\n")
    if not 0 < line <= len(lines) or col < 2:
        return None
    src = lines[line - 1]
    for m in _NUMBERISH.finditer(src):
        if m.start() < col - 1 < m.end() and (m.start() == 0 or not (src[m.start() - 1].isalnum()
                                                                   or src[m.start() - 1] in "_-")):
            break
    else:
        return None
    word = m.group()
    suffix = re.search(r"[A-Za-z]*$", word).group()
    plain = word[:len(word) - len(suffix)].lstrip("$").replace(",", "")
    hint = ""
    if re.fullmatch(r"\d+(\.\d+)?", plain) and (not suffix or suffix.lower() in _SUFFIXES):
        value = float(plain) * _SUFFIXES.get(suffix.lower(), 1)
        if value == int(value) and 0 < value < 10 ** 15:
            hint = f"did you mean {int(value):,}?"
    what = f"'{word}' is not a number" if not suffix else f"'{word}' is not an amount: a number has no '{suffix}' suffix"
    span = A.Span(path, line, m.start() + 1, line, m.end() + 1)
    return Diagnostic(span, what, expected=f"an amount written as {_HOW}", hint=hint)


def _short_block_start(text: str, line: int):
    """(line, its indentation, the next line's) when the line before ``line`` opens a
    block (it is indented more than the line before it) but less than ``line``, the
    rest of the block: that line is the one out of step. None otherwise."""
    lines = text.split("\n")

    def before(i):  # the last line before line i (1-based) with something on it besides a comment
        i -= 1
        while i > 0 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith("#")):
            i -= 1
        return i

    def indent(i):
        return len(lines[i - 1]) - len(lines[i - 1].lstrip(" "))

    p = before(line)
    q = before(p) if p else 0
    if not (p and q and indent(q) < indent(p) < indent(line)):
        return None
    # that line is the one out of step if, indented as the next, the text parses past it
    fixed = lines[:p - 1] + [" " * indent(line) + lines[p - 1].lstrip(" ")] + lines[p:]
    try:
        _parser().parse("\n".join(fixed))
    except lark.exceptions.UnexpectedInput as e:
        if (getattr(e, "line", 0) or 0) <= line:
            return None
    except _BadDedent:
        return None
    return p, indent(p), indent(line)


def _end_of_previous_token(text: str, e) -> tuple:
    tok = e.token
    pos = getattr(tok, "start_pos", None)
    if pos is None or pos > len(text):
        pos = len(text)
    # Walk back over whitespace/newlines to the last visible character.
    i = min(pos, len(text)) - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i < 0:
        return 1, 1
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 2
    return line, col
