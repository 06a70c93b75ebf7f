"""The period program's operations: what a deal's formulas mean, decided once.

The lowering (``lowering.py``) turns every expression of a checked deal into a
tree of these operations: names resolved to indices (classes, groups,
accounts, contracts, events, tables, schedules, indices, formulas), builtins
turned into explicit reads of named state, and every number of the deal (a
literal, a parameter, a cut-off balance, a class's original balance, an
account's initial balance) into a slot of one constants table that is an
input of the run. Both engines evaluate these operations and nothing else:
the numpy engine (``interpreter.expr.Compiler``) with masks over the scenario
axis, the C backend (``interpreter.ckernel.Generator``) as C. Neither decides
what a builtin means; each has one small handler per operation, and
``tests/waterfall/test_program_ops.py`` runs every operation on both.

Adding a builtin: its signature in ``dsl/builtins.py``, its lowering in
``lowering.ExprLowering._call`` (to existing operations where it can be
said with them), a handler per backend if it needs a new operation, its line
in docs/language.md.

Every operation carries the span of the deal text it came from. Operations
and declarations are typed, immutable named tuples (cheap to define: this
module is imported by every run).
"""
import enum
from typing import NamedTuple, Optional, Tuple

from dsl import ast as A
from dsl import vocabulary as V

Op = object  # an operation: any of the classes below


# ------------------------------------------------------------------ leaves
class Const(NamedTuple):
    """A number of the deal or its assumptions: ``constants[slot]`` of the run."""
    slot: int
    span: A.Span = A.NOWHERE


class Period(NamedTuple):
    """The distribution period, 1 for the first distribution date."""
    span: A.Span = A.NOWHERE


class DateOrdinal(NamedTuple):
    """The distribution date as a proleptic Gregorian ordinal."""
    span: A.Span = A.NOWHERE


class AccrualDays(NamedTuple):
    """Actual days from the previous distribution date (closing for the first)."""
    span: A.Span = A.NOWHERE


class Available(NamedTuple):
    """Cash still in the funds of the step that reads it (its enclosing 'from')."""
    span: A.Span = A.NOWHERE


class Amount(NamedTuple):
    """Inside a distribution: the amount routed to it (0 outside)."""
    span: A.Span = A.NOWHERE


class Schedule(NamedTuple):
    """Planned balance ``k`` (a PAC schedule) at the period, by period from closing."""
    k: int
    span: A.Span = A.NOWHERE


class Table(NamedTuple):
    """Table ``k``'s value for the period."""
    k: int
    span: A.Span = A.NOWHERE


class IndexLevel(NamedTuple):
    """Index ``i``'s level this period, on the scenario's path."""
    i: int
    span: A.Span = A.NOWHERE


class AccountBalance(NamedTuple):
    """What account ``fund`` holds now (a fund index)."""
    fund: int
    span: A.Span = A.NOWHERE


class ContractPaid(NamedTuple):
    """What contract ``k`` paid into the deal this period."""
    k: int
    span: A.Span = A.NOWHERE


class Formula(NamedTuple):
    """The value of the deal's formula ``k`` (``Program.defines[k]``) where it is read."""
    k: int
    span: A.Span = A.NOWHERE


class ClassField(enum.Enum):
    BALANCE = "balance"  # after payments made so far this period
    PRIOR = "prior_balance"  # at the start of the period
    ORIGINAL = "original_balance"  # at closing
    # what a class is owed (its ClassState of the same name); read by inspections
    SHORTFALL = "shortfall"  # unpaid interest from earlier periods
    CURRENT_DUE = "current_due"  # current interest not yet paid this period
    CARRYOVER = "carryover"  # net rate carryover owed
    UNPAID_LOSS = "unpaid_loss"  # realized losses written down, not yet reimbursed


class ClassSum(NamedTuple):
    """The sum of one balance of the classes ``classes`` (indices, in order)."""
    field: ClassField
    classes: Tuple[int, ...]
    span: A.Span = A.NOWHERE


class Notional(NamedTuple):
    """This period's notional balance of notional class ``c``."""
    c: int
    span: A.Span = A.NOWHERE


