"""The lowering: a checked deal and its assumptions turned into what the
engines read, every name resolved to an index, tables laid out by period.

(Issue 14, step 1: moved here unchanged from engine.py; the period program
that both engines read grows from it.)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from dsl import ast as A
from dsl.check import deal_expressions, expand_classes

from ..collateral import Scenarios, project
from ..assumptions import Assumptions, speed_curve
from ..errors import RunError
from . import program as P


# The period's funds (buckets of each group) a 'from' fund of a group draws on.
_FUND_BUCKETS = {A.FundKind.INTEREST: ("interest",), A.FundKind.PRINCIPAL: ("principal",),
                 A.FundKind.FUNDS: ("interest", "principal"), A.FundKind.EXCESS: ("interest", "principal"),
                 A.FundKind.PENALTIES: ("penalties",)}


class Model:
    """A deal lowered for the engines: names resolved to array indices,
    expressions to program operations (``lower``, ``formulas``), every number
    a slot of ``constants`` (an input of the run), tables to arrays by period."""

    def __init__(self, deal: A.Deal, assumptions: Assumptions, n_periods: int):
        self.deal = deal
        self.assumptions = assumptions
        self.n_periods = n_periods
        self.classes = list(deal.classes)
        self.class_index = {c.name: i for i, c in enumerate(self.classes)}
        self.groups = [g.name for g in deal.groups]
        self.group_index = {g: i for i, g in enumerate(self.groups)}
        self.index_names = {ix.name: i for i, ix in enumerate(deal.indices)}
        self.event_index = {e.name: i for i, e in enumerate(deal.events)}
        self.contract_index = {c.name: i for i, c in enumerate(deal.contracts)}
        self.parameters = {}
        for p in deal.parameters:
            if p.name in assumptions.parameters:
                self.parameters[p.name] = assumptions.parameters[p.name]
            elif p.default is not None:
                self.parameters[p.name] = p.default.value
            else:
                raise RunError(f"parameter '{p.name}' has no value: set it under 'parameters:' "
                               f"in {assumptions.path}", span=p.span)
        self.tables = {}
        for t in deal.tables:
            arr = np.full(n_periods + 1, np.nan)
            for row in t.rows:
                last = n_periods if row.last is None else min(row.last, n_periods)
                arr[row.first:last + 1] = row.values[0].value
            self.tables[t.name] = arr
        self.original = np.array([c.balance.value if (c.balance is not None and c.notional is None) else 0.0
                                  for c in self.classes])
        self.is_residual = np.array([c.residual for c in self.classes])
        self.is_notional = np.array([c.notional is not None for c in self.classes])
        self._cutoff = {g: float(sum(l.balance for l in assumptions.lines if l.group == g)) for g in self.groups}
        self.account_index = {a.name: i for i, a in enumerate(deal.accounts)}
        self.schedules = {sc.name: planned_balance(sc, assumptions, n_periods) for sc in deal.schedules}
        self.has_carry = [c.carryover or c.carryover_max is not None for c in self.classes]
        self.event_retires = [np.array([self.class_index[n] for n in expand_classes(deal, e.retires)], dtype=int)
                              for e in deal.events]
        residuals = [i for i, c in enumerate(self.classes) if c.residual]
        self.first_residual = residuals[0] if residuals else None
        # Funds. Flow buckets (emptied every period): interest, principal and
        # prepayment charges per group, each contract's receipts, each
        # distribution's scratch bucket. Then accounts, which carry over.
        self.fund_keys = []
        for g in self.groups:
            self.fund_keys += [("interest", g), ("principal", g), ("penalties", g)]
        for c in deal.contracts:
            self.fund_keys.append(("contract", c.name))
        for d in deal.distributions:
            self.fund_keys.append(("distribution", d.name))
        self.n_flow_buckets = len(self.fund_keys)
        for a in deal.accounts:
            self.fund_keys.append(("account", a.name))
        self.fund_index = {k: i for i, k in enumerate(self.fund_keys)}
        self.available_funds = np.array([self.fund_index[(k, g)] for g in self.groups
                                         for k in ("interest", "principal")], dtype=int)
        self.all_flow_buckets = np.arange(self.n_flow_buckets)
        self.distributions = {}
        for d in deal.distributions:
            scratch = np.array([self.fund_index[("distribution", d.name)]], dtype=int)
            self.distributions[d.name] = (scratch, None)
        self.clause_labels = tuple(c.label for c in deal.waterfall.clauses)
        self.loss_order = []
        if deal.losses is not None:
            for step in deal.losses.steps:
                self.loss_order.append((step.mode, np.array([self.class_index[n] for n in
                                                             expand_classes(deal, step.targets)], dtype=int)))
        # Every expression lowered to program operations; every number a constant slot.
        low = ExprLowering(self)
        self.lower = low.lower
        self.formulas = low.formulas
        self.class_balance_slot = low.class_balance
        self.account_initial_slot = low.account_initial
        steps = StepLowering(self)
        self.distribution_decls = steps.distributions()
        self.clause_decls = steps.clauses()
        self.accruals, self.fraction_kinds = _lower_accruals(self)
        self.notionals = tuple(P.NotionalDecl(c, self.lower(cls.notional), cls.span)
                               for c, cls in enumerate(self.classes) if cls.notional is not None)
        self.contract_decls = tuple(P.ContractDecl(k, self.lower(c.pays), self.fund_index[("contract", c.name)],
                                                   c.span) for k, c in enumerate(deal.contracts))
        self.loss_decls = tuple(P.LossDecl(mode, tuple(int(c) for c in order), step.span)
                                for (mode, order), step in zip(self.loss_order, deal.losses.steps if deal.losses else ()))
        self.event_decls = tuple(P.EventDecl(k, self.lower(e.when), retires, e.span,
                                             P.sale_tiers(retires, self.loss_decls))
                                 for k, e in enumerate(deal.events)
                                 for retires in [tuple(int(c) for c in self.event_retires[k])])
        self.table_data = tuple(
            P.TableData(k, t.name, str(t.key), self.tables[t.name],
                        max((r.last if r.last is not None else n_periods + 1) for r in t.rows), t.span)
            for k, t in enumerate(deal.tables))
        self.schedule_values = tuple(self.schedules[sc.name] for sc in deal.schedules)
        self.layout = P.Layout(
            tuple(c.name for c in self.classes), tuple(a.name for a in deal.accounts),
            tuple(self.fund_index[("account", a.name)] for a in deal.accounts), tuple(c.name for c in deal.contracts),
            tuple(e.name for e in deal.events), tuple(e.title for e in deal.events), self.clause_labels,
            tuple((self.fund_index[("interest", g)], self.fund_index[("principal", g)],
                   self.fund_index[("penalties", g)]) for g in self.groups))
        # The constants table, once every expression is lowered; no slot is added after it.
        low.sealed = True
        self.program = P.Program(
            name=deal.header.name, source_key=source_key(deal),
            n_periods=n_periods, layout=self.layout,
            classes=tuple(P.ClassDecl(c.name, bool(c.residual), c.notional is not None, low.class_balance[i], c.span)
                          for i, c in enumerate(self.classes)),
            groups=tuple(self.groups), indices=tuple(self.index_names), n_funds=len(self.fund_keys),
            n_flow_buckets=self.n_flow_buckets, available_funds=tuple(int(b) for b in self.available_funds),
            first_residual=self.first_residual, formulas=low.formulas,
            distribution_decls=self.distribution_decls, clause_decls=self.clause_decls, accruals=self.accruals,
            fraction_kinds=self.fraction_kinds, notionals=self.notionals, contract_decls=self.contract_decls,
            event_decls=self.event_decls, loss_decls=self.loss_decls,
            table_data=tuple(t._replace(values=_frozen(t.values)) for t in self.table_data),
            schedule_values=tuple(_frozen(v) for v in self.schedule_values), const_decls=tuple(low.constants),
            parameter_slots=tuple(low.parameter.items()), account_initial_slots=tuple(low.account_initial))

    def cutoff_balance(self, g: Optional[int]) -> float:
        if g is None:
            return float(sum(self._cutoff.values()))
        return float(self._cutoff[self.groups[g]])

    # ---- steps
    def _buckets(self, funds: Sequence[A.Fund]) -> np.ndarray:
        out = []
        for f in funds:
            if f.kind is A.FundKind.ACCOUNT:
                out.append(self.fund_index[("account", f.group)])
                continue
            if f.kind is A.FundKind.CONTRACT:
                out.append(self.fund_index[("contract", f.group)])
                continue
            groups = self.groups if f.group is None else [f.group]
            kinds = _FUND_BUCKETS[f.kind]
            if f.kind is A.FundKind.EXCESS:
                groups = self.groups
            for g in groups:
                for k in kinds:
                    out.append(self.fund_index[(k, g)])
        return np.array(sorted(set(out)), dtype=int)

def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a


def source_key(deal: A.Deal) -> str:
    """What names a deal's text (its file and its source); '' for a deal built in memory."""
    return (deal.path + "\0" + deal.source) if deal.source else ""


