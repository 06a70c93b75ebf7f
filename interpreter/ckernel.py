"""The compiled engine: a checked deal translated into C, one scenario at a time.

The numpy engine (engine.py) runs each period's steps once for all scenarios;
its cost is Python's, per step and per formula. This module writes the same
period loop as C source generated from the deal (``generate``), compiles it
once with ``cbuild`` (cached by a hash of the source), and runs it over the
scenarios, one scenario's 360 periods at a time, on as many threads as the
machine has cores. Masks become branches: a scenario runs only the branch its
condition picks, which pays what the numpy engine pays under the mask.

Nothing here is specific to a deal: every clause, formula and builtin has one
translation rule, the same that engine.py and expr.py implement, and the two
engines are compared on every bundled deal and on random deals
(tests/engine/test_ckernel.py). Values that come from the assumptions
(parameters, tables by period, index paths, collateral flows) are inputs of the
kernel, not constants in its source, so one build serves every run of a deal
(and an index keyed by the deal's text and this package's code finds that
build without generating the source again).

Records are written (class, scenario, period): a class's periods lie
together, the order in which the analytics read them. A lean run writes only
what the analytics need (see ``KEEP``).

What the generated C does not cover runs on the numpy engine instead:
``run(trace=True)`` (the payment ledger) and tables that stop short of the
horizon (the numpy engine raises the positioned error if a formula reads
past their last row).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from dsl import ast as A
from dsl.check import expand_classes

from . import cbuild
from .expr import contextual_defines

# Group fields passed to the kernel, per group, each (S, T).
GROUP_FIELDS = ("begin_balance", "end_balance", "scheduled_principal", "prepayment", "recovery", "net_interest",
                "loss", "delinquent", "net_wac", "gross_wac", "penalty", "principal", "pending")
# Records written by the kernel, each (S, T, C).
RECORDS = ("interest", "principal", "carry", "lossr", "writedown", "balance", "begin", "notional", "rate", "cap",
           "accreted", "cash")
_WHAT_DUE = {
    "principal": "s->bal[{c}]",
    "current and unpaid interest": "(s->due[{c}] + s->shortfall[{c}])",
    "interest": "(s->due[{c}] + s->shortfall[{c}])",
    "current interest": "s->due[{c}]",
    "unpaid interest": "s->shortfall[{c}]",
    "carryover": "s->carry[{c}]",
    "unpaid realized losses": "s->uloss[{c}]",
}
_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}

_PRELUDE = r"""
#include <math.h>
#include <string.h>
#include <stdint.h>

static inline double mn(double a, double b) { return (a < b || a != a) ? a : b; }  /* np.minimum */
static inline double mx(double a, double b) { return (a > b || a != a) ? a : b; }  /* np.maximum */
static inline double dv(double a, double b) { return b != 0.0 ? a / b : 0.0; }     /* x / 0 = 0 */
static inline int nz(double x) { return x != 0.0; }                                /* as a mask */

