"""The checks of what a deal computes and pays: names and calls in formulas,
circular formulas and distributions, the waterfall's steps, and coverage (every
class is paid principal, and the remaining cash is released).

Each is one entry of ``dsl.checker.CHECKS``: ``check(cx)`` yields diagnostics.
"""
from __future__ import annotations

from typing import Iterator

from . import ast as A
from .builtins import FUNCTIONS, VARIABLES
from .checkctx import Context, err, repeats, targets, valid
from .diagnostics import Diagnostic, did_you_mean
from .walk import deal_expressions, expand_classes, iter_exprs, iter_steps, step_blocks


def expressions(cx: Context) -> Iterator[Diagnostic]:
    """Every name a formula reads is declared or built in; every call is to a
    built-in function with arguments of the kinds it takes."""
    for e in deal_expressions(cx.deal):
        skip = set()  # names that stand for a class or an event as a call's argument: checked with the call
        for node in iter_exprs(e):
            if isinstance(node, A.Call) and node.fn in FUNCTIONS:
                fn = FUNCTIONS[node.fn]
                kinds = list(fn.args) + [fn.variadic] * max(0, len(node.args) - len(fn.args))
                skip.update(id(a) for a, k in zip(node.args, kinds) if k in ("class", "event") and isinstance(a, A.Name))
            elif isinstance(node, A.Call):  # an unknown function (its error): what its names are is not known
                skip.update(id(a) for a in node.args if isinstance(a, A.Name))
        for node in iter_exprs(e):
            if isinstance(node, A.Name) and id(node) not in skip:
                if node.id not in VARIABLES and node.id not in cx.values:
                    hint = did_you_mean(node.id, cx.value_names() + list(VARIABLES))
                    if node.id in cx.class_names:
                        hint = f"for a class's balance write balance({node.id})"
                    yield err(node.span, f"unknown name '{node.id}'", hint=hint)
            elif isinstance(node, A.Call):
                yield from _call(cx, node)
            elif isinstance(node, A.GroupRef) and cx.unknown_group(node.name):
                yield err(node.span, f"unknown group '{node.name}': {valid('group', cx.group_names)}",
                          hint=did_you_mean(node.name, cx.group_names))


def _call(cx: Context, call: A.Call) -> Iterator[Diagnostic]:
    fn = FUNCTIONS.get(call.fn)
    if fn is None:
        yield err(call.span, f"unknown function '{call.fn}'", hint=did_you_mean(call.fn, FUNCTIONS))
        return
    args = call.args
    n_fixed = len(fn.args)
    if fn.optional_group and len(args) == n_fixed - 1:
        for arg in args:
            if isinstance(arg, (A.GroupRef, A.SetArg)):
                yield err(call.span, f"{call.fn}() takes a number here")
        return
    if len(args) < n_fixed or (len(args) > n_fixed and not fn.variadic):
        yield err(call.span, f"{call.fn}() takes {n_fixed}{' or more' if fn.variadic else ''} "
                             f"argument{'s' if n_fixed != 1 else ''}, got {len(args)}")
        return
    kinds = list(fn.args) + [fn.variadic] * (len(args) - n_fixed)
    if call.fn == "notional" and isinstance(args[0], A.Name):
        c = cx.deal.class_named(args[0].id)
        if c is not None and c.notional is None:
            yield err(args[0].span, f"class {c.name} has no notional", hint=f"for its balance write balance({c.name})")
    for arg, kind in zip(args, kinds):
        if kind == "class":
            if isinstance(arg, A.Name):
                if arg.id in cx.set_names:
                    yield err(arg.span, f"'{arg.id}' is a class set, and a class set is written in quotes",
                              expected=f'{call.fn}("{arg.id}")', hint=f'did you mean "{arg.id}"?')
                elif arg.id not in cx.class_names:
                    yield err(arg.span, f"unknown class '{arg.id}': {valid('class', cx.class_names)}",
                              hint=did_you_mean(arg.id, cx.class_names + cx.set_names))
            elif isinstance(arg, A.SetArg):
                if arg.name not in cx.set_names:
                    have = valid("class set", cx.set_names, '"')
                    yield err(arg.span, f"unknown class set \"{arg.name}\": {have}",
                              hint=did_you_mean(arg.name, cx.set_names))
            else:
                yield err(call.span, f"{call.fn}() takes class names", expected="a class or a quoted set")
        elif kind == "group":
            if not isinstance(arg, A.GroupRef):
                yield err(call.span, f"{call.fn}() takes a group", expected="group NAME or all groups")
        elif kind == "event":
            if not isinstance(arg, A.Name) or arg.id not in cx.events:
                name = arg.id if isinstance(arg, A.Name) else "?"
                yield err(call.span, f"{call.fn}() takes an event; '{name}' is not one: {valid('event', cx.events)}",
                          hint=did_you_mean(name, cx.events))
        elif isinstance(arg, (A.GroupRef, A.SetArg)):
            yield err(call.span, f"{call.fn}() takes a number here")


def _cycles(graph: dict) -> list:
    """Each cycle of a graph (name -> names it reads), once, as the trail from
    the first name met again; iterative, so a chain of thousands is no deeper."""
    state: dict = {}
    found = []
    for start in graph:
        if state.get(start):
            continue
        path, stack = [start], [iter(graph[start])]
        state[start] = "active"
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                state[path.pop()] = "done"
            elif state.get(nxt) == "active":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt in graph and not state.get(nxt):
                state[nxt] = "active"
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return found