def lower_program(deal: A.Deal, assumptions: Assumptions, n_periods: int) -> "P.Program":
    """The deal's period program over these assumptions and horizon."""
    return Model(deal, assumptions, n_periods).program


def run_constants(program: "P.Program", S: int, parameters: Optional[dict] = None) -> dict:
    """The constants that differ by scenario in a run: ``{slot: (S,) values}``
    for the parameters given one value per scenario (``{name: (S,) values}``),
    e.g. a trigger threshold a solver varies. The kernel is the same."""
    slots = dict(program.parameter_slots)
    out = {}
    for name, v in (parameters or {}).items():
        if name not in slots:
            known = ", ".join(slots) or "none"
            raise RunError(f"no parameter '{name}' to vary by scenario; the deal's parameters: {known}")
        a = np.asarray(v, dtype=float)
        if a.shape != (S,) or not np.isfinite(a).all():
            raise RunError(f"parameter {name}: one finite value for each of the {S} scenarios")
        out[slots[name]] = a.copy()
    return out


def scenario_constants(program: "P.Program", S: int, per_scenario: Optional[dict] = None) -> np.ndarray:
    """(constants, S): every number of the deal, for each scenario."""
    out = np.repeat(program.constants()[:, None], S, axis=1)
    for slot, v in (per_scenario or {}).items():
        out[slot] = v
    return out


