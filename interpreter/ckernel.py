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

The source holds no text of the deal: labels, names, quoted strings, the
header and the file's path stay on the Python side, and the C refers to
clauses, classes, formulas, distributions and funds by index and deal-file
line. ``check_source`` refuses any source that is not printable ASCII free of
backslashes, trigraphs and string literals, so no text can splice itself out
of a comment.

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
import operator
import re
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np


from .native import build as cbuild
from .native.policy import n_threads, run_split
from .waterfall import program as P

# Group fields passed to the kernel, per group, each (S, T).
GROUP_FIELDS = ("begin_balance", "end_balance", "scheduled_principal", "prepayment", "recovery", "net_interest",
                "loss", "delinquent", "net_wac", "gross_wac", "penalty", "principal", "pending")
# Records written by the kernel, each (S, T, C).
RECORDS = tuple(r.name for r in P.CLASS_RECORDS)
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


class UnsafeSource(cbuild.CompileError):
    """Generated C that breaks the generator's own rules (see ``check_source``):
    a bug here, never compiled."""


class Generator:
    """C source for one deal's period program (waterfall/program.Program)."""

    def __init__(self, program: P.Program):
        self.m = program
        self.sets: List[tuple] = []  # bucket sets (sorted fund indices); id = position
        self.out: List[str] = []
        self.dist_fns: Dict[str, str] = {}
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
        order = [("index", len(self.m.indices)), ("table", len(self.m.table_data)),
                 ("schedule", len(self.m.schedule_values)), ("date", 1), ("days", 1), ("pending", 1),
                 ("fraction", len(self.m.fraction_kinds)), ("start", 1), ("retire", 1)]
        for k, n in order:
            if k == kind:
                return base + i
            base += n
        raise KeyError(kind)

    @property
    def n_slots(self) -> int:
        return self.slot("retire") + 1

    @property
    def n_start(self) -> int:
        """Values in a scenario's starting state: the class fields, accounts, events."""
        return len(P.START_CLASS_FIELDS) * len(self.m.classes) + len(self.m.layout.accounts) + len(self.m.event_decls)

    def set_id(self, buckets) -> int:
        key = tuple(int(b) for b in buckets)
        if key not in self.sets:
            self.sets.append(key)
        return self.sets.index(key)

    # ---- expressions: one handler per operation of the period program
    # (waterfall/program.py); every value is a C double, conditions are tested with nz()
    def expr(self, e) -> str:
        """C for an operation of the program."""
        return getattr(self, "_e_" + type(e).__name__)(e)

    def cond(self, e) -> str:
        return f"nz({self.expr(e)})"

    def _e_Const(self, e: P.Const) -> str:
        return f"s->K[{e.slot}]"  # an input of the run: a changed number is not a new kernel

    def _e_Period(self, e) -> str:
        return "(double)s->period"

    def _e_DateOrdinal(self, e) -> str:
        return f"s->P[{self.slot('date')}][s->t]"

    def _e_AccrualDays(self, e) -> str:
        return f"s->P[{self.slot('days')}][s->t]"

    def _e_Available(self, e) -> str:
        return "available(s)"

    def _e_Amount(self, e) -> str:
        return "(s->depth > 0 ? s->amounts[s->depth - 1] : 0.0)"

    def _e_Schedule(self, e: P.Schedule) -> str:
        return f"s->P[{self.slot('schedule', e.k)}][s->period]"  # a planned balance by period, 0..T

    def _e_Table(self, e: P.Table) -> str:
        return f"s->P[{self.slot('table', e.k)}][s->period]"

    def _e_IndexLevel(self, e: P.IndexLevel) -> str:
        return f"s->ix[{e.i}][s->t]"

    def _e_AccountBalance(self, e: P.AccountBalance) -> str:
        return f"s->funds[{e.fund}]"

    def _e_ContractPaid(self, e: P.ContractPaid) -> str:
        return f"s->contract_paid[{e.k}]"

    def _e_Formula(self, e: P.Formula) -> str:
        return f"D{e.k}(s)"

    def _e_ClassSum(self, e: P.ClassSum) -> str:
        return "(" + " + ".join(f"s->{e.field.value}[{c}]" for c in e.classes) + ")"

    def _e_Notional(self, e: P.Notional) -> str:
        return f"s->notional_now[{e.c}]"

    def _e_Event(self, e: P.Event) -> str:
        if e.test is P.EventTest.AFTER:
            return f"(double)s->ev_before[{e.k}]"
        if e.test is P.EventTest.SINCE:
            return f"(double)(s->ev_before[{e.k}] | s->ev_now[{e.k}])"
        return f"(double)s->ev_now[{e.k}]"

    def _groups(self, g: Optional[int]):
        return range(len(self.m.groups)) if g is None else [g]

    def _e_GroupFlow(self, e: P.GroupFlow) -> str:
        return "((" + " + ".join(self.gfield(e.field, i) for i in self._groups(e.g)) + ") * s->alive)"

    def _e_Delinquency(self, e: P.Delinquency) -> str:
        return "delinquency_all(s, s->t)" if e.g is None else self.gfield("delinquent", e.g)

    def _e_AverageDelinquency(self, e: P.AverageDelinquency) -> str:
        return f"avg_delinquency(s, {self.expr(e.n)}, {-1 if e.g is None else e.g})"

    def _e_PendingRecoveries(self, e: P.PendingRecoveries) -> str:
        if e.g is None:
            return "(s->pending[s->t] * s->alive)"
        return f"(mx({self.gfield('pending', e.g)}, 0.0) * s->alive)"

    def _e_CumulativeLoss(self, e: P.CumulativeLoss) -> str:
        return "(" + " + ".join(f"s->cum_loss[{i}]" for i in self._groups(e.g)) + ")"

    def _e_Wac(self, e: P.Wac) -> str:
        field = "net_wac" if e.net else "gross_wac"
        groups = self._groups(e.g)
        w = " + ".join(self.gfield("begin_balance", i) for i in groups)
        num = " + ".join(f"{self.gfield(field, i)} * {self.gfield('begin_balance', i)}" for i in groups)
        return f"wavg({num}, {w})"

    def _e_Arith(self, e: P.Arith) -> str:
        a, b = self.expr(e.left), self.expr(e.right)
        if e.op == "/":
            return f"dv({a}, {b})"
        return f"({a} {_fixed(e.op, _ARITH)} {b})"

    def _e_Neg(self, e: P.Neg) -> str:
        return f"(-{self.expr(e.operand)})"

    def _e_Compare(self, e: P.Compare) -> str:
        return f"(double)({self.expr(e.left)} {_fixed(e.op, _CMP)} {self.expr(e.right)})"

    def _e_Logic(self, e: P.Logic) -> str:
        op = " && " if e.op == "and" else " || "
        return "(double)(" + op.join(self.cond(o) for o in e.operands) + ")"

    def _e_Not(self, e: P.Not) -> str:
        return f"(double)(!{self.cond(e.operand)})"

    def _e_Select(self, e: P.Select) -> str:
        return f"({self.cond(e.cond)} ? {self.expr(e.then)} : {self.expr(e.other)})"

    def _e_Extremum(self, e: P.Extremum) -> str:
        f = "mn" if e.least else "mx"
        out = self.expr(e.operands[0])
        for a in e.operands[1:]:
            out = f"{f}({out}, {self.expr(a)})"
        return out

    def _e_Abs(self, e: P.Abs) -> str:
        return f"fabs({self.expr(e.operand)})"

    def gfield(self, field: str, g: int) -> str:
        return f"s->gv[{self.group_slot(g, field)}]"

    # ---- steps: one handler per kind of program step (waterfall/program.py)
    def steps(self, steps, ind: str) -> List[str]:
        out = []
        for st in steps:
            out += getattr(self, "_s_" + type(st).__name__)(st, ind)
        return out

    def _s_BranchStep(self, step: P.BranchStep, ind: str) -> List[str]:
        out = [f"{ind}s->cf = {self.set_id(step.funds)};  /* 'available' in the condition: the enclosing funds */",
               f"{ind}if ({self.cond(step.cond)}) {{  /* line {_line(step.span)} */"]
        out += self.steps(step.then, ind + "    ")
        out.append(f"{ind}}} else {{")
        out += self.steps(step.other, ind + "    ")
        out.append(f"{ind}}}")
        return out

    def _s_AccreteStep(self, step: P.AccreteStep, ind: str) -> List[str]:
        targets = step.targets
        sid = self.set_id(step.funds)
        out = [f"{ind}{{  /* accrete (line {_line(step.span)}) */",
               f"{ind}    s->cf = {sid};",
               f"{ind}    double av = mx(fsum{sid}(s), 0.0), amt[{len(targets)}];"]
        for j, c in enumerate(targets):
            out += [f"{ind}    amt[{j}] = mn(av, s->current_due[{c}]); av = av - amt[{j}];"]
        total = " + ".join(f"amt[{j}]" for j in range(len(targets)))
        out += [f"{ind}    double total = {total};", f"{ind}    draw{sid}(s, total);",
                f"{ind}    s->funds[{step.into}] += total;"]
        for j, c in enumerate(targets):
            out += [f"{ind}    s->current_due[{c}] -= amt[{j}]; s->balance[{c}] += amt[{j}]; s->accreted[{c}] += amt[{j}];"]
        out += [f"{ind}    s->version++;", f"{ind}}}"]
        return out

    def _s_DepositStep(self, step: P.DepositStep, ind: str) -> List[str]:
        sid = self.set_id(step.funds)
        out = [f"{ind}{{  /* deposit to fund {step.account} (line {_line(step.span)}) */",
               f"{ind}    s->cf = {sid};",
               f"{ind}    double av = mx(fsum{sid}(s), 0.0);"]
        if step.limit is not None:
            out += [f"{ind}    av = mn(av, mx({self.expr(step.limit)}, 0.0));"]
        out += [f"{ind}    draw{sid}(s, av);", f"{ind}    s->funds[{step.account}] += av;", f"{ind}}}"]
        return out

    def _s_ReleaseStep(self, step: P.ReleaseStep, ind: str) -> List[str]:
        sid = self.set_id(step.funds)
        i2 = ind + "        "
        out = [f"{ind}{{  /* pay remaining (line {_line(step.span)}) */",
               f"{ind}    s->cf = {sid};",
               f"{ind}    double av = mx(fsum{sid}(s), 0.0);",
               f"{ind}    if (av > 0) {{"]
        if step.limit is not None:
            out += [f"{i2}av = mn(av, mx({self.expr(step.limit)}, 0.0));"]
        out += [f"{i2}draw{sid}(s, av);", f"{i2}s->paid_total += av; s->paid_interest[{step.target}] += av;",
                f"{ind}    }}", f"{ind}}}"]
        return out

    def _s_PayStep(self, step: P.PayStep, ind: str) -> List[str]:
        sid = self.set_id(step.funds)
        targets = step.targets
        n = len(targets)
        owing = P.OWING[step.kind]
        out = [f"{ind}{{  /* pay {step.kind.name.lower()} {step.mode.name.lower()} (line {_line(step.span)}) */",
               f"{ind}    s->cf = {sid};",
               f"{ind}    double av = mx(fsum{sid}(s), 0.0);",
               f"{ind}    if (av > 0) {{"]
        i2 = ind + "        "
        out.append(f"{i2}double due[{n}], paid[{n}];")
        for j, c in enumerate(targets):
            out.append(f"{i2}due[{j}] = {_owed(owing, c)};")
        anyd = " || ".join(f"due[{j}] > 0" for j in range(n))
        out += [f"{i2}if ({anyd}) {{"]
        i3 = i2 + "    "
        if step.limit is not None:
            out.append(f"{i3}av = mn(av, mx({self.expr(step.limit)}, 0.0));")
        if step.mode is P.Mode.SEQUENTIAL:
            out.append(f"{i3}double rem = av;")
            for j in range(n):
                out.append(f"{i3}paid[{j}] = mn(rem, due[{j}]); rem -= paid[{j}];")
        elif step.mode is P.Mode.PRO_RATA:
            out.append(f"{i3}prorata(av, due, due, paid, {n});")
        else:
            w = ", ".join(f"s->prior_balance[{c}]" for c in targets)
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
            out += [f"{i3}" + _settle(owing, c, f"paid[{j}]")]
        out += [f"{i2}}}", f"{ind}    }}", f"{ind}}}"]
        return out

    def _s_RouteStep(self, step: P.RouteStep, ind: str) -> List[str]:
        src = step.funds
        sid = self.set_id(src)
        decl = self.m.distribution_decls[step.distribution]
        fn = self.distribution(step.distribution)
        nb = len(src)
        i2 = ind + "    "
        out = [f"{ind}{{  /* pay principal to distribution {step.distribution} (line {_line(step.span)}) */",
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
        out += [f"{i3}s->funds[{decl.fund}] += av;",
                f"{i3}if (s->depth >= MAXD) return;  /* deeper than the lowering measured: never */",
                f"{i3}s->amounts[s->depth++] = av; s->version++;",
                f"{i3}{fn}(s);",
                f"{i3}s->depth--; s->version++;",
                f"{i3}double left = s->funds[{decl.fund}]; s->funds[{decl.fund}] = 0.0;",
                f"{i3}double back = av > 0 ? left / av : 0.0;"]
        for j, b in enumerate(src):
            out.append(f"{i3}s->funds[{b}] += drawn[{j}] * back;")
        out += [f"{i2}}}", f"{ind}}}"]
        return out

    def distribution(self, k: int) -> str:
        """The C function of distribution ``k`` (generated on first use)."""
        if k in self.dist_fns:
            return self.dist_fns[k]
        fn = f"dist{k}"
        self.dist_fns[k] = fn
        decl = self.m.distribution_decls[k]
        body = self.steps(decl.steps, "    ")
        self.functions.append(f"/* distribution {k} (line {_line(decl.span)}) */\n"
                              f"static void {fn}(St *s) {{\n" + "\n".join(body) + "\n}\n")
        self.max_depth = max(self.max_depth, decl.depth)
        return fn

    # ---- the whole source
    def generate(self) -> str:
        """The deal's C source. It holds no text of the deal (labels, names,
        strings, the file's path): clauses, classes, formulas, distributions and
        funds appear by index and deal-file line only, so nothing a deal says can
        change what the C means (see ``check_source``)."""
        return check_source(self._generate())

    def _generate(self) -> str:
        m = self.m
        self.functions: List[str] = []
        NC = len(m.classes)
        NF = m.n_funds
        NE = len(m.event_decls)
        NG = len(m.groups)
        NK = len(m.contract_decls)
        NA = len(m.layout.accounts)
        NCL = len(m.clause_decls)
        ND = len(m.formulas)
        NI = len(m.indices)

        # formulas (bodies generated first: they may register bucket sets)
        define_src = []
        for i, f in enumerate(m.formulas):
            body = self.expr(f.body)
            note = f"/* formula {i} (line {_line(f.span)}) */"
            if f.caching is P.Caching.NEVER:
                define_src.append(f"static double D{i}(St *s) {{ return {body}; }}  {note}")
            else:
                # Cached until what it reads can change (program.Caching): STEP until the
                # next payment (version), PERIOD until the period's state is next set
                # (pver: period start, contracts, events, notionals).
                key = "version" if f.caching is P.Caching.STEP else "pver"
                define_src.append(
                    f"static double D{i}(St *s) {{  {note}\n"
                    f"    if (s->dver[{i}] != s->{key}) {{ s->dval[{i}] = {body}; s->dver[{i}] = s->{key}; }}\n"
                    f"    return s->dval[{i}];\n}}")
        # the waterfall
        clauses = []
        for k, clause in enumerate(m.clause_decls):
            body = [f"        /* clause {k} (line {_line(clause.span)}) */"]
            for st in clause.steps:
                body.append("        s->cf = -1;")
                body += self.steps([st], "        ")
            body.append(f"        if (R_CLAUSE) R_CLAUSE[{k}] = s->paid_total - before; before = s->paid_total;")
            clauses.append("\n".join(body))
        # accruals, events, contracts
        contracts = []
        for c in m.contract_decls:
            contracts.append(f"        {{ double amt = mx({self.expr(c.pays)}, 0.0) * s->alive; "
                             f"s->contract_paid[{c.k}] = amt; s->funds[{c.fund}] = amt; s->version++; s->pver++; }}")
        events = []
        for e in m.event_decls:
            k = e.k
            events.append(f"        if (s->ev_before[{k}]) s->ev_now[{k}] = 0;\n"
                          f"        else {{ s->ev_now[{k}] = ({self.cond(e.when)}) && s->alive > 0; s->version++; s->pver++; }}")
        notionals = []
        for n in m.notionals:
            notionals.append(f"        s->notional_now[{n.c}] = mx({self.expr(n.notional)}, 0.0) * s->alive;")
        accruals = []
        for acc in m.accruals:
            c = acc.c
            lines = [f"        /* accrual: class {c} (line {_line(acc.span)}) */"]
            frac = f"s->frac[{acc.fraction}]"
            base = f"s->notional_now[{c}]" if acc.on_notional else f"s->balance[{c}]"
            if acc.on_notional:
                lines.append("        {")
            else:  # retired with nothing owed: no accrual, no rate, no cap
                lines.append(f"        if (s->balance[{c}] != 0.0 || s->carryover[{c}] != 0.0) {{")
            lines.append(f"            double frac = {frac}, coupon = {self.expr(acc.coupon)}, rate = coupon;")
            if acc.cap is not None:
                lines.append(f"            double capv = {self.expr(acc.cap)}; PUT(R_CAP, {c}, capv); rate = mn(coupon, capv);")
            lines += ["            rate = mx(rate, 0.0);",
                      f"            double base = {base};",
                      f"            s->current_due[{c}] = base * rate * frac;",
                      f"            PUT(R_RATE, {c}, rate);"]
            if acc.carryover:
                unc = "coupon" if acc.carry_limit is None else f"mn(coupon, {self.expr(acc.carry_limit)})"
                lines += [f"            double unc = {unc};",
                          f"            s->carryover[{c}] = s->carryover[{c}] * (1.0 + unc * frac) + base * mx(unc - rate, 0.0) * frac;"]
            lines.append("        }" if acc.on_notional else f"        }} else s->current_due[{c}] = 0.0;")
            accruals.append("\n".join(lines))
        clause_src = "\n".join(clauses)
        # retirement and losses
        retire = []
        for k, e in enumerate(m.event_decls):
            targets = list(e.retires)
            n = len(targets)
            pool = " + ".join(self.gfield("end_balance", g) for g in range(NG))
            lines = [f"        if (s->ev_now[{k}] && retire_event == {k} && s->alive > 0) {{",
                     f"            double proceeds = {pool};",
                     "            collected = collected + proceeds;"]
            if n:
                lines += [f"            double d[{n}] = {{{', '.join(f's->balance[{c}]' for c in targets)}}}, p[{n}];",
                          f"            prorata(proceeds, d, d, p, {n});"]
                for j, c in enumerate(targets):
                    lines.append(f"            s->balance[{c}] -= p[{j}]; s->paid_principal[{c}] += p[{j}];")
                lines.append(f"            double rest = proceeds - ({' + '.join(f'p[{j}]' for j in range(n))});")
            else:
                lines.append("            double rest = proceeds;")
            if m.first_residual is not None:
                lines.append(f"            s->paid_total += rest; s->paid_interest[{m.first_residual}] += rest;")
            lines += ["            sold = 1;", "        }"]
            retire.append("\n".join(lines))
        losses = []
        if m.loss_decls:
            pool = " + ".join(self.gfield("end_balance", g) for g in range(NG))
            perf = [c for c in range(NC) if not (m.classes[c].notional or m.classes[c].residual)]
            losses.append(f"        double pool_end = (({pool}) + s->pending[t]) * s->alive * (double)(!sold);")
            losses.append(f"        double excess = mx(({' + '.join(f's->balance[{c}]' for c in perf) or '0.0'}) - pool_end, 0.0);")
            for loss in m.loss_decls:
                order = loss.classes
                if loss.mode is P.Mode.SEQUENTIAL:
                    for c in order:
                        losses.append(f"        {{ double w = mn(excess, s->balance[{c}]); s->balance[{c}] -= w; s->unpaid_loss[{c}] += w; "
                                      f"WD({c}, w); excess = excess - w; }}")
                else:
                    n = len(order)
                    lst = ", ".join(f"s->balance[{c}]" for c in order)
                    body = [f"        {{ double d[{n}] = {{{lst}}}, w[{n}]; prorata(excess, d, d, w, {n});"]
                    for j, c in enumerate(order):
                        body.append(f"          s->balance[{c}] -= w[{j}]; s->unpaid_loss[{c}] += w[{j}]; WD({c}, w[{j}]);")
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
        records = "\n".join(f"#define R_{r.name.upper()} {i}" for i, r in enumerate(P.CLASS_RECORDS))
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
#define NCONST {max(len(m.const_decls), 1)}
#define NFRAC {max(len(m.fraction_kinds), 1)}
{records}

typedef struct {{
    double balance[NC], prior_balance[NC], original_balance[NC], shortfall[NC], current_due[NC], carryover[NC],
           unpaid_loss[NC], notional_now[NC];
    double paid_interest[NC], paid_principal[NC], paid_carry[NC], paid_loss[NC], accreted[NC];
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
    double K[NCONST];          /* the program's constants: inputs, held in the state so that a
                                  store to the state's other fields is known not to change them */
    double frac[NFRAC];        /* this period's year fraction of each kind of accrual */
}} St;
"""
        fwd = [f"static double D{i}(St *s);" for i in range(len(m.formulas))]
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
    int t0 = s->t - n + 1; if (t0 < 0) t0 = 0;  /* summed from this period back, as the numpy engine sums */
    double sum = 0.0; int k = 0;
    for (int t = s->t; t >= t0; t--, k++) sum += g < 0 ? delinquency_all(s, t) : s->g[g * {len(GROUP_FIELDS)} + {GROUP_FIELDS.index("delinquent")}][t];
    return k ? sum / k : 0.0;
}}
"""
        init_accounts = "\n".join(
            f"    s->funds[{fund}] = st0[{5 * NC + k}];" for k, fund in enumerate(m.layout.account_funds))
        fill = []
        for gi in range(NG):
            interest, principal, penalties = m.layout.group_funds[gi]
            fill.append(f"        s->funds[{interest}] = s->g[{self.group_slot(gi, 'net_interest')}][t] * s->alive;")
            fill.append(f"        s->funds[{principal}] = s->g[{self.group_slot(gi, 'principal')}][t] * s->alive;")
            fill.append(f"        s->funds[{penalties}] = s->g[{self.group_slot(gi, 'penalty')}][t] * s->alive;")
            fill.append(f"        s->cum_loss[{gi}] += s->g[{self.group_slot(gi, 'loss')}][t] * s->alive;")
        # the period, phase by phase in the program's order (program.PERIOD)
        nl = "\n"
        phase_src = {
            P.Phase.START: f"""        s->t = t; s->period = t + 1; s->version++; s->pver++;
        for (int k = 0; k < {len(m.fraction_kinds)}; k++) s->frac[k] = P[{self.slot('fraction')} + k][t];
        s->cf = -1;  /* outside the waterfall 'available' is all interest and principal */
        for (int i = 0; i < {self.n_group_slots}; i++) s->gv[i] = s->g[i][t];
        memcpy(s->prior_balance, s->balance, sizeof s->balance);
        COPY(R_BEGIN_BALANCE, s->balance);""",
            P.Phase.COLLECT: f"""        for (int i = 0; i < {nflow}; i++) s->funds[i] = 0.0;
{nl.join(fill)}""",
            P.Phase.CONTRACTS: f"""        s->version++; s->pver++;
{nl.join(contracts)}
        collected = 0.0;
        for (int i = 0; i < {nflow}; i++) collected += s->funds[i];
        accounts_before = 0.0;
        for (int i = {nflow}; i < NF; i++) accounts_before += s->funds[i];""",
            P.Phase.EVENTS: nl.join(events),
            P.Phase.NOTIONALS: nl.join(notionals) + f"{nl}        s->version++; s->pver++;",
            P.Phase.ACCRUALS: nl.join(accruals),
            P.Phase.WATERFALL: f"""        for (int c = 0; c < NC; c++) {{ s->paid_interest[c] = 0.0; s->paid_principal[c] = 0.0; s->paid_carry[c] = 0.0; s->paid_loss[c] = 0.0; s->accreted[c] = 0.0; }}
        s->paid_total = 0.0;
        before = 0.0;
{clause_src}""",
            P.Phase.RETIREMENT: "        sold = 0;" + nl + nl.join(retire),
            P.Phase.LOSSES: nl.join(losses),
            P.Phase.CLOSE: f"""        for (int c = 0; c < NC; c++) {{ s->shortfall[c] += s->current_due[c]; s->current_due[c] = 0.0; }}
        for (int k = 0; k < NE; k++) s->ev_before[k] |= s->ev_now[k];
        if (sold) {{ s->alive = 0.0; sold_period[sc] = t; }}
        s->version++; s->pver++;
        COPY(R_INTEREST, s->paid_interest);
        COPY(R_PRINCIPAL, s->paid_principal);
        COPY(R_CARRYOVER_PAID, s->paid_carry);
        COPY(R_LOSS_REIMBURSED, s->paid_loss);
        COPY(R_BALANCE, s->balance);
        COPY(R_NOTIONAL, s->notional_now);
        COPY(R_ACCRETED, s->accreted);
        if (rec[R_CASH_PAID]) for (int c = 0; c < NC; c++) rec[R_CASH_PAID][c * cs[R_CASH_PAID]] = s->paid_interest[c] + s->paid_principal[c] + s->paid_carry[c] + s->paid_loss[c];
        if (R_ACC) for (int a = 0; a < {NA}; a++) R_ACC[((size_t)sc * T + t) * {max(NA, 1)} + a] = s->funds[{nflow} + a];
        if (R_CON) for (int k = 0; k < {NK}; k++) R_CON[((size_t)sc * T + t) * {max(NK, 1)} + k] = s->contract_paid[k];""",
            P.Phase.CHECK: f"""        /* money is conserved: collected = paid + change in accounts */
        double pi = 0, pp = 0, pc = 0, pl = 0, held = 0;
        for (int c = 0; c < NC; c++) {{ pi += s->paid_interest[c]; pp += s->paid_principal[c]; pc += s->paid_carry[c]; pl += s->paid_loss[c]; }}
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
            if (!(s->carryover[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 1; errv[0] = -s->carryover[c]; return 1; }}
            if (!(s->unpaid_loss[c] >= -1e-6)) {{ err[0] = 2; err[1] = t; err[2] = sc; err[3] = c; err[4] = 2; errv[0] = -s->unpaid_loss[c]; return 1; }}
        }}
        for (int c = 0; c < NC; c++)
            if (!(s->balance[c] >= -1e-6)) {{ err[0] = 3; err[1] = t; err[2] = sc; err[3] = c; errv[0] = s->balance[c]; return 1; }}""",
        }
        period_src = "\n".join(f"        /* {phase.name.lower()} */\n{phase_src[phase]}" for phase in P.PERIOD)
        main = f"""
/* One scenario's whole run. Returns 0, or an error code with err/errv filled. */
static int run_one(St *s, const double *const *P, const double *K, int T, int S, int sc, double **R, const int *TN,
                   double *R_CLAUSE_ALL, double *R_ACC, double *R_CON, double *WDT, int32_t *sold_period,
                   int *err, double *errv) {{
    double *wdt = WDT + (size_t)sc * NC;
    memset(s, 0, sizeof(St));
    s->P = P; memcpy(s->K, K + (size_t)sc * {len(m.const_decls)}, sizeof(double) * {len(m.const_decls)});  /* this scenario's */
    for (int i = 0; i < {len(GROUP_FIELDS) * NG}; i++) s->g[i] = P[i] + (size_t)sc * T;
    for (int i = 0; i < {NI if NI else 0}; i++) s->ix[i] = P[{self.slot('index')} + i] + (size_t)sc * T;
    s->pending = P[{self.slot('pending')}] + (size_t)sc * T;
    int retire_event = (int)P[{self.slot('retire')}][sc];
    /* the starting state (program.StartState): this scenario's row */
    const double *st0 = P[{self.slot('start')}] + (size_t)sc * {self.n_start};
    for (int c = 0; c < NC; c++) {{
        s->balance[c] = st0[c]; s->original_balance[c] = st0[NC + c]; s->shortfall[c] = st0[2 * NC + c];
        s->carryover[c] = st0[3 * NC + c]; s->unpaid_loss[c] = st0[4 * NC + c];
    }}
    for (int k = 0; k < {len(m.event_decls)}; k++) s->ev_before[k] = st0[{5 * len(m.classes) + m.n_funds - m.n_flow_buckets} + k] != 0.0;
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
#define WD(c, w) do {{ if (rec[R_WRITEDOWN]) rec[R_WRITEDOWN][(size_t)(c) * cs[R_WRITEDOWN]] += (w); wdt[c] += (w); }} while (0)
        double *R_CLAUSE = R_CLAUSE_ALL ? R_CLAUSE_ALL + ((size_t)sc * T + t) * {max(NCL, 1)} : 0;
        double collected = 0.0, accounts_before = 0.0, before = 0.0;
        int sold = 0;
{period_src}
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


def _owed(owing: P.Owing, c: int) -> str:
    """What class ``c`` is owed of a kind of payment (program.OWING)."""
    terms = [f"s->{f.value}[{c}]" for f in owing.owed]
    return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"


def _settle(owing: P.Owing, c: int, p: str) -> str:
    """Paying ``p`` to class ``c`` reduces what it is owed in the order of ``owing.owed``."""
    *first, last = [f"s->{f.value}[{c}]" for f in owing.owed]
    paid = f"s->{owing.paid.value}[{c}] += {p};"
    if not first:
        return f"{last} -= {p}; {paid}"
    out, rest = ["{ double rest = " + p + ";"], "rest"
    for f in first:
        out.append(f"{{ double take = mn({rest}, {f}); {f} -= take; rest = rest - take; }}")
    out.append(f"{last} -= rest; {paid} }}")
    return " ".join(out)


_ARITH = {"+": "+", "-": "-", "*": "*"}


def _fixed(word, table: dict) -> str:
    """The generator's own spelling of an operator or keyword of the deal (never
    the deal's string itself)."""
    try:
        return table[word]
    except (KeyError, TypeError):
        raise Unsupported(f"unknown operator or keyword {word!r}") from None


def _line(span) -> int:
    """A deal-file line number, as a plain int (0 when the node has no position)."""
    line = getattr(span, "line", 0) or 0
    return int.__index__(operator.index(line))


# What the source's code (outside comments) never contains: no string or
# character literals, no backslash (line splices, escapes), no trigraphs.
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\n]")
_NOT_IN_CODE = ('"', "'", "\\", "??", "/*", "*/", "//")
_NOT_IN_COMMENTS = ("\\", "??", "/*")


