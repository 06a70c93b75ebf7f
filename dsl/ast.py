"""The deal AST: immutable attrs records, one class per construct.

The closed sets of words (what a payment pays, how it is shared, a fund's
kind, a day count, a business-day rule, a speed's unit, a ramp's basis, a
table's key) are the enums of ``dsl.vocabulary``, re-exported here; a field
holding one converts the word to its member, so an AST holds members however
it was built.

Every node carries a ``span`` (file, line, column) so that a diagnostic or a
payment in a cashflow report can be traced to the line of the deal file, and
so to the term-sheet clause, that produced it. The interpreter works on these
nodes only; it never sees a Lark tree.
"""
from __future__ import annotations

import datetime as _dt
from typing import Optional, Union

import attrs

from .vocabulary import (BusinessRule, DayCount, FundKind, Mode, PayWhat, RampBasis,  # noqa: F401
                         SpeedKind, TableKey)


@attrs.frozen
class Span:
    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NOWHERE = Span("<builtin>", 0, 0)


# ------------------------------------------------------------------ literals and expressions
@attrs.frozen
class Quantity:
    """A number with its unit as written: '%' (stored as a fraction), 'bp'
    (stored as a fraction), '$' (an amount), or '' (a bare number)."""
    value: float
    unit: str
    text: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class DateLit:
    value: _dt.date
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Name:
    id: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class GroupRef:
    """``group 1`` or ``all groups`` (name None)."""
    name: Optional[str]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class SetArg:
    """A quoted set name used as a function argument: balance("Class 1-A")."""
    name: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Call:
    fn: str
    args: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Neg:
    operand: "Expr"
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Compare:
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class BoolOp:
    op: str  # 'and' | 'or'
    operands: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Not:
    operand: "Expr"
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class IfExpr:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    span: Span = attrs.field(default=NOWHERE, eq=False)


Expr = Union[Quantity, DateLit, Name, GroupRef, SetArg, Call, BinOp, Neg, Compare, BoolOp, Not, IfExpr]


# ------------------------------------------------------------------ deal terms
@attrs.frozen
class Speed:
    """A prepayment speed as the term sheet states it. kind: CPR, SMM, PSA,
    PPC, ABS or RAMP (start/end CPR over ``months``, counted on loan age or
    deal month: ``basis``)."""
    kind: SpeedKind = attrs.field(converter=SpeedKind)
    value: float  # CPR/SMM/ABS: a fraction; PSA/PPC: a multiple (1.0 = 100%)
    ramp_start: float = 0.0
    ramp_end: float = 0.0
    ramp_months: int = 0
    basis: RampBasis = attrs.field(default=RampBasis.AGE, converter=RampBasis)
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Header:
    name: str
    cutoff: Optional[_dt.date] = None
    closing: Optional[_dt.date] = None
    settlement: Optional[_dt.date] = None
    first_distribution: Optional[_dt.date] = None
    distribution_day: int = 25
    business_rule: BusinessRule = attrs.field(default=BusinessRule.FOLLOWING, converter=BusinessRule)
    pricing_speed: Optional[Speed] = None
    table_speeds: tuple = ()  # of Quantity
    table_event: Optional[str] = None
    spans: tuple = attrs.field(default=(), eq=False)  # (item, Span) for each line of the header
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def span_of(self, item: str) -> Span:
        return dict(self.spans).get(item, self.span)


@attrs.frozen
class IndexDecl:
    name: str
    title: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class GroupDecl:
    name: str
    title: str
    pricing_speed: Optional[Speed] = None
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ClassDecl:
    name: str
    title: str
    balance: Optional[Quantity] = None
    coupon: Optional[Expr] = None
    cap: Optional[Expr] = None
    carryover: bool = False
    carryover_max: Optional[Expr] = None
    day_count: DayCount = attrs.field(default=DayCount.THIRTY_360, converter=DayCount)
    group: Optional[str] = None
    notional: Optional[Expr] = None
    residual: bool = False
    # 'releases overcollateralization': principal paid to this residual class while
    # principal classes are outstanding is intended (the run's linter stays quiet)
    releases_oc: bool = False
    no_cashflow: bool = False
    delay_days: Optional[int] = None
    accrues_from_closing: bool = False  # the first period accrues from the closing date
    accrued_at: str = "coupon"  # accrued interest at settlement: "coupon" or "pass-through rate"
    spans: tuple = attrs.field(default=(), eq=False)  # (item, Span) for each line of the class
    span: Span = attrs.field(default=NOWHERE, eq=False)

    def span_of(self, item: str) -> Span:
        return dict(self.spans).get(item, self.span)

    @property
    def is_notional(self) -> bool:
        return self.notional is not None