/* Share avail by weights, no one more than it is owed (engine._pro_rata). */
static void prorata(double avail, const double *w, const double *due, double *out, int n) {
    double total = w[0], owed = due[0];
    for (int j = 1; j < n; j++) { total += w[j]; owed += due[j]; }
    double x = mn(avail, owed);
    for (int j = 0; j < n; j++) {
        double share = total > 0 ? w[j] / total : 0.0;
        out[j] = mn(share * x, due[j]);
    }
}
"""


class Unsupported(Exception):
    """A deal (or run) the generated kernel does not cover: the numpy engine runs it."""


class Generator:
    """C source for one deal. ``model`` is engine.Model (names resolved to indices)."""

    def __init__(self, model):
        self.m = model
        self.deal: A.Deal = model.deal
        self.defines = {d.name: d for d in self.deal.defines}
        self.define_id = {d.name: i for i, d in enumerate(self.deal.defines)}
        self.param_id = {p.name: i for i, p in enumerate(self.deal.parameters)}
        self.table_id = {t.name: i for i, t in enumerate(self.deal.tables)}
        self.schedule_id = {s.name: i for i, s in enumerate(self.deal.schedules)}
        self.sets: List[tuple] = []  # bucket sets (sorted fund indices); id = position
        self.out: List[str] = []
        self.dist_fns: Dict[str, str] = {}
        self.uncached = contextual_defines(self.deal)
        self.volatile = _volatile_defines(self.deal)
        self.max_depth = 1

    # ---- inputs: pointer slots
    def group_slot(self, g: int, field: str) -> int:
        return g * len(GROUP_FIELDS) + GROUP_FIELDS.index(field)

    @property
    def n_group_slots(self) -> int:
        return len(self.m.groups) * len(GROUP_FIELDS)

    def slot(self, kind: str, i: int = 0) -> int:
        """Pointer slots after the group fields: index paths, tables, schedules, dates, days, pending."""
        base = self.n_group_slots
        order = [("index", len(self.m.index_names)), ("table", len(self.deal.tables)),
                 ("schedule", len(self.deal.schedules)), ("date", 1), ("days", 1), ("pending", 1),
                 ("retire", 1)]
        for k, n in order:
            if k == kind:
                return base + i
            base += n
        raise KeyError(kind)

    @property
    def n_slots(self) -> int:
        return self.slot("retire") + 1

    def set_id(self, buckets) -> int:
        key = tuple(int(b) for b in buckets)
        if key not in self.sets:
            self.sets.append(key)
        return self.sets.index(key)

    # ---- expressions (every value is a C double; conditions are tested with nz())
    def expr(self, e) -> str:
        return getattr(self, "_e_" + type(e).__name__)(e)

    def cond(self, e) -> str:
        return f"nz({self.expr(e)})"

    def _e_Quantity(self, e: A.Quantity) -> str:
        return _lit(float(e.value))

    def _e_DateLit(self, e: A.DateLit) -> str:
        return _lit(float(e.value.toordinal()))

    def _e_Name(self, e: A.Name) -> str:
        n = e.id
        m = self.m
        if n == "period":
            return "(double)s->period"
        if n == "date":
            return f"s->P[{self.slot('date')}][s->t]"
        if n == "accrual_days":
            return f"s->P[{self.slot('days')}][s->t]"
        if n == "available":
            return "available(s)"
        if n == "amount":
            return "(s->depth > 0 ? s->amounts[s->depth - 1] : 0.0)"
        if n in m.schedules:
            k = self.schedule_id[n]  # a planned balance by period, 0..T: indexed by the period
            return f"s->P[{self.slot('schedule', k)}][s->period]"
        if n in m.account_index:
            return f"s->funds[{m.fund_index[('account', n)]}]"
        if n in m.contract_index:
            return f"s->contract_paid[{m.contract_index[n]}]"
        if n in self.defines:
            return f"D{self.define_id[n]}(s)"
        if n in m.parameters:
            return f"s->K[{self.param_id[n]}]"
        if n in m.tables:
            return f"s->P[{self.slot('table', self.table_id[n])}][s->period]"
        if n in m.index_names:
            return f"s->ix[{m.index_names[n]}][s->t]"
        raise Unsupported(f"name {n}")

    def _e_BinOp(self, e: A.BinOp) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op == "/":
            return f"dv({a}, {b})"
        return f"({a} {e.op} {b})"

    def _e_Neg(self, e: A.Neg) -> str:
        return f"(-{self.expr(e.operand)})"

    def _e_Compare(self, e: A.Compare) -> str:
        return f"(double)({self.expr(e.left)} {_CMP[e.op]} {self.expr(e.right)})"

    def _e_BoolOp(self, e: A.BoolOp) -> str:
        op = " && " if e.op == "and" else " || "
        return "(double)(" + op.join(self.cond(o) for o in e.operands) + ")"

    def _e_Not(self, e: A.Not) -> str:
        return f"(double)(!{self.cond(e.operand)})"

    def _e_IfExpr(self, e: A.IfExpr) -> str:
        return f"({self.cond(e.cond)} ? {self.expr(e.then)} : {self.expr(e.other)})"

    def classes(self, args) -> List[int]:
        names = []
        for a in args:
            if isinstance(a, A.Name):
                names.extend(expand_classes(self.deal, [A.ClassRef(a.id)]))
            else:
                names.extend(expand_classes(self.deal, [A.SetRef(a.name)]))
        return [self.m.class_index[n] for n in names]

    def group(self, args) -> Optional[int]:
        if not args or args[0].name is None:
            return None
        return self.m.group_index[args[0].name]

    def gfield(self, field: str, g: int) -> str:
        return f"s->gv[{self.group_slot(g, field)}]"

    def _e_Call(self, e: A.Call) -> str:
        fn = e.fn
        m = self.m
        if fn in ("min", "max"):
            f = "mn" if fn == "min" else "mx"
            out = self.expr(e.args[0])
            for a in e.args[1:]:
                out = f"{f}({out}, {self.expr(a)})"
            return out
        if fn == "abs":
            return f"fabs({self.expr(e.args[0])})"
        if fn in ("balance", "prior_balance", "original_balance"):
            arr = {"balance": "bal", "prior_balance": "prior", "original_balance": "orig"}[fn]
            return "(" + " + ".join(f"s->{arr}[{c}]" for c in self.classes(e.args)) + ")"
        if fn == "notional":
            return f"s->notl[{self.classes(e.args)[0]}]"
        if fn in ("happens", "since", "after"):
            k = m.event_index[e.args[0].id]
            if fn == "after":
                return f"(double)s->ev_before[{k}]"
            if fn == "since":
                return f"(double)(s->ev_before[{k}] | s->ev_now[{k}])"
            return f"(double)s->ev_now[{k}]"
        if fn == "average_delinquency":
            g = self.group(e.args[1:])
            return f"avg_delinquency(s, {self.expr(e.args[0])}, {-1 if g is None else g})"
        g = self.group(e.args)
        groups = range(len(m.groups)) if g is None else [g]
        if fn == "cutoff_balance":
            return f"s->K[{len(self.deal.parameters) + (len(m.groups) if g is None else g)}]"
        if fn in ("net_wac", "gross_wac"):
            w = " + ".join(self.gfield("begin_balance", i) for i in groups)
            num = " + ".join(f"{self.gfield(fn, i)} * {self.gfield('begin_balance', i)}" for i in groups)
            return f"wavg({num}, {w})"
        if fn == "cumulative_loss":
            return "(" + " + ".join(f"s->cum_loss[{i}]" for i in groups) + ")"
        if fn == "delinquency":
            if g is not None:
                return self.gfield("delinquent", g)
            return "delinquency_all(s, s->t)"
        if fn == "pending_recoveries":
            if g is None:
                return "(s->pending[s->t] * s->alive)"
            return f"(mx({self.gfield('pending', g)}, 0.0) * s->alive)"
        if fn == "principal_collected":
            return "(" + " + ".join(self._gvalue(f, g) for f in ("scheduled_principal", "prepayment", "recovery")) + ")"
        field = {"pool_begin": "begin_balance", "pool_end": "end_balance",
                 "scheduled_principal": "scheduled_principal", "prepayments": "prepayment", "recoveries": "recovery",
                 "interest_collected": "net_interest", "realized_loss": "loss"}.get(fn)
        if field is not None:
            return self._gvalue(field, g)
        raise Unsupported(f"function {fn}")

    def _gvalue(self, field: str, g: Optional[int]) -> str:
        if g is not None:
            return f"({self.gfield(field, g)} * s->alive)"
        return "((" + " + ".join(self.gfield(field, i) for i in range(len(self.m.groups))) + ") * s->alive)"

    # ---- steps
    def steps(self, steps, buckets, in_dist: bool, indent: str) -> List[str]:
        out = []
        for st in steps:
            out += self.step(st, buckets, indent)
        return out

    def step(self, step, buckets, ind: str) -> List[str]:
        m = self.m
        line = step.span.line
        if isinstance(step, A.FromBlock):
            b = m._buckets(step.funds)
            out = [f"{ind}/* from ... (line {line}) */"]
            for inner in step.steps:
                out += self.step(inner, b, ind)
            return out
        if isinstance(step, A.IfStep):
            ctx = self.set_id(m.available_funds if buckets is None else buckets)
            out = [f"{ind}s->cf = {ctx};  /* 'available' in the condition: the enclosing funds */",
                   f"{ind}if ({self.cond(step.cond)}) {{  /* line {line} */"]
            for inner in step.then_steps:
                out += self.step(inner, buckets, ind + "    ")
            out.append(f"{ind}}} else {{")
            for inner in step.else_steps:
                out += self.step(inner, buckets, ind + "    ")
            out.append(f"{ind}}}")
            return out
        if isinstance(step, A.Accrete):
            src = m.available_funds if buckets is None else buckets
            targets = [m.class_index[n] for n in expand_classes(self.deal, step.targets)]
            into = int(m._buckets([step.into])[0])
            sid = self.set_id(src)
            out = [f"{ind}{{  /* accrete (line {line}) */",
                   f"{ind}    s->cf = {sid};",
                   f"{ind}    double av = mx(fsum{sid}(s), 0.0), amt[{len(targets)}];"]
            for j, c in enumerate(targets):
                out += [f"{ind}    amt[{j}] = mn(av, s->due[{c}]); av = av - amt[{j}];"]
            total = " + ".join(f"amt[{j}]" for j in range(len(targets)))
            out += [f"{ind}    double total = {total};", f"{ind}    draw{sid}(s, total);",
                    f"{ind}    s->funds[{into}] += total;"]
            for j, c in enumerate(targets):
                out += [f"{ind}    s->due[{c}] -= amt[{j}]; s->bal[{c}] += amt[{j}]; s->accr[{c}] += amt[{j}];"]
            out += [f"{ind}    s->version++;", f"{ind}}}"]
            return out
        if isinstance(step, A.Deposit):
            src = m.available_funds if buckets is None else buckets
            sid = self.set_id(src)
            acct = m.fund_index[("account", step.account)]
            out = [f"{ind}{{  /* deposit to {step.account} (line {line}) */",
                   f"{ind}    s->cf = {sid};",
                   f"{ind}    double av = mx(fsum{sid}(s), 0.0);"]
            if step.limit is not None:
                out += [f"{ind}    av = mn(av, mx({self.expr(step.limit)}, 0.0));"]
            out += [f"{ind}    draw{sid}(s, av);", f"{ind}    s->funds[{acct}] += av;", f"{ind}}}"]
            return out
        assert isinstance(step, A.Pay)
        route = [r.name for r in step.targets if isinstance(r, A.ClassRef) and r.name in m.distributions]
        if route:
            src = m.available_funds if buckets is None else buckets
            return self.route(step, src, route[0], ind)
        if buckets is None:
            buckets = m.all_flow_buckets if step.what == "remaining" else m.available_funds
        sid = self.set_id(buckets)
        targets = [m.class_index[n] for n in expand_classes(self.deal, step.targets)]
        n = len(targets)
        out = [f"{ind}{{  /* pay {step.what} {step.mode} (line {line}) */",
               f"{ind}    s->cf = {sid};",
               f"{ind}    double av = mx(fsum{sid}(s), 0.0);",
               f"{ind}    if (av > 0) {{"]
        i2 = ind + "        "
        if step.what == "remaining":
            if step.limit is not None:
                out += [f"{i2}av = mn(av, mx({self.expr(step.limit)}, 0.0));"]
            c = targets[0]
            out += [f"{i2}draw{sid}(s, av);", f"{i2}s->paid_total += av; s->pint[{c}] += av;"]
            out += [f"{ind}    }}", f"{ind}}}"]
            return out
        due_t = _WHAT_DUE[step.what]
        out.append(f"{i2}double due[{n}], paid[{n}];")
        for j, c in enumerate(targets):
            out.append(f"{i2}due[{j}] = {due_t.format(c=c)};")
        anyd = " || ".join(f"due[{j}] > 0" for j in range(n))
        out += [f"{i2}if ({anyd}) {{"]
        i3 = i2 + "    "
        if step.limit is not None:
            out.append(f"{i3}av = mn(av, mx({self.expr(step.limit)}, 0.0));")
        if step.mode == "sequentially":
            out.append(f"{i3}double rem = av;")
            for j in range(n):
                out.append(f"{i3}paid[{j}] = mn(rem, due[{j}]); rem -= paid[{j}];")
        elif step.mode == "pro rata":
            out.append(f"{i3}prorata(av, due, due, paid, {n});")
        else:
            w = ", ".join(f"s->prior[{c}]" for c in targets)
            out += [f"{i3}double w[{n}] = {{{w}}}, first[{n}], d2[{n}], second[{n}];",
                    f"{i3}prorata(av, w, due, first, {n});",
                    f"{i3}double rest = av - ({' + '.join(f'first[{j}]' for j in range(n))});",
                    f"{i3}for (int j = 0; j < {n}; j++) d2[j] = due[j] - first[j];",
                    f"{i3}prorata(rest, d2, d2, second, {n});",
                    f"{i3}for (int j = 0; j < {n}; j++) paid[j] = first[j] + second[j];"]
        total = " + ".join(f"paid[{j}]" for j in range(n))
        out += [f"{i3}double total = {total};", f"{i3}draw{sid}(s, total);",
                f"{i3}s->version++; s->paid_total += total;"]
        for j, c in enumerate(targets):
            out += [f"{i3}" + _settle(step.what, c, f"paid[{j}]")]
        out += [f"{i2}}}", f"{ind}    }}", f"{ind}}}"]
        return out

    def route(self, step: A.Pay, src, name: str, ind: str) -> List[str]:
        m = self.m
        sid = self.set_id(src)
        scratch = int(m.distributions[name][0][0])
        fn = self.distribution(name)
        nb = len(src)
        i2 = ind + "    "
        out = [f"{ind}{{  /* pay principal to {name} (line {step.span.line}) */",
               f"{i2}s->cf = {sid};",
               f"{i2}double av = mx(fsum{sid}(s), 0.0);"]
        if step.limit is not None:
            out += [f"{i2}if (av > 0) av = mn(av, mx({self.expr(step.limit)}, 0.0));"]
        out.append(f"{i2}if (av > 0) {{  /* the distribution runs where something is routed to it */")
        i3 = i2 + "    "
        out.append(f"{i3}double before[{nb}], drawn[{nb}];")
        for j, b in enumerate(src):
            out.append(f"{i3}before[{j}] = s->funds[{b}];")
        out.append(f"{i3}draw{sid}(s, av);")
        for j, b in enumerate(src):
            out.append(f"{i3}drawn[{j}] = before[{j}] - s->funds[{b}];")
        out += [f"{i3}s->funds[{scratch}] += av;",
                f"{i3}s->amounts[s->depth++] = av; s->version++;",
                f"{i3}{fn}(s);",
                f"{i3}s->depth--; s->version++;",
                f"{i3}double left = s->funds[{scratch}]; s->funds[{scratch}] = 0.0;",
                f"{i3}double back = av > 0 ? left / av : 0.0;"]
        for j, b in enumerate(src):
            out.append(f"{i3}s->funds[{b}] += drawn[{j}] * back;")
        out += [f"{i2}}}", f"{ind}}}"]
        return out

    def distribution(self, name: str) -> str:
        if name in self.dist_fns:
            return self.dist_fns[name]
        k = len(self.dist_fns)
        fn = f"dist{k}"
        self.dist_fns[name] = fn
        decl = next(d for d in self.deal.distributions if d.name == name)
        scratch = self.m.distributions[name][0]
        body = self.steps(decl.steps, scratch, True, "    ")
        self.functions.append(f"/* distribution {name} (line {decl.span.line}) */\n"
                              f"static void {fn}(St *s) {{\n" + "\n".join(body) + "\n}\n")
        self.max_depth = max(self.max_depth, _depth(self.deal, name))
        return fn

    # ---- the whole source
    def generate(self) -> str:
        m = self.m
        deal = self.deal
        self.functions: List[str] = []
        NC = len(m.classes)
        NF = len(m.fund_keys)
        NE = len(deal.events)
        NG = len(m.groups)
        NK = len(deal.contracts)
        NA = len(deal.accounts)
        NCL = len(deal.waterfall.clauses)
        ND = len(deal.defines)
        NI = len(m.index_names)

        # defines (bodies generated first: they may register bucket sets)
        define_src = []
        for d in deal.defines:
            i = self.define_id[d.name]
            body = self.expr(d.expr)
            if d.name in self.uncached:
                define_src.append(f"static double D{i}(St *s) {{ return {body}; }}  /* {d.name} */")
            else:
                # Cached until what it reads can change: a formula that reads balances
                # or accounts until the next payment (version), any other until the
                # period's state is next set (pver: period start, contracts, events,
                # notionals), so it is computed once a period, not once a step.
                key = "version" if d.name in self.volatile else "pver"
                define_src.append(
                    f"static double D{i}(St *s) {{  /* {d.name} */\n"
                    f"    if (s->dver[{i}] != s->{key}) {{ s->dval[{i}] = {body}; s->dver[{i}] = s->{key}; }}\n"
                    f"    return s->dval[{i}];\n}}")
        # the waterfall
        clauses = []
        for k, clause in enumerate(deal.waterfall.clauses):
            body = [f"        /* clause {k}: {_comment(clause.label)} (line {clause.span.line}) */"]
            for st in clause.steps:
                body.append("        s->cf = -1;")
                body += self.step(st, None, "        ")
            body.append(f"        if (R_CLAUSE) R_CLAUSE[{k}] = s->paid_total - before; before = s->paid_total;")
            clauses.append("\n".join(body))
        # accruals, events, contracts
        contracts = []
        for k, c in enumerate(deal.contracts):
            f = m.fund_index[("contract", c.name)]
            contracts.append(f"        {{ double amt = mx({self.expr(c.pays)}, 0.0) * s->alive; "
                             f"s->contract_paid[{k}] = amt; s->funds[{f}] = amt; s->version++; s->pver++; }}")
        events = []
        for k, e in enumerate(deal.events):
            events.append(f"        if (s->ev_before[{k}]) s->ev_now[{k}] = 0;\n"
                          f"        else {{ s->ev_now[{k}] = ({self.cond(e.when)}) && s->alive > 0; s->version++; s->pver++; }}")
        notionals = []
        for c, cls in enumerate(m.classes):
            if cls.notional is not None:
                notionals.append(f"        s->notl[{c}] = mx({self.expr(cls.notional)}, 0.0) * s->alive;")
        accruals = []
        first_frac_30 = f"K[{len(deal.parameters) + NG + 1}]"  # closing to the first date, 30/360
        for c, cls in enumerate(m.classes):
            if cls.coupon is None:
                continue
            lines = [f"        /* accrual: {_comment(cls.name)} */"]
            if cls.day_count == "30/360":
                if cls.accrues_from_closing:
                    frac = f"(t == 0 ? {first_frac_30} : {_lit(30.0 / 360.0)})"
                else:
                    frac = _lit(30.0 / 360.0)
            else:
                frac = f"(act_days / {_lit(360.0 if cls.day_count == 'actual/360' else 365.0)})"
            base = f"s->notl[{c}]" if cls.notional is not None else f"s->bal[{c}]"
            if cls.notional is not None:
                lines.append("        {")
            else:  # retired with nothing owed: no accrual, no rate, no cap
                lines.append(f"        if (s->bal[{c}] != 0.0 || s->carry[{c}] != 0.0) {{")
            lines.append(f"            double frac = {frac}, coupon = {self.expr(cls.coupon)}, rate = coupon;")
            if cls.cap is not None:
                lines.append(f"            double capv = {self.expr(cls.cap)}; PUT(9, {c}, capv); rate = mn(coupon, capv);")
            lines += ["            rate = mx(rate, 0.0);",
                      f"            double base = {base};",
                      f"            s->due[{c}] = base * rate * frac;",
                      f"            PUT(8, {c}, rate);"]
            if cls.carryover or cls.carryover_max is not None:
                unc = "coupon" if cls.carryover_max is None else f"mn(coupon, {self.expr(cls.carryover_max)})"
                lines += [f"            double unc = {unc};",
                          f"            s->carry[{c}] = s->carry[{c}] * (1.0 + unc * frac) + base * mx(unc - rate, 0.0) * frac;"]
            lines.append("        }" if cls.notional is not None else f"        }} else s->due[{c}] = 0.0;")
            accruals.append("\n".join(lines))
        clause_src = "\n".join(clauses)
        # retirement and losses
        retire = []
        for k, e in enumerate(deal.events):
            targets = list(m.event_retires[k])
            n = len(targets)
            pool = " + ".join(self.gfield("end_balance", g) for g in range(NG))
            lines = [f"        if (s->ev_now[{k}] && retire_event == {k} && s->alive > 0) {{",
                     f"            double proceeds = {pool};",
                     "            collected = collected + proceeds;"]
            if n:
                lines += [f"            double d[{n}] = {{{', '.join(f's->bal[{c}]' for c in targets)}}}, p[{n}];",
                          f"            prorata(proceeds, d, d, p, {n});"]
                for j, c in enumerate(targets):
                    lines.append(f"            s->bal[{c}] -= p[{j}]; s->pprin[{c}] += p[{j}];")
                lines.append(f"            double rest = proceeds - ({' + '.join(f'p[{j}]' for j in range(n))});")
            else:
                lines.append("            double rest = proceeds;")
            if m.first_residual is not None:
                lines.append(f"            s->paid_total += rest; s->pint[{m.first_residual}] += rest;")
            lines += ["            sold = 1;", "        }"]
            retire.append("\n".join(lines))
        losses = []
        if m.loss_order:
            pool = " + ".join(self.gfield("end_balance", g) for g in range(NG))
            perf = [c for c in range(NC) if not m.is_notional[c] and not m.is_residual[c]]
            losses.append(f"        double pool_end = (({pool}) + s->pending[t]) * s->alive * (double)(!sold);")
            losses.append(f"        double excess = mx(({' + '.join(f's->bal[{c}]' for c in perf) or '0.0'}) - pool_end, 0.0);")
            for mode, order in m.loss_order:
                if mode == "sequentially":
                    for c in order:
                        losses.append(f"        {{ double w = mn(excess, s->bal[{c}]); s->bal[{c}] -= w; s->uloss[{c}] += w; "
                                      f"WD({c}, w); excess = excess - w; }}")
                else:
                    n = len(order)
                    lst = ", ".join(f"s->bal[{c}]" for c in order)
                    body = [f"        {{ double d[{n}] = {{{lst}}}, w[{n}]; prorata(excess, d, d, w, {n});"]
                    for j, c in enumerate(order):
                        body.append(f"          s->bal[{c}] -= w[{j}]; s->uloss[{c}] += w[{j}]; WD({c}, w[{j}]);")
                    body.append(f"          excess = excess - ({' + '.join(f'w[{j}]' for j in range(n))}); }}")
                    losses.append("\n".join(body))
        sets_src = []
        default_set = self.set_id(m.available_funds)
        # bucket-set helpers (sums and draws); generated last, after every step registered its sets
        step_funcs = "\n".join(self.functions)
        for sid, b in enumerate(self.sets):
            summ = " + ".join(f"s->funds[{i}]" for i in b)
            sets_src.append(f"static inline double fsum{sid}(const St *s) {{ return {summ}; }}")
            if len(b) == 1:
                sets_src.append(f"static inline void draw{sid}(St *s, double a) {{ s->version++; s->funds[{b[0]}] -= a; }}")
            else:
                upd = " ".join(f"s->funds[{i}] = s->funds[{i}] - s->funds[{i}] * r;" for i in b)
                sets_src.append(
                    f"static inline void draw{sid}(St *s, double a) {{ s->version++; double tot = fsum{sid}(s);\n"
                    f"    double r = tot > 0 ? a / tot : 0.0; {upd} }}")
        avail_cases = "\n".join(f"        case {sid}: return fsum{sid}(s);" for sid in range(len(self.sets)))
        sets_src.append(f"static double available(const St *s) {{\n    switch (s->cf) {{\n{avail_cases}\n"
                        f"        default: return fsum{default_set}(s);\n    }}\n}}")
        nflow = m.n_flow_buckets
        header = f"""