def check_source(src: str) -> str:
    """``src``, after checking it keeps the generator's rules: printable ASCII and
    newlines only; no trigraph ('??'); no backslash; no string or character
    literal; comments that neither nest nor hold a line splice. The generator
    writes no deal text into the source, so this holds for every deal; a
    source that breaks it is a bug here, and raises UnsafeSource."""
    bad = _NOT_PRINTABLE.search(src)
    if bad:
        raise UnsafeSource(f"generated C holds {bad.group()!r} at offset {bad.start()}")
    code = _COMMENT.sub(" ", src)
    for bad in _NOT_IN_CODE:
        if bad in code:
            raise UnsafeSource(f"generated C holds {bad!r} outside comments")
    for comment in _COMMENT.findall(src):
        for bad in _NOT_IN_COMMENTS:
            if bad in comment[2:-2]:
                raise UnsafeSource(f"generated C holds {bad!r} in a comment")
    return src


# ---- running it
_kernels: Dict[str, tuple] = {}  # a deal's text -> (library, generator), for this process


def kernel(program: P.Program) -> Optional[tuple]:
    """(library, generator) for the program's deal, or None without a C compiler.
    Raises cbuild.CompileError (CompileTimeout for a deal too large to compile
    within the time limit): the engine then runs numpy, or reports it."""
    hit = _kernels.get(program.source_key) if program.source_key else None
    if hit is not None:
        return hit
    if not cbuild.available():
        return None
    gen = Generator(program)
    # The C source is a function of the deal's text and of this package's code:
    # an index keyed by both names the library built from it (and the SHA-256 of
    # its bytes), so a run finds its kernel without generating the source again.
    index = _index_path(program.source_key)
    lib = None
    if index is not None:
        entry = _read_index(index)
        if entry is not None:
            lib = cbuild.load_file(index.parent / entry[0], entry[1])
    if lib is None:
        src = gen.generate()
        # said on a terminal: the deal's name with anything unprintable (an escape sequence) as '?'
        name = "".join(ch if ch.isprintable() else "?" for ch in program.name)
        lib = cbuild.load("deal", src, note=f"the waterfall of {name}")
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
    if program.source_key:
        _kernels[program.source_key] = (lib, gen)
    return lib, gen


