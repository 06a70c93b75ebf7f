"""Parse a .waterfall file into the immutable AST of ``dsl.ast``.

Lark parses with the grammar in ``grammar/waterfall.lark`` (LALR, with a
Python-style indenter); ``ToAst`` turns the tree into AST nodes, each with
the span of the text it came from. Syntax errors become ``Diagnostic``s with
the line, a caret and what the parser expected there.
"""
from __future__ import annotations

import datetime as _dt
import functools
import importlib.resources
import re
import sys
from decimal import Decimal

import lark
from lark import Lark, Token, Transformer, v_args
from lark.indenter import Indenter

from . import ast as A
from .diagnostics import DealError, Diagnostic


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


# ------------------------------------------------------------------ the lexer's regexes
# Lark's contextual lexer has one scanner per set of terminals a parser state
# accepts (88 of them for J4), and compiles each as one alternation of those
# terminals' regexes: 40-50 ms of re.compile on every first parse, most of it
# compiling the same terminals again and again. A scanner here tries its
# terminals one by one, in the alternation's order, each terminal's regex
# compiled once per process. It is the same match (an alternation takes its
# first alternative that matches; nothing follows it in the pattern), and
# tests/language/test_lexer.py compares the two lexers token by token.


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


# How deep the parse tree may nest (an expression of many terms in a row, or
# parentheses in parentheses, nests one level a term): every pass over the deal
# recurses through it, and a deal past this is refused where it goes too deep.
MAX_NESTING = 200


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


# ------------------------------------------------------------------ tree -> AST
_AMOUNT_RE = re.compile(r"[$,]")


def _span_tok(path: str, tok: Token) -> A.Span:
    return A.Span(path, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column)


def _unquote(tok: Token) -> str:
    return tok.value[1:-1].replace('\\"', '"')


