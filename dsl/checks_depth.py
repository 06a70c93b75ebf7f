"""The depth checks: how deep a formula reaches through the formulas it reads,
and how many distributions one routes through in a row.

The parser bounds each expression's own nesting (``MAX_NESTING``); a formula
that reads a formula nests as deep as the two together, and every pass that
follows a name into its formula (the unit check, the lowering) recurses that
deep. Chains past the bounds are refused where they start, with the chain,
never a RecursionError later. Both are ``dsl.checker.CHECKS`` entries.
"""
from __future__ import annotations

from typing import Iterator

from . import ast as A
from .checkctx import Context, err
from .diagnostics import Diagnostic
from .walk import MAX_NESTING, children, iter_steps

MAX_ROUTING = 50  # distributions routed through in a row (a term sheet's run two or three deep)


def _depths(e) -> Iterator[tuple]:
    """(node, depth) of every node of an expression, the root at 1; iterative."""
    stack = [(e, 1)]
    while stack:
        node, d = stack.pop()
        yield node, d
        stack.extend((c, d + 1) for c in children(node))


def formula_depth(cx: Context) -> Iterator[Diagnostic]:
    """A formula, with the formulas it reads, nests at most MAX_NESTING levels."""
    reads = {}  # formula -> [(depth at which it reads another formula, that formula)]
    own = {}
    for d in cx.deal.defines:
        nodes = list(_depths(d.expr))
        own[d.name] = max(k for _, k in nodes)
        reads[d.name] = [(k, n.id) for n, k in nodes if isinstance(n, A.Name) and n.id in cx.defines]
    total: dict = {}
    for start in reads:  # post-order, iterative; a cycle (the cycle check's error) counts once
        if start in total:
            continue
        stack, active = [(start, iter(reads[start]))], {start}
        while stack:
            name, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                stack.pop()
                active.discard(name)
                total[name] = max([own[name]] + [k + total.get(m, 0) for k, m in reads[name] if m not in active])
            elif nxt[1] not in total and nxt[1] not in active:
                active.add(nxt[1])
                stack.append((nxt[1], iter(reads[nxt[1]])))
    for d in cx.deal.defines:
        deep = [m for _, m in reads[d.name] if total.get(m, 0) > MAX_NESTING]
        if total[d.name] > MAX_NESTING and not deep:  # reported where the chain first goes past the bound
            chain = _deepest_chain(d.name, reads, total)
            yield err(d.span, f"formula {d.name} nests {total[d.name]} levels deep through the formulas it reads "
                              f"(more than {MAX_NESTING}): " + " -> ".join(chain[:6] + (["..."] if len(chain) > 6 else [])),
                      hint="a formula that reads a formula nests as deep as the two together: shorten the chain")


def _deepest_chain(name: str, reads: dict, total: dict) -> list:
    chain, seen = [name], {name}
    while True:
        nxt = max(((k + total.get(m, 0), m) for k, m in reads[chain[-1]] if m not in seen), default=None)
        if nxt is None:
            return chain
        chain.append(nxt[1])
        seen.add(nxt[1])


def routing_depth(cx: Context) -> Iterator[Diagnostic]:
    """A distribution routes through at most MAX_ROUTING distributions in a row."""
    routes = {d.name: [r.name for s in iter_steps(d.steps) if isinstance(s, A.Pay)
                       for r in s.targets if isinstance(r, A.ClassRef) and r.name in cx.distributions]
              for d in cx.deal.distributions}
    depth: dict = {}
    for start in routes:
        if start in depth:
            continue
        stack, active = [(start, iter(routes[start]))], {start}
        while stack:
            name, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                stack.pop()
                active.discard(name)
                depth[name] = 1 + max([depth.get(m, 0) for m in routes[name] if m not in active], default=0)
            elif nxt not in depth and nxt not in active:
                active.add(nxt)
                stack.append((nxt, iter(routes[nxt])))
    for d in cx.deal.distributions:
        if depth[d.name] > MAX_ROUTING and all(depth[m] <= MAX_ROUTING for m in routes[d.name]):
            yield err(d.span, f"distribution {d.name} starts a chain of {depth[d.name]} distributions, each routing "
                              f"to the next (more than {MAX_ROUTING})", hint="route to fewer distributions in a row")
