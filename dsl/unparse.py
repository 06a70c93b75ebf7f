"""The AST back to deal text.

``unparse(deal)`` writes a deal in the canonical layout of the language, so
that ``parse(unparse(d)) == d`` (spans aside): the round trip is a property
test of the parser, and the basis of a formatter. Comments are not part of
the AST and are not written.
"""
from __future__ import annotations

from typing import List

from . import ast as A

IND = "    "


def unparse(deal: A.Deal) -> str:
    out: List[str] = []
    h = deal.header
    out.append(f"deal {_q(h.name)}")
    for field, word in (("cutoff", "cutoff"), ("closing", "closing"), ("settlement", "settlement"),
                        ("first_distribution", "first distribution")):
        v = getattr(h, field)
        if v is not None:
            out.append(f"{IND}{word} {v.isoformat()}")
    out.append(f"{IND}distribution day {h.distribution_day}, {h.business_rule.value}")
    if h.pricing_speed is not None:
        out.append(f"{IND}pricing speed {_speed(h.pricing_speed)}")
    if h.table_speeds:
        out.append(f"{IND}table speeds " + ", ".join(q.text for q in h.table_speeds))
    if h.table_event:
        out.append(f"{IND}table event {h.table_event}")
    out.append("")
    for g in deal.groups:
        out.append(f"group {g.name} {_q(g.title)}")
        if g.pricing_speed is not None:
            out.append(f"{IND}pricing speed {_speed(g.pricing_speed)}")
    for i in deal.indices:
        out.append(f"index {i.name} {_q(i.title)}")
    out.append("")
    for c in deal.classes:
        out.extend(_class(c))
    for s in deal.sets:
        out.append(f"classes {_q(s.name)} = {_targets(s.members)}")
    for t in deal.tables:
        out.append(f"table {t.name} {_q(t.title)} by {t.key.value}")
        for row in t.rows:
            if row.last is None:
                rng = f"{row.first}+"
            elif row.last == row.first:
                rng = f"{row.first}"
            else:
                rng = f"{row.first}-{row.last}"
            out.append(f"{IND}{rng} " + ", ".join(q.text for q in row.values))
    for p in deal.parameters:
        line = f"parameter {p.name} {_q(p.title)}"
        if p.default is not None:
            line += f" default {p.default.text}"
        out.append(line)
    for a in deal.accounts:
        line = f"account {a.name} {_q(a.title)}"
        if a.initial is not None:
            line += f" initial {a.initial.text}"
        out.append(line)
    for s in deal.schedules:
        out.append(f"schedule {s.name} {_q(s.title)} = planned balance {s.size.text} of group {s.group} "
                   f"between {_speed(s.low)} and {_speed(s.high)}")
    for d in deal.defines:
        out.append(f"define {d.name} {_q(d.title)} = {expr(d.expr)}")
    for c in deal.contracts:
        out.append(f"contract {c.name} {_q(c.title)} pays {expr(c.pays)}")
    for e in deal.events:
        out.append(f"event {e.name} {_q(e.title)} when {expr(e.when)}")
        if e.retires:
            out.append(f"{IND}retires {_targets(e.retires)}")
    for d in deal.distributions:
        out.append(f"distribution {d.name} {_q(d.title)}")
        out.extend(_steps(d.steps, 1))
    if deal.waterfall is not None:
        out.append("")
        out.append(f"waterfall {_q(deal.waterfall.title)}" if deal.waterfall.title else "waterfall")
        for clause in deal.waterfall.clauses:
            out.append(f"{IND}clause {_q(clause.label)}")
            out.extend(_steps(clause.steps, 2))
    if deal.losses is not None:
        out.append("")
        out.append(f"losses {_q(deal.losses.title)}" if deal.losses.title else "losses")
        for step in deal.losses.steps:
            out.append(f"{IND}allocate {step.mode.value} to {_targets(step.targets)}")
    return "\n".join(out) + "\n"


