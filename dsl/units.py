"""Units: what kind of quantity each field and each formula is.

Every field whose kind is fixed is in ``FIELDS``; every built-in function's
and value's unit is in ``dsl.builtins``. The check ``units`` infers the kind
of literals (``5.50%`` a ratio, ``80,000,000`` an amount, ``5.50`` a bare
number, ``0`` anything) and of formulas whose kind follows from their parts
(amount / amount = ratio, ratio * amount = amount, a formula's name = its
formula's kind) and reports a value of the wrong kind where a field fixes it:
``coupon 5.50`` (a bare number where a rate belongs: "did you mean 5.50%?"),
``pay principal ... up to 5%`` (a percentage where an amount belongs). A
formula whose kind is not known (a parameter without a default, a product of
two amounts) is never reported: no false alarms.
"""
from __future__ import annotations

import enum
from typing import Iterator, Optional

from . import ast as A
from .builtins import FUNCTIONS, VARIABLE_UNITS
from .checkctx import Context, err
from .diagnostics import Diagnostic
from .walk import MAX_NESTING, iter_exprs, iter_steps, step_blocks


class Kind(str, enum.Enum):
    AMOUNT = "amount"  # dollars
    RATE = "rate"  # an annual rate (a coupon, an index level, a WAC)
    RATIO = "ratio"  # a fraction: a percentage, amount / amount
    MONTHS = "months"  # periods
    COUNT = "count"  # days, a number of things
    DATE = "date"
    NUMBER = "number"  # a bare number: a scale factor
    BOOL = "bool"  # a condition
    ANY = "any"  # the literal 0: zero of every kind

    @property
    def said(self) -> str:
        return _SAID[self]


_SAID = {Kind.AMOUNT: "an amount", Kind.RATE: "a rate", Kind.RATIO: "a percentage", Kind.MONTHS: "a number of months",
         Kind.COUNT: "a count", Kind.DATE: "a date", Kind.NUMBER: "a bare number", Kind.BOOL: "a condition",
         Kind.ANY: "zero"}

# The fields whose kind is fixed, by (declaration, field): what the deal must write there.
FIELDS = {
    ("class", "coupon"): Kind.RATE,
    ("class", "cap"): Kind.RATE,
    ("class", "carryover up to"): Kind.RATE,
    ("class", "notional"): Kind.AMOUNT,
    ("class", "balance"): Kind.AMOUNT,
    ("account", "initial"): Kind.AMOUNT,
    ("schedule", "planned balance"): Kind.AMOUNT,
    ("contract", "pays"): Kind.AMOUNT,
    ("step", "up to"): Kind.AMOUNT,
    ("step", "if"): Kind.BOOL,
    ("event", "when"): Kind.BOOL,
}

_RATEISH = (Kind.RATE, Kind.RATIO)
_SCALAR = (Kind.NUMBER, Kind.MONTHS, Kind.COUNT)
# What may not stand where a kind is due (a kind not listed, or not known, may).
_WRONG = {
    Kind.RATE: (Kind.AMOUNT, Kind.DATE, Kind.BOOL),
    Kind.AMOUNT: (Kind.RATE, Kind.RATIO, Kind.DATE, Kind.BOOL),
    Kind.MONTHS: (Kind.AMOUNT, Kind.RATE, Kind.RATIO, Kind.DATE, Kind.BOOL),
    Kind.BOOL: (Kind.AMOUNT, Kind.RATE, Kind.RATIO, Kind.DATE, Kind.NUMBER, Kind.MONTHS, Kind.COUNT),
}


# ------------------------------------------------------------------ inference
def literal_kind(q: A.Quantity) -> Kind:
    """A literal's kind: a number grouped by thousands (1,000) is an amount as a
    field's value but may be a scale factor in a formula (x / 1,000), so only
    a '$' makes it an amount there."""
    if q.value == 0:
        return Kind.ANY
    if q.unit in ("%", "bp"):
        return Kind.RATIO
    return Kind.AMOUNT if q.text.lstrip().startswith("$") else Kind.NUMBER


