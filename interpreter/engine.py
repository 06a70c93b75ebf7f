"""The period engine: runs a checked deal over projected collateral.

Every amount is a numpy array over the scenario axis (length S). The loop
runs once per period; within a period each waterfall step runs once, for all
scenarios at once. A condition (``if``) is a mask over scenarios: both
branches run, each on the cash its scenarios make available.

Each period:
  1. the collateral's interest and principal for the period fill the funds
     (one interest and one principal fund per group);
  2. each class accrues: current interest at its pass-through rate (the
     coupon, limited by its cap), carryover where the coupon exceeds the cap;
  3. the waterfall's clauses run in order, each step paying from its funds;
  4. losses: where the classes' principal exceeds the pool, the excess writes
     down the classes the 'losses' section names, in its order;
  5. money is checked: cash collected = cash paid to classes + cash held in
     accounts, to 1e-6. Anything else is a ConservationError naming the
     period, scenario and amounts.
"""
from __future__ import annotations

from typing import Optional, Sequence

import attrs
import numpy as np

from dsl import ast as A

from . import collateral as C
from . import dates as D
from .assumptions import Assumptions, speed_curve
from .errors import ConservationError, RunError
from .expr import Compiler, rowsum
from .waterfall import program as P
from .waterfall.lowering import (Model, accrual_fractions, lower_program, planned_balance,  # noqa: F401 - re-exported
                                 run_constants, start_state)


@attrs.frozen(eq=False)
class RunResult:
    deal: A.Deal
    speeds: np.ndarray  # (S,) multiples of the pricing speed
    modes: tuple  # (S,) 'maturity' or the name of the event the scenario runs to
    dates: tuple  # distribution dates, len T
    class_names: tuple
    interest: np.ndarray  # (T, C, S) interest paid (residual classes: cash released)
    principal: np.ndarray  # (T, C, S)
    carryover_paid: np.ndarray  # (T, C, S)
    loss_reimbursed: np.ndarray  # (T, C, S)
    writedown: np.ndarray  # (T, C, S)
    balance: np.ndarray  # (T, C, S) end of period
    begin_balance: np.ndarray  # (T, C, S)
    notional: np.ndarray  # (T, C, S) notional of IO classes (0 for others)
    rate: np.ndarray  # (T, C, S) pass-through rate applied
    cap: np.ndarray  # (T, C, S) the class's cap (NaN for a class without one)
    accreted: np.ndarray  # (T, C, S) interest added to the balance of accrual classes
    accounts: np.ndarray  # (T, A, S) account balances at the end of each period
    account_names: tuple
    contracts: np.ndarray  # (T, K, S) what each contract paid into the deal
    contract_names: tuple
    index_path: dict  # name -> (S, T)
    collateral: dict  # group -> GroupFlows
    clause_paid: np.ndarray  # (T, K, S) cash paid by each clause
    clause_labels: tuple
    trace: Optional[list] = None  # with run(trace=True): every payment with its clause and deal-file line
    sold_period: Optional[np.ndarray] = None  # (S,) period index in which the collateral was sold, -1 if never
    # A lean run (run(keep='lean'), for grids) keeps only what the analytics read:
    # principal and cash_paid by period, rate and notional of the first period
    # (shape (1, C, S)) and write-down totals; the other records are None.
    lean: bool = False
    cash_paid: Optional[np.ndarray] = None  # (T, C, S) everything a class receives (lean runs)
    writedowns: Optional[np.ndarray] = None  # (C, S) total write-downs of each class

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    def cls(self, name: str) -> int:
        return self.class_names.index(name)

    def cash(self) -> np.ndarray:
        """(T, C, S) everything a class receives."""
        if self.cash_paid is not None:
            return self.cash_paid
        return self.interest + self.principal + self.carryover_paid + self.loss_reimbursed

    def writedown_total(self) -> np.ndarray:
        """(C, S) each class's write-downs over the run."""
        if self.writedowns is not None:
            return self.writedowns
        return rowsum(self.writedown)


# ------------------------------------------------------------------ the numpy engine's steps
class _NumpyProgram:
    """The numpy engine's handlers over a period program: formulas and steps as
    closures (the C backend emits the same program as C instead). Built for a
    run, beside the program (which it does not change): ``per_scenario`` gives
    the constants that differ by scenario."""

    def __init__(self, program: P.Program, per_scenario: Optional[dict] = None):
        self.program = program
        self.compile = Compiler(program, per_scenario or {}).compile
        comp = self.compile
        self.accrual_fns = [(a, comp(a.coupon), comp(a.cap) if a.cap is not None else None,
                             comp(a.carry_limit) if a.carry_limit is not None else None) for a in program.accruals]
        self.notional_fns = [(n, comp(n.notional)) for n in program.notionals]
        self.events = [comp(e.when) for e in program.event_decls]
        self.contracts = [(c, comp(c.pays)) for c in program.contract_decls]
        self.dist_steps = [None] * len(program.distribution_decls)
        for k, d in enumerate(program.distribution_decls):
            self.dist_steps[k] = [_compile_step(self, x) for x in d.steps]
        self.clauses = [[_compile_step(self, s) for s in clause.steps] for clause in program.clause_decls]