def planned_balance(sc: A.ScheduleDecl, assumptions: Assumptions, T: int) -> np.ndarray:
    """A PAC planned balance by period (index 0 = closing): the size less the
    cumulative least principal of the group at the band's two speeds."""
    lines = [l for l in assumptions.lines if l.group == sc.group]
    if not lines:
        raise RunError(f"schedule {sc.name}: group {sc.group} has no collateral lines", span=sc.span)
    principal = []
    for speed in (sc.low, sc.high):
        try:
            curve = speed_curve(speed)
        except ValueError as e:
            raise RunError(str(e), span=speed.span) from None
        flows = project(lines, T, Scenarios.single(), {sc.group: curve})
        principal.append(flows[sc.group].principal[0])
    band = np.minimum(principal[0], principal[1])
    out = np.empty(T + 1)
    out[0] = sc.size.value
    out[1:] = np.maximum(sc.size.value - np.cumsum(band), 0.0)
    return out


# ------------------------------------------------------------------ expressions
# A builtin over a group's collateral flows: the field it reads (see
# program.GroupFlow); principal_collected is the sum of three of them.
_GROUP_FLOW_BUILTINS = {"pool_begin": "begin_balance", "pool_end": "end_balance",
                        "scheduled_principal": "scheduled_principal", "prepayments": "prepayment",
                        "recoveries": "recovery", "interest_collected": "net_interest", "realized_loss": "loss"}
_PRINCIPAL_COLLECTED = ("scheduled_principal", "prepayment", "recovery")
_CLASS_SUMS = {"balance": P.ClassField.BALANCE, "prior_balance": P.ClassField.PRIOR,
               "original_balance": P.ClassField.ORIGINAL}
_VARIABLES = {"period": P.Period, "date": P.DateOrdinal, "accrual_days": P.AccrualDays,
              "available": P.Available, "amount": P.Amount}