def _scalar(k):
    return Kind.NUMBER if k in _SCALAR else k


def join(a: Optional[Kind], b: Optional[Kind]) -> Optional[Kind]:
    """The kind of a value that is either a or b (if/else, min, max, a sum)."""
    if a is Kind.ANY:
        return b
    if b is Kind.ANY or a == b:
        return a
    if a is None or b is None:
        return None
    if a in _RATEISH and b in _RATEISH:
        return Kind.RATE
    if a is Kind.NUMBER and b in (Kind.AMOUNT, Kind.RATE, Kind.RATIO, Kind.MONTHS, Kind.COUNT):
        return b  # a bare number beside an amount is an amount written without separators
    if b is Kind.NUMBER and a in (Kind.AMOUNT, Kind.RATE, Kind.RATIO, Kind.MONTHS, Kind.COUNT):
        return a
    return None


def product(a: Optional[Kind], b: Optional[Kind]) -> Optional[Kind]:
    """A number times a percentage or a rate is not known: ``LIBOR_1M * 10,000``
    may be a rate scaled or interest on $10,000; an amount scaled stays one."""
    if Kind.ANY in (a, b):
        return Kind.ANY
    a, b = _scalar(a), _scalar(b)
    if Kind.NUMBER in (a, b):
        other = b if a is Kind.NUMBER else a
        return other if other in (Kind.NUMBER, Kind.AMOUNT) else None
    if Kind.AMOUNT in (a, b) and (b if a is Kind.AMOUNT else a) in _RATEISH:
        return Kind.AMOUNT  # a share of an amount; interest at a rate
    if a is Kind.RATIO and b is Kind.RATIO:
        return Kind.RATIO
    if {a, b} == {Kind.RATE, Kind.RATIO}:
        return Kind.RATE
    return None


def quotient(a: Optional[Kind], b: Optional[Kind]) -> Optional[Kind]:
    if a is Kind.ANY:
        return Kind.ANY
    a, b = _scalar(a), _scalar(b)
    if b is Kind.NUMBER:
        return a if a in (Kind.NUMBER, Kind.AMOUNT) else None
    if a == b and a in (Kind.AMOUNT, Kind.RATE, Kind.RATIO):
        return Kind.RATIO
    if a is Kind.AMOUNT and b in _RATEISH:
        return Kind.AMOUNT
    if a is Kind.RATE and b is Kind.RATIO:
        return Kind.RATE
    return None


class Kinds:
    """The kind of each expression of one deal (formulas' kinds kept once found)."""

    def __init__(self, cx: Context):
        self.cx = cx
        self._names: dict = {}
        self._level = 0  # how deep ``of`` has recursed (formulas read through formulas)

    def of(self, e) -> Optional[Kind]:
        self._level += 1
        try:
            return self._of(e)
        finally:
            self._level -= 1

    def _of(self, e) -> Optional[Kind]:
        # Past the bound of the depth checks (which report it), a kind is not worked out.
        if self._level > MAX_NESTING + 50:
            return None
        if isinstance(e, A.Quantity):
            return literal_kind(e)
        if isinstance(e, A.DateLit):
            return Kind.DATE
        if isinstance(e, (A.Compare, A.BoolOp, A.Not)):
            return Kind.BOOL
        if isinstance(e, A.Name):
            return self.name(e.id)
        if isinstance(e, A.Neg):
            return self.of(e.operand)
        if isinstance(e, A.IfExpr):
            return join(self.of(e.then), self.of(e.other))
        if isinstance(e, A.BinOp):
            a, b = self.of(e.left), self.of(e.right)
            return join(a, b) if e.op in "+-" else product(a, b) if e.op == "*" else quotient(a, b)
        if isinstance(e, A.Call) and e.fn in FUNCTIONS:
            returns = FUNCTIONS[e.fn].returns
            if returns != "same":
                return Kind(returns)
            out = Kind.ANY
            for a in e.args:
                out = join(out, self.of(a))
            return out
        return None

    def name(self, n: str) -> Optional[Kind]:
        if n in VARIABLE_UNITS:
            return Kind(VARIABLE_UNITS[n])
        if n in self._names:
            return self._names[n]
        self._names[n] = None  # while it is worked out: a circular formula has no known kind
        cx = self.cx
        kind = None
        if n in cx.defines:
            kind = self.of(cx.defines[n].expr)
        elif n in cx.tables:
            kind = Kind.ANY
            for row in cx.tables[n].rows:
                for q in row.values:
                    kind = join(kind, literal_kind(q))
        elif n in cx.params:
            d = cx.params[n].default
            kind = None if d is None or d.value == 0 else literal_kind(d)  # else: whatever the assumptions set
        elif n in cx.indices:
            kind = Kind.RATE
        elif n in cx.schedules or n in cx.accounts or n in cx.contracts:
            kind = Kind.AMOUNT
        self._names[n] = kind
        return kind