def _compile_step(kern: _NumpyProgram, step):
    comp = kern.compile
    limit = comp(step.limit) if getattr(step, "limit", None) is not None else None
    funds = np.array(step.funds, dtype=int)
    if isinstance(step, P.BranchStep):
        cond = comp(step.cond)
        then = [_compile_step(kern, s) for s in step.then]
        other = [_compile_step(kern, s) for s in step.other]

        def run_if(st, mask):
            st.current_funds = funds  # 'available' in the condition: the enclosing funds
            m = _per_s(cond(st), st.S, bool)
            m_then = m if mask is None else (m & mask)
            m_else = ~m if mask is None else (~m & mask)
            # A branch whose mask is empty pays nothing: skip it. A full mask
            # is passed as None (no masking), which pays the same.
            if m_then.any():
                m_then = None if m_then.all() else m_then
                for f in then:
                    f(st, m_then)
            if m_else.any():
                m_else = None if m_else.all() else m_else
                for f in other:
                    f(st, m_else)
        return run_if
    if isinstance(step, P.AccreteStep):
        return _AccreteStep(step, funds, np.array(step.targets, dtype=int), np.array([step.into], dtype=int))
    if isinstance(step, P.DepositStep):
        return _DepositStep(step, funds, step.account, limit)
    if isinstance(step, P.RouteStep):
        return _RouteStep(step, funds, step.distribution, limit, kern)
    if isinstance(step, P.ReleaseStep):
        return _ReleaseStep(step, funds, step.target, limit)
    return _PayStep(step, funds, np.array(step.targets, dtype=int), limit)


def _cash(st: "PeriodState", buckets, mask):
    """The cash in ``buckets`` for the step reading them (they are its 'available'):
    never below 0 (a fund can hold -1 ulp after pro rata draws), 0 outside ``mask``."""
    st.current_funds = buckets
    avail = st.funds[buckets[0]].copy() if len(buckets) == 1 else rowsum(st.funds[buckets])
    avail = np.maximum(avail, 0.0)
    return avail if mask is None else np.where(mask, avail, 0.0)


def _up_to(avail, limit, st: "PeriodState"):
    """``avail`` limited by a step's 'up to' (a negative limit is 0)."""
    return avail if limit is None else np.minimum(avail, np.maximum(np.asarray(limit(st), dtype=float), 0.0))


class _AccreteStep:
    """The targets' current interest is added to their balances (not paid);
    the cash that would have paid it moves to the 'into' fund, where later
    steps pay it as principal (accretion-directed)."""

    def __init__(self, node: P.AccreteStep, buckets, targets, into):
        self.node, self.buckets, self.targets, self.into = node, buckets, targets, into

    def __call__(self, st: "PeriodState", mask):
        avail = _cash(st, self.buckets, mask)
        due = st.current_due[self.targets]
        amt = np.empty_like(due)
        for j in range(len(self.targets)):
            amt[j] = np.minimum(avail, due[j])
            avail = avail - amt[j]
        total = rowsum(amt)
        st.draw(self.buckets, total)
        st.funds[self.into[0]] += total
        st.current_due[self.targets] -= amt
        st.balance[self.targets] += amt
        st.accreted[self.targets] += amt
        st.version += 1


class _DepositStep:
    """Cash from the funds into an account, where it stays until a step draws on it."""

    def __init__(self, node: P.DepositStep, buckets, account: int, limit):
        self.node, self.buckets, self.account, self.limit = node, buckets, account, limit

    def __call__(self, st: "PeriodState", mask):
        avail = _up_to(_cash(st, self.buckets, mask), self.limit, st)
        st.draw(self.buckets, avail)
        st.funds[self.account] += avail


class _RouteStep:
    """'pay principal to DISTRIBUTION [up to X]': moves the cash into the
    distribution's own fund, runs its steps with 'amount' = the cash moved,
    and returns what they did not pay to the funds it came from."""

    def __init__(self, node: P.RouteStep, buckets, k: int, limit, kern: _NumpyProgram):
        self.node = node
        self.buckets = buckets
        self.k = k
        self.limit = limit
        self.kern = kern

    def __call__(self, st: "PeriodState", mask):
        scratch = self.kern.program.distribution_decls[self.k].fund
        steps = self.kern.dist_steps[self.k]
        avail = _cash(st, self.buckets, mask)
        if not (avail > 0).any():
            return
        avail = _up_to(avail, self.limit, st)
        # The distribution runs where something is routed to it, and only there
        # (a step in it that draws on other funds pays nothing where amount is 0).
        runs = avail > 0
        if not runs.any():
            return
        inner_mask = None if runs.all() else runs
        before = st.funds[self.buckets].copy()
        st.draw(self.buckets, avail)
        drawn = before - st.funds[self.buckets]
        st.funds[scratch] += avail
        st.amounts.append(avail)
        st.version += 1
        try:
            for f in steps:
                f(st, inner_mask)
        finally:
            st.amounts.pop()
            st.version += 1
        left = st.funds[scratch].copy()
        st.funds[scratch] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            back = np.where(avail > 0, left / np.where(avail > 0, avail, 1.0), 0.0)
        st.funds[self.buckets] += drawn * back


class _ReleaseStep:
    """'pay remaining': what is left in these funds (up to the limit) to the residual class."""

    def __init__(self, node: P.ReleaseStep, buckets, target: int, limit):
        self.node, self.buckets, self.target, self.limit = node, buckets, target, limit

    def __call__(self, st: "PeriodState", mask):
        avail = _cash(st, self.buckets, mask)
        if not (avail > 0).any():
            return
        avail = _up_to(avail, self.limit, st)
        st.draw(self.buckets, avail)
        st.pay_cash(self.target, avail, "residual")
        if st.trace is not None:
            st.trace.append((st.t, st.clause_label, self.node.span.line, "remaining", np.array([self.target]),
                             avail[None, :].copy()))


