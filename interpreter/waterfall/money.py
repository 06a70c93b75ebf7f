"""The money check's failure, said once for both engines: when cash collected
is not all paid or held, where it stayed (a fund no later step drew on) and
the step of the deal file that left it there.

The numpy engine and the C kernel report the same numbers (the period, the
scenario, collected, paid, held, the gap, the cash left in the funds and the
fund holding the most); this module turns them into the message, so both
engines say the same thing about the same deal."""
from __future__ import annotations

from typing import Optional

from dsl import ast as A

from ..errors import ConservationError
from . import program as P


def fund_name(program: P.Program, fund: int) -> str:
    """A flow fund as the deal names it ('the principal of group 1')."""
    for g, funds in zip(program.groups, program.layout.group_funds):
        for what, f in zip(("interest", "principal", "prepayment charges"), funds):
            if f == fund:
                return f"the {what} of group {g}"
    for c in program.contract_decls:
        if c.fund == fund:
            return f"the receipts of contract {program.layout.contracts[c.k]}"
    for d in program.distribution_decls:
        if d.fund == fund:
            return f"the cash routed to distribution {d.name}"
    return f"fund {fund}"


def _draws_on(step, fund: int) -> bool:
    # a step without its own 'from' draws on every group's interest and principal (program.available_funds)
    return fund in step.funds


def last_step_on(program: P.Program, fund: int) -> Optional[object]:
    """The last step of the waterfall (in clause order, inside branches too) that
    draws on ``fund``; what it left there stayed to the end of the period."""
    last = None
    for clause in program.clause_decls:
        for step in P.walk_steps(clause.steps):
            if _draws_on(step, fund):
                last = step
    return last


def conservation_error(program: P.Program, dates, t: int, s: int, collected: float, paid: float, held: float,
                       gap: float, left: float, fund: int, left_in_fund: float) -> ConservationError:
    """The money check failed in period ``t`` (0-based), scenario ``s``. When the
    gap is cash left in the flow funds, the error names the fund holding the
    most and the step that left it, and carries that step's span (an error of
    the deal, shown at its line); otherwise it is a broken invariant of the run."""
    head = f"money not conserved in period {t + 1} ({dates[t]}), scenario {s}: collected " \
           f"{collected:,.6f}, paid {paid:,.6f}, held in accounts {held:,.6f}, difference {gap:,.6f}"
    explained = abs(left - gap) <= 1e-6 + 1e-9 * abs(collected) and left_in_fund > 1e-6  # an overdrawn fund is no cash left
    if not explained or not 0 <= fund < program.n_flow_buckets:
        return ConservationError(f"{head} (cash left unallocated in the funds: {left:,.6f})")
    name = fund_name(program, fund)
    step = last_step_on(program, fund)
    if step is None:
        span = program.clause_decls[-1].span if program.clause_decls else A.NOWHERE
        where = f"no step of the waterfall draws on {name}"
    else:
        span = step.span
        where = f"the last step that draws on {name} (line {step.span.line}) left it there"
    return ConservationError(f"cash left in a fund at the end of period {t + 1} ({dates[t]}), scenario {s}: "
                             f"{left_in_fund:,.2f} of {name} was neither paid nor held: {where}", span=span,
                             hint=f"{head}; release {name} with a later step such as "
                                  f"'from ...: pay remaining to <residual class>'")