class ExprLowering:
    """Lowers the expressions of one deal to program operations (see program.py).

    Every number becomes a slot of ``constants`` (a ``ConstDecl`` each); slots
    are given in one fixed order over the deal's structure, so a deal whose
    numbers change but not its structure lowers to the same operations."""

    def __init__(self, model: "Model"):
        self.m = model
        deal = model.deal
        self.constants: list = []
        self.sealed = False
        self.formula_index = {d.name: k for k, d in enumerate(deal.defines)}
        self.table_index = {t.name: k for k, t in enumerate(deal.tables)}
        self.schedule_index = {s.name: k for k, s in enumerate(deal.schedules)}
        self._lowered: dict = {}  # id(AST expression) -> (expression, op); the expression kept alive
        self.class_balance = [self._const(P.ConstKind.CLASS_BALANCE, c, float(model.original[c]), cls.span)
                              for c, cls in enumerate(model.classes)]
        self.account_initial = [self._const(P.ConstKind.ACCOUNT_INITIAL, k,
                                            float(a.initial.value) if a.initial is not None else 0.0, a.span)
                                for k, a in enumerate(deal.accounts)]
        self.parameter = {p.name: self._const(P.ConstKind.PARAMETER, p.name, float(model.parameters[p.name]), p.span)
                          for p in deal.parameters}
        self.cutoff = [self._const(P.ConstKind.CUTOFF, g, model.cutoff_balance(g)) for g in range(len(model.groups))]
        self.cutoff.append(self._const(P.ConstKind.CUTOFF, None, model.cutoff_balance(None)))
        # Every expression of the deal, in the deal's order (dsl.check.deal_expressions).
        bodies = [self.lower(d.expr) for d in deal.defines]
        for e in deal_expressions(deal):
            self.lower(e)
        caching = _formula_caching(bodies)
        self.formulas = tuple(P.FormulaDecl(d.name, body, caching[k], d.span)
                              for k, (d, body) in enumerate(zip(deal.defines, bodies)))

    def _const(self, kind, key, value: float, span=A.NOWHERE) -> int:
        if self.sealed:  # an expression no pass of the lowering reached: a bug here, not in the deal
            raise RunError(f"{span}: a number lowered after the program's constants were fixed")
        self.constants.append(P.ConstDecl(kind, key, float(value), span))
        return len(self.constants) - 1

    def lower(self, e):
        """The operation an AST expression of this deal means (an operation is its own)."""
        if isinstance(e, P.OPERATIONS):
            return e
        hit = self._lowered.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        op = getattr(self, "_" + type(e).__name__)(e)
        self._lowered[id(e)] = (e, op)
        return op

    def _Quantity(self, e: A.Quantity):
        return P.Const(self._const(P.ConstKind.LITERAL, None, float(e.value), e.span), e.span)

    def _DateLit(self, e: A.DateLit):
        return P.Const(self._const(P.ConstKind.LITERAL, None, float(e.value.toordinal()), e.span), e.span)

    def _Name(self, e: A.Name):
        n, m, sp = e.id, self.m, e.span
        if n in _VARIABLES:
            return _VARIABLES[n](sp)
        if n in self.schedule_index:
            return P.Schedule(self.schedule_index[n], sp)
        if n in m.account_index:
            return P.AccountBalance(m.fund_index[("account", n)], sp)
        if n in m.contract_index:
            return P.ContractPaid(m.contract_index[n], sp)
        if n in self.formula_index:
            return P.Formula(self.formula_index[n], sp)
        if n in self.parameter:
            return P.Const(self.parameter[n], sp)
        if n in self.table_index:
            return P.Table(self.table_index[n], sp)
        if n in m.index_names:
            return P.IndexLevel(m.index_names[n], sp)
        raise RunError(f"{sp}: unknown name '{n}'")  # the checker rejects these first

    def _BinOp(self, e: A.BinOp):
        return P.Arith(e.op, self.lower(e.left), self.lower(e.right), e.span)

    def _Neg(self, e: A.Neg):
        return P.Neg(self.lower(e.operand), e.span)

    def _Compare(self, e: A.Compare):
        return P.Compare(e.op, self.lower(e.left), self.lower(e.right), e.span)

    def _BoolOp(self, e: A.BoolOp):
        return P.Logic(e.op, tuple(self.lower(o) for o in e.operands), e.span)

    def _Not(self, e: A.Not):
        return P.Not(self.lower(e.operand), e.span)

    def _IfExpr(self, e: A.IfExpr):
        return P.Select(self.lower(e.cond), self.lower(e.then), self.lower(e.other), e.span)

    def _classes(self, args) -> tuple:
        names = []
        for a in args:
            ref = A.ClassRef(a.id) if isinstance(a, A.Name) else A.SetRef(a.name)
            names.extend(expand_classes(self.m.deal, [ref]))
        return tuple(self.m.class_index[n] for n in names)

    def _group(self, args) -> Optional[int]:
        if not args or args[0].name is None:
            return None
        return self.m.group_index[args[0].name]

    def _Call(self, e: A.Call):
        fn, sp = e.fn, e.span
        if fn in ("min", "max"):
            return P.Extremum(fn == "min", tuple(self.lower(a) for a in e.args), sp)
        if fn == "abs":
            return P.Abs(self.lower(e.args[0]), sp)
        if fn in _CLASS_SUMS:
            return P.ClassSum(_CLASS_SUMS[fn], self._classes(e.args), sp)
        if fn == "notional":
            return P.Notional(self._classes(e.args)[0], sp)
        if fn in ("happens", "since", "after"):
            return P.Event(P.EventTest(fn), self.m.event_index[e.args[0].id], sp)
        if fn == "average_delinquency":
            return P.AverageDelinquency(self.lower(e.args[0]), self._group(e.args[1:]), sp)
        g = self._group(e.args)
        if fn in _GROUP_FLOW_BUILTINS:
            return P.GroupFlow(_GROUP_FLOW_BUILTINS[fn], g, sp)
        if fn == "principal_collected":
            a, b, c = (P.GroupFlow(f, g, sp) for f in _PRINCIPAL_COLLECTED)
            return P.Arith("+", P.Arith("+", a, b, sp), c, sp)
        if fn == "cutoff_balance":
            return P.Const(self.cutoff[-1 if g is None else g], sp)
        if fn == "pool_factor":  # said with existing operations: pool_end(G) / cutoff_balance(G)
            return P.Arith("/", P.GroupFlow("end_balance", g, sp), P.Const(self.cutoff[-1 if g is None else g], sp), sp)
        if fn in ("net_wac", "gross_wac"):
            return P.Wac(fn == "net_wac", g, sp)
        if fn == "delinquency":
            return P.Delinquency(g, sp)
        if fn == "pending_recoveries":
            return P.PendingRecoveries(g, sp)
        if fn == "cumulative_loss":
            return P.CumulativeLoss(g, sp)
        raise RunError(f"{sp}: unknown function '{fn}'")  # the checker rejects these first