#define NC {NC}
#define NF {NF}
#define NE {max(NE, 1)}
#define NG {NG}
#define NK {max(NK, 1)}
#define ND {max(ND, 1)}
#define NI {max(NI, 1)}
#define MAXD {self.max_depth + 1}
#define NSLOT {self.n_slots}

typedef struct {{
    double bal[NC], prior[NC], orig[NC], shortfall[NC], due[NC], carry[NC], uloss[NC], notl[NC];
    double pint[NC], pprin[NC], pcarry[NC], ploss[NC], accr[NC];
    double funds[NF];
    double paid_total, alive;
    int ev_before[NE], ev_now[NE];
    double cum_loss[NG];
    double contract_paid[NK];
    double amounts[MAXD];
    int depth, cf, t, period;
    int64_t version;           /* moves with every change of cash or balances */
    int64_t pver;              /* moves with every change of the period's other state */
    int64_t dver[ND];
    double dval[ND];
    const double *g[{max(self.n_group_slots, 1)}];   /* this scenario's group rows */
    double gv[{max(self.n_group_slots, 1)}];          /* their values this period */
    const double *ix[NI];      /* this scenario's index paths */
    const double *pending;
    const double *const *P;
    const double *K;
}} St;
"""
        fwd = [f"static double D{i}(St *s);" for i in range(len(deal.defines))]
        fwd += [f"static void {fn}(St *s);" for fn in self.dist_fns.values()]
        helpers = f"""
