"""Walks over a parsed deal: its steps, its expressions, the classes a list names.

A leaf module (it imports only ``dsl.ast``): the checks, the lowering and the
reports all walk the deal the same way, and none of them imports another to do so.
"""
from __future__ import annotations

from typing import Iterable, Iterator, List

from . import ast as A

# How deep the parse tree may nest (an expression of many terms in a row, or
# parentheses in parentheses, nests one level a term), and how deep a formula
# may reach through the formulas it reads: every pass over the deal recurses
# through it, and a deal past this is refused where it goes too deep.
MAX_NESTING = 200


def expand_classes(deal: A.Deal, refs: Iterable) -> List[str]:
    """Class names a target list stands for, in order (sets and ranges expanded).
    A range between names that are not classes is left out, and a set already
    being expanded is not expanded again (a set naming itself is the checker's
    error, not an endless loop here). Iterative: a chain of thousands of sets
    is no deeper for Python than one."""
    order = [c.name for c in deal.classes]
    sets = {s.name: s for s in deal.sets}
    out: List[str] = []
    stack = [(None, iter(refs))]  # (the set being expanded, its remaining members)
    opened: set = set()
    while stack:
        owner, rest = stack[-1]
        r = next(rest, None)
        if r is None:
            stack.pop()
            opened.discard(owner)
            continue
        name = r.name if isinstance(r, (A.ClassRef, A.SetRef)) else None
        if name is not None and name in sets:
            if name not in opened:
                opened.add(name)
                stack.append((name, iter(sets[name].members)))
        elif isinstance(r, A.ClassRef):
            out.append(r.name)
        elif isinstance(r, A.ClassRange) and r.first in order and r.last in order:
            i, j = order.index(r.first), order.index(r.last)
            out.extend(order[i:j + 1])
    return out


def iter_steps(steps) -> Iterator:
    """Every step in ``steps`` and inside them ('from' blocks, both branches of an
    'if'), depth first, in the deal's order."""
    for st in steps:
        yield st
        for attr in ("steps", "then_steps", "else_steps"):
            yield from iter_steps(getattr(st, attr, ()))


def deal_expressions(deal: A.Deal) -> Iterator:
    """Every expression the deal writes, in one fixed order: formulas; each
    class's coupon, cap, carryover limit and notional; events; contracts; the
    limits and conditions of the distributions' steps, then of the waterfall's."""
    for d in deal.defines:
        yield d.expr
    for c in deal.classes:
        for e in (c.coupon, c.cap, c.carryover_max, c.notional):
            if e is not None:
                yield e
    for e in deal.events:
        yield e.when
    for c in deal.contracts:
        yield c.pays
    for steps in step_blocks(deal):
        for st in iter_steps(steps):
            for attr in ("cond", "limit"):
                if getattr(st, attr, None) is not None:
                    yield getattr(st, attr)


def step_blocks(deal: A.Deal) -> list:
    """The step lists of the distributions, then of the waterfall's clauses."""
    blocks = [d.steps for d in deal.distributions]
    if deal.waterfall is not None:
        blocks += [c.steps for c in deal.waterfall.clauses]
    return blocks


def iter_exprs(e) -> Iterator:
    """Every node of an expression, the node before its children, left to right.
    Iterative: a walk costs no recursion whatever the depth."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        kids = children(node)
        if kids:
            stack.extend(reversed(kids))


def children(e) -> tuple:
    get = _CHILDREN.get(type(e))
    return get(e) if get is not None else ()


_CHILDREN = {
    A.BinOp: lambda e: (e.left, e.right),
    A.Compare: lambda e: (e.left, e.right),
    A.Neg: lambda e: (e.operand,),
    A.Not: lambda e: (e.operand,),
    A.BoolOp: lambda e: e.operands,
    A.IfExpr: lambda e: (e.cond, e.then, e.other),
    A.Call: lambda e: e.args,
}