def _index_path(source_key: str) -> Optional[Path]:
    """Where the name of the deal's compiled library is kept (None: no cache, or a
    deal built in memory without its text)."""
    from dsl.cachedir import cache_dir, code_fingerprint
    if not source_key:
        return None
    cc = cbuild.compiler()
    if cc is None:
        return None
    folder = cache_dir("c")
    if folder is None:
        return None
    h = hashlib.sha256(code_fingerprint())
    here = Path(__file__).resolve().parent
    for f in sorted(here.rglob("*.py")):  # every module that may shape the generated C (the lowering too)
        h.update(f.relative_to(here).as_posix().encode() + b"\0" + f.read_bytes())
    h.update("\0".join((*cbuild.key_parts(cc), source_key)).encode("utf-8", "surrogatepass"))
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
    return n_threads(S, min_scenarios=64, per_thread=32)


# What a run keeps. "all": every record for every period. "lean" (grids of
# many scenarios): what the analytics read, so memory stays small: the cash
# and principal of each class by period, and the first period's rate and
# notional (an IO class's face, a floater's first coupon); write-downs are
# kept as totals in either case.
KEEP = {
    "all": {k: None for k in RECORDS if k != "cash_paid"},
    "lean": {"principal": None, "cash_paid": None, "rate": 1, "notional": 1},
}