static double wavg(double num, double w) {{ return w > 0 ? num / w : 0.0; }}
static double delinquency_all(const St *s, int t) {{
    double w = 0.0, num = 0.0;
{chr(10).join(f'    w += s->g[{self.group_slot(g, "begin_balance")}][t]; num += s->g[{self.group_slot(g, "delinquent")}][t] * s->g[{self.group_slot(g, "begin_balance")}][t];' for g in range(NG))}
    return w > 0 ? num / w : 0.0;
}}
static double avg_delinquency(const St *s, double n_, int g) {{
    int n = (int)n_;
    int t0 = s->t - n + 1; if (t0 < 0) t0 = 0;
    double sum = 0.0; int k = 0;
    for (int t = t0; t <= s->t; t++, k++) sum += g < 0 ? delinquency_all(s, t) : s->g[g * {len(GROUP_FIELDS)} + {GROUP_FIELDS.index("delinquent")}][t];
    return k ? sum / k : 0.0;
}}
"""
        orig = ", ".join(_lit(float(x)) for x in m.original)
        init_accounts = "\n".join(
            f"    s->funds[{m.fund_index[('account', a.name)]}] = {_lit(float(a.initial.value))};"
            for a in deal.accounts if a.initial is not None)
        fill = []
        for gi in range(NG):
            fill.append(f"        s->funds[{3 * gi}] = s->g[{self.group_slot(gi, 'net_interest')}][t] * s->alive;")
            fill.append(f"        s->funds[{3 * gi + 1}] = s->g[{self.group_slot(gi, 'principal')}][t] * s->alive;")
            fill.append(f"        s->funds[{3 * gi + 2}] = s->g[{self.group_slot(gi, 'penalty')}][t] * s->alive;")
            fill.append(f"        s->cum_loss[{gi}] += s->g[{self.group_slot(gi, 'loss')}][t] * s->alive;")
        main = f"""