def _q(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


def _pct(v: float) -> str:
    return f"{v * 100:.10g}%"


def _speed(s: A.Speed) -> str:
    if s.kind is A.SpeedKind.RAMP:
        return (f"ramp {_pct(s.ramp_start)} CPR to {_pct(s.ramp_end)} CPR over {s.ramp_months} months "
                f"by {s.basis.words}")
    return f"{_pct(s.value)} {s.kind.value}"


def _class(c: A.ClassDecl) -> List[str]:
    out = [f"class {c.name} {_q(c.title)}" if c.title else f"class {c.name}"]
    if c.balance is not None:
        out.append(f"{IND}balance {c.balance.text}")
    if c.notional is not None:
        out.append(f"{IND}notional {expr(c.notional)}")
    if c.coupon is not None:
        out.append(f"{IND}coupon {expr(c.coupon)}")
    if c.cap is not None:
        out.append(f"{IND}cap {expr(c.cap)}")
    if c.carryover_max is not None:
        out.append(f"{IND}carryover up to {expr(c.carryover_max)}")
    elif c.carryover:
        out.append(f"{IND}carryover")
    if c.coupon is not None or c.day_count is not A.DayCount.THIRTY_360:
        out.append(f"{IND}day count {c.day_count.value}")
    if c.accrues_from_closing:
        out.append(f"{IND}accrues from closing")
    if c.delay_days is not None:
        out.append(f"{IND}delay {c.delay_days} days")
    if c.accrued_at != "coupon":
        out.append(f"{IND}accrued at {c.accrued_at}")
    if c.group is not None:
        out.append(f"{IND}group {c.group}")
    if c.residual:
        out.append(f"{IND}residual")
    if c.releases_oc:
        out.append(f"{IND}releases overcollateralization")
    if c.no_cashflow:
        out.append(f"{IND}no cashflow")
    return out


def _targets(refs) -> str:
    parts = []
    for r in refs:
        if isinstance(r, A.ClassRef):
            parts.append(r.name)
        elif isinstance(r, A.ClassRange):
            parts.append(f"{r.first} .. {r.last}")
        else:
            parts.append(_q(r.name))
    return ", ".join(parts)


def _fund(f: A.Fund) -> str:
    if f.kind is A.FundKind.EXCESS:
        return "excess"
    if f.kind.named:
        return f"{f.kind.value} {f.group}"
    return f"{f.kind.value} of " + ("all groups" if f.group is None else f"group {f.group}")


def _steps(steps, depth: int) -> List[str]:
    pad = IND * depth
    out: List[str] = []
    for s in steps:
        then = "then " if getattr(s, "then", False) else ""
        if isinstance(s, A.FromBlock):
            head = f"{pad}{then}from " + ", ".join(_fund(f) for f in s.funds) + ":"
            if len(s.steps) == 1 and not isinstance(s.steps[0], (A.FromBlock, A.IfStep)):
                out.append(head + " " + _steps(s.steps, 0)[0])
            else:
                out.append(head)
                out.extend(_steps(s.steps, depth + 1))
        elif isinstance(s, A.IfStep):
            out.append(f"{pad}if {expr(s.cond)}:")
            out.extend(_steps(s.then_steps, depth + 1))
            if s.else_steps:
                out.append(f"{pad}else:")
                out.extend(_steps(s.else_steps, depth + 1))
        elif isinstance(s, A.Accrete):
            out.append(f"{pad}{then}accrete {_targets(s.targets)} into {_fund(s.into)}")
        elif isinstance(s, A.Deposit):
            line = f"{pad}{then}deposit to account {s.account}"
            if s.limit is not None:
                line += f" up to {expr(s.limit)}"
            out.append(line)
        else:
            if s.what is A.PayWhat.REMAINING:
                line = f"{pad}{then}pay remaining to {_targets(s.targets)}"
            else:
                line = f"{pad}{then}pay {s.what.value} {s.mode.value} to {_targets(s.targets)}"
            if s.limit is not None:
                line += f" up to {expr(s.limit)}"
            out.append(line)
    return out


_SIMPLE = (A.Quantity, A.DateLit, A.Name, A.Call, A.GroupRef, A.SetArg)


def _wrap(e) -> str:
    return expr(e) if isinstance(e, _SIMPLE) else f"({expr(e)})"


def expr(e) -> str:
    """An expression as text; every compound operand is parenthesised."""
    if isinstance(e, A.Quantity):
        return e.text
    if isinstance(e, A.DateLit):
        return e.value.isoformat()
    if isinstance(e, A.Name):
        return e.id
    if isinstance(e, A.GroupRef):
        return "all groups" if e.name is None else f"group {e.name}"
    if isinstance(e, A.SetArg):
        return _q(e.name)
    if isinstance(e, A.Call):
        return f"{e.fn}(" + ", ".join(expr(a) for a in e.args) + ")"
    if isinstance(e, (A.BinOp, A.Compare)):
        return f"{_wrap(e.left)} {e.op} {_wrap(e.right)}"
    if isinstance(e, A.Neg):
        return f"-{_wrap(e.operand)}"
    if isinstance(e, A.Not):
        return f"not {_wrap(e.operand)}"
    if isinstance(e, A.BoolOp):
        return f" {e.op} ".join(_wrap(o) for o in e.operands)
    if isinstance(e, A.IfExpr):
        return f"if {_wrap(e.cond)} then {_wrap(e.then)} else {_wrap(e.other)}"
    raise TypeError(f"cannot unparse {type(e).__name__}")
