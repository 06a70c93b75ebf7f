"""The checker behind ``dsl.check.check``: names, units, dates, coverage.

Kept apart from ``dsl.check``, which imports it only when a deal is checked.
"""
from __future__ import annotations

from typing import List

from . import ast as A
from .builtins import FUNCTIONS, VARIABLES
from .check import expand_classes, iter_exprs, iter_steps
from .diagnostics import Diagnostic, did_you_mean


class _Checker:
    def __init__(self, deal: A.Deal):
        self.deal = deal
        self.diags: List[Diagnostic] = []
        self.class_names = [c.name for c in deal.classes]
        self.set_names = [s.name for s in deal.sets]
        self.group_names = [g.name for g in deal.groups]
        self.tables = {t.name: t for t in deal.tables}
        self.defines = {d.name: d for d in deal.defines}
        self.params = {p.name: p for p in deal.parameters}
        self.indices = {i.name: i for i in deal.indices}
        self.events = {e.name: e for e in deal.events}
        self.accounts = {a.name: a for a in deal.accounts}
        self.contracts = {c.name: c for c in deal.contracts}
        self.distributions = {d.name: d for d in deal.distributions}
        self.schedules = {d.name: d for d in deal.schedules}

    def error(self, span, message, expected="", hint=""):
        self.diags.append(Diagnostic(span, message, expected=expected, hint=hint))

    # ------------------------------------------------------------- entry
    def run(self) -> List[Diagnostic]:
        self.check_duplicates()
        self.check_header()
        for c in self.deal.classes:
            self.check_class(c)
        for s in self.deal.sets:
            self.check_targets(s.members)
            self.check_repeats(s.members, s.span)
        for t in self.deal.tables:
            self.check_table(t)
        for d in self.deal.defines:
            self.check_expr(d.expr)
        for e in self.deal.events:
            self.check_expr(e.when)
            self.check_targets(e.retires)
            self.check_repeats(e.retires, e.span)
        for c in self.deal.contracts:
            self.check_expr(c.pays)
        for sc in self.deal.schedules:
            if sc.group not in self.group_names:
                self.error(sc.span, f"schedule {sc.name}: unknown group '{sc.group}'",
                           hint=did_you_mean(sc.group, self.group_names))
        self.check_cycles()
        self.check_distribution_cycles()
        if self.deal.header.table_event and self.deal.header.table_event not in self.events:
            self.error(self.deal.header.span, f"unknown event '{self.deal.header.table_event}'",
                       hint=did_you_mean(self.deal.header.table_event, self.events))
        if self.deal.waterfall is None:
            self.error(self.deal.header.span, "the deal has no waterfall",
                       expected="a 'waterfall' section with its clauses")
        else:
            self.check_waterfall(self.deal.waterfall)
        if self.deal.losses is not None:
            for step in self.deal.losses.steps:
                self.check_targets(step.targets)
                self.check_repeats(step.targets, step.span)
        return self.diags

    def check_duplicates(self):
        seen: dict = {}
        kinds = [("index", self.deal.indices), ("group", self.deal.groups), ("class", self.deal.classes),
                 ("class set", self.deal.sets), ("table", self.deal.tables), ("formula", self.deal.defines),
                 ("parameter", self.deal.parameters), ("account", self.deal.accounts),
                 ("event", self.deal.events), ("contract", self.deal.contracts),
                 ("distribution", self.deal.distributions), ("schedule", self.deal.schedules)]
        for kind, items in kinds:
            for item in items:
                key = (kind == "group", item.name)
                if key in seen:
                    prev_kind, prev = seen[key]
                    self.error(item.span, f"'{item.name}' is declared twice",
                               hint=f"first declared as a {prev_kind} at line {prev.span.line}")
                else:
                    seen[key] = (kind, item)
        names = [n for (is_group, n) in seen if not is_group]
        for v in VARIABLES:
            if v in names:
                item = seen[(False, v)][1]
                self.error(item.span, f"'{v}' is a built-in name and cannot be redeclared")

    def check_header(self):
        h = self.deal.header
        for field, what in (("cutoff", "cutoff DATE"), ("closing", "closing DATE"),
                            ("first_distribution", "first distribution DATE")):
            if getattr(h, field) is None:
                self.error(h.span, f"the deal header has no {field.replace('_', ' ')} date", expected=what)
        if h.cutoff and h.closing and h.closing < h.cutoff:
            self.error(h.span_of("closing"), f"closing {h.closing} is before the cut-off date {h.cutoff}")
        if h.closing and h.first_distribution and h.first_distribution <= h.closing:
            self.error(h.span_of("first_distribution"),
                       f"first distribution {h.first_distribution} is not after closing {h.closing}")
        if h.settlement and h.cutoff and h.settlement < h.cutoff:
            self.error(h.span_of("settlement"), f"settlement {h.settlement} is before the cut-off date {h.cutoff}")
        for speed in [h.pricing_speed] + [g.pricing_speed for g in self.deal.groups]:
            if speed is not None and speed.kind is A.SpeedKind.PPC:
                self.error(speed.span, "a PPC speed needs its ramp",
                           expected="ramp 8% CPR to 24% CPR over 12 months [by loan age]")
        for q in h.table_speeds:
            if q.unit not in ("%", ""):
                self.error(q.span, f"a table speed is a percent of the pricing speed, not {q.text!r}",
                           expected="e.g. 100%")
        if not self.deal.groups:
            self.error(h.span, "the deal has no collateral group", expected='group 1 "DESCRIPTION"')
        if h.pricing_speed is None:
            missing = [g for g in self.deal.groups if g.pricing_speed is None]
            for g in missing:
                self.error(g.span, f"group {g.name} has no pricing speed",
                           expected="'pricing speed' in the deal header or under the group")

    def check_class(self, c: A.ClassDecl):
        if c.balance is not None and c.balance.unit not in ("$", ""):
            self.error(c.balance.span, f"class {c.name}: a balance is a dollar amount, not {c.balance.text!r}",
                       expected="an amount such as 119,257,000")
        if c.group is not None and c.group not in self.group_names:
            self.error(c.span_of("group"), f"class {c.name}: unknown group '{c.group}'",
                       hint=did_you_mean(c.group, self.group_names))
        if c.residual or c.no_cashflow:
            if c.balance is not None or c.coupon is not None:
                self.error(c.span, f"class {c.name}: a residual or no-cashflow class has no balance or coupon")
        elif c.notional is not None:
            if c.coupon is None:
                self.error(c.span, f"class {c.name}: a notional class needs a coupon", expected="coupon RATE")
            if c.balance is not None and c.balance.value != 0:
                pass  # the term sheet prints the initial notional in the balance column; it is information
        else:
            if c.balance is None:
                self.error(c.span, f"class {c.name} has no balance", expected="balance AMOUNT")
            if c.coupon is None:
                self.error(c.span, f"class {c.name} has no coupon", expected="coupon RATE or INDEX + MARGIN")
        for e in (c.coupon, c.cap, c.carryover_max, c.notional):
            if e is not None:
                self.check_expr(e)
        if c.coupon is not None:
            self.check_rate_units(c.coupon, f"class {c.name}: coupon")

    def check_rate_units(self, e, what):
        """A rate is built from percentages, basis points, index levels and formulas:
        a dollar amount in a coupon is a unit mistake."""
        for node in iter_exprs(e):
            if isinstance(node, A.Quantity) and node.unit == "$":
                self.error(node.span, f"{what} adds a dollar amount {node.text!r} to a rate",
                           expected="a percentage (5.25%) or basis points (25bp)")

    def check_table(self, t: A.TableDecl):
        expected_next = 1
        width = None
        for row in t.rows:
            if row.first != expected_next:
                self.error(row.span, f"table {t.name}: rows must cover every {t.key} in order; "
                           f"expected a row starting at {expected_next}, found {row.first}")
            if row.last is not None and row.last < row.first:
                self.error(row.span, f"table {t.name}: range {row.first}-{row.last} runs backwards")
            if width is None:
                width = len(row.values)
            elif len(row.values) != width:
                self.error(row.span, f"table {t.name}: {len(row.values)} values where earlier rows have {width}")
            expected_next = (row.last or row.first) + 1
            if row.last is None and row is not t.rows[-1]:
                self.error(row.span, f"table {t.name}: an open row ('{row.first}+') must be the last")

    # ------------------------------------------------------------- names
    def check_targets(self, refs):
        for r in refs:
            if isinstance(r, A.ClassRef):
                if r.name not in self.class_names and r.name not in self.set_names:
                    self.error(r.span, f"unknown class '{r.name}'",
                               hint=did_you_mean(r.name, self.class_names + self.set_names))
            elif isinstance(r, A.ClassRange):
                for n in (r.first, r.last):
                    if n not in self.class_names:
                        self.error(r.span, f"unknown class '{n}'", hint=did_you_mean(n, self.class_names))
                if r.first in self.class_names and r.last in self.class_names and \
                        self.class_names.index(r.first) > self.class_names.index(r.last):
                    self.error(r.span, f"class range {r.first}..{r.last} runs against the order of declaration")
            elif isinstance(r, A.SetRef):
                if r.name not in self.set_names:
                    self.error(r.span, f"unknown class set \"{r.name}\"", hint=did_you_mean(r.name, self.set_names))

    def check_repeats(self, refs, span):
        """A class named twice in one list (itself and through a set, say) would be
        paid, retired or written down twice: refused."""
        if not all(self.ref_ok(r) for r in refs):
            return  # already reported
        seen = set()
        for n in expand_classes(self.deal, list(refs)):
            if n in seen:
                self.error(span, f"class {n} is named twice in this list (directly or through a class set)",
                           hint="name each class once")
                return
            seen.add(n)

    def known_value_names(self):
        return list(self.defines) + list(self.params) + list(self.tables) + list(self.indices) + list(VARIABLES) \
            + list(self.contracts) + list(self.accounts) + list(self.schedules)

    def check_expr(self, e):
        # Names that stand for a class or an event as a call's argument are checked by check_call.
        skip = set()
        for node in iter_exprs(e):
            if isinstance(node, A.Call) and node.fn in FUNCTIONS:
                fn = FUNCTIONS[node.fn]
                kinds = list(fn.args) + [fn.variadic] * max(0, len(node.args) - len(fn.args))
                for arg, kind in zip(node.args, kinds):
                    if kind in ("class", "event") and isinstance(arg, A.Name):
                        skip.add(id(arg))
        for node in iter_exprs(e):
            if isinstance(node, A.Name) and id(node) in skip:
                continue
            if isinstance(node, A.Name):
                if node.id not in self.defines and node.id not in self.params and node.id not in self.tables \
                        and node.id not in self.indices and node.id not in VARIABLES and node.id not in self.contracts \
                        and node.id not in self.accounts and node.id not in self.schedules:
                    hint = did_you_mean(node.id, self.known_value_names())
                    if node.id in self.class_names:
                        hint = f"for a class's balance write balance({node.id})"
                    self.error(node.span, f"unknown name '{node.id}'", hint=hint)
            elif isinstance(node, A.Call):
                self.check_call(node)
            elif isinstance(node, A.GroupRef) and node.name is not None and node.name not in self.group_names:
                self.error(node.span, f"unknown group '{node.name}'", hint=did_you_mean(node.name, self.group_names))

    def check_call(self, call: A.Call):
        fn = FUNCTIONS.get(call.fn)
        if fn is None:
            self.error(call.span, f"unknown function '{call.fn}'", hint=did_you_mean(call.fn, FUNCTIONS))
            return
        args = call.args
        n_fixed = len(fn.args)
        if fn.optional_group and len(args) == n_fixed - 1:
            kinds_given = fn.args[:-1]
            for arg, kind in zip(args, kinds_given):
                if isinstance(arg, (A.GroupRef, A.SetArg)):
                    self.error(call.span, f"{call.fn}() takes a number here")
            return
        if len(args) < n_fixed or (len(args) > n_fixed and not fn.variadic):
            self.error(call.span, f"{call.fn}() takes {n_fixed}{' or more' if fn.variadic else ''} "
                                  f"argument{'s' if n_fixed != 1 else ''}, got {len(args)}")
            return
        kinds = list(fn.args) + [fn.variadic] * (len(args) - n_fixed)
        if call.fn == "notional" and isinstance(args[0], A.Name):
            c = self.deal.class_named(args[0].id)
            if c is not None and c.notional is None:
                self.error(args[0].span, f"class {c.name} has no notional",
                           hint=f"for its balance write balance({c.name})")
        for arg, kind in zip(args, kinds):
            if kind == "class":
                if isinstance(arg, A.Name):
                    if arg.id not in self.class_names:
                        self.error(arg.span, f"unknown class '{arg.id}'",
                                   hint=did_you_mean(arg.id, self.class_names + self.set_names))
                elif isinstance(arg, A.SetArg):
                    if arg.name not in self.set_names:
                        self.error(arg.span, f"unknown class set \"{arg.name}\"",
                                   hint=did_you_mean(arg.name, self.set_names))
                else:
                    self.error(call.span, f"{call.fn}() takes class names", expected="a class or a quoted set")
            elif kind == "group":
                if not isinstance(arg, A.GroupRef):
                    self.error(call.span, f"{call.fn}() takes a group", expected="group NAME or all groups")
            elif kind == "event":
                if not isinstance(arg, A.Name) or arg.id not in self.events:
                    name = arg.id if isinstance(arg, A.Name) else "?"
                    self.error(call.span, f"{call.fn}() takes an event; '{name}' is not one",
                               hint=did_you_mean(name, self.events))
            else:
                if isinstance(arg, (A.GroupRef, A.SetArg)):
                    self.error(call.span, f"{call.fn}() takes a number here")

    def check_cycles(self):
        deps = {}
        for d in self.deal.defines:
            deps[d.name] = {n.id for n in iter_exprs(d.expr) if isinstance(n, A.Name) and n.id in self.defines}
        state: dict = {}

        def visit(name, trail):
            if state.get(name) == "done":
                return
            if state.get(name) == "active":
                cycle = trail[trail.index(name):] + [name]
                self.error(self.defines[name].span, "circular definition: " + " -> ".join(cycle))
                return
            state[name] = "active"
            for dep in sorted(deps[name]):
                visit(dep, trail + [name])
            state[name] = "done"

        for name in deps:
            visit(name, [])

    def check_distribution_cycles(self):
        """A distribution may route to another, but never back to itself."""
        def routed(steps):
            return [r.name for s in iter_steps(steps) if isinstance(s, A.Pay)
                    for r in s.targets if isinstance(r, A.ClassRef) and r.name in self.distributions]
        graph = {d.name: routed(d.steps) for d in self.deal.distributions}
        state: dict = {}

        def visit(name, trail):
            if state.get(name) == "done":
                return
            if state.get(name) == "active":
                cycle = trail[trail.index(name):] + [name]
                self.error(self.distributions[name].span, "a distribution routes back to itself: "
                           + " -> ".join(cycle))
                return
            state[name] = "active"
            for nxt in graph[name]:
                visit(nxt, trail + [name])
            state[name] = "done"

        for name in graph:
            visit(name, [])

    # ------------------------------------------------------------- waterfall
    def check_waterfall(self, w: A.Waterfall):
        paid_principal = set()
        has_residual = False

        blocks = [c.steps for c in w.clauses] + [d.steps for d in self.deal.distributions]
        for s in (st for steps in blocks for st in iter_steps(steps)):
            if isinstance(s, A.FromBlock):
                for f in s.funds:
                    if f.kind.of_group and f.group is not None and f.group not in self.group_names:
                        self.error(f.span, f"unknown group '{f.group}'",
                                   hint=did_you_mean(f.group, self.group_names))
                    if f.kind is A.FundKind.ACCOUNT and f.group not in self.accounts:
                        self.error(f.span, f"unknown account '{f.group}'",
                                   hint=did_you_mean(f.group, self.accounts))
                    if f.kind is A.FundKind.CONTRACT and f.group not in self.contracts:
                        self.error(f.span, f"unknown contract '{f.group}'",
                                   hint=did_you_mean(f.group, self.contracts))
            elif isinstance(s, A.IfStep):
                self.check_expr(s.cond)
            elif isinstance(s, A.Accrete):
                self.check_targets(s.targets)
                self.check_repeats(s.targets, s.span)
                for n in expand_classes(self.deal, [r for r in s.targets if self.ref_ok(r)]):
                    c = self.deal.class_named(n)
                    if c is not None and (c.coupon is None or c.notional is not None):
                        self.error(s.span, f"class {n} cannot accrete: it needs a coupon and a balance")
                f = s.into
                if f.kind not in (A.FundKind.INTEREST, A.FundKind.PRINCIPAL) or (f.group is not None and f.group not in self.group_names):
                    self.error(f.span, "accretion goes into the interest or principal of a group",
                               expected="into principal of group NAME")
            elif isinstance(s, A.Deposit):
                if s.account not in self.accounts:
                    self.error(s.span, f"unknown account '{s.account}'", hint=did_you_mean(s.account, self.accounts))
                if s.limit is not None:
                    self.check_expr(s.limit)
            elif isinstance(s, A.Pay) and self.routes(s):
                if s.what is not A.PayWhat.PRINCIPAL or len(s.targets) != 1:
                    self.error(s.span, f"a distribution takes principal, and alone: "
                                       f"'pay principal to {s.targets[0].name}'")
                if s.limit is not None:
                    self.check_expr(s.limit)
            elif isinstance(s, A.Pay):
                self.check_targets(s.targets)
                self.check_repeats(s.targets, s.span)
                if s.limit is not None:
                    self.check_expr(s.limit)
                names = set(expand_classes(self.deal, [r for r in s.targets if self.ref_ok(r)]))
                if s.what is A.PayWhat.PRINCIPAL:
                    paid_principal.update(names)
                    for n in names:
                        c = self.deal.class_named(n)
                        if c is not None and (c.residual or c.notional is not None or c.no_cashflow):
                            self.error(s.span, f"class {n} has no principal balance to pay")
                if s.what is A.PayWhat.REMAINING:
                    has_residual = True
                elif s.what.is_interest:
                    for n in names:
                        c = self.deal.class_named(n)
                        if c is not None and (c.residual or c.no_cashflow):
                            self.error(s.span, f"class {n} bears no interest")

        for c in self.deal.classes:
            if c.residual or c.no_cashflow or c.notional is not None:
                continue
            if c.name not in paid_principal:
                self.error(c.span, f"class {c.name} has a balance but no clause pays it principal",
                           expected="a 'pay principal ... to' step naming it")
        if not has_residual:
            self.error(w.span, "no clause releases the remaining cash",
                       expected="a last clause 'pay remaining to <residual class>'",
                       hint="every dollar collected must be paid or released to the residual")

    def routes(self, step) -> bool:
        """True if a pay step routes cash through a named distribution."""
        return any(isinstance(r, A.ClassRef) and r.name in self.distributions for r in step.targets)

    def ref_ok(self, r) -> bool:
        """True if a target reference resolves (so it can be expanded)."""
        if isinstance(r, A.ClassRef):
            return r.name in self.class_names or r.name in self.set_names
        if isinstance(r, A.ClassRange):
            return r.first in self.class_names and r.last in self.class_names \
                and self.class_names.index(r.first) <= self.class_names.index(r.last)
        return r.name in self.set_names


def check(deal: A.Deal) -> List[Diagnostic]:
    return _Checker(deal).run()
