"""The numpy engine's expressions: program operations as closures over the period state.

A compiled expression is a function ``f(state) -> value`` where value is a
float or a numpy array over scenarios (booleans are boolean arrays). The
engine calls it once per period, never once per scenario: a condition is a
mask, not a Python branch.
"""
from __future__ import annotations

import operator
from typing import Callable

import numpy as np


from . import program as P

_BIN = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}


def _div(a, b):
    # x / 0 is taken as 0: a ratio of an empty pool or a retired class.
    if np.ndim(b) == 0:
        return a / b if b != 0 else np.zeros(np.shape(a)) if np.ndim(a) else 0.0
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), b)
    return np.divide(a, b, out=np.zeros(b.shape), where=b != 0)


def rowsum(x):
    """The rows of ``x`` added left to right, as the C backend adds them. (numpy's
    sum over axis 0 adds row by row when there are several columns, but pairwise
    when there is one: a one-scenario run would differ in the last bit from the
    same scenario in a batch.)"""
    if x.ndim >= 2 and x.shape[0] > 2 and x[0].size == 1:
        return np.cumsum(x, axis=0)[-1]
    return x.sum(axis=0)


def _num(x):
    """A condition used as a number is 1 or 0, as in the C backend (numpy would
    add two boolean arrays as a logical or, and refuse to negate one)."""
    if isinstance(x, np.ndarray):
        return x.astype(float) if x.dtype == bool else x
    if isinstance(x, (bool, np.bool_)):
        return float(x)
    return x


class Compiler:
    """The numpy engine's handlers of the period program's operations
    (waterfall/program.py): each operation becomes a closure over the period
    state. ``program`` is the deal's period program (waterfall/program.Program);
    ``per_scenario`` the constants a run gives one value per scenario ({slot: (S,) values})."""

    def __init__(self, program: P.Program, per_scenario: dict):
        self.program = program
        self.constants = program.constants()
        self.per_scenario = per_scenario
        self._formulas: dict = {}

    def compile(self, op) -> Callable:
        """A closure for an operation of the program."""
        return getattr(self, "_c_" + type(op).__name__)(op)

    # ---- leaves
    def _c_Const(self, e: P.Const):
        per = self.per_scenario.get(e.slot)
        if per is not None:  # this number differs by scenario (a solver's input)
            return lambda st: per
        v = float(self.constants[e.slot])
        return lambda st: v

    def _c_Period(self, e):
        return lambda st: st.period

    def _c_DateOrdinal(self, e):
        return lambda st: st.date_ordinal

    def _c_AccrualDays(self, e):
        return lambda st: st.accrual_days

    def _c_Available(self, e):
        return lambda st: st.available()

    def _c_Amount(self, e):
        return lambda st: st.amount()

    def _c_Schedule(self, e: P.Schedule):
        sched = self.program.schedule_values[e.k]
        return lambda st: sched[min(st.period, len(sched) - 1)]

    def _c_AccountBalance(self, e: P.AccountBalance):
        k = e.fund
        return lambda st: st.funds[k].copy()

    def _c_ContractPaid(self, e: P.ContractPaid):
        k = e.k
        return lambda st: st.contract_paid[k]

    def _c_Formula(self, e: P.Formula):
        k = e.k
        if k not in self._formulas:
            # A formula is evaluated where it is used (balances move during the
            # waterfall); one that does not depend on the step reading it is
            # cached until the state's version moves (every payment moves it).
            self._formulas[k] = None  # placeholder against recursion (the checker refuses cycles)
            decl = self.program.formulas[k]
            f = self.compile(decl.body)
            if decl.caching is P.Caching.NEVER:
                self._formulas[k] = f
            else:
                slot = [-1, None]

                def cached(st, f=f, slot=slot):
                    if slot[0] != st.version:
                        slot[1] = f(st)
                        slot[0] = st.version
                    return slot[1]
                self._formulas[k] = cached
        return lambda st: self._formulas[k](st)

    def _c_Table(self, e: P.Table):
        table = self.program.table_data[e.k]
        tab, covered = table.values, table.covered

        def lookup(st):
            if st.period > covered:
                from ..errors import RunError
                raise RunError(f"table {table.name} has no row for {table.key} {st.period} "
                               f"(its last row ends at {covered}; end it with an open row such as '{covered + 1}+')",
                               span=table.span)
            return tab[st.period]
        return lookup

    def _c_IndexLevel(self, e: P.IndexLevel):
        i = e.i
        return lambda st: st.index_level(i)

    def _c_ClassSum(self, e: P.ClassSum):
        attr = e.field.value
        if len(e.classes) == 1:
            i = e.classes[0]
            return lambda st: getattr(st, attr)[i]
        idx = np.array(e.classes, dtype=int)
        return lambda st: rowsum(getattr(st, attr)[idx])

    def _c_Notional(self, e: P.Notional):
        c = e.c
        return lambda st: st.notional(c)

    def _c_Event(self, e: P.Event):
        k = e.k
        if e.test is P.EventTest.AFTER:
            return lambda st: st.event_before[k]
        if e.test is P.EventTest.SINCE:
            return lambda st: st.event_before[k] | st.event_now[k]
        return lambda st: st.event_now[k]

    def _c_GroupFlow(self, e: P.GroupFlow):
        field, g = e.field, e.g
        return lambda st: st.group_value(field, g)

    def _c_Delinquency(self, e: P.Delinquency):
        g = e.g
        return lambda st: st.group_value("delinquent", g)

    def _c_AverageDelinquency(self, e: P.AverageDelinquency):
        n, g = self.compile(e.n), e.g
        return lambda st: st.average_delinquency(n(st), g)

    def _c_PendingRecoveries(self, e: P.PendingRecoveries):
        g = e.g
        return lambda st: st.group_value("pending", g)

    def _c_CumulativeLoss(self, e: P.CumulativeLoss):
        g = e.g
        return lambda st: st.group_value("cum_loss", g)

    def _c_Wac(self, e: P.Wac):
        fn, g = ("net_wac" if e.net else "gross_wac"), e.g
        return lambda st: st.group_wac(fn, g)

    # ---- operators
    def _c_Arith(self, e: P.Arith):
        left, right = self.compile(e.left), self.compile(e.right)
        if e.op == "/":
            return lambda st: _div(_num(left(st)), _num(right(st)))
        op = _BIN[e.op]
        return lambda st: op(_num(left(st)), _num(right(st)))

    def _c_Neg(self, e: P.Neg):
        f = self.compile(e.operand)
        return lambda st: -_num(f(st))

    def _c_Compare(self, e: P.Compare):
        left, right = self.compile(e.left), self.compile(e.right)
        op = _CMP[e.op]
        return lambda st: op(left(st), right(st))

    def _c_Logic(self, e: P.Logic):
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

    def _c_Not(self, e: P.Not):
        f = self.compile(e.operand)
        return lambda st: np.logical_not(f(st))

    def _c_Select(self, e: P.Select):
        c, a, b = self.compile(e.cond), self.compile(e.then), self.compile(e.other)

        def f(st):
            m = np.asarray(c(st), dtype=bool)
            if m.all():
                return a(st)
            if not m.any():
                return b(st)
            return np.where(m, a(st), b(st))
        return f

    def _c_Extremum(self, e: P.Extremum):
        fs = [self.compile(a) for a in e.operands]
        red = np.minimum if e.least else np.maximum

        def f(st):
            out = _num(fs[0](st))
            for g in fs[1:]:
                out = red(out, _num(g(st)))
            return out
        return f

    def _c_Abs(self, e: P.Abs):
        g = self.compile(e.operand)
        return lambda st: np.abs(_num(g(st)))