@attrs.frozen
class ClassRef:
    name: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ClassRange:
    first: str
    last: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class SetRef:
    name: str
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ClassesDecl:
    name: str
    members: tuple  # of ClassRef | ClassRange | SetRef
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class TableRow:
    first: int
    last: Optional[int]  # None: open-ended ("85+")
    values: tuple  # of Quantity
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class TableDecl:
    name: str
    title: str
    key: TableKey = attrs.field(converter=TableKey)
    rows: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class DefineDecl:
    name: str
    title: str
    expr: Expr
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ParameterDecl:
    """A deal term the term sheet leaves open ([TBD]); the assumptions file
    sets it, or its default applies."""
    name: str
    title: str
    default: Optional[Quantity] = None
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class AccountDecl:
    name: str
    title: str
    initial: Optional[Quantity] = None  # funded at closing (from the proceeds of the offering)
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class EventDecl:
    """A condition that happens once. With ``retires``, a run 'to' this event
    sells the collateral at its balance in the period the event happens and
    retires the named classes from the proceeds."""
    name: str
    title: str
    when: Expr
    retires: tuple = ()
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ScheduleDecl:
    """A planned-balance schedule computed from a group's collateral between
    two constant speeds (a PAC band)."""
    name: str
    title: str
    size: Quantity
    group: str
    low: Speed
    high: Speed
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class ContractDecl:
    """Cash a counterparty pays into the deal each period (corridor, cap, swap receipt)."""
    name: str
    title: str
    pays: Expr
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class DistributionDecl:
    """A named sub-waterfall ("Class 1-A Principal Distribution")."""
    name: str
    title: str
    steps: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


# ------------------------------------------------------------------ waterfall
@attrs.frozen
class Fund:
    """A source of cash: kind INTEREST | PRINCIPAL | FUNDS | PENALTIES of a
    group (group None = all groups), EXCESS, or ACCOUNT / CONTRACT (group =
    the account's or contract's name)."""
    kind: FundKind = attrs.field(converter=FundKind)
    group: Optional[str]
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Pay:
    """pay <what> [sequentially|pro rata] to <classes> [up to <expr>]"""
    what: PayWhat = attrs.field(converter=PayWhat)  # as the deal wrote it ('interest' stays 'interest')
    mode: Mode = attrs.field(converter=Mode)  # 'pay remaining': pro rata
    targets: tuple  # of ClassRef | ClassRange | SetRef
    limit: Optional[Expr] = None
    then: bool = False
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class FromBlock:
    funds: tuple  # of Fund
    steps: tuple
    then: bool = False
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class IfStep:
    cond: Expr
    then_steps: tuple
    else_steps: tuple = ()
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Accrete:
    """accrete Z into principal of group G: the classes' current interest is
    added to their balances and the cash joins the named fund (accretion-directed)."""
    targets: tuple
    into: Fund
    then: bool = False
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Deposit:
    """deposit to account NAME [up to EXPR]: cash from the funds into an account."""
    account: str
    limit: Optional[Expr] = None
    then: bool = False
    span: Span = attrs.field(default=NOWHERE, eq=False)


Step = Union[Pay, FromBlock, IfStep, Accrete, Deposit]


@attrs.frozen
class Clause:
    label: str
    steps: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Waterfall:
    title: str
    clauses: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class LossStep:
    mode: Mode = attrs.field(converter=Mode)
    targets: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class LossesDecl:
    title: str
    steps: tuple
    span: Span = attrs.field(default=NOWHERE, eq=False)


@attrs.frozen
class Deal:
    header: Header
    indices: tuple = ()
    groups: tuple = ()
    classes: tuple = ()
    sets: tuple = ()
    tables: tuple = ()
    defines: tuple = ()
    parameters: tuple = ()
    accounts: tuple = ()
    events: tuple = ()
    contracts: tuple = ()
    distributions: tuple = ()
    schedules: tuple = ()
    waterfall: Optional[Waterfall] = None
    losses: Optional[LossesDecl] = None
    source: str = attrs.field(default="", eq=False, repr=False)
    path: str = attrs.field(default="<string>", eq=False)

    @property
    def name(self) -> str:
        return self.header.name

    def class_named(self, name: str) -> Optional[ClassDecl]:
        for c in self.classes:
            if c.name == name:
                return c
        return None