class _PayStep:
    """One 'pay' statement. Carries its program step so a payment can be traced
    to the line (and clause) of the deal file that made it."""

    def __init__(self, node: P.PayStep, buckets, targets, limit):
        self.node = node
        self.buckets = buckets
        self.targets = targets
        self.limit = limit
        self.owing = P.OWING[node.kind]
        self.mode = node.mode

    def __call__(self, st: "PeriodState", mask):
        avail = _cash(st, self.buckets, mask)
        if not (avail > 0).any():
            return  # nothing to pay with: the step pays nothing (and its limit need not be computed)
        due = st.owed(self.owing, self.targets)  # (n, S)
        if not (due > 0).any():
            return  # nothing owed
        avail = _up_to(avail, self.limit, st)
        # As the C backend decides scenario by scenario: a scenario with no cash, or
        # whose classes are owed nothing, pays nothing (not a negative 'payment' of a
        # class that owes -1 ulp because another scenario is owed something).
        go = (avail > 0) & (due > 0).any(axis=0)
        if self.mode is P.Mode.SEQUENTIAL:
            remaining = avail.copy()
            paid = np.empty_like(due)
            for j in range(len(self.targets)):
                p = np.minimum(remaining, due[j])
                paid[j] = p
                remaining -= p
        elif self.mode is P.Mode.PRO_RATA:
            # By amount owed (for principal the amount owed is the balance).
            paid = _pro_rata(avail, due, due)
        else:
            # "pro rata by balance then by amount owed": first shared by the
            # classes' balances at the start of the period, then what is left
            # by what each is still owed.
            first = _pro_rata(avail, st.prior_balance[self.targets], due)
            paid = first + _pro_rata(avail - rowsum(first), due - first, due - first)
        if not go.all():
            paid = np.where(go, paid, 0.0)
        st.draw(self.buckets, rowsum(paid))
        st.settle(self.owing, self.targets, paid)
        if st.trace is not None:
            st.trace.append((st.t, st.clause_label, self.node.span.line, self.node.words, self.targets, paid.copy()))


def _per_s(x, S: int, dtype=float) -> np.ndarray:
    """A formula's value as an array over the S scenarios (a scalar is repeated)."""
    if isinstance(x, np.ndarray) and x.shape == (S,) and x.dtype == dtype:
        return x
    return np.broadcast_to(np.asarray(x, dtype=dtype), (S,))


def _pro_rata(avail, weights, due):
    """Share avail by weights, no one more than it is owed (n, S)."""
    total = rowsum(weights)
    x = np.minimum(avail, rowsum(due))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 0.0)
    return np.minimum(share * x, due)