class EventTest(enum.Enum):
    HAPPENS = "happens"  # the period it first happens
    SINCE = "since"  # that period and after
    AFTER = "after"  # the periods after it


class Event(NamedTuple):
    test: EventTest
    k: int
    span: A.Span = A.NOWHERE


# Collateral fields of a group, read for the period, times 'alive' (0 once the
# collateral was sold at an early retirement); g None: summed over the groups.
GROUP_FLOW_FIELDS = ("begin_balance", "end_balance", "scheduled_principal", "prepayment", "recovery",
                     "net_interest", "loss")


class GroupFlow(NamedTuple):
    field: str  # one of GROUP_FLOW_FIELDS
    g: Optional[int]
    span: A.Span = A.NOWHERE


class Delinquency(NamedTuple):
    """The 60+ delinquent fraction of group g (None: weighted by the groups' begin balances)."""
    g: Optional[int]
    span: A.Span = A.NOWHERE


class AverageDelinquency(NamedTuple):
    """Mean of Delinquency(g) over the scenario's last ``n`` periods, this one included."""
    n: Op
    g: Optional[int]
    span: A.Span = A.NOWHERE


class PendingRecoveries(NamedTuple):
    """Defaulted balance whose recovery has not arrived, at the end of the period (times alive)."""
    g: Optional[int]
    span: A.Span = A.NOWHERE


class CumulativeLoss(NamedTuple):
    g: Optional[int]
    span: A.Span = A.NOWHERE


class Wac(NamedTuple):
    """Weighted average net or gross rate, by begin balance."""
    net: bool
    g: Optional[int]
    span: A.Span = A.NOWHERE


# ------------------------------------------------------------------ operators
class Arith(NamedTuple):
    op: str  # '+', '-', '*', '/' (x / 0 = 0: a ratio of an empty pool or a retired class)
    left: Op
    right: Op
    span: A.Span = A.NOWHERE


class Neg(NamedTuple):
    operand: Op
    span: A.Span = A.NOWHERE


class Compare(NamedTuple):
    op: str  # '<', '<=', '>', '>=', '==', '!='
    left: Op
    right: Op
    span: A.Span = A.NOWHERE


class Logic(NamedTuple):
    op: str  # 'and' | 'or': evaluated left to right, stopping once decided
    operands: Tuple[Op, ...]
    span: A.Span = A.NOWHERE


class Not(NamedTuple):
    operand: Op
    span: A.Span = A.NOWHERE


class Select(NamedTuple):
    """``if cond then a else b``."""
    cond: Op
    then: Op
    other: Op
    span: A.Span = A.NOWHERE


class Extremum(NamedTuple):
    """min (``least``) or max of the operands, NaN-propagating as numpy's minimum/maximum."""
    least: bool
    operands: Tuple[Op, ...]
    span: A.Span = A.NOWHERE


class Abs(NamedTuple):
    operand: Op
    span: A.Span = A.NOWHERE


OPERATIONS = (Const, Period, DateOrdinal, AccrualDays, Available, Amount, Schedule, Table, IndexLevel,
              AccountBalance, ContractPaid, Formula, ClassSum, Notional, Event, GroupFlow, Delinquency,
              AverageDelinquency, PendingRecoveries, CumulativeLoss, Wac, Arith, Neg, Compare, Logic, Not,
              Select, Extremum, Abs)


def children(op) -> tuple:
    """The operations directly inside ``op``."""
    if isinstance(op, (Arith, Compare)):
        return (op.left, op.right)
    if isinstance(op, (Neg, Not, Abs)):
        return (op.operand,)
    if isinstance(op, (Logic, Extremum)):
        return op.operands
    if isinstance(op, Select):
        return (op.cond, op.then, op.other)
    if isinstance(op, AverageDelinquency):
        return (op.n,)
    return ()


def walk(op):
    """``op`` and every operation inside it, depth first."""
    yield op
    for c in children(op):
        yield from walk(c)


# ------------------------------------------------------------------ formulas and constants
class Caching(enum.Enum):
    """How long a formula's value holds once computed."""
    NEVER = "never"  # reads 'available' or 'amount': its value depends on the step reading it
    STEP = "step"  # reads balances or accounts: until the next payment
    PERIOD = "period"  # reads nothing payments change: until the period's state is next set


