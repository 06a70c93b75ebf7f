"""The collateral of a deal after a distribution date (a deal state): each
group's current lines, as a remittance report gives them, and what the
projection carries that is not a line (recoveries still to come, the
delinquency history the triggers average).

``current_lines`` turns the projection's own state after a period
(``projection.LineState``) into such lines: each line's performing balance,
its current rate (an ARM's after its resets) and its amortisation factor gm1
exactly, with its terms moved on by the periods run (age, remaining term,
next reset). Projected from there (``project(..., period0=n)``), the lines
repeat the floating-point operations of the run that made them.
"""

from __future__ import annotations

import attrs

from .model import ArmTerms, Line


@attrs.frozen(eq=False)
class CurrentPool:
    """The collateral after distribution ``period``.

    ``lines``: the current lines of every group. ``merge``: lines with the same
    terms may be merged (a loan tape); a state's own lines are kept as written,
    in their order, so the group sums repeat the run's. ``pending``: per group,
    the defaulted balance whose recovery has not arrived (the running sum of
    default - loss - recovery after ``period``). ``recoveries``: per group, the
    recoveries of earlier defaults arriving in periods period + 1, period + 2,
    ... ``delinquency``: per group, the last periods' (60+ delinquent fraction,
    balance at the start of the period), oldest first, ending with ``period``:
    what the triggers' averages read before the run resumes."""

    period: int
    lines: tuple
    merge: bool = False
    pending: dict = attrs.field(factory=dict)
    recoveries: dict = attrs.field(factory=dict)
    delinquency: dict = attrs.field(factory=dict)

    def groups(self) -> list:
        out = []
        for ln in self.lines:
            if ln.group not in out:
                out.append(ln.group)
        return out

    def balance(self, group: str) -> float:
        return float(sum(ln.balance for ln in self.lines if ln.group == group))


def next_reset(arm: ArmTerms, age: int) -> int:
    """The age at which an ARM's rate next changes, at or after ``age``
    (the age at the start of the next period)."""
    d = age - arm.first_reset
    if d <= 0:
        return arm.first_reset
    every = max(arm.reset_every, 1)
    return arm.first_reset + -(-d // every) * every


def current_lines(state, n: int, s: int = 0) -> list[Line]:
    """The lines of ``state`` (a ``projection.LineState`` after period ``n``)
    for scenario ``s``, as current lines after distribution ``n``."""
    out = []
    for i, ln in enumerate(state.lines):
        age = ln.age + n
        rem = max(ln.remaining_term - n, 0)
        bal = float(state.balance[s, i])
        amort = None
        if ln.amort_term is not None and rem > 0:
            amort = ln.amort_term - n
        arm = None
        if ln.arm is not None:
            a = ln.arm
            nxt = next_reset(a, age)
            top = a.max_rate if a.max_rate is not None else ln.gross_rate + a.lifetime_cap
            arm = ArmTerms(index=a.index, margin=a.margin, first_reset=nxt, reset_every=a.reset_every,
                           initial_cap=a.initial_cap if nxt == a.first_reset else a.periodic_cap,
                           periodic_cap=a.periodic_cap, lifetime_cap=0.0,
                           floor=a.margin if a.floor is None else a.floor, rounding=a.rounding, max_rate=top)
        out.append(Line(group=ln.group, balance=bal, gross_rate=float(state.rate[s, i]), fee_rate=ln.fee_rate,
                        remaining_term=rem, age=age, amort_term=amort,
                        io_months=ln.io_months, arm=arm, penalty_rate=ln.penalty_rate,
                        penalty_months=ln.penalty_months, count=ln.count,
                        amort_factor=float(state.gm1[s, i])))
    return out