/* One scenario's whole run. Returns 0, or an error code with err/errv filled. */
static int run_one(St *s, const double *const *P, const double *K, int T, int S, int sc, double **R, const int *TN,
                   double *R_CLAUSE_ALL, double *R_ACC, double *R_CON, double *WDT, int32_t *sold_period,
                   int *err, double *errv) {{
    double *wdt = WDT + (size_t)sc * NC;
    static const double orig[NC] = {{{orig}}};
    memset(s, 0, sizeof(St));
    s->P = P; s->K = K;
    for (int i = 0; i < {len(GROUP_FIELDS) * NG}; i++) s->g[i] = P[i] + (size_t)sc * T;
    for (int i = 0; i < {NI if NI else 0}; i++) s->ix[i] = P[{self.slot('index')} + i] + (size_t)sc * T;
    s->pending = P[{self.slot('pending')}] + (size_t)sc * T;
    int retire_event = (int)P[{self.slot('retire')}][sc];
    for (int c = 0; c < NC; c++) {{ s->bal[c] = orig[c]; s->orig[c] = orig[c]; }}
    s->alive = 1.0;
    for (int i = 0; i < ND; i++) s->dver[i] = -1;
{init_accounts}
    for (int t = 0; t < T; t++) {{
        /* this period's record rows; a record not asked for (or asked for its
           first TN[r] periods only) has no row: nothing is written to it */
        /* records are (C, S, T) arrays: one class's periods lie together, which is
           how the analytics read them */
        double *rec[{len(RECORDS)}];
        size_t cs[{len(RECORDS)}];
        for (int r = 0; r < {len(RECORDS)}; r++) {{
            rec[r] = (R[r] && t < TN[r]) ? R[r] + (size_t)sc * TN[r] + t : 0;
            cs[r] = (size_t)S * TN[r];
        }}
#define PUT(r, c, v) do {{ if (rec[r]) rec[r][(size_t)(c) * cs[r]] = (v); }} while (0)
#define COPY(r, a) do {{ if (rec[r]) for (int c_ = 0; c_ < NC; c_++) rec[r][c_ * cs[r]] = (a)[c_]; }} while (0)
#define WD(c, w) do {{ if (rec[4]) rec[4][(size_t)(c) * cs[4]] += (w); wdt[c] += (w); }} while (0)
        double *R_CLAUSE = R_CLAUSE_ALL ? R_CLAUSE_ALL + ((size_t)sc * T + t) * {max(NCL, 1)} : 0;
        s->t = t; s->period = t + 1; s->version++; s->pver++;
        s->cf = -1;  /* outside the waterfall 'available' is all interest and principal */
        for (int i = 0; i < {self.n_group_slots}; i++) s->gv[i] = s->g[i][t];
        memcpy(s->prior, s->bal, sizeof s->bal);
        COPY(6, s->bal);
        for (int i = 0; i < {nflow}; i++) s->funds[i] = 0.0;
{chr(10).join(fill)}
        s->version++; s->pver++;
{chr(10).join(contracts)}
        double collected = 0.0;
        for (int i = 0; i < {nflow}; i++) collected += s->funds[i];
        double accounts_before = 0.0;
        for (int i = {nflow}; i < NF; i++) accounts_before += s->funds[i];
{chr(10).join(events)}
{chr(10).join(notionals)}
        s->version++; s->pver++;
        double act_days = P[{self.slot('days')}][t];
{chr(10).join(accruals)}
        for (int c = 0; c < NC; c++) {{ s->pint[c] = 0.0; s->pprin[c] = 0.0; s->pcarry[c] = 0.0; s->ploss[c] = 0.0; s->accr[c] = 0.0; }}
        s->paid_total = 0.0;
        double before = 0.0;
{clause_src}
        int sold = 0;
{chr(10).join(retire)}
{chr(10).join(losses)}
        for (int c = 0; c < NC; c++) {{ s->shortfall[c] += s->due[c]; s->due[c] = 0.0; }}
        for (int k = 0; k < NE; k++) s->ev_before[k] |= s->ev_now[k];
        if (sold) {{ s->alive = 0.0; sold_period[sc] = t; }}
        s->version++; s->pver++;
        COPY(0, s->pint);
        COPY(1, s->pprin);
        COPY(2, s->pcarry);
        COPY(3, s->ploss);
        COPY(5, s->bal);
        COPY(7, s->notl);
        COPY(10, s->accr);
        if (rec[11]) for (int c = 0; c < NC; c++) rec[11][c * cs[11]] = s->pint[c] + s->pprin[c] + s->pcarry[c] + s->ploss[c];
        if (R_ACC) for (int a = 0; a < {NA}; a++) R_ACC[((size_t)sc * T + t) * {max(NA, 1)} + a] = s->funds[{nflow} + a];
        if (R_CON) for (int k = 0; k < {NK}; k++) R_CON[((size_t)sc * T + t) * {max(NK, 1)} + k] = s->contract_paid[k];
        /* money is conserved: collected = paid + change in accounts */
        double pi = 0, pp = 0, pc = 0, pl = 0, held = 0;
        for (int c = 0; c < NC; c++) {{ pi += s->pint[c]; pp += s->pprin[c]; pc += s->pcarry[c]; pl += s->ploss[c]; }}
        double paid = pi + pp + pc + pl;
        for (int i = {nflow}; i < NF; i++) held += s->funds[i];
        held = held - accounts_before;
        double gap = collected - paid - held;
        if (!(fabs(gap) <= 1e-6 + 1e-12 * fabs(collected))) {{  /* NaN fails too */
            double left = 0.0; for (int i = 0; i < {nflow}; i++) left += s->funds[i];
            err[0] = 1; err[1] = t; err[2] = sc; errv[0] = collected; errv[1] = paid; errv[2] = held; errv[3] = gap; errv[4] = left;
            return 1;
        }}
        for (int c = 0; c < NC; c++) {{
            if (!(s->shortfall[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 0; errv[0] = -s->shortfall[c]; return 1; }}
            if (!(s->carry[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 1; errv[0] = -s->carry[c]; return 1; }}
            if (!(s->uloss[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 2; errv[0] = -s->uloss[c]; return 1; }}
        }}
        for (int c = 0; c < NC; c++)
            if (!(s->bal[c] >= -1e-6)) {{ err[0] = 3; err[1] = t; err[2] = sc; err[3] = c; errv[0] = s->bal[c]; return 1; }}
#undef PUT
#undef COPY
#undef WD
    }}
    return 0;
}}

int run_range(const double *const *P, const double *K, int T, int S, int s0, int s1, double **R, const int *TN,
              double *R_CLAUSE_ALL, double *R_ACC, double *R_CON, double *WDT, int32_t *sold_period,
              int *err, double *errv) {{
    St st;
    for (int sc = s0; sc < s1; sc++) {{
        int rc = run_one(&st, P, K, T, S, sc, R, TN, R_CLAUSE_ALL, R_ACC, R_CON, WDT, sold_period, err, errv);
        if (rc) return rc;
    }}
    return 0;
}}
"""
        # 'REC' inside accrual lines refers to the period's record rows
        return "\n".join([_PRELUDE, header, "\n".join(fwd), "\n".join(sets_src), helpers,
                          "\n".join(define_src), step_funcs, main])


def _settle(what: str, c: int, p: str) -> str:
    if what == "principal":
        return f"s->bal[{c}] -= {p}; s->pprin[{c}] += {p};"
    if what in ("current and unpaid interest", "interest"):
        return (f"{{ double old = mn({p}, s->shortfall[{c}]); s->shortfall[{c}] -= old; "
                f"s->due[{c}] -= {p} - old; s->pint[{c}] += {p}; }}")
    if what == "current interest":
        return f"s->due[{c}] -= {p}; s->pint[{c}] += {p};"
    if what == "unpaid interest":
        return f"s->shortfall[{c}] -= {p}; s->pint[{c}] += {p};"
    if what == "carryover":
        return f"s->carry[{c}] -= {p}; s->pcarry[{c}] += {p};"
    if what == "unpaid realized losses":
        return f"s->uloss[{c}] -= {p}; s->ploss[{c}] += {p};"
    raise Unsupported(what)


def _volatile_defines(deal: A.Deal) -> set:
    """The formulas that read what payments change within a period: balance()
    or an account (directly or through other formulas)."""
    from .expr import names_in, nodes
    accounts = {a.name for a in deal.accounts}
    direct = {}
    for d in deal.defines:
        names = names_in(d.expr, set())
        calls = {n.fn for n in nodes(d.expr) if isinstance(n, A.Call)}
        direct[d.name] = (names, "balance" in calls or bool(names & accounts))
    out = {n for n, (_, v) in direct.items() if v}
    changed = True
    while changed:
        changed = False
        for n, (names, _) in direct.items():
            if n not in out and names & out:
                out.add(n)
                changed = True
    return out


def _depth(deal: A.Deal, name: str) -> int:
    """How deep distributions nest from ``name`` (1 = it routes to none)."""
    decl = {d.name: d for d in deal.distributions}
    seen = set()

    def depth(n):
        if n in seen:
            return 0
        seen.add(n)
        best = 0
        for st in _walk(decl[n].steps):
            if isinstance(st, A.Pay):
                for r in st.targets:
                    if isinstance(r, A.ClassRef) and r.name in decl:
                        best = max(best, depth(r.name))
        seen.discard(n)
        return best + 1
    return depth(name)


def _walk(steps):
    for st in steps:
        yield st
        if isinstance(st, A.FromBlock):
            yield from _walk(st.steps)
        elif isinstance(st, A.IfStep):
            yield from _walk(st.then_steps)
            yield from _walk(st.else_steps)


def _lit(x: float) -> str:
    if x != x:
        return "NAN"
    if x in (float("inf"), float("-inf")):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return repr(float(x))


def _comment(s: str) -> str:
    return s.replace("*/", "* /")


# ---- running it
_kernels: Dict[int, tuple] = {}


def kernel(model) -> Optional[tuple]:
    """(library, generator) for the model's deal, or None without a C compiler.
    Raises cbuild.CompileError (CompileTimeout for a deal too large to compile
    within the time limit): the engine then runs numpy, or reports it."""
    hit = _kernels.get(id(model.deal))
    if hit is not None and hit[0] is model.deal:
        return hit[1], hit[2]
    if not cbuild.available():
        return None
    gen = Generator(model)
    # The C source is a function of the deal's text and of this package's code:
    # an index keyed by both names the library built from it (and the SHA-256 of
    # its bytes), so a run finds its kernel without generating the source again.
    index = _index_path(model.deal)
    lib = None
    if index is not None:
        entry = _read_index(index)
        if entry is not None:
            lib = cbuild.load_file(index.parent / entry[0], entry[1])
    if lib is None:
        src = gen.generate()
        lib = cbuild.load("deal", src, note=f"the waterfall of {model.deal.header.name}")
        if lib is None:
            return None
        so = Path(lib._name)
        if index is not None and so.parent == index.parent:  # not when built outside the cache
            digest = cbuild.file_digest(so)
            if digest is not None:
                _write_atomically(index, f"{so.name}\n{digest}\n")
    fn = lib.run_range
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    _kernels[id(model.deal)] = (model.deal, lib, gen)
    return lib, gen


def _index_path(deal: A.Deal) -> Optional[Path]:
    """Where the name of the deal's compiled library is kept (None: no cache, or a
    deal built in memory without its text)."""
    from dsl.cachedir import cache_dir, code_fingerprint
    if not deal.source:
        return None
    cc = cbuild.compiler()
    if cc is None:
        return None
    folder = cache_dir("c")
    if folder is None:
        return None
    h = hashlib.sha256(code_fingerprint())
    here = Path(__file__).resolve().parent
    for name in ("ckernel.py", "engine.py", "expr.py", "cbuild.py"):
        h.update((here / name).read_bytes())
    h.update("\0".join((*cbuild.key_parts(cc), deal.path, deal.source)).encode("utf-8", "surrogatepass"))
    return folder / f"deal-index-{h.hexdigest()[:24]}"


def _read_index(index: Path) -> Optional[tuple]:
    """(library file name, SHA-256) from an index entry; None if there is none or
    it is not one this module wrote (a name in the folder, a digest)."""
    import re
    try:
        with open(index, "rb") as fh:
            text = fh.read(200).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    m = re.fullmatch(r"(deal-[0-9a-f]{20}\.so)\n([0-9a-f]{64})\n", text)
    return (m.group(1), m.group(2)) if m else None


def _write_atomically(path: Path, text: str) -> None:
    from dsl.cachedir import write_private
    write_private(path, text.encode("ascii"))  # only a shortcut: if not written, the source is generated next time


def threads_for(S: int) -> int:
    if S < 64:
        return 1
    n = max(1, min(os.cpu_count() or 1, S // 32))
    budget = cbuild.thread_budget()
    return n if budget is None else max(1, min(n, budget))


# What a run keeps. "all": every record for every period. "lean" (grids of
# many scenarios): what the analytics read, so memory stays small: the cash
# and principal of each class by period, and the first period's rate and
# notional (an IO class's face, a floater's first coupon); write-downs are
# kept as totals in either case.
KEEP = {
    "all": {k: None for k in RECORDS if k != "cash"},
    "lean": {"principal": None, "cash": None, "rate": 1, "notional": 1},
}


def run_kernel(lib, gen: Generator, model, S: int, T: int, flows: dict, ipaths: np.ndarray, pending: np.ndarray,
               dates, closing, retire_event: np.ndarray, first_frac_30: float, keep_records: str = "all",
               pending_by_group: Optional[dict] = None):
    """Run every scenario through the compiled deal. Returns (records: name ->
    (C, S, T') array for the records ``KEEP[keep_records]`` names, clause_paid
    (S, T, K), accounts (S, T, A), contracts (S, T, N) (None when lean),
    write-down totals (S, C), sold_period (S,), error or None)."""
    keep = []

    def arr(a):
        a = np.ascontiguousarray(a, dtype=np.float64)
        keep.append(a)
        return a.ctypes.data
    slots = [0] * gen.n_slots
    for gi, g in enumerate(model.groups):
        f = flows[g]
        for field in GROUP_FIELDS:
            if field == "principal":
                v = f.principal
            elif field == "pending":  # defaulted balance not yet recovered, before the floor at 0
                v = (pending_by_group[g] if pending_by_group is not None
                     else np.cumsum(f.default - f.loss - f.recovery, axis=1))
            else:
                v = getattr(f, field)
            slots[gen.group_slot(gi, field)] = arr(v)
    for i in range(len(model.index_names)):
        slots[gen.slot("index", i)] = arr(ipaths[i])
    for k, t in enumerate(model.deal.tables):
        slots[gen.slot("table", k)] = arr(model.tables[t.name])
    for k, sc in enumerate(model.deal.schedules):
        slots[gen.slot("schedule", k)] = arr(model.schedules[sc.name])
    slots[gen.slot("date")] = arr(np.array([d.toordinal() for d in dates], dtype=float))
    prev = [closing] + list(dates[:-1])
    slots[gen.slot("days")] = arr(np.array([(d - p).days for d, p in zip(dates, prev)], dtype=float))
    slots[gen.slot("pending")] = arr(pending)
    slots[gen.slot("retire")] = arr(retire_event.astype(float))
    P = (ctypes.c_void_p * len(slots))(*slots)
    consts = [float(model.parameters[p.name]) for p in model.deal.parameters]
    consts += [model.cutoff_balance(g) for g in range(len(model.groups))] + [model.cutoff_balance(None)]
    consts.append(first_frac_30)
    K = np.array(consts, dtype=float)
    Cn = len(model.classes)
    wanted = KEEP[keep_records]
    recs = {}
    for k, n in wanted.items():
        recs[k] = np.zeros((Cn, S, T if n is None else min(n, T)))
    if "cap" in recs:
        recs["cap"][:] = np.nan
    R = (ctypes.c_void_p * len(RECORDS))(*[recs[k].ctypes.data if k in recs else None for k in RECORDS])
    TN = np.array([recs[k].shape[2] if k in recs else 0 for k in RECORDS], dtype=np.intc)
    ncl, na, nk = len(model.deal.waterfall.clauses), len(model.deal.accounts), len(model.deal.contracts)
    full = keep_records == "all"
    clause = np.zeros((S, T, max(ncl, 1))) if full else None
    acc = np.zeros((S, T, max(na, 1))) if full else None
    con = np.zeros((S, T, max(nk, 1))) if full else None
    wdt = np.zeros((S, Cn))
    sold = np.full(S, -1, dtype=np.int32)
    n_threads = threads_for(S)
    bounds = np.linspace(0, S, n_threads + 1).astype(int)
    errs = [np.zeros(8, dtype=np.int32) for _ in range(n_threads)]
    errvs = [np.zeros(8) for _ in range(n_threads)]
    rcs = [0] * n_threads

    def work(i):
        rcs[i] = lib.run_range(P, K.ctypes.data, T, S, int(bounds[i]), int(bounds[i + 1]), R, TN.ctypes.data,
                               _data(clause), _data(acc), _data(con), wdt.ctypes.data, sold.ctypes.data,
                               errs[i].ctypes.data, errvs[i].ctypes.data)
    if n_threads == 1:
        work(0)
    else:
        ths = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
    error = None
    for i in range(n_threads):
        if rcs[i]:
            error = (errs[i], errvs[i])
            break
    if not full:
        return recs, None, None, None, wdt, sold.astype(int), error
    return recs, clause[:, :, :ncl], acc[:, :, :na], con[:, :, :nk], wdt, sold.astype(int), error


def _data(a):
    return None if a is None else a.ctypes.data