class FormulaDecl(NamedTuple):
    name: str
    body: object  # an Op
    caching: Caching
    span: A.Span = A.NOWHERE


class ConstKind(enum.Enum):
    LITERAL = "literal"  # a number written in the deal
    PARAMETER = "parameter"  # a parameter's value (the assumptions', else its default)
    CUTOFF = "cutoff"  # a group's (or all groups') cut-off balance, from the collateral
    CLASS_BALANCE = "class balance"  # a class's original balance
    ACCOUNT_INITIAL = "account initial"  # an account's balance at closing


class ConstDecl(NamedTuple):
    """Where a constant's value comes from (its slot is its place in the table)."""
    kind: ConstKind
    key: object  # the parameter's name, the group index, the class or account index, or None
    value: float
    span: A.Span = A.NOWHERE


# ------------------------------------------------------------------ the state a payment reads and settles
class ClassState(enum.Enum):
    """One name per per-class quantity of the period state (the numpy engine's
    attribute and the C kernel's field of that name)."""
    BALANCE = "balance"
    SHORTFALL = "shortfall"  # unpaid interest from earlier periods
    CURRENT_DUE = "current_due"  # current interest not yet paid this period
    CARRYOVER = "carryover"  # net rate carryover owed
    UNPAID_LOSS = "unpaid_loss"  # realized losses written down, not yet reimbursed
    PAID_INTEREST = "paid_interest"
    PAID_PRINCIPAL = "paid_principal"
    PAID_CARRYOVER = "paid_carry"
    PAID_LOSS = "paid_loss"


# What a payment pays: the deal language's payment kinds (a 'pay' step's
# ``PayWhat.kind``), one vocabulary with the AST.
PayKind = V.PayKind


class Owing(NamedTuple):
    """What a kind of payment is owed, and how paying it settles: a class is
    owed the sum of ``owed``; a payment reduces them in that order (each but
    the last by at most what it holds, the last by the rest) and is recorded
    in ``paid``."""
    owed: Tuple[ClassState, ...]
    paid: ClassState


OWING = {
    PayKind.PRINCIPAL: Owing((ClassState.BALANCE,), ClassState.PAID_PRINCIPAL),
    # older shortfalls are paid first, then the current interest
    PayKind.INTEREST: Owing((ClassState.SHORTFALL, ClassState.CURRENT_DUE), ClassState.PAID_INTEREST),
    PayKind.CURRENT_INTEREST: Owing((ClassState.CURRENT_DUE,), ClassState.PAID_INTEREST),
    PayKind.UNPAID_INTEREST: Owing((ClassState.SHORTFALL,), ClassState.PAID_INTEREST),
    PayKind.CARRYOVER: Owing((ClassState.CARRYOVER,), ClassState.PAID_CARRYOVER),
    PayKind.UNPAID_LOSSES: Owing((ClassState.UNPAID_LOSS,), ClassState.PAID_LOSS),
}


# How a payment or a loss is shared: the AST's own ``Mode``.
Mode = V.Mode


# ------------------------------------------------------------------ steps
# A step's ``funds`` are fund indices (sorted): the cash it pays from, which
# 'available' reads in its limit. Every step keeps its deal-file span.
class PayStep(NamedTuple):
    """Pay ``kind`` to the classes ``targets`` (in order) from ``funds``, by ``mode``, up to ``limit``."""
    kind: PayKind
    mode: Mode
    funds: Tuple[int, ...]
    targets: Tuple[int, ...]
    limit: Optional[object]
    words: str  # as the deal wrote what it pays (the payment ledger's 'pays')
    span: A.Span = A.NOWHERE


class ReleaseStep(NamedTuple):
    """'pay remaining': what is left in ``funds`` (up to ``limit``) to the residual class ``target``."""
    funds: Tuple[int, ...]
    target: int
    limit: Optional[object]
    span: A.Span = A.NOWHERE