def _formula_caching(bodies) -> list:
    """How long each formula's value holds (program.Caching): NEVER if it reads
    'available' or 'amount' (directly or through other formulas), else STEP if
    it reads a class's current balance or an account, else PERIOD."""
    reads = []
    for body in bodies:
        ops = list(P.walk(body))
        reads.append(({op.k for op in ops if isinstance(op, P.Formula)},
                      any(isinstance(op, (P.Available, P.Amount)) for op in ops),
                      any(isinstance(op, P.AccountBalance)
                          or (isinstance(op, P.ClassSum) and op.field is P.ClassField.BALANCE) for op in ops)))
    contextual = {k for k, r in enumerate(reads) if r[1]}
    volatile = {k for k, r in enumerate(reads) if r[2]}
    for marked in (contextual, volatile):
        changed = True
        while changed:
            changed = False
            for k, (uses, _, _) in enumerate(reads):
                if k not in marked and uses & marked:
                    marked.add(k)
                    changed = True
    return [P.Caching.NEVER if k in contextual else P.Caching.STEP if k in volatile else P.Caching.PERIOD
            for k in range(len(bodies))]


# ------------------------------------------------------------------ steps
class StepLowering:
    """Lowers the waterfall's clauses and the distributions to program steps:
    each step's funds resolved (a 'from' block's, else the period's interest
    and principal, or for 'pay remaining' every flow fund), its classes to
    indices, its payment kind and mode to the program's enums."""

    def __init__(self, model: "Model"):
        self.m = model
        self.dist_index = {d.name: k for k, d in enumerate(model.deal.distributions)}

    def clauses(self) -> tuple:
        return tuple(P.ClauseDecl(c.label, self.steps(c.steps, None), c.span)
                     for c in self.m.deal.waterfall.clauses)

    def distributions(self) -> tuple:
        m = self.m
        out = []
        for d in m.deal.distributions:
            fund = m.fund_index[("distribution", d.name)]
            out.append(P.DistributionDecl(d.name, fund, self.steps(d.steps, (fund,)), 0, d.span))
        depth = _distribution_depths(out)
        return tuple(d._replace(depth=depth[k]) for k, d in enumerate(out))

    def steps(self, steps, funds) -> tuple:
        out = []
        for st in steps:
            if isinstance(st, A.FromBlock):
                out.extend(self.steps(st.steps, tuple(int(b) for b in self.m._buckets(st.funds))))
            else:
                out.append(self.step(st, funds))
        return tuple(out)

    def _targets(self, refs) -> tuple:
        return tuple(self.m.class_index[n] for n in expand_classes(self.m.deal, refs))

    def step(self, st, funds):
        m = self.m
        here = funds if funds is not None else tuple(int(b) for b in m.available_funds)
        limit = getattr(st, "limit", None)
        limit = m.lower(limit) if limit is not None else None
        if isinstance(st, A.IfStep):
            return P.BranchStep(m.lower(st.cond), here, self.steps(st.then_steps, funds),
                                self.steps(st.else_steps, funds), st.span)
        if isinstance(st, A.Accrete):
            into = int(m._buckets([st.into])[0])
            return P.AccreteStep(here, self._targets(st.targets), into, st.span)
        if isinstance(st, A.Deposit):
            return P.DepositStep(here, m.fund_index[("account", st.account)], limit, st.span)
        assert isinstance(st, A.Pay)
        route = [r.name for r in st.targets if isinstance(r, A.ClassRef) and r.name in self.dist_index]
        if route:
            return P.RouteStep(here, self.dist_index[route[0]], limit, st.span)
        if st.what is A.PayWhat.REMAINING:
            # Outside a 'from', 'pay remaining' releases everything still in the period's funds.
            release = funds if funds is not None else tuple(int(b) for b in m.all_flow_buckets)
            return P.ReleaseStep(release, self._targets(st.targets)[0], limit, st.span)
        return P.PayStep(st.what.kind, st.mode, here, self._targets(st.targets), limit, st.what.value, st.span)