# ------------------------------------------------------------------ the check
def _fields(deal: A.Deal) -> Iterator[tuple]:
    """(expression, kind due, what it is) for every expression field whose kind is fixed."""
    for c in deal.classes:
        for attr, field in (("coupon", "coupon"), ("cap", "cap"), ("carryover_max", "carryover up to"),
                            ("notional", "notional")):
            e = getattr(c, attr)
            if e is not None:
                yield e, FIELDS[("class", field)], f"class {c.name}: {field}"
    for k in deal.contracts:
        yield k.pays, FIELDS[("contract", "pays")], f"contract {k.name}: pays"
    for ev in deal.events:
        yield ev.when, FIELDS[("event", "when")], f"event {ev.name}: when"
    for block in step_blocks(deal):
        for st in iter_steps(block):
            if getattr(st, "limit", None) is not None:
                yield st.limit, FIELDS[("step", "up to")], "up to"
            if isinstance(st, A.IfStep):
                yield st.cond, FIELDS[("step", "if")], "if"


def units(cx: Context) -> Iterator[Diagnostic]:
    """A value of the wrong kind where a field or a function's argument fixes the
    kind; a comparison of a date, an amount or a percentage with another kind;
    a rate or a percentage added to an amount, in any formula (each mistake once)."""
    kinds = Kinds(cx)
    out = []
    for e, due, what in _fields(cx.deal):
        out.extend(_expect(kinds, e, due, what))
    exprs = [e for e, _, _ in _fields(cx.deal)] + [d.expr for d in cx.deal.defines]
    for e in exprs:
        for node in iter_exprs(e):
            if isinstance(node, A.Call) and node.fn in FUNCTIONS:
                for arg, unit in zip(node.args, FUNCTIONS[node.fn].units):
                    if unit:
                        out.extend(_expect(kinds, arg, Kind(unit), f"{node.fn}()"))
            elif isinstance(node, A.Compare):
                out.extend(_compare(kinds, node))
    yield from out
    seen = {(d.span.line, d.span.column) for d in out}
    owners = [(d.expr, f"formula {d.name}: ") for d in cx.deal.defines] + [(e, "") for e, _, _ in _fields(cx.deal)]
    for e, owner in owners:
        for node in iter_exprs(e):
            for d in _mixed(kinds, node, owner, seen):
                seen.add((d.span.line, d.span.column))
                yield d


def _mixed(kinds: Kinds, node, owner: str, seen: set) -> Iterator[Diagnostic]:
    """A rate or a percentage added to (or taken from, or set beside in min/max) an
    amount: ``3% + max(0, pool_end() - oc_target)`` would add 0.03 dollars. Not
    again where a part is reported already (the field's kind named the wrong one)."""
    if isinstance(node, A.BinOp) and node.op in "+-":
        parts, how = (node.left, node.right), f"and the other side of '{node.op}' is an amount"
    elif isinstance(node, A.Call) and node.fn in FUNCTIONS and FUNCTIONS[node.fn].returns == "same":
        parts, how = node.args, f"beside an amount in {node.fn}()"
    else:
        return
    if any((p.span.line, p.span.column) in seen for p in parts):
        return
    found = [(p, kinds.of(p)) for p in parts]
    if any(k is Kind.AMOUNT for _, k in found):
        for p, k in found:
            if k in _RATEISH:
                said = p.text if isinstance(p, A.Quantity) else p.id if isinstance(p, A.Name) else "this"
                share = said if isinstance(p, (A.Quantity, A.Name)) else "(...)"
                yield err(p.span, f"{owner}{said} is {k.said}, {how}",
                          expected="values of one kind on both sides (amounts with amounts)",
                          hint=f"a share of an amount is a product: {share} * cutoff_balance()")
                return