class PeriodState:
    """What the expressions and steps of one period see and change."""

    def __init__(self, program: P.Program, S: int, flows: dict, index_paths: np.ndarray, dates, closing, start=None):
        self.program = program
        self.S = S
        self.flows = flows
        self.gflows = [flows[g] for g in program.groups]
        self.available_funds = np.array(program.available_funds, dtype=int)
        self.index_paths = index_paths  # (n_index, S, T)
        C_ = len(program.classes)
        start = start if start is not None else start_state(program, S)
        cls = start.classes.reshape(len(P.START_CLASS_FIELDS), C_, S)
        self.balance = cls[0].copy()
        self.prior_balance = self.balance.copy()
        self.original_balance = cls[1].copy()
        self.shortfall = cls[2].copy()  # unpaid interest from earlier periods
        self.current_due = np.zeros((C_, S))  # current interest not yet paid this period
        self.carryover = cls[3].copy()  # net rate carryover owed
        self.unpaid_loss = cls[4].copy()  # realized losses written down, not yet reimbursed
        self.notional_now = np.zeros((C_, S))
        self.funds = np.zeros((program.n_funds, S))
        self.paid_interest = np.zeros((C_, S))
        self.paid_principal = np.zeros((C_, S))
        self.paid_carry = np.zeros((C_, S))
        self.paid_loss = np.zeros((C_, S))
        self.paid_residual = np.zeros((C_, S))
        self.accreted = np.zeros((C_, S))
        self.paid_total = np.zeros(S)  # everything paid to classes this period (clause ledger)
        self.trace = None  # a list of payments (period, clause, line, what, classes, amounts) when asked
        self.clause_label = ""
        self.event_before = start.events_happened != 0
        self.start = start
        self.event_now = np.zeros((len(program.event_decls), S), dtype=bool)
        self.cum_loss = np.zeros((len(program.groups), S))
        self.contract_paid = np.zeros((len(program.contract_decls), S))
        self.alive = np.ones(S)  # 0 once a scenario's collateral has been sold (early retirement)
        self.amounts: list = []  # stack of amounts routed to distributions
        self.version = 0  # moves whenever cash or balances move (formula cache key)
        self._gcache: dict = {}
        self.dates = dates
        self.closing = closing
        self.period = 0
        self.t = -1
        self.current_funds = None

    # ---- values for expressions
    @property
    def date_ordinal(self):
        return self.dates[self.t].toordinal()

    @property
    def accrual_days(self):
        prev = self.closing if self.t == 0 else self.dates[self.t - 1]
        return float((self.dates[self.t] - prev).days)

    def available(self):
        b = self.current_funds if self.current_funds is not None else self.available_funds
        return rowsum(self.funds[b])

    def amount(self):
        return self.amounts[-1] if self.amounts else 0.0

    def average_delinquency(self, n, g):
        """The mean over each scenario's own last n periods (this one included;
        fewer at the start of the deal; 0 for n < 1)."""
        n = np.broadcast_to(np.trunc(np.asarray(n, dtype=float)), (self.S,))
        total = np.zeros(self.S)
        count = np.zeros(self.S)
        for k in range(0, min(int(np.max(n)) if n.size else 0, self.t + 1)):
            use = k < n
            total = total + np.where(use, self.group_value_at("delinquent", g, self.t - k), 0.0)
            count = count + use
        return np.where(count > 0, total / np.where(count > 0, count, 1.0), 0.0)

    def index_level(self, i):
        return self.index_paths[i, :, self.t]

    def notional(self, c):
        return self.notional_now[c]

    def group_value(self, field, g):
        key = (field, g)
        v = self._gcache.get(key)
        if v is None:
            v = self._gcache[key] = self.group_value_at(field, g, self.t)
        return v

    def group_value_at(self, field, g, t):
        if field == "cum_loss":
            return rowsum(self.cum_loss) if g is None else self.cum_loss[g]
        if field == "pending":
            if g is None:
                return self.pending[:, t] * self.alive
            f = self.gflows[g]
            return np.maximum(np.cumsum(f.default - f.loss - f.recovery, axis=1)[:, t], 0.0) * self.alive
        if field == "delinquent":
            if g is None:
                w = sum(f.begin_balance[:, t] for f in self.gflows)
                num = sum(f.delinquent[:, t] * f.begin_balance[:, t] for f in self.gflows)
                return np.where(w > 0, num / np.where(w > 0, w, 1), 0.0)
            return self.gflows[g].delinquent[:, t]
        if g is None:
            return sum(getattr(f, field)[:, t] for f in self.gflows) * self.alive
        return getattr(self.gflows[g], field)[:, t] * self.alive

    def group_wac(self, fn, g):
        t = self.t
        fl = self.gflows if g is None else [self.gflows[g]]
        attr = "net_wac" if fn == "net_wac" else "gross_wac"
        w = sum(f.begin_balance[:, t] for f in fl)
        num = sum(getattr(f, attr)[:, t] * f.begin_balance[:, t] for f in fl)
        return np.where(w > 0, num / np.where(w > 0, w, 1.0), 0.0)

    # ---- cash movements
    def draw(self, buckets, amount):
        self.version += 1
        if len(buckets) == 1:
            self.funds[buckets[0]] -= amount
            return
        f = self.funds[buckets]
        total = rowsum(f)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total > 0, amount / np.where(total > 0, total, 1.0), 0.0)
        self.funds[buckets] = f - f * ratio

    def owed(self, owing: P.Owing, targets):
        """(n, S) what each of the classes ``targets`` is owed of a kind of payment."""
        fields = owing.owed
        out = getattr(self, fields[0].value)[targets]
        for f in fields[1:]:
            out = out + getattr(self, f.value)[targets]
        return out

    def settle(self, owing: P.Owing, targets, paid):
        """A payment reduces what is owed, in the order of ``owing.owed``."""
        self.version += 1
        self.paid_total += rowsum(paid)
        rest = paid
        for f in owing.owed[:-1]:
            arr = getattr(self, f.value)
            take = np.minimum(rest, arr[targets])
            arr[targets] -= take
            rest = rest - take
        getattr(self, owing.owed[-1].value)[targets] -= rest
        getattr(self, owing.paid.value)[targets] += paid

    def pay_cash(self, c, amount, kind):
        self.paid_total += amount
        self.paid_interest[c] += amount
        self.paid_residual[c] += amount


def _index_paths(program: P.Program, assumptions: Assumptions, S: int, T: int) -> np.ndarray:
    out = np.zeros((len(program.indices), S, T))
    for i, name in enumerate(program.indices):
        if name not in assumptions.indices:
            raise RunError(f"index {name} has no level: set it under 'indices:' in {assumptions.path}")
        v = assumptions.indices[name]
        if isinstance(v, tuple):
            arr = np.array(v + (v[-1],) * max(0, T - len(v)))[:T]
        else:
            arr = np.full(T, float(v))
        out[i] = arr[None, :]
    return out


def horizon(deal: A.Deal, assumptions: Assumptions) -> int:
    if assumptions.horizon:
        return assumptions.horizon
    return max(l.remaining_term for l in assumptions.lines) + assumptions.recovery_lag