class RouteStep(NamedTuple):
    """'pay principal to DISTRIBUTION': cash (up to ``limit``) moved to distribution
    ``distribution``'s own fund, its steps run with 'amount' = the cash moved,
    what they leave goes back to ``funds`` in the shares it came from."""
    funds: Tuple[int, ...]
    distribution: int
    limit: Optional[object]
    span: A.Span = A.NOWHERE


class AccreteStep(NamedTuple):
    """The targets' current interest added to their balances, its cash moved to fund ``into``."""
    funds: Tuple[int, ...]
    targets: Tuple[int, ...]
    into: int
    span: A.Span = A.NOWHERE


class DepositStep(NamedTuple):
    """Cash from ``funds`` (up to ``limit``) into the account fund ``account``."""
    funds: Tuple[int, ...]
    account: int
    limit: Optional[object]
    span: A.Span = A.NOWHERE


class BranchStep(NamedTuple):
    """``if cond``: the scenarios where it holds run ``then``, the others ``other``;
    'available' in the condition reads ``funds``."""
    cond: object
    funds: Tuple[int, ...]
    then: Tuple[object, ...]
    other: Tuple[object, ...]
    span: A.Span = A.NOWHERE


STEPS = (PayStep, ReleaseStep, RouteStep, AccreteStep, DepositStep, BranchStep)


class DistributionDecl(NamedTuple):
    name: str
    fund: int  # its own fund, where routed cash waits
    steps: Tuple[object, ...]
    depth: int  # how deep distributions nest from it (1: it routes to none)
    span: A.Span = A.NOWHERE


class ClauseDecl(NamedTuple):
    label: str  # kept on the Python side: no deal text reaches generated code
    steps: Tuple[object, ...]
    span: A.Span = A.NOWHERE


def walk_steps(steps):
    """Every step in ``steps`` and inside their branches, depth first."""
    for st in steps:
        yield st
        if isinstance(st, BranchStep):
            yield from walk_steps(st.then)
            yield from walk_steps(st.other)


# ------------------------------------------------------------------ records
class Record(NamedTuple):
    """A per-class, per-period record of a run: ``RunResult``'s field of that
    name, (T, C, S); the numpy engine fills it by name, the C kernel by its
    position here (``R_<NAME>`` in the generated source)."""
    name: str
    unit: str  # 'amount' (currency) or 'rate' (a fraction a year)
    doc: str


CLASS_RECORDS = (
    Record("interest", "amount", "interest paid (residual classes: cash released)"),
    Record("principal", "amount", "principal paid"),
    Record("carryover_paid", "amount", "net rate carryover paid"),
    Record("loss_reimbursed", "amount", "realized losses reimbursed"),
    Record("writedown", "amount", "principal written down by losses"),
    Record("balance", "amount", "balance at the end of the period"),
    Record("begin_balance", "amount", "balance at the start of the period"),
    Record("notional", "amount", "notional balance of a notional (IO) class, 0 for others"),
    Record("rate", "rate", "pass-through rate applied (the coupon, limited by the cap)"),
    Record("cap", "rate", "the class's cap; NaN for a class without one"),
    # Accrued interest to settlement is at the stated coupon, not the capped rate: the
    # shortfall is owed as carryover (the buyer receives the full coupon), so pricing reads this.
    Record("coupon", "rate", "the coupon before the cap (floored at 0; 0 where the class accrues nothing)"),
    Record("accreted", "amount", "interest added to the balance of an accrual class"),
    Record("cash_paid", "amount", "everything the class received (kept by lean runs)"),
    # an interest shortfall: what breakeven solvers test (report/breakeven.py)
    Record("unpaid_interest", "amount", "interest owed and not paid at the end of the period"),
)
RECORD_INDEX = {r.name: i for i, r in enumerate(CLASS_RECORDS)}


# ------------------------------------------------------------------ accruals
# A class's day count: the AST's own ``DayCount`` (actual/actual accrues as actual/365).
DayCount = V.DayCount


class AccrualDecl(NamedTuple):
    """How class ``c`` accrues each period: current interest on its balance (or
    notional) at the coupon limited by the cap, for the period's fraction of a
    year (row ``fraction`` of the run's accrual fractions, see
    ``lowering.accrual_fractions``); with carryover, what the cap withheld
    (the coupon, up to ``carry_limit``, less the rate) is owed, and accrues
    at that rate."""
    c: int
    coupon: object
    cap: Optional[object]
    carry_limit: Optional[object]
    carryover: bool
    on_notional: bool
    fraction: int
    span: A.Span = A.NOWHERE