@v_args(meta=True)
class ToAst(Transformer):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _span(self, meta) -> A.Span:
        if getattr(meta, "empty", True):
            return A.Span(self.path, 0, 0)
        return A.Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _err(self, span: A.Span, msg: str, expected: str = "") -> DealError:
        return DealError([Diagnostic(span, msg, expected=expected)])

    # ---- literals
    def percent(self, meta, ch):
        tok = ch[0]
        v = Decimal(tok.value.replace("%", "").replace(",", "").strip()) / 100
        return A.Quantity(float(v), "%", tok.value, _span_tok(self.path, tok))

    def bp(self, meta, ch):
        tok = ch[0]
        v = Decimal(tok.value.replace("bp", "").strip()) / 10000
        return A.Quantity(float(v), "bp", tok.value, _span_tok(self.path, tok))

    def amount(self, meta, ch):
        tok = ch[0]
        return A.Quantity(float(_AMOUNT_RE.sub("", tok.value)), "$", tok.value, _span_tok(self.path, tok))

    def number(self, meta, ch):
        tok = ch[0]
        return A.Quantity(float(tok.value), "", tok.value, _span_tok(self.path, tok))

    def _date(self, tok: Token) -> _dt.date:
        try:
            return _dt.date.fromisoformat(tok.value)
        except ValueError:
            raise self._err(_span_tok(self.path, tok), f"impossible date {tok.value!r}",
                            expected="a calendar date YYYY-MM-DD") from None

    def date_lit(self, meta, ch):
        return A.DateLit(self._date(ch[0]), _span_tok(self.path, ch[0]))

    # ---- expressions
    def name(self, meta, ch):
        return A.Name(ch[0].value, _span_tok(self.path, ch[0]))

    def call(self, meta, ch):
        fn = ch[0]
        args = tuple(c for c in ch[1:] if c is not None)
        return A.Call(fn.value, args, self._span(meta))

    def set_arg(self, meta, ch):
        return A.SetArg(_unquote(ch[0]), _span_tok(self.path, ch[0]))

    def binop(self, meta, ch):
        left, op, right = ch
        return A.BinOp(op.value, left, right, self._span(meta))

    def neg(self, meta, ch):
        return A.Neg(ch[0], self._span(meta))

    def compare(self, meta, ch):
        left, op, right = ch
        return A.Compare(op.value, left, right, self._span(meta))

    def _boolop(self, op, meta, ch):
        operands = []
        for c in ch:
            operands.extend(c.operands if isinstance(c, A.BoolOp) and c.op == op else [c])
        return A.BoolOp(op, tuple(operands), self._span(meta))

    def or_(self, meta, ch):
        return self._boolop("or", meta, ch)

    def and_(self, meta, ch):
        return self._boolop("and", meta, ch)

    def not_(self, meta, ch):
        return A.Not(ch[0], self._span(meta))

    def if_expr(self, meta, ch):
        ch = [c for c in ch if not (isinstance(c, Token) and c.type == "THEN")]
        return A.IfExpr(ch[0], ch[1], ch[2], self._span(meta))

    def one_group(self, meta, ch):
        return A.GroupRef(ch[0], self._span(meta))

    def all_groups(self, meta, ch):
        return A.GroupRef(None, self._span(meta))

    def group_name(self, meta, ch):
        return ch[0].value

    # ---- deal header
    def deal(self, meta, ch):
        name = _unquote(ch[0])
        fields = {}
        spans = []
        for item in ch[1:]:
            key, value, span = item
            spans.append(("distribution_day" if key == "_day_rule" else key, span))
            if key == "_day_rule":
                fields["distribution_day"], fields["business_rule"] = value
            else:
                if key in fields:
                    raise self._err(span, f"the deal header states its {key.replace('_', ' ')} twice")
                fields[key] = value
        return A.Header(name=name, span=self._span(meta), spans=tuple(spans), **fields)



    def _h_cutoff(self, meta, ch):
        return ("cutoff", self._date(ch[0]))

    def _h_closing(self, meta, ch):
        return ("closing", self._date(ch[0]))

    def _h_settlement(self, meta, ch):
        return ("settlement", self._date(ch[0]))

    def _h_first_distribution(self, meta, ch):
        return ("first_distribution", self._date(ch[0]))

    def _h_distribution_day(self, meta, ch):
        day = int(ch[0].value)
        if not 1 <= day <= 31:
            raise self._err(_span_tok(self.path, ch[0]), f"distribution day {day} is not a day of the month",
                            expected="a day from 1 to 31")
        return ("distribution_day", day) if len(ch) == 1 else ("_day_rule", (day, ch[1]))

    def business_rule(self, meta, ch):
        rule = ch[-1].value
        return A.BusinessRule.FOLLOWING if rule == "next business day" else A.BusinessRule(rule)

    def _h_pricing_speed(self, meta, ch):
        return ("pricing_speed", ch[0])

    def _h_table_speeds(self, meta, ch):
        return ("table_speeds", tuple(ch))

    def _h_table_event(self, meta, ch):
        return ("table_event", ch[0].value)

    def speed_simple(self, meta, ch):
        q, unit = ch
        unit = unit.value
        if unit in ("PSA", "PPC"):
            if q.unit not in ("%", ""):
                raise self._err(q.span, f"a {unit} speed is a percentage", expected="e.g. 100% " + unit)
            value = q.value if q.unit == "%" else q.value / 100.0
        else:
            if q.unit not in ("%", ""):
                raise self._err(q.span, f"a {unit} speed is a rate", expected="e.g. 25% " + unit)
            value = q.value if q.unit == "%" else q.value / 100.0
        return A.Speed(A.SpeedKind(unit), value, span=self._span(meta))

    def speed_ramp(self, meta, ch):
        start, u1, end, u2, months = ch[0], ch[1], ch[2], ch[3], int(ch[4].value)
        basis = ch[5] if len(ch) > 5 else A.RampBasis.AGE
        for u in (u1, u2):
            if u.value != "CPR":
                raise self._err(_span_tok(self.path, u), f"a ramp runs between two CPRs, not {u.value}",
                                expected="ramp 8% CPR to 24% CPR over 12 months")
        for q in (start, end):
            if q.unit not in ("%", ""):
                raise self._err(q.span, "a CPR is a rate", expected="e.g. 8% CPR")
        s = start.value if start.unit == "%" else start.value / 100
        e = end.value if end.unit == "%" else end.value / 100
        if months < 1:
            raise self._err(self._span(meta), "a ramp needs at least one month")
        return A.Speed(A.SpeedKind.RAMP, 1.0, s, e, months, basis, span=self._span(meta))

    def ramp_basis(self, meta, ch):
        return A.RampBasis.AGE if ch[0].value == "loan age" else A.RampBasis.DEAL

    def h_cutoff(self, meta, ch):
        return (*self._h_cutoff(meta, ch), self._value_span(meta, ch))

    def h_closing(self, meta, ch):
        return (*self._h_closing(meta, ch), self._value_span(meta, ch))

    def h_settlement(self, meta, ch):
        return (*self._h_settlement(meta, ch), self._value_span(meta, ch))

    def h_first_distribution(self, meta, ch):
        return (*self._h_first_distribution(meta, ch), self._value_span(meta, ch))

    def h_distribution_day(self, meta, ch):
        return (*self._h_distribution_day(meta, ch), self._value_span(meta, ch))

    def h_pricing_speed(self, meta, ch):
        return (*self._h_pricing_speed(meta, ch), self._value_span(meta, ch))

    def h_table_speeds(self, meta, ch):
        return (*self._h_table_speeds(meta, ch), self._value_span(meta, ch))

    def h_table_event(self, meta, ch):
        return (*self._h_table_event(meta, ch), self._value_span(meta, ch))

    def c_balance(self, meta, ch):
        return (*self._c_balance(meta, ch), self._value_span(meta, ch))

    def c_coupon(self, meta, ch):
        return (*self._c_coupon(meta, ch), self._value_span(meta, ch))

    def c_cap(self, meta, ch):
        return (*self._c_cap(meta, ch), self._value_span(meta, ch))

    def c_carryover(self, meta, ch):
        return (*self._c_carryover(meta, ch), self._value_span(meta, ch))

    def c_day_count(self, meta, ch):
        return (*self._c_day_count(meta, ch), self._value_span(meta, ch))

    def c_group(self, meta, ch):
        return (*self._c_group(meta, ch), self._value_span(meta, ch))

    def c_notional(self, meta, ch):
        return (*self._c_notional(meta, ch), self._value_span(meta, ch))

    def c_residual(self, meta, ch):
        return (*self._c_residual(meta, ch), self._value_span(meta, ch))

    def c_no_cashflow(self, meta, ch):
        return (*self._c_no_cashflow(meta, ch), self._value_span(meta, ch))

    def c_accrues_from(self, meta, ch):
        return (*self._c_accrues_from(meta, ch), self._value_span(meta, ch))

    def c_accrued_at(self, meta, ch):
        return ("accrued_at", ch[0].value, self._value_span(meta, ch))

    def c_delay(self, meta, ch):
        return (*self._c_delay(meta, ch), self._value_span(meta, ch))

    def _value_span(self, meta, ch) -> A.Span:
        """Where an item's value is written (a date, a number), else the item's line."""
        if len(ch) == 1 and isinstance(ch[0], Token):
            return _span_tok(self.path, ch[0])
        return self._item_span(meta)

    def _item_span(self, meta) -> A.Span:
        sp = self._span(meta)
        # An item's span runs to the next line (it includes the newline); keep its own line.
        return A.Span(sp.file, sp.line, sp.column, sp.line, sp.end_column if sp.end_line == sp.line else sp.column)

    # ---- declarations
    def index_decl(self, meta, ch):
        return A.IndexDecl(ch[0].value, _unquote(ch[1]) if len(ch) > 1 else ch[0].value, self._span(meta))

    def group_decl(self, meta, ch):
        name = ch[0]
        title = ""
        speed = None
        for c in ch[1:]:
            if isinstance(c, Token) and c.type == "STRING":
                title = _unquote(c)
            elif isinstance(c, tuple) and c[0] == "pricing_speed":
                speed = c[1]
        return A.GroupDecl(name, title or f"Group {name}", speed, self._span(meta))

    def g_pricing_speed(self, meta, ch):
        return ("pricing_speed", ch[0])

    def class_decl(self, meta, ch):
        name = ch[0].value
        title = ""
        fields: dict = {}
        spans = []
        for c in ch[1:]:
            if isinstance(c, Token) and c.type == "STRING":
                title = _unquote(c)
            else:
                key, value, span = c
                if key in fields:
                    raise self._err(span, f"class {name} states its {key.replace('_', ' ')} twice")
                fields[key] = value
                spans.append((key, span))
        return A.ClassDecl(name=name, title=title, span=self._span(meta), spans=tuple(spans), **fields)

    def _c_balance(self, meta, ch):
        return ("balance", ch[0])

    def _c_coupon(self, meta, ch):
        return ("coupon", ch[0])

    def _c_cap(self, meta, ch):
        return ("cap", ch[0])

    def _c_carryover(self, meta, ch):
        return ("carryover_max", ch[0]) if ch else ("carryover", True)

    def _c_day_count(self, meta, ch):
        return ("day_count", A.DayCount(ch[0].value))

    def _c_group(self, meta, ch):
        return ("group", ch[0])

    def _c_notional(self, meta, ch):
        return ("notional", ch[0])

    def _c_residual(self, meta, ch):
        return ("residual", True)

    def _c_no_cashflow(self, meta, ch):
        return ("no_cashflow", True)

    def _c_accrues_from(self, meta, ch):
        return ("accrues_from_closing", True)

    def _c_delay(self, meta, ch):
        return ("delay_days", int(ch[0].value))

    def classes_decl(self, meta, ch):
        return A.ClassesDecl(_unquote(ch[0]), ch[1], self._span(meta))

    def class_list(self, meta, ch):
        return tuple(ch)

    def class_ref(self, meta, ch):
        return A.ClassRef(ch[0].value, _span_tok(self.path, ch[0]))

    def class_range(self, meta, ch):
        return A.ClassRange(ch[0].value, ch[1].value, self._span(meta))

    def set_ref(self, meta, ch):
        return A.SetRef(_unquote(ch[0]), _span_tok(self.path, ch[0]))

    def table_decl(self, meta, ch):
        name = ch[0].value
        i = 1
        title = name
        if isinstance(ch[i], Token) and ch[i].type == "STRING":
            title = _unquote(ch[i])
            i += 1
        key = A.TableKey(ch[i].value)
        rows = tuple(ch[i + 1:])
        return A.TableDecl(name, title, key, rows, self._span(meta))

    def table_row(self, meta, ch):
        first, last = ch[0]
        return A.TableRow(first, last, tuple(ch[1:]), self._span(meta))

    def pr_single(self, meta, ch):
        n = int(ch[0].value)
        return (n, n)

    def pr_open(self, meta, ch):
        return (int(ch[0].value), None)

    def pr_span_token(self, meta, ch):
        a, b = ch[0].value.split("-")
        return (int(a), int(b))

    def define_decl(self, meta, ch):
        name = ch[0].value
        if len(ch) == 3:
            return A.DefineDecl(name, _unquote(ch[1]), ch[2], self._span(meta))
        return A.DefineDecl(name, name, ch[1], self._span(meta))

    def parameter_decl(self, meta, ch):
        name = ch[0].value
        title, default = name, None
        for c in ch[1:]:
            if isinstance(c, Token):
                title = _unquote(c)
            else:
                default = c
        return A.ParameterDecl(name, title, default, self._span(meta))

    def account_decl(self, meta, ch):
        name, title, initial = ch[0].value, ch[0].value, None
        for c in ch[1:]:
            if isinstance(c, Token):
                title = _unquote(c)
            else:
                initial = c
        if initial is not None and initial.unit not in ("$", ""):
            raise self._err(initial.span, f"account {name}: an initial balance is an amount, not {initial.text!r}")
        return A.AccountDecl(name, title, initial, self._span(meta))

    def event_decl(self, meta, ch):
        name = ch[0].value
        title = name
        rest = list(ch[1:])
        if isinstance(rest[0], Token):
            title = _unquote(rest.pop(0))
        when = rest.pop(0)
        retires: tuple = ()
        for item in rest:
            retires += item
        return A.EventDecl(name, title, when, retires, self._span(meta))

    def event_item(self, meta, ch):
        return ch[0]

    def contract_decl(self, meta, ch):
        name = ch[0].value
        if len(ch) == 3:
            return A.ContractDecl(name, _unquote(ch[1]), ch[2], self._span(meta))
        return A.ContractDecl(name, name, ch[1], self._span(meta))

    def distribution_decl(self, meta, ch):
        name = ch[0].value
        title, steps = name, list(ch[1:])
        if steps and isinstance(steps[0], Token):
            title = _unquote(steps.pop(0))
        return A.DistributionDecl(name, title, tuple(steps), self._span(meta))

    # ---- losses
    def losses_decl(self, meta, ch):
        title = ""
        if ch and isinstance(ch[0], Token):
            title, ch = _unquote(ch[0]), ch[1:]
        return A.LossesDecl(title, tuple(ch), self._span(meta))

    def loss_step(self, meta, ch):
        mode = A.Mode.SEQUENTIAL
        if isinstance(ch[0], A.Mode):
            mode, ch = ch[0], ch[1:]
        return A.LossStep(mode, ch[0], self._span(meta))

    # ---- waterfall
    def waterfall_decl(self, meta, ch):
        title = ""
        if ch and isinstance(ch[0], Token):
            title, ch = _unquote(ch[0]), ch[1:]
        return A.Waterfall(title, tuple(ch), self._span(meta))

    def clause(self, meta, ch):
        return A.Clause(_unquote(ch[0]), tuple(ch[1:]), self._span(meta))

    def _then(self, ch):
        if ch and isinstance(ch[0], Token) and ch[0].type == "THEN":
            return True, ch[1:]
        return False, ch

    def from_block(self, meta, ch):
        then, ch = self._then(ch)
        return A.FromBlock(ch[0], (ch[1],), then, self._span(meta))

    def from_nested(self, meta, ch):
        then, ch = self._then(ch)
        return A.FromBlock(ch[0], tuple(ch[1:]), then, self._span(meta))

    def fund_list(self, meta, ch):
        return tuple(ch)

    def fund_group(self, meta, ch):
        kind, group = ch
        return A.Fund(A.FundKind(kind.value), group.name, self._span(meta))

    def fund_excess(self, meta, ch):
        return A.Fund(A.FundKind.EXCESS, None, self._span(meta))

    def fund_account(self, meta, ch):
        return A.Fund(A.FundKind.ACCOUNT, ch[0].value, self._span(meta))

    def fund_contract(self, meta, ch):
        return A.Fund(A.FundKind.CONTRACT, ch[0].value, self._span(meta))

    def if_step(self, meta, ch):
        cond = ch[0]
        rest = list(ch[1:])
        else_steps: tuple = ()
        if rest and isinstance(rest[-1], list):
            else_steps = tuple(rest.pop())
        return A.IfStep(cond, tuple(rest), else_steps, self._span(meta))

    def else_part(self, meta, ch):
        return list(ch)

    def pay_step(self, meta, ch):
        then, ch = self._then(ch)
        what = ch[0]
        mode = A.Mode.SEQUENTIAL
        i = 1
        if i < len(ch) and isinstance(ch[i], A.Mode):
            mode = ch[i]
            i += 1
        targets = ch[i]
        limit = ch[i + 1] if i + 1 < len(ch) else None
        return A.Pay(what, mode, targets, limit, then, self._span(meta))

    def pay_remaining(self, meta, ch):
        then, ch = self._then(ch)
        return A.Pay(A.PayWhat.REMAINING, A.Mode.PRO_RATA, ch[0], ch[1] if len(ch) > 1 else None, then, self._span(meta))

    def accrete_step(self, meta, ch):
        then, ch = self._then(ch)
        return A.Accrete(ch[0], ch[1], then, self._span(meta))

    def deposit_step(self, meta, ch):
        then, ch = self._then(ch)
        return A.Deposit(ch[0].value, ch[1] if len(ch) > 1 else None, then, self._span(meta))

    def schedule_decl(self, meta, ch):
        name = ch[0].value
        rest = list(ch[1:])
        title = name
        if isinstance(rest[0], Token):
            title = _unquote(rest.pop(0))
        size, group, low, high = rest
        if size.unit not in ("$", ""):
            raise self._err(size.span, f"schedule {name}: a planned balance is a dollar amount, not {size.text!r}")
        if group.name is None:
            raise self._err(group.span, f"schedule {name}: name one group", expected="of group NAME")
        return A.ScheduleDecl(name, title, size, group.name, low, high, self._span(meta))

    def payable(self, meta, ch):
        return A.PayWhat(ch[0].value)

    def mode(self, meta, ch):
        return A.Mode(ch[0].value)

    def limit(self, meta, ch):
        return ch[0]

    # ---- file
    def start(self, meta, ch):
        header = None
        buckets: dict = {k: [] for k in ("indices", "groups", "classes", "sets", "tables", "defines",
                                         "parameters", "accounts", "events", "contracts", "distributions",
                                         "schedules")}
        waterfall = None
        losses = None
        kinds = {A.IndexDecl: "indices", A.GroupDecl: "groups", A.ClassDecl: "classes",
                 A.ClassesDecl: "sets", A.TableDecl: "tables", A.DefineDecl: "defines",
                 A.ParameterDecl: "parameters", A.AccountDecl: "accounts", A.EventDecl: "events",
                 A.ContractDecl: "contracts", A.DistributionDecl: "distributions", A.ScheduleDecl: "schedules"}
        for item in ch:
            if isinstance(item, A.Header):
                if header is not None:
                    raise self._err(item.span, "a second 'deal' header", expected="one deal per file")
                header = item
            elif isinstance(item, A.Waterfall):
                if waterfall is not None:
                    raise self._err(item.span, "a second 'waterfall'", expected="one waterfall per deal")
                waterfall = item
            elif isinstance(item, A.LossesDecl):
                if losses is not None:
                    raise self._err(item.span, "a second 'losses' section")
                losses = item
            else:
                buckets[kinds[type(item)]].append(item)
        if header is None:
            raise self._err(A.Span(self.path, 1, 1), "the file has no 'deal' header",
                            expected='deal "NAME" followed by its dates')
        return A.Deal(header=header, waterfall=waterfall, losses=losses,
                      **{k: tuple(v) for k, v in buckets.items()})