def project_collateral(deal: A.Deal, assumptions: Assumptions, speeds: np.ndarray, T: int,
                       index_paths: Optional[dict] = None, cdr: Optional[np.ndarray] = None,
                       severity: Optional[np.ndarray] = None) -> dict:
    """Project every group at each scenario's speed; ``cdr`` (per scenario, a
    constant CDR for every group) and ``severity`` override the assumptions."""
    prepay = {}
    for g in deal.groups:
        if g.name in assumptions.prepayment:
            prepay[g.name] = assumptions.prepayment[g.name]
        elif "all" in assumptions.prepayment:
            prepay[g.name] = assumptions.prepayment["all"]
        else:
            speed = g.pricing_speed or deal.header.pricing_speed
            try:
                prepay[g.name] = speed_curve(speed)
            except ValueError as e:
                raise RunError(f"{speed.span}: {e}") from None
    default = {}
    default_scale = np.ones_like(speeds)
    if cdr is not None:
        default = {g.name: C.Curve("CDR", rate=1.0) for g in deal.groups}
        default_scale = np.asarray(cdr, dtype=float)
    else:
        for g in deal.groups:
            cur = assumptions.defaults.get(g.name, assumptions.defaults.get("all"))
            if cur is not None:
                default[g.name] = cur
        if default and len(default) < len(deal.groups):
            for g in deal.groups:
                default.setdefault(g.name, C.Curve("CDR", rate=0.0))
    delinquency = {}
    for g in deal.groups:
        v = assumptions.delinquency.get(g.name, assumptions.delinquency.get("all"))
        if v is not None:
            arr = np.array(v + (v[-1],) * max(0, T - len(v)))[:T] if isinstance(v, tuple) else np.full(T, float(v))
            delinquency[g.name] = arr
    sev = np.full_like(speeds, assumptions.severity) if severity is None else np.asarray(severity, dtype=float)
    scen = C.Scenarios(prepay_scale=speeds, default_scale=default_scale, severity=sev,
                       recovery_lag=assumptions.recovery_lag)
    return C.project(list(assumptions.lines), T, scen, prepay, default or None, index_paths, delinquency or None)


# The date roller's name for each business-day rule of the deal language.
_ROLL_RULE = {A.BusinessRule.FOLLOWING: "following", A.BusinessRule.MODIFIED_FOLLOWING: "modified following",
              A.BusinessRule.PRECEDING: "preceding", A.BusinessRule.NO_ADJUSTMENT: "none"}


def distribution_schedule(deal: A.Deal, T: int) -> list:
    h = deal.header
    return D.distribution_dates(h.first_distribution, T, h.distribution_day, _ROLL_RULE[h.business_rule])


def run(deal: A.Deal, assumptions: Assumptions, speeds: Optional[Sequence[float]] = None,
        to: Sequence[str] = ("maturity",), check: bool = True,
        index_levels: Optional[dict] = None, cdr: Optional[Sequence[float]] = None,
        severity: Optional[Sequence[float]] = None, index_shift: Optional[dict] = None,
        trace: bool = False, engine: Optional[str] = None, keep: str = "all",
        start: Optional[dict] = None, parameters: Optional[dict] = None) -> RunResult:
    """Run the deal at each speed (multiples of the pricing speed) and each
    mode ('maturity' or the name of an event that retires classes) in one
    vectorised pass: the scenario axis is modes x speeds. ``cdr``,
    ``severity`` and ``index_shift`` (index name -> shift) are optional
    per-speed arrays, so a flattened grid of scenarios runs as one pass.

    ``engine``: 'c' (the deal compiled to C, see ckernel.py), 'numpy' (this
    module's loop), or 'auto' (C when a C compiler is there and the run needs
    nothing only the numpy loop has, such as ``trace``); default: the
    WATERFALL_ENGINE environment variable, else 'auto'. Both give the same
    results (tests/engine/test_ckernel.py).

    ``keep``: 'all' records, or 'lean' (see RunResult.lean: what grid
    analytics need, a fraction of the memory). The numpy engine always keeps all.

    ``start``: where the run starts instead of the deal at closing, per class,
    account and event, one value or one per scenario (see
    ``waterfall.lowering.start_state``); an input like the deal's numbers, so
    it compiles nothing. ``parameters``: the deal's parameters one value per
    speed (``{name: values}``), e.g. a trigger threshold a solver varies; they
    too are inputs."""
    if keep not in ("all", "lean"):
        raise RunError(f"unknown keep '{keep}': use all or lean")
    speeds1 = np.asarray(assumptions.speeds if speeds is None else speeds, dtype=float)
    model_events = {e.name: i for i, e in enumerate(deal.events)}
    for m in to:
        if m != "maturity" and m not in model_events:
            raise RunError(f"unknown event '{m}' to run to; the deal's events: {', '.join(model_events) or 'none'}")
    modes = tuple(m for m in to for _ in speeds1)
    speeds = np.tile(speeds1, len(to))
    n_to = len(to)

    def per_scenario(x):
        return None if x is None else np.tile(np.broadcast_to(np.asarray(x, dtype=float), speeds1.shape), n_to)
    cdr, severity = per_scenario(cdr), per_scenario(severity)
    shifts = {k: per_scenario(v) for k, v in (index_shift or {}).items()}
    S = len(speeds)
    T = horizon(deal, assumptions)
    program = lower_program(deal, assumptions, T)
    per_scenario_constants = {}
    if parameters:
        try:
            given = {k: per_scenario(v) for k, v in parameters.items()}
        except ValueError:
            raise RunError(f"parameters: one value, or one for each of the {len(speeds1)} speeds") from None
        per_scenario_constants = run_constants(program, S, given)
    # per-speed starting values repeat for each mode, as the other per-scenario inputs do
    def per_speed(x):
        return np.tile(np.asarray(x, dtype=float), n_to) if np.ndim(x) == 1 and len(x) == len(speeds1) else x
    starting = start_state(program, S, {k: ({n: per_speed(x) for n, x in v.items()} if isinstance(v, dict) else v)
                                      for k, v in (start or {}).items()})
    retire_event = np.array([model_events.get(m, -1) for m in modes])
    for name, outcome in assumptions.events.items():
        if outcome == "fails":
            # A failed auction retires nothing; the event still happens (step-ups apply).
            retire_event[retire_event == model_events[name]] = -1
    if index_levels:
        # A stress: these indices held flat at the given levels instead of their curves.
        assumptions = attrs.evolve(assumptions, indices={**assumptions.indices, **index_levels})
    ipaths = _index_paths(program, assumptions, S, T)
    for name, shift in shifts.items():
        if name not in program.indices:
            raise RunError(f"unknown index '{name}' to shift")
        ipaths[program.indices.index(name)] += shift[:, None]
    named_paths = {n: ipaths[i] for i, n in enumerate(program.indices)}
    flows = project_collateral(deal, assumptions, speeds, T, named_paths, cdr, severity)
    dates = distribution_schedule(deal, T)
    closing = deal.header.closing
    # Recoveries still to come on loans already defaulted, by period (S, T).
    pending_by_group = {g: np.cumsum(f.default - f.loss - f.recovery, axis=1) for g, f in flows.items()}
    pending = np.maximum(sum(pending_by_group.values()), 0.0)
    fractions = accrual_fractions(program.fraction_kinds, dates, closing)  # (kinds, T) year fractions
    which = _choose_engine(engine, trace, program, T)
    kern = None
    if which == "c":
        from . import ckernel
        kern = _compiled(program, engine)
    if kern is not None:
        lib, gen = kern
        recs, clause_c, acc_c, con_c, wdt, sold_c, error = ckernel.run_kernel(
            lib, gen, program, S, T, flows, ipaths, pending, dates, closing, retire_event, fractions, keep,
            pending_by_group, starting, per_scenario_constants)
        if error is not None:
            _raise_kernel_error(program, dates, error)

        def tcs(a):  # (S, T, X) -> (T, X, S) views
            return None if a is None else a.transpose(1, 2, 0)

        def cst(a):  # (C, S, T) -> (T, C, S) views
            return None if a is None else a.transpose(2, 0, 1)
        rec = {k: cst(recs.get(k)) for k in ckernel.RECORDS}
        return RunResult(deal=deal, speeds=speeds, modes=modes, dates=tuple(dates),
                         class_names=program.layout.classes, **rec,
                         accounts=tcs(acc_c), account_names=tuple(a.name for a in deal.accounts),
                         contracts=tcs(con_c), contract_names=tuple(c.name for c in deal.contracts), trace=None,
                         sold_period=sold_c, index_path=named_paths, collateral=flows, clause_paid=tcs(clause_c),
                         clause_labels=program.layout.clauses, lean=keep == "lean",
                         writedowns=wdt.T)
    st = PeriodState(program, S, flows, ipaths, dates, closing, starting)
    st.pending = pending
    if trace:
        st.trace = []
    period = _NumpyPeriod(_NumpyProgram(program, per_scenario_constants), st, flows, pending, fractions,
                          retire_event, T, check)
    handlers = {phase: getattr(period, phase.name.lower()) for phase in P.PERIOD}
    for t in range(T):
        period.t = t
        for phase in P.PERIOD:
            handlers[phase]()
    return RunResult(deal=deal, speeds=speeds, modes=modes, dates=tuple(dates),
                     class_names=program.layout.classes,
                     **period.rec, accounts=period.acc_rec,
                     account_names=tuple(a.name for a in deal.accounts),
                     contracts=period.con_rec, contract_names=tuple(c.name for c in deal.contracts), trace=st.trace,
                     sold_period=period.sold_period,
                     index_path=named_paths, collateral=flows, clause_paid=period.clause_paid,
                     clause_labels=program.layout.clauses)