# ------------------------------------------------------------------ the period's other declarations
class NotionalDecl(NamedTuple):
    """Notional class ``c``'s notional this period (floored at 0; 0 once the collateral is sold)."""
    c: int
    notional: object
    span: A.Span = A.NOWHERE


class ContractDecl(NamedTuple):
    """Contract ``k``'s receipt this period (floored at 0), paid into fund ``fund``."""
    k: int
    pays: object
    fund: int
    span: A.Span = A.NOWHERE


class EventDecl(NamedTuple):
    """Event ``k`` happens in the first period ``when`` holds; a run to it
    retires the classes ``retires`` from the sale of the collateral (its
    performing balance and the recoveries still to come on defaulted loans),
    paying ``tiers`` in order, pro rata by balance within a tier (so a
    shortfall falls where the deal's losses would), the rest to the first
    residual class."""
    k: int
    when: object
    retires: Tuple[int, ...]
    span: A.Span = A.NOWHERE
    tiers: Tuple[Tuple[int, ...], ...] = ()


def sale_tiers(retires: Tuple[int, ...], loss_decls) -> Tuple[Tuple[int, ...], ...]:
    """The order a sale's proceeds pay the classes it retires: the classes no
    loss allocation names first (pro rata), then the loss allocation's classes
    in reverse (the last to take a loss is the first paid); a sequential
    allocation gives each class a tier of its own, a pro rata one a shared tier."""
    tiers = []
    for loss in loss_decls:
        if loss.mode is Mode.SEQUENTIAL:
            tiers += [(c,) for c in loss.classes]
        else:
            tiers.append(tuple(loss.classes))
    tiers = [t for t in (tuple(c for c in tier if c in retires) for tier in tiers) if t]
    named = {c for t in tiers for c in t}
    first = tuple(c for c in retires if c not in named)
    return tuple(([first] if first else []) + tiers[::-1])


class LossDecl(NamedTuple):
    """Classes' principal above the pool is written down in this order (or pro rata)."""
    mode: Mode
    classes: Tuple[int, ...]
    span: A.Span = A.NOWHERE


# ------------------------------------------------------------------ the period
class Phase(enum.Enum):
    """What happens in a period; ``PERIOD`` gives the order, both engines follow it."""
    START = "the period opens: balances at its start kept, the collateral's values for it read"
    COLLECT = "the collateral's interest, principal and prepayment charges fill each group's funds"
    CONTRACTS = "each contract's receipt fills its fund; what came in is the money check's base"
    EVENTS = "each event not yet happened tests its condition"
    NOTIONALS = "each notional class's notional (a cap may read it)"
    ACCRUALS = "each class accrues current interest at its rate, and carryover where the cap binds"
    WATERFALL = "the clauses run in order"
    RETIREMENT = "in a run to an event, the collateral is sold the period it happens and retires the classes"
    LOSSES = "classes' principal above the pool is written down in the deal's order"
    CLOSE = "unpaid interest carried, events recorded, the period's records written"
    CHECK = "money is conserved: collected = paid to classes + change in accounts; none over-paid"


PERIOD = (Phase.START, Phase.COLLECT, Phase.CONTRACTS, Phase.EVENTS, Phase.NOTIONALS, Phase.ACCRUALS,
          Phase.WATERFALL, Phase.RETIREMENT, Phase.LOSSES, Phase.CLOSE, Phase.CHECK)


# ------------------------------------------------------------------ the starting state
# Where a run starts: per class, per account, per event, for each scenario (an
# input of the run like the constants, so a solver can give each scenario its
# own sizes and a changed starting state compiles nothing). Defaults: the
# deal at closing (classes at their balances, nothing owed, accounts at their
# initial balances, no event happened).
START_CLASS_FIELDS = ("balance", "original_balance", "shortfall", "carryover", "unpaid_loss")


