"""Compile AST expressions into closures over the period state.

A compiled expression is a function ``f(state) -> value`` where value is a
float or a numpy array over scenarios (booleans are boolean arrays). The
engine calls it once per period, never once per scenario: a condition is a
mask, not a Python branch.
"""
from __future__ import annotations

import operator
from typing import Callable

import numpy as np

from dsl import ast as A
from dsl.check import expand_classes

_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}


def _div(a, b):
    # x / 0 is taken as 0: a ratio of an empty pool or a retired class.
    if np.ndim(b) == 0:
        return a / b if b != 0 else np.zeros(np.shape(a)) if np.ndim(a) else 0.0
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), b)
    return np.divide(a, b, out=np.zeros(b.shape), where=b != 0)


class Compiler:
    """Turns expressions of one deal into closures. ``model`` is the engine's
    compiled deal (it resolves class, group, table and event names to indices)."""

    def __init__(self, model):
        self.model = model
        self.deal: A.Deal = model.deal
        self._defines = {d.name: d for d in self.deal.defines}
        self._compiled_defines: dict = {}
        self._contextual = contextual_defines(self.deal)

    def compile(self, e) -> Callable:
        m = getattr(self, "_c_" + type(e).__name__)
        return m(e)

    # ---- leaves
    def _c_Quantity(self, e: A.Quantity):
        v = float(e.value)
        return lambda st: v

    def _c_DateLit(self, e: A.DateLit):
        v = e.value.toordinal()
        return lambda st: v

    def _c_Name(self, e: A.Name):
        n = e.id
        model = self.model
        if n == "period":
            return lambda st: st.period
        if n == "date":
            return lambda st: st.date_ordinal
        if n == "accrual_days":
            return lambda st: st.accrual_days
        if n == "available":
            return lambda st: st.available()
        if n == "amount":
            return lambda st: st.amount()
        if n in model.schedules:
            sched = model.schedules[n]
            return lambda st: sched[min(st.period, len(sched) - 1)]
        if n in model.account_index:
            k = model.fund_index[("account", n)]
            return lambda st: st.funds[k].copy()
        if n in model.contract_index:
            k = model.contract_index[n]
            return lambda st: st.contract_paid[k]
        if n in self._defines:
            if n not in self._compiled_defines:
                # A formula is evaluated afresh at each use: balances move during the
                # waterfall, and a formula reads them where it is used.
                # Cached until the state changes: the state's version moves with
                # every payment, so a formula is computed once between payments.
                self._compiled_defines[n] = None  # placeholder against recursion (checked earlier)
                f = self.compile(self._defines[n].expr)
                if n in self._contextual:
                    # It reads 'available' or 'amount': its value depends on where
                    # it is used, not only on the state, so it is never cached.
                    self._compiled_defines[n] = f
                    return lambda st, n=n: self._compiled_defines[n](st)
                slot = [-1, None]

                def cached(st, f=f, slot=slot):
                    if slot[0] != st.version:
                        slot[1] = f(st)
                        slot[0] = st.version
                    return slot[1]
                self._compiled_defines[n] = cached
            return lambda st, n=n: self._compiled_defines[n](st)
        if n in model.parameters:
            v = model.parameters[n]
            return lambda st: v
        if n in model.tables:
            tab = model.tables[n]
            decl = next(t for t in self.deal.tables if t.name == n)
            covered = max((r.last if r.last is not None else len(tab)) for r in decl.rows)

            def lookup(st):
                if st.period > covered:
                    from .errors import RunError
                    raise RunError(f"{decl.span}: table {n} has no row for {decl.key} {st.period} "
                                   f"(its last row ends at {covered}; end it with an open row such as '{covered + 1}+')")
                return tab[st.period]
            return lookup
        if n in model.index_names:
            i = model.index_names[n]
            return lambda st: st.index_level(i)
        raise KeyError(n)  # the checker has rejected unknown names

    # ---- operators
    def _c_BinOp(self, e: A.BinOp):
        left, right = self.compile(e.left), self.compile(e.right)
        if e.op == "/":
            return lambda st: _div(left(st), right(st))
        op = _BIN[e.op]
        return lambda st: op(left(st), right(st))

    def _c_Neg(self, e: A.Neg):
        f = self.compile(e.operand)
        return lambda st: -f(st)

    def _c_Compare(self, e: A.Compare):
        left, right = self.compile(e.left), self.compile(e.right)
        op = _CMP[e.op]
        return lambda st: op(left(st), right(st))

    def _c_BoolOp(self, e: A.BoolOp):
        fs = [self.compile(o) for o in e.operands]
        # Short-circuit when every scenario is decided: the result is the same
        # mask, and the rest (a trigger's averages, say) need not be computed.
        if e.op == "and":
            def f(st):
                out = np.asarray(fs[0](st), dtype=bool)
                for g in fs[1:]:
                    if not out.any():
                        return out
                    out = np.logical_and(out, g(st))
                return out
        else:
            def f(st):
                out = np.asarray(fs[0](st), dtype=bool)
                for g in fs[1:]:
                    if out.all():
                        return out
                    out = np.logical_or(out, g(st))
                return out
        return f

    def _c_Not(self, e: A.Not):
        f = self.compile(e.operand)
        return lambda st: np.logical_not(f(st))

    def _c_IfExpr(self, e: A.IfExpr):
        c, a, b = self.compile(e.cond), self.compile(e.then), self.compile(e.other)

        def f(st):
            m = np.asarray(c(st), dtype=bool)
            if m.all():
                return a(st)
            if not m.any():
                return b(st)
            return np.where(m, a(st), b(st))
        return f

    # ---- calls
    def _classes(self, args) -> np.ndarray:
        names = []
        for a in args:
            if isinstance(a, A.Name):
                names.extend(expand_classes(self.deal, [A.ClassRef(a.id)]))
            else:
                names.extend(expand_classes(self.deal, [A.SetRef(a.name)]))
        return np.array([self.model.class_index[n] for n in names], dtype=int)

    def _group(self, args):
        """Group index, or None for all groups."""
        if not args or args[0].name is None:
            return None
        return self.model.group_index[args[0].name]

    def _c_Call(self, e: A.Call):
        fn = e.fn
        model = self.model
        if fn in ("min", "max"):
            fs = [self.compile(a) for a in e.args]
            red = np.minimum if fn == "min" else np.maximum

            def f(st):
                out = fs[0](st)
                for g in fs[1:]:
                    out = red(out, g(st))
                return out
            return f
        if fn == "abs":
            g = self.compile(e.args[0])
            return lambda st: np.abs(g(st))
        if fn in ("balance", "prior_balance", "original_balance"):
            idx = self._classes(e.args)
            attr = {"balance": "balance", "prior_balance": "prior_balance",
                    "original_balance": "original_balance"}[fn]
            if len(idx) == 1:
                i = int(idx[0])
                return lambda st: getattr(st, attr)[i]
            return lambda st: getattr(st, attr)[idx].sum(axis=0)
        if fn == "notional":
            i = int(self._classes(e.args)[0])
            return lambda st: st.notional(i)
        if fn in ("happens", "since", "after"):
            k = model.event_index[e.args[0].id]
            if fn == "after":
                return lambda st: st.event_before[k]
            if fn == "since":
                return lambda st: st.event_before[k] | st.event_now[k]
            return lambda st: st.event_now[k]
        if fn == "average_delinquency":
            n = self.compile(e.args[0])
            g = self._group(e.args[1:])
            return lambda st: st.average_delinquency(n(st), g)
        g = self._group(e.args)
        field = {"pool_begin": "begin_balance", "pool_end": "end_balance", "principal_collected": "principal",
                 "scheduled_principal": "scheduled_principal", "prepayments": "prepayment", "recoveries": "recovery",
                 "pending_recoveries": "pending",
                 "interest_collected": "net_interest", "realized_loss": "loss", "delinquency": "delinquent",
                 "cumulative_loss": "cum_loss"}.get(fn)
        if field is not None:
            return lambda st: st.group_value(field, g)
        if fn == "cutoff_balance":
            v = model.cutoff_balance(g)
            return lambda st: v
        if fn in ("net_wac", "gross_wac"):
            return lambda st: st.group_wac(fn, g)
        raise KeyError(fn)  # pragma: no cover - the checker knows every builtin


def nodes(e):
    """An expression and every expression inside it, depth first."""
    yield e
    for f in ("left", "right", "operand", "cond", "then", "other"):
        v = getattr(e, f, None)
        if v is not None and not isinstance(v, (str, int, float)):
            yield from nodes(v)
    for f in ("operands", "args"):
        for v in getattr(e, f, ()) or ():
            yield from nodes(v)


def names_in(e, out: set) -> set:
    """Every bare name an expression reads (variables, formulas, tables...)."""
    out.update(n.id for n in nodes(e) if isinstance(n, A.Name))
    return out


def contextual_defines(deal: A.Deal) -> set:
    """The formulas that read 'available' or 'amount', directly or through
    other formulas: their value depends on the step that uses them."""
    direct = {d.name: names_in(d.expr, set()) for d in deal.defines}
    out: set = set()
    changed = True
    while changed:
        changed = False
        for n, names in direct.items():
            if n not in out and (names & {"available", "amount"} or names & out):
                out.add(n)
                changed = True
    return out