class _NumpyPeriod:
    """The numpy engine's handler of each phase of a period (program.Phase), in
    the order program.PERIOD gives; ``t`` is the period being run."""

    def __init__(self, kern: _NumpyProgram, st: "PeriodState", flows, pending, fractions, retire_event, T: int,
                 check: bool):
        program = kern.program
        self.kern, self.program, self.st, self.flows, self.pending = kern, program, st, flows, pending
        self.fractions, self.retire_event, self.check_money = fractions, retire_event, check
        S, Cn = st.S, len(program.classes)
        for k, fund in enumerate(program.layout.account_funds):  # accounts as the run starts (at closing: their initial)
            st.funds[fund] = st.start.accounts[k]
        self.rec = {r.name: np.zeros((T, Cn, S)) for r in P.CLASS_RECORDS if r.name != "cash_paid"}
        self.rec["cap"][:] = np.nan
        self.clause_paid = np.zeros((T, len(program.clause_decls), S))
        self.acc_rec = np.zeros((T, len(program.layout.accounts), S))
        self.con_rec = np.zeros((T, len(program.layout.contracts), S))
        self.sold_period = np.full(S, -1)
        self.principal_by_group = [flows[g].principal for g in program.groups]  # (S, T) each, computed once
        self.t = -1
        self.collected = self.accounts_before = None
        self.sold = None
        self.principal_classes = np.array([not (c.notional or c.residual) for c in program.classes], dtype=bool)

    def start(self):
        st, t = self.st, self.t
        st.t = t
        st.period = t + 1
        st.current_funds = None  # outside the waterfall 'available' is all interest and principal
        st.version += 1
        st._gcache.clear()
        st.prior_balance = st.balance.copy()
        self.rec["begin_balance"][t] = st.balance

    def collect(self):
        # the period's collections (none once the collateral is sold)
        st, t, program, alive = self.st, self.t, self.program, self.st.alive
        st.funds[: program.n_flow_buckets] = 0.0
        for gi, g in enumerate(program.groups):
            f = self.flows[g]
            interest, principal, penalties = program.layout.group_funds[gi]
            st.funds[interest] = f.net_interest[:, t] * alive
            st.funds[principal] = self.principal_by_group[gi][:, t] * alive
            st.funds[penalties] = f.penalty[:, t] * alive
            st.cum_loss[gi] += f.loss[:, t] * alive

    def contracts(self):
        st, program = self.st, self.program
        for decl, pays in self.kern.contracts:
            amt = np.maximum(_per_s(pays(st), st.S), 0.0) * st.alive
            st.contract_paid[decl.k] = amt
            st.funds[decl.fund] = amt
            st.version += 1
        self.collected = rowsum(st.funds[: program.n_flow_buckets])
        self.accounts_before = rowsum(st.funds[program.n_flow_buckets:])

    def events(self):
        # 'happens' in the first period the condition holds
        st = self.st
        for k, ev in enumerate(self.kern.events):
            if st.event_before[k].all():
                st.event_now[k] = False  # it has happened everywhere: nothing left to test
                continue
            hit = _per_s(ev(st), st.S, bool) & (st.alive > 0)
            st.event_now[k] = hit & ~st.event_before[k]
            st.version += 1  # a later event's condition may read this one

    def notionals(self):
        st = self.st
        for decl, notional in self.kern.notional_fns:
            st.notional_now[decl.c] = np.maximum(_per_s(notional(st), st.S), 0.0) * st.alive
        st.version += 1

    def accruals(self):
        st, t, rec, S = self.st, self.t, self.rec, self.st.S
        for acc, coupon_f, cap_f, carry_f in self.kern.accrual_fns:
            c = acc.c
            frac = self.fractions[acc.fraction, t]
            # A class retired with nothing owed accrues nothing and has no rate (0)
            # or cap (NaN) that period: its formulas are not evaluated for it.
            live = None
            if not acc.on_notional:
                live = (st.balance[c] != 0) | (st.carryover[c] != 0)
                if not live.any():
                    st.current_due[c] = 0.0
                    continue
                if live.all():
                    live = None
            coupon = _per_s(coupon_f(st), S)
            rate = coupon
            if cap_f is not None:
                cap = cap_f(st)
                rec["cap"][t, c] = cap if live is None else np.where(live, cap, np.nan)
                rate = np.minimum(coupon, cap)
            rate = np.maximum(rate, 0.0)
            base = st.notional_now[c] if acc.on_notional else st.balance[c]
            due = base * rate * frac
            st.current_due[c] = due if live is None else np.where(live, due, 0.0)
            rec["rate"][t, c] = rate if live is None else np.where(live, rate, 0.0)
            if acc.carryover:
                uncapped = coupon if carry_f is None else np.minimum(coupon, carry_f(st))
                carry = st.carryover[c] * (1.0 + uncapped * frac) + base * np.maximum(uncapped - rate, 0.0) * frac
                st.carryover[c] = carry if live is None else np.where(live, carry, st.carryover[c])

    def waterfall(self):
        st, program, t = self.st, self.program, self.t
        for arr in (st.paid_interest, st.paid_principal, st.paid_carry, st.paid_loss, st.paid_residual, st.accreted):
            arr[:] = 0.0
        st.paid_total = np.zeros(st.S)
        before = st.paid_total.copy()
        for k, steps in enumerate(self.kern.clauses):
            st.clause_label = program.layout.clauses[k]
            for step in steps:
                st.current_funds = None
                step(st, None)
            self.clause_paid[t, k] = st.paid_total - before
            before = st.paid_total.copy()

    def retirement(self):
        # in a run 'to' an event, the period it happens the collateral is sold
        # at its balance and the proceeds retire the classes
        st, program, t, alive = self.st, self.program, self.t, self.st.alive
        self.sold = sold = np.zeros(st.S, dtype=bool)
        for k, decl in enumerate(program.event_decls):
            m = st.event_now[k] & (self.retire_event == k) & (alive > 0)
            if not m.any():
                continue
            proceeds = np.where(m, sum(self.flows[g].end_balance[:, t] for g in program.groups), 0.0)
            self.collected = self.collected + proceeds
            targets = np.array(decl.retires, dtype=int)
            due = st.balance[targets]
            paid = _pro_rata(proceeds, due, due)
            st.balance[targets] -= paid
            st.paid_principal[targets] += paid
            rest = proceeds - rowsum(paid)
            if program.first_residual is not None:
                st.pay_cash(program.first_residual, rest, "residual")
            if st.trace is not None:
                title = f"{program.layout.event_titles[k]} (retirement)"
                st.trace.append((t, title, decl.span.line, "principal", targets, paid))
                if program.first_residual is not None:
                    st.trace.append((t, title, decl.span.line, "remaining", np.array([program.first_residual]),
                                     rest[None, :]))
            sold |= m

    def losses(self):
        # Defaulted loans whose recovery has not arrived yet still count: only the
        # realized loss (default less recovery) is written down.
        st, program, t, rec = self.st, self.program, self.t, self.rec
        if not program.loss_decls:
            return
        pool_end = (sum(self.flows[g].end_balance[:, t] for g in program.groups) + self.pending[:, t]) \
            * st.alive * ~self.sold
        excess = np.maximum(rowsum(st.balance[self.principal_classes]) - pool_end, 0.0)
        for loss in program.loss_decls:
            order = np.array(loss.classes, dtype=int)
            if loss.mode is P.Mode.SEQUENTIAL:
                for c in order:
                    w = np.minimum(excess, st.balance[c])
                    st.balance[c] -= w
                    st.unpaid_loss[c] += w
                    rec["writedown"][t, c] += w
                    excess = excess - w
            else:
                w = _pro_rata(excess, st.balance[order], st.balance[order])
                st.balance[order] -= w
                st.unpaid_loss[order] += w
                rec["writedown"][t, order] += w
                excess = excess - rowsum(w)

    def close(self):
        st, t, rec, sold = self.st, self.t, self.rec, self.sold
        st.shortfall += st.current_due
        st.current_due[:] = 0.0
        st.event_before |= st.event_now
        st.alive = np.where(sold, 0.0, st.alive)
        self.sold_period[sold] = t
        rec["interest"][t] = st.paid_interest
        rec["principal"][t] = st.paid_principal
        rec["carryover_paid"][t] = st.paid_carry
        rec["loss_reimbursed"][t] = st.paid_loss
        rec["balance"][t] = st.balance
        rec["notional"][t] = st.notional_now
        rec["accreted"][t] = st.accreted
        self.acc_rec[t] = st.funds[self.program.n_flow_buckets:]
        self.con_rec[t] = st.contract_paid

    def check(self):
        if self.check_money:
            _check_period(self.program, self.st, self.t, self.collected, self.accounts_before)