def _distribution_depths(decls) -> list:
    """How deep distributions nest from each (1: it routes to none)."""
    routes = [{st.distribution for st in P.walk_steps(d.steps) if isinstance(st, P.RouteStep)} for d in decls]
    seen: set = set()

    def depth(k):
        if k in seen:  # the checker refuses cycles: a deal that skipped it must not run one
            raise RunError(f"distribution {decls[k].name} routes back to itself", span=decls[k].span)
        seen.add(k)
        best = max((depth(j) for j in routes[k]), default=0)
        seen.discard(k)
        return best + 1
    return [depth(k) for k in range(len(decls))]


# ------------------------------------------------------------------ accruals
def _lower_accruals(model: "Model") -> tuple:
    """Each interest-bearing class's accrual, and the kinds of year fraction
    they use: (day count, whether the first period runs from closing)."""
    kinds: list = []
    out = []
    for c, cls in enumerate(model.classes):
        if cls.coupon is None:
            continue
        dc = cls.day_count
        kind = (dc, dc is P.DayCount.THIRTY_360 and cls.accrues_from_closing)
        if kind not in kinds:
            kinds.append(kind)
        out.append(P.AccrualDecl(
            c, model.lower(cls.coupon), model.lower(cls.cap) if cls.cap is not None else None,
            model.lower(cls.carryover_max) if cls.carryover_max is not None else None,
            bool(cls.carryover or cls.carryover_max is not None), cls.notional is not None,
            kinds.index(kind), cls.span))
    return tuple(out), tuple(kinds)