def run_kernel(lib, gen: Generator, program: P.Program, S: int, T: int, flows: dict, ipaths: np.ndarray,
               pending: np.ndarray, dates, closing, retire_event: np.ndarray, fractions: np.ndarray,
               keep_records: str = "all", pending_by_group: Optional[dict] = None, start=None,
               per_scenario_constants: Optional[dict] = None):
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
    for gi, g in enumerate(program.groups):
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
    for i in range(len(program.indices)):
        slots[gen.slot("index", i)] = arr(ipaths[i])
    for t in program.table_data:
        slots[gen.slot("table", t.k)] = arr(t.values)
    for k, values in enumerate(program.schedule_values):
        slots[gen.slot("schedule", k)] = arr(values)
    slots[gen.slot("date")] = arr(np.array([d.toordinal() for d in dates], dtype=float))
    prev = [closing] + list(dates[:-1])
    slots[gen.slot("days")] = arr(np.array([(d - p).days for d, p in zip(dates, prev)], dtype=float))
    slots[gen.slot("pending")] = arr(pending)
    slots[gen.slot("retire")] = arr(retire_event.astype(float))
    for k in range(len(fractions)):
        slots[gen.slot("fraction", k)] = arr(fractions[k])
    if start is None:
        from .waterfall.lowering import start_state
        start = start_state(program, S)
    rows = np.concatenate([start.classes, start.accounts, start.events_happened]) if gen.n_start else np.zeros((1, S))
    slots[gen.slot("start")] = arr(rows.T)  # (S, n_start): a scenario's starting values together
    P = (ctypes.c_void_p * len(slots))(*slots)
    # every number of the deal, for each scenario (S, constants)
    from .waterfall.lowering import scenario_constants
    K = np.ascontiguousarray(scenario_constants(program, S, per_scenario_constants).T, dtype=float)
    Cn = len(program.classes)
    wanted = KEEP[keep_records]
    recs = {}
    for k, n in wanted.items():
        recs[k] = np.zeros((Cn, S, T if n is None else min(n, T)))
    if "cap" in recs:
        recs["cap"][:] = np.nan
    R = (ctypes.c_void_p * len(RECORDS))(*[recs[k].ctypes.data if k in recs else None for k in RECORDS])
    TN = np.array([recs[k].shape[2] if k in recs else 0 for k in RECORDS], dtype=np.intc)
    ncl, na, nk = len(program.clause_decls), len(program.layout.accounts), len(program.contract_decls)
    full = keep_records == "all"
    clause = np.zeros((S, T, max(ncl, 1))) if full else None
    acc = np.zeros((S, T, max(na, 1))) if full else None
    con = np.zeros((S, T, max(nk, 1))) if full else None
    wdt = np.zeros((S, Cn))
    sold = np.full(S, -1, dtype=np.int32)
    nt = threads_for(S)
    errs = [np.zeros(8, dtype=np.int32) for _ in range(nt)]
    errvs = [np.zeros(8) for _ in range(nt)]
    rcs = [0] * nt

    def work(i, s0, s1):
        rcs[i] = lib.run_range(P, K.ctypes.data, T, S, s0, s1, R, TN.ctypes.data,
                               _data(clause), _data(acc), _data(con), wdt.ctypes.data, sold.ctypes.data,
                               errs[i].ctypes.data, errvs[i].ctypes.data)
    run_split(work, S, nt)
    error = None
    for i in range(nt):
        if rcs[i]:
            error = (errs[i], errvs[i])
            break
    if not full:
        return recs, None, None, None, wdt, sold.astype(int), error
    return recs, clause[:, :, :ncl], acc[:, :, :na], con[:, :, :nk], wdt, sold.astype(int), error


def _data(a):
    return None if a is None else a.ctypes.data