def _choose_engine(engine: Optional[str], trace: bool, program: P.Program, T: int) -> str:
    from .native.build import available
    from .native.policy import UnknownEngine, requested
    try:
        want = requested(engine)
    except UnknownEngine as e:
        raise RunError(str(e)) from None
    if want == "numpy":
        return "numpy"
    reason = None
    if trace:
        reason = "the payment trace is kept by the numpy engine only"
    elif not available():
        reason = "no C compiler found (set CC, or install gcc)"
    else:
        for t in program.table_data:
            if t.covered < T:
                reason = f"table {t.name} stops at {t.key} {t.covered}, before the horizon"
                break
    if reason is None:
        return "c"
    if want == "c":
        raise RunError(f"the compiled engine cannot run this: {reason}")
    return "numpy"


def _compiled(program: P.Program, engine: Optional[str]):
    """The deal's compiled kernel; on 'auto', None (the numpy engine runs) if it
    cannot be built, with a warning: that is a bug of the generator, not of the deal."""
    from . import ckernel
    from .native.build import CompileError
    from .native.policy import Unavailable, fall_back
    try:
        return ckernel.kernel(program)
    except (CompileError, ckernel.Unsupported) as e:
        try:
            fall_back("compiled engine unavailable for this deal", e, engine, instead="running the numpy engine")
        except Unavailable:
            raise RunError(f"the compiled engine cannot run this deal: {e}") from None
        return None