def accrual_fractions(kinds, dates, closing) -> np.ndarray:
    """(len(kinds), T) the year fraction each kind of accrual takes each period:
    30/360 a twelfth (from closing: the 30/360 days from the closing date to the
    first distribution date, over 360), actual/360 and actual/365 the actual
    days since the previous distribution date (the closing date for the first)
    over 360 or 365."""
    from ..dates import days_30_360
    T = len(dates)
    prev = [closing] + list(dates[:-1])
    days = np.array([float((d - p).days) for d, p in zip(dates, prev)])
    out = np.empty((len(kinds), T))
    for k, (dc, from_closing) in enumerate(kinds):
        if dc is P.DayCount.THIRTY_360:
            out[k] = 30.0 / 360.0
            if from_closing and T:
                out[k, 0] = days_30_360(closing, dates[0]) / 360.0
        else:
            out[k] = days / (360.0 if dc is P.DayCount.ACTUAL_360 else 365.0)
    return out


# ------------------------------------------------------------------ the starting state
def start_state(program: "P.Program", S: int, start: Optional[dict] = None) -> "P.StartState":
    """The run's starting state for ``S`` scenarios: the deal at closing (from
    the program's constants), with what ``start`` gives instead. ``start`` maps
    a class field of ``program.START_CLASS_FIELDS`` to {class name: value or
    (S,) values}, 'accounts' to {account: ...}, 'events_happened' to a list of
    event names (or {event: (S,) bools}). Giving a class's ``balance`` and not
    its ``original_balance`` sets both (a class sized differently)."""
    C = len(program.classes)
    constants = program.constants()
    class_index = {c.name: i for i, c in enumerate(program.classes)}
    account_index = {a: i for i, a in enumerate(program.layout.accounts)}
    event_index = {e: i for i, e in enumerate(program.layout.events)}
    classes = np.zeros((len(P.START_CLASS_FIELDS), C, S))
    opening = constants[[c.balance_slot for c in program.classes]] if C else np.zeros(0)
    classes[0] = opening[:, None]
    classes[1] = opening[:, None]
    accounts = np.repeat(constants[list(program.account_initial_slots)][:, None], S, axis=1) \
        if program.account_initial_slots else np.zeros((0, S))
    events = np.zeros((len(program.event_decls), S))
    start = dict(start or {})

    def per_scenario(v, what):
        a = np.asarray(v, dtype=float)
        if a.ndim > 1 or (a.ndim == 1 and len(a) != S) or not np.isfinite(a).all():
            raise RunError(f"starting {what}: one finite number, or one for each of the {S} scenarios")
        return np.broadcast_to(a, (S,))
    for f, field in enumerate(P.START_CLASS_FIELDS):
        for name, v in dict(start.pop(field, {})).items():
            if name not in class_index:
                raise RunError(f"starting {field}: no class '{name}'")
            classes[f, class_index[name]] = per_scenario(v, f"{field} of {name}")
            if field == "balance" and name not in dict((start.get("original_balance") or {})):
                classes[1, class_index[name]] = classes[0, class_index[name]]
    for name, v in dict(start.pop("accounts", {})).items():
        if name not in account_index:
            raise RunError(f"starting accounts: no account '{name}'")
        accounts[account_index[name]] = per_scenario(v, f"balance of account {name}")
    cum_loss = np.zeros((len(program.groups), S))
    for name, v in dict(start.pop("cumulative_loss", {})).items():
        if name not in program.groups:
            raise RunError(f"starting cumulative_loss: no group '{name}'")
        cum_loss[program.groups.index(name)] = per_scenario(v, f"cumulative loss of group {name}")
    period = start.pop("period", 0)
    if int(period) != period or not 0 <= period < program.n_periods:
        raise RunError(f"starting period: {period} is not a distribution of the run's {program.n_periods}")
    happened = start.pop("events_happened", ())
    items = happened.items() if isinstance(happened, dict) else ((n, 1.0) for n in happened)
    for name, v in items:
        if name not in event_index:
            raise RunError(f"starting events: no event '{name}'")
        events[event_index[name]] = per_scenario(v, f"event {name}") != 0
    if start:
        raise RunError(f"starting state: unknown {', '.join(sorted(start))}; use "
                       f"{', '.join(P.START_CLASS_FIELDS)}, accounts, events_happened, cumulative_loss or period")
    if (classes < 0).any() or (accounts < 0).any():
        raise RunError("starting state: balances and amounts owed are not negative")
    return P.StartState(classes.reshape(-1, S), accounts, events, cum_loss, int(period))
