"""The numpy engine: a period program evaluated with masks over the scenario axis.

Every amount is a numpy array over the scenario axis (length S). The loop
runs once per period; within a period each waterfall step runs once, for all
scenarios at once. A condition (``if``) is a mask over scenarios: both
branches run, each on the cash its scenarios make available.

A period's phases and their order are ``program.PERIOD`` (``program.Phase``
says what each does); ``_NumpyPeriod`` has one handler per phase. Money is
checked every period: what was collected = what classes were paid + the change
in accounts, else a ConservationError naming the period, scenario and step.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..errors import ConservationError
from . import program as P
from .lowering import start_state
from .money import conservation_error
from .numpy_ops import Compiler, rowsum


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
        self.inspections = [comp(i.op) for i in program.inspections]


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
        self.cum_loss = np.zeros((len(program.groups), S)) if start.cum_loss is None else start.cum_loss.copy()
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
        self.pending = None  # (S, T) every group's pending recoveries, floored at 0 (set by the run)
        self.pending_by_group = None  # per group (S, T), before the floor (run._pending_by_group)

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
            return np.maximum(self.pending_by_group[g][:, t], 0.0) * self.alive
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
        # (T, values, S) the program's inspections by period, when it has any
        self.inspected = np.zeros((T, len(program.inspections), S)) if program.inspections else None

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
            stated = np.maximum(coupon, 0.0)
            rec["coupon"][t, c] = stated if live is None else np.where(live, stated, 0.0)
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
        # in a run 'to' an event, the period it happens the collateral is sold (its
        # balance and the recoveries still to come: program.EventDecl) and the
        # proceeds retire the classes, tier by tier
        st, program, t, alive = self.st, self.program, self.t, self.st.alive
        self.sold = sold = np.zeros(st.S, dtype=bool)
        for k, decl in enumerate(program.event_decls):
            m = st.event_now[k] & (self.retire_event == k) & (alive > 0)
            if not m.any():
                continue
            pool = sum(self.flows[g].end_balance[:, t] for g in program.groups) + self.pending[:, t]
            proceeds = np.where(m, pool, 0.0)
            self.collected = self.collected + proceeds
            targets = np.array(decl.retires, dtype=int)
            paid = np.zeros((len(targets), st.S))
            rest = proceeds
            for tier in decl.tiers:
                rows = np.array([decl.retires.index(c) for c in tier], dtype=int)
                due = st.balance[np.array(tier, dtype=int)]
                paid[rows] = _pro_rata(rest, due, due)
                rest = rest - rowsum(paid[rows])
            st.balance[targets] -= paid
            st.paid_principal[targets] += paid
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
        if self.inspected is not None:
            self.inspect()
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
        rec["unpaid_interest"][t] = st.shortfall
        self.acc_rec[t] = st.funds[self.program.n_flow_buckets:]
        self.con_rec[t] = st.contract_paid

    def inspect(self):
        """Every inspected value after the waterfall and losses (program.Inspection):
        read outside any step, with every cached formula computed afresh."""
        st = self.st
        st.version += 1
        st.current_funds = None
        for j, f in enumerate(self.kern.inspections):
            self.inspected[self.t, j] = _per_s(f(st), st.S)

    def check(self):
        if self.check_money:
            _check_period(self.program, self.st, self.t, self.collected, self.accounts_before)


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
        flow = st.funds[: program.n_flow_buckets, s]
        fund = int(np.argmax(np.abs(flow))) if len(flow) else -1
        raise conservation_error(program, st.dates, t, s, collected[s], paid[s], held[s], gap[s], flow.sum(), fund,
                                 flow[fund] if fund >= 0 else 0.0)
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
