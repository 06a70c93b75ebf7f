"""Parse a .waterfall file into the immutable AST of ``dsl.ast``.

Lark parses with the grammar in ``grammar/waterfall.lark`` (LALR, with a
Python-style indenter); ``ToAst`` turns the tree into AST nodes, each with
the span of the text it came from. Syntax errors become ``Diagnostic``s with
the line, a caret and what the parser expected there.
"""
from __future__ import annotations

import functools
import importlib.resources

import lark
from lark import Lark

from . import ast as A
from .build import ToAst
from .diagnostics import DealError, Diagnostic
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
        expected = _describe_expected(e.accepts or e.expected)
        width = len(tok.value) if tok.type not in ("_NL", "_DEDENT", "_INDENT", "$END") else 1
        if tok.type == "_INDENT" and tok.end_line:
            # Point at the over-indented line itself.
            line, col = tok.end_line, tok.end_column
            return Diagnostic(A.Span(path, line, col, line, col + 1), msg, expected=expected)
        if tok.type in ("_NL", "_DEDENT", "_INDENT", "$END") or not line:
            # Point after the last real token of the line.
            line, col = _end_of_previous_token(text, e)
            width = 1
        return Diagnostic(A.Span(path, line, col, line, col + width), msg, expected=expected)
    if isinstance(e, lark.exceptions.UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        expected = _describe_expected(e.allowed or ())
        if ch == '"':
            return Diagnostic(A.Span(path, line, col, line, col + 1), "unterminated string",
                              expected='a closing " on the same line')
        return Diagnostic(A.Span(path, line, col, line, col + 1), f"unexpected character {ch!r}", expected=expected)
    return Diagnostic(A.Span(path, line, col), str(e).splitlines()[0])


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