def _expect(kinds: Kinds, e, due: Kind, what: str) -> Iterator[Diagnostic]:
    """Diagnostics for ``e`` where a value of kind ``due`` belongs: the parts of a
    sum, both branches of an 'if' and every argument of min/max/abs carry the
    field's kind down to the literals they hold."""
    if isinstance(e, A.BinOp) and e.op in "+-":
        yield from _expect(kinds, e.left, due, what)
        yield from _expect(kinds, e.right, due, what)
    elif isinstance(e, A.IfExpr):
        yield from _expect(kinds, e.then, due, what)
        yield from _expect(kinds, e.other, due, what)
    elif isinstance(e, A.Neg):
        yield from _expect(kinds, e.operand, due, what)
    elif isinstance(e, A.Call) and e.fn in FUNCTIONS and FUNCTIONS[e.fn].returns == "same":
        for a in e.args:
            yield from _expect(kinds, a, due, what)
    elif isinstance(e, A.Quantity):
        yield from _literal(e, due, what)
    else:
        k = kinds.of(e)
        if k is not None and k in _WRONG.get(due, ()):
            span = e.span if not isinstance(e, A.Name) else e.span
            yield err(span, f"{what}: this is {k.said} where {due.said} belongs", expected=_EXPECTED[due])


_EXPECTED = {Kind.RATE: "a percentage (5.25%), basis points (25bp), an index or a rate formula",
             Kind.AMOUNT: "an amount (1,000,000) or a share of one (5% * cutoff_balance())",
             Kind.MONTHS: "a whole number of months (3)",
             Kind.BOOL: "a condition (a comparison such as balance(A) > 0, or happens(EVENT))"}


def _literal(q: A.Quantity, due: Kind, what: str) -> Iterator[Diagnostic]:
    k = literal_kind(q)
    if k is Kind.ANY:
        return
    if due is Kind.RATE and q.unit == "$":
        yield err(q.span, f"{what}: a dollar amount {q.text!r} where a rate belongs", expected=_EXPECTED[due])
    elif due is Kind.RATE and k is Kind.NUMBER:
        yield err(q.span, f"{what}: {q.text} is a bare number where a rate belongs (it would be {q.value:.0%})",
                  expected=_EXPECTED[due], hint=f"did you mean {q.text}%?")
    elif due is Kind.AMOUNT and k is Kind.RATIO:
        yield err(q.span, f"{what}: {q.text} is a percentage where an amount belongs", expected=_EXPECTED[due],
                  hint="did you mean a share of an amount, such as " + q.text + " * cutoff_balance()?")
    elif due is Kind.MONTHS and (q.unit != "" or q.value != int(q.value)):
        yield err(q.span, f"{what}: {q.text} where a whole number of months belongs", expected=_EXPECTED[due])
    elif due is Kind.BOOL:
        yield err(q.span, f"{what}: {q.text} where a condition belongs", expected=_EXPECTED[due])


def _compare(kinds: Kinds, c: A.Compare) -> Iterator[Diagnostic]:
    a, b = kinds.of(c.left), kinds.of(c.right)
    if a is None or b is None or Kind.ANY in (a, b):
        return
    if (Kind.DATE in (a, b) and a != b) or (Kind.AMOUNT in (a, b) and (b if a is Kind.AMOUNT else a) in _RATEISH):
        yield err(c.span, f"this compares {a.said} with {b.said}",
                  hint="a share of an amount is written as a product: 20% * cutoff_balance()"
                  if Kind.AMOUNT in (a, b) else "")