class StartState(NamedTuple):
    """Arrays (rows, S): ``classes`` (len(START_CLASS_FIELDS) * C rows, field by
    field, each C classes), ``accounts`` (A rows), ``events_happened`` (E rows, 0/1),
    ``cum_loss`` (G rows: each group's realized losses so far). ``period``: the
    distributions already made (0 at closing); the run starts with the next one,
    and periods keep their numbers (a table by period, a date, an average of
    delinquencies read the deal's own period: the run's time axis is the deal's,
    its records before ``period`` are 0)."""
    classes: object
    accounts: object
    events_happened: object
    cum_loss: object = None
    period: int = 0


class Inspection(NamedTuple):
    """A value a run can show period by period (``run-deal --inspect``): ``op``
    evaluated after the period's waterfall and losses, before its close. ``name``
    is the column it is shown under; ``event``: a 0/1 event value (its period
    is shown beside it)."""
    name: str
    op: object
    event: bool = False


class TableData(NamedTuple):
    """Table ``k``'s value by period (index 0 unused), and the last period it covers."""
    k: int
    name: str
    key: str  # 'period' or 'month', as the deal wrote it (for messages)
    values: object  # (T + 1,) array
    covered: int
    span: A.Span = A.NOWHERE


class Layout(NamedTuple):
    """How many of each thing the deal declares, and their names (kept on the
    Python side: records, messages and ledgers are labelled with them)."""
    classes: Tuple[str, ...]
    accounts: Tuple[str, ...]
    account_funds: Tuple[int, ...]
    contracts: Tuple[str, ...]
    events: Tuple[str, ...]
    event_titles: Tuple[str, ...]
    clauses: Tuple[str, ...]
    group_funds: Tuple[Tuple[int, int, int], ...]  # each group's (interest, principal, prepayment charges) funds


class ClassDecl(NamedTuple):
    """Class ``c`` as the engines see it. Its original balance is constant
    slot ``balance_slot`` (0 for notional and residual classes)."""
    name: str
    residual: bool
    notional: bool
    balance_slot: int
    span: A.Span = A.NOWHERE


class Program(NamedTuple):
    """The period program of one deal over one set of assumptions: the only
    thing either engine reads. Built once by ``lowering.lower_program``;
    immutable (its arrays are read-only). What a run varies without a new
    program (per-scenario constants, the starting state, the collateral's
    cashflows, index paths) is passed beside it."""
    name: str  # the deal's name, for messages
    source_key: str  # names the deal's text: the compiled kernel's cache key (its structure, not its numbers)
    n_periods: int
    layout: Layout
    classes: Tuple[ClassDecl, ...]
    groups: Tuple[object, ...]  # group names, as the assumptions' collateral lines give them
    indices: Tuple[str, ...]  # index names, in IndexLevel order
    n_funds: int  # flow funds, then accounts
    n_flow_buckets: int  # funds emptied every period (group funds, contract receipts, distributions' own)
    available_funds: Tuple[int, ...]  # what 'available' reads outside a step: every group's interest and principal
    first_residual: Optional[int]  # the class a sale's surplus goes to
    formulas: Tuple[FormulaDecl, ...]
    distribution_decls: Tuple[DistributionDecl, ...]
    clause_decls: Tuple[ClauseDecl, ...]
    accruals: Tuple[AccrualDecl, ...]
    fraction_kinds: Tuple[tuple, ...]  # (day count, first period from closing) per row of the accrual fractions
    notionals: Tuple[NotionalDecl, ...]
    contract_decls: Tuple[ContractDecl, ...]
    event_decls: Tuple[EventDecl, ...]
    loss_decls: Tuple[LossDecl, ...]
    table_data: Tuple[TableData, ...]
    schedule_values: Tuple[object, ...]  # (T + 1,) read-only arrays
    const_decls: Tuple[ConstDecl, ...]
    parameter_slots: Tuple[Tuple[str, int], ...]
    account_initial_slots: Tuple[int, ...]
    inspections: Tuple[Inspection, ...] = ()  # every value --inspect can show (waterfall/inspection.py)

    def constants(self):
        """(K,) every number of the deal, as the program's constants table holds them."""
        import numpy as np
        return np.array([c.value for c in self.const_decls], dtype=float)
