"""Static checks over a parsed deal: names, units, dates, coverage.

``check(deal)`` returns a list of diagnostics (empty when the deal is sound);
``load_deal(path)`` parses and checks, raising one ``DealError`` that holds
every problem found, in file order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, List

from . import ast as A
from .diagnostics import DealError, Diagnostic


def load_deal(path: str | Path) -> A.Deal:
    """Parse and check the deal file at ``path`` (a deal read before, unchanged,
    comes from the deal cache: see ``dsl.dealcache``)."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise DealError([Diagnostic(A.Span(path, 0, 0), f"cannot read the deal file: {e.strerror}")]) from None
    from . import dealcache
    deal = dealcache.lookup(path, text)
    if deal is not None and not check(deal):  # checked again (2 ms for J4): an entry is never trusted blindly
        return deal
    from .parse import parse
    deal = parse(text, path)
    diags = check(deal)
    if diags:
        raise DealError(diags, {path: text})
    dealcache.store(path, text, deal)
    return deal


def expand_classes(deal: A.Deal, refs: Iterable) -> List[str]:
    """Class names a target list stands for, in order (sets and ranges expanded).
    Assumes the deal has been checked."""
    order = [c.name for c in deal.classes]
    sets = {s.name: s for s in deal.sets}
    out: List[str] = []
    for r in refs:
        if isinstance(r, A.ClassRef):
            if r.name in sets:
                out.extend(expand_classes(deal, sets[r.name].members))
            else:
                out.append(r.name)
        elif isinstance(r, A.ClassRange):
            i, j = order.index(r.first), order.index(r.last)
            out.extend(order[i:j + 1])
        elif isinstance(r, A.SetRef):
            out.extend(expand_classes(deal, sets[r.name].members))
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
    blocks = [d.steps for d in deal.distributions]
    if deal.waterfall is not None:
        blocks += [c.steps for c in deal.waterfall.clauses]
    for steps in blocks:
        for st in iter_steps(steps):
            for attr in ("cond", "limit"):
                if getattr(st, attr, None) is not None:
                    yield getattr(st, attr)


def iter_exprs(e) -> Iterator:
    yield e
    for child in _children(e):
        yield from iter_exprs(child)


def _children(e):
    if isinstance(e, (A.BinOp, A.Compare)):
        return (e.left, e.right)
    if isinstance(e, (A.Neg, A.Not)):
        return (e.operand,)
    if isinstance(e, A.BoolOp):
        return e.operands
    if isinstance(e, A.IfExpr):
        return (e.cond, e.then, e.other)
    if isinstance(e, A.Call):
        return e.args
    return ()


def check(deal: A.Deal) -> List[Diagnostic]:
    """Every problem in a parsed deal, as diagnostics (empty when it is sound)."""
    from .checker import check as _check
    return _check(deal)