def formula_cycles(cx: Context) -> Iterator[Diagnostic]:
    """No formula reads itself, directly or through other formulas."""
    graph = {d.name: sorted({n.id for n in iter_exprs(d.expr) if isinstance(n, A.Name) and n.id in cx.defines})
             for d in cx.deal.defines}
    for cycle in _cycles(graph):
        at = next((n.span for n in iter_exprs(cx.defines[cycle[0]].expr) if isinstance(n, A.Name) and n.id == cycle[1]),
                  cx.defines[cycle[0]].span)
        yield err(at, "circular definition: " + " -> ".join(cycle),
                  hint=f"formula {cycle[0]} reads {'itself' if len(cycle) == 2 else cycle[1]} here")


def distribution_cycles(cx: Context) -> Iterator[Diagnostic]:
    """A distribution may route to another, but never back to itself."""
    graph = {d.name: [r.name for s in iter_steps(d.steps) if isinstance(s, A.Pay)
                      for r in s.targets if isinstance(r, A.ClassRef) and r.name in cx.distributions]
             for d in cx.deal.distributions}
    for cycle in _cycles(graph):
        yield err(cx.distributions[cycle[0]].span, "a distribution routes back to itself: " + " -> ".join(cycle))


def steps(cx: Context) -> Iterator[Diagnostic]:
    """Each step draws on funds that exist and pays classes that can take what it pays."""
    if cx.deal.waterfall is None:
        yield err(cx.deal.header.span, "the deal has no waterfall", expected="a 'waterfall' section with its clauses")
        return
    for s in (st for block in step_blocks(cx.deal) for st in iter_steps(block)):
        if isinstance(s, A.FromBlock):
            for f in s.funds:
                if f.kind.of_group and cx.unknown_group(f.group):
                    yield err(f.span, f"unknown group '{f.group}': {valid('group', cx.group_names)}",
                              hint=did_you_mean(f.group, cx.group_names))
                if f.kind is A.FundKind.ACCOUNT and f.group not in cx.accounts:
                    yield err(f.span, f"unknown account '{f.group}': {valid('account', cx.accounts)}",
                              hint=did_you_mean(f.group, cx.accounts))
                if f.kind is A.FundKind.CONTRACT and f.group not in cx.contracts:
                    yield err(f.span, f"unknown contract '{f.group}': {valid('contract', cx.contracts)}",
                              hint=did_you_mean(f.group, cx.contracts))
        elif isinstance(s, A.Accrete):
            yield from targets(cx, s.targets)
            yield from repeats(cx, s.targets, s.span)
            for n in expand_classes(cx.deal, [r for r in s.targets if cx.ref_ok(r)]):
                c = cx.deal.class_named(n)
                if c is not None and (c.coupon is None or c.notional is not None):
                    yield err(s.span, f"class {n} cannot accrete: it needs a coupon and a balance")
            f = s.into
            if f.kind not in (A.FundKind.INTEREST, A.FundKind.PRINCIPAL) or cx.unknown_group(f.group):
                yield err(f.span, "accretion goes into the interest or principal of a group",
                          expected="into principal of group NAME")
        elif isinstance(s, A.Deposit):
            if s.account not in cx.accounts:
                yield err(s.span, f"unknown account '{s.account}': {valid('account', cx.accounts)}",
                          hint=did_you_mean(s.account, cx.accounts))
        elif isinstance(s, A.Pay) and cx.routes(s):
            if s.what is not A.PayWhat.PRINCIPAL or len(s.targets) != 1:
                yield err(s.span, f"a distribution takes principal, and alone: 'pay principal to {s.targets[0].name}'")
        elif isinstance(s, A.Pay):
            yield from targets(cx, s.targets)
            yield from repeats(cx, s.targets, s.span)
            for n in expand_classes(cx.deal, [r for r in s.targets if cx.ref_ok(r)]):
                c = cx.deal.class_named(n)
                if c is None:
                    continue
                if s.what is A.PayWhat.PRINCIPAL and (c.residual or c.notional is not None or c.no_cashflow):
                    yield err(s.span, f"class {n} has no principal balance to pay")
                elif s.what.is_interest and (c.residual or c.no_cashflow):
                    yield err(s.span, f"class {n} bears no interest")
                elif s.what is A.PayWhat.REMAINING and not c.residual:
                    # what is left would be counted as the class's interest, owed or not
                    yield err(s.span, f"'pay remaining' releases cash to a residual class: class {n} is not one",
                              expected="'pay remaining to <residual class>'",
                              hint=_residuals(cx.deal))


def _residuals(deal: A.Deal) -> str:
    names = [c.name for c in deal.classes if c.residual]
    if names:
        return f"the deal's residual classes: {', '.join(names)}"
    return "a residual class has no balance and no coupon, and says 'residual'"


def coverage(cx: Context) -> Iterator[Diagnostic]:
    """Every class with a balance is paid principal by some step, and some step
    releases the remaining cash (no dollar is left unallocated)."""
    if cx.deal.waterfall is None:
        return
    paid_principal = set()
    has_residual = False
    for s in (st for block in step_blocks(cx.deal) for st in iter_steps(block)):
        if isinstance(s, A.Pay) and not cx.routes(s):
            if s.what is A.PayWhat.PRINCIPAL:
                paid_principal.update(expand_classes(cx.deal, [r for r in s.targets if cx.ref_ok(r)]))
            has_residual = has_residual or s.what is A.PayWhat.REMAINING
    for c in cx.deal.classes:
        if not (c.residual or c.no_cashflow or c.notional is not None) and c.name not in paid_principal:
            yield err(c.span, f"class {c.name} has a balance but no clause pays it principal",
                      expected="a 'pay principal ... to' step naming it")
    if not has_residual:
        yield err(cx.deal.waterfall.span, "no clause releases the remaining cash",
                  expected="a last clause 'pay remaining to <residual class>'",
                  hint="every dollar collected must be paid or released to the residual")
