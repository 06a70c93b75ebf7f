"""Tree -> AST: ``ToAst`` turns Lark's parse tree into the records of ``dsl.ast``.

Each node gets the span of the text it came from. Literals are read exactly
(``Decimal``) and must be finite and in range: a number of hundreds of digits,
a whole number past its field's bound, an impossible date are positioned
errors here, never an overflow later.
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal

from lark import Token, Transformer, v_args

from . import ast as A
from .diagnostics import DealError, Diagnostic
from .limits import MAX_MONTHS, MAX_PERIOD


_AMOUNT_RE = re.compile(r"[$,]")

MAX_LITERAL = 10 ** 15  # the largest number a deal may write (see ToAst._quantity)
MAX_DELAY_DAYS = 365  # an investor's payment delay (agency pass-throughs: 14 to 75 days)


def _span_tok(path: str, tok: Token) -> A.Span:
    return A.Span(path, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column)


def _unquote(tok: Token) -> str:
    return tok.value[1:-1].replace('\\"', '"')


@v_args(meta=True)
class _Terms(Transformer):
    """Literals, expressions, the header and the items of a class."""

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
        return self._quantity(tok, Decimal(tok.value.replace("%", "").replace(",", "").strip()) / 100, "%")

    def bp(self, meta, ch):
        tok = ch[0]
        return self._quantity(tok, Decimal(tok.value.replace("bp", "").strip()) / 10000, "bp")

    def amount(self, meta, ch):
        tok = ch[0]
        return self._quantity(tok, Decimal(_AMOUNT_RE.sub("", tok.value)), "$")

    def number(self, meta, ch):
        tok = ch[0]
        return self._quantity(tok, Decimal(tok.value), "")

    def _quantity(self, tok: Token, exact: Decimal, unit: str) -> A.Quantity:
        # Past 10**15 (a quadrillion dollars; a coupon of 10**17 %) no deal
        # means it, and the run's sums and products would overflow to inf.
        if abs(exact) > MAX_LITERAL:
            shown = tok.value if len(tok.value) <= 24 else f"{tok.value[:12]}... ({len(tok.value):,} characters)"
            raise self._err(_span_tok(self.path, tok), f"the number {shown} is too large",
                            expected=f"a number up to {MAX_LITERAL:,}")
        return A.Quantity(float(exact), unit, tok.value, _span_tok(self.path, tok))

    def _whole(self, tok: Token, what: str, low: int, high: int, text: str = "") -> int:
        """A whole number within [low, high], read without converting an
        unbounded digit string (Python refuses ints of over 4,300 digits)."""
        text = text or tok.value
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(high)) or not low <= int(digits) <= high:
            shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} digits)"
            raise self._err(_span_tok(self.path, tok), f"{what} {shown} is out of range",
                            expected=f"a whole number from {low} to {high:,}")
        return int(digits)

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
        day = self._whole(ch[0], "distribution day", 1, 31)
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
        start, u1, end, u2 = ch[0], ch[1], ch[2], ch[3]
        months = self._whole(ch[4], "a ramp of", 0, MAX_MONTHS)
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

    def c_releases_oc(self, meta, ch):
        return (*self._c_releases_oc(meta, ch), self._value_span(meta, ch))

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


@v_args(meta=True)
class _Declarations(_Terms):
    """The declarations: indices, groups, classes and sets, tables, formulas,
    parameters, accounts, events, contracts, distributions, schedules."""

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

    def _c_releases_oc(self, meta, ch):
        return ("releases_oc", True)

    def _c_no_cashflow(self, meta, ch):
        return ("no_cashflow", True)

    def _c_accrues_from(self, meta, ch):
        return ("accrues_from_closing", True)

    def _c_delay(self, meta, ch):
        return ("delay_days", self._whole(ch[0], "a delay of", 0, MAX_DELAY_DAYS))

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
        n = self._whole(ch[0], "period", 1, MAX_PERIOD)
        return (n, n)

    def pr_open(self, meta, ch):
        return (self._whole(ch[0], "period", 1, MAX_PERIOD), None)

    def pr_span_token(self, meta, ch):
        a, b = ch[0].value.split("-")
        return (self._whole(ch[0], "period", 1, MAX_PERIOD, a), self._whole(ch[0], "period", 1, MAX_PERIOD, b))

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


@v_args(meta=True)
class ToAst(_Declarations):
    """Lark's tree -> the deal's AST: losses, the waterfall's steps, the file."""

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
