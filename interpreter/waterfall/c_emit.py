"""The C backend: a period program translated into C, one scenario at a time.

The numpy engine (numpy_engine.py) runs each period's steps once for all scenarios;
its cost is Python's, per step and per formula. This module writes the same
period loop as C source generated from the deal (``generate``), compiles it
once with ``native.build`` (cached by a hash of the source), and runs it over the
scenarios, one scenario's 360 periods at a time, on as many threads as the
machine has cores. Masks become branches: a scenario runs only the branch its
condition picks, which pays what the numpy engine pays under the mask.

Nothing here is specific to a deal: every clause, formula and builtin has one
translation rule, the same that numpy_engine.py and numpy_ops.py implement, and the two
engines are compared on every bundled deal and on random deals
(tests/waterfall/test_ckernel.py). Values that come from the assumptions
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

This module holds the translation of each operation and step (``Generator``);
``c_unit.py`` assembles a deal's translation unit from it and
``kernels/waterfall.h``; ``c_run.py`` builds, caches and runs it.
"""
from __future__ import annotations

import operator
import re
from typing import Dict, List, Optional

from ..native import build as cbuild
from . import program as P

# Group fields passed to the kernel, per group, each (S, T).
GROUP_FIELDS = ("begin_balance", "end_balance", "scheduled_principal", "prepayment", "recovery", "net_interest",
                "loss", "delinquent", "net_wac", "gross_wac", "penalty", "principal", "pending")
# Records written by the kernel, each (S, T, C).
RECORDS = tuple(r.name for r in P.CLASS_RECORDS)
_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


class Unsupported(Exception):
    """A deal (or run) the generated kernel does not cover: the numpy engine runs it."""


class UnsafeSource(cbuild.CompileError):
    """Generated C that breaks the generator's own rules (see ``check_source``):
    a bug here, never compiled."""


class KernelInputs:
    """Where the compiled kernel finds its inputs: one pointer per slot
    (each group's fields, index paths, tables, schedules, dates, accrual
    fractions, the starting state, the event a scenario runs to)."""

    def __init__(self, program: P.Program):
        self.m = program

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
        # then each group's cumulative loss and the period the run starts after
        return (len(P.START_CLASS_FIELDS) * len(self.m.classes) + len(self.m.layout.accounts) + len(self.m.event_decls)
                + len(self.m.groups) + 1)


class Generator(KernelInputs):
    """C source for one deal's period program (waterfall/program.Program)."""

    def __init__(self, program: P.Program):
        super().__init__(program)
        self.sets: List[tuple] = []  # bucket sets (sorted fund indices); id = position
        self.out: List[str] = []
        self.dist_fns: Dict[str, str] = {}
        self.max_depth = 1
        self.functions: List[str] = []  # distributions' functions, filled as the unit is assembled

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