def _raise_kernel_error(program: P.Program, dates, error) -> None:
    err, v = error
    code, t, s = int(err[0]), int(err[1]), int(err[2])
    if code == 1:
        raise ConservationError(
            f"money not conserved in period {t + 1} ({dates[t]}), scenario {s}: collected "
            f"{v[0]:,.6f}, paid {v[1]:,.6f}, held in accounts {v[2]:,.6f}, "
            f"difference {v[3]:,.6f} (cash left unallocated in the funds: {v[4]:,.6f})")
    c = program.classes[int(err[3])].name
    if code == 2:
        what = ("interest", "carryover", "unpaid realized losses")[int(err[4])]
        raise ConservationError(f"class {c} was paid {v[0]:,.6f} more {what} than it "
                                f"was owed in period {t + 1}, scenario {s}")
    raise ConservationError(f"class {c} has a negative balance {v[0]:,.6f} in period {t + 1}, scenario {s}")


def _check_period(program: P.Program, st: PeriodState, t: int, collected, accounts_before):
    """Money is conserved: collected = paid to classes + change in accounts.
    The paid side is summed from what the classes received, not from what the
    funds gave, so a step that debits a fund without crediting a class (or the
    reverse) is caught here."""
    paid = rowsum(st.paid_interest) + rowsum(st.paid_principal) + rowsum(st.paid_carry) + rowsum(st.paid_loss)
    held = rowsum(st.funds[program.n_flow_buckets:]) - accounts_before
    gap = collected - paid - held
    tol = 1e-6 + 1e-12 * np.abs(collected)
    bad = ~(np.abs(gap) <= tol)  # NaN is a failure too
    if bad.any():
        s = int(np.argmax(bad))
        left = st.funds[: program.n_flow_buckets, s].sum()
        raise ConservationError(
            f"money not conserved in period {t + 1} ({st.dates[t]}), scenario {s}: collected "
            f"{collected[s]:,.6f}, paid {paid[s]:,.6f}, held in accounts {held[s]:,.6f}, "
            f"difference {gap[s]:,.6f} (cash left unallocated in the funds: {left:,.6f})")
    # No class is paid more than it is owed: what it is owed never goes below zero.
    for what, owed in (("interest", st.shortfall), ("carryover", st.carryover),
                       ("unpaid realized losses", st.unpaid_loss)):
        over = ~(owed >= -1e-6)
        if over.any():
            c, s = np.argwhere(over)[0]
            raise ConservationError(f"class {program.classes[c].name} was paid {-owed[c, s]:,.6f} more {what} than it "
                                    f"was owed in period {t + 1}, scenario {s}")
    neg = ~(st.balance >= -1e-6)
    if neg.any():
        c, s = np.argwhere(neg)[0]
        raise ConservationError(f"class {program.classes[c].name} has a negative balance {st.balance[c, s]:,.6f} "
                                f"in period {t + 1}, scenario {s}")
