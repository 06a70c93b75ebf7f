"""What a run reaches, checked against the deal as soon as its assumptions are read.

Two rules of the deal depend on how many periods the run makes (the
assumptions' ``horizon:``, else the longest remaining term), so neither the
checker (which has no assumptions) nor the assumptions reader (which checks the
YAML's own keys) can tell them alone:

* a table the deal uses has a row for every period the run reaches
  (docs/language.md, "Tables"): else the run would stop at the first period
  past its last row;
* the deal's settlement date falls before the last payment the run makes: a
  buyer settling on or after it buys nothing, and there is no price to give.

Both are errors of the deal file, shown at its line (the table's last row, the
settlement date) and found before anything runs. ``run-deal`` (through the
API's loader), the API's ``load`` and the language server call ``check_reach``;
``last_payment`` bounds ``run-deal --settle`` the same way.
"""
from __future__ import annotations

import datetime as _dt

from dsl import ast as A
from dsl.diagnostics import DealError, Diagnostic
from dsl.walk import deal_expressions, iter_exprs

from .assumptions import Assumptions


def check_reach(deal: A.Deal, assumptions: Assumptions) -> None:
    """Raise a DealError naming every table too short for the run and a
    settlement date past its last payment."""
    diags = table_diagnostics(deal, assumptions) + settlement_diagnostics(deal, assumptions)
    if diags:
        raise DealError(diags, {deal.path: deal.source})


def table_diagnostics(deal: A.Deal, assumptions: Assumptions) -> list:
    """A table the deal uses must have a row for every period the run reaches
    (the longest collateral term, or the assumptions' horizon)."""
    from .engine import horizon
    used = set()
    for e in deal_expressions(deal):
        used |= {n.id for n in iter_exprs(e) if isinstance(n, A.Name)}
    T = horizon(deal, assumptions, defaults=True)  # the longest a run can be (a --grid with a CDR axis)
    diags = []
    for t in deal.tables:
        if t.name not in used or any(r.last is None for r in t.rows):
            continue
        last = max(r.last for r in t.rows)
        if last < T:
            diags.append(Diagnostic(t.rows[-1].span if t.rows else t.span,
                                    f"table {t.name} ends at {t.key} {last} but the deal runs {T} periods",
                                    expected=f"rows up to {T}, or an open last row such as '{last + 1}+'"))
    return diags


def last_payment(deal: A.Deal, assumptions: Assumptions) -> tuple:
    """(the earliest of the classes' last payment dates in a run of the
    assumptions' horizon, the number of periods). A class with a stated delay
    is paid on its own dates (report.analyze.payment_dates), which may come
    before the distribution date."""
    from .engine import distribution_schedule, horizon
    from .report.analyze import payment_dates
    T = horizon(deal, assumptions)
    dates = distribution_schedule(deal, T)
    last = dates[-1]
    for c in deal.classes:
        if not c.residual:
            last = min(last, payment_dates(deal, c, dates)[-1])
    return last, T


def settlement_diagnostics(deal: A.Deal, assumptions: Assumptions) -> list:
    """The deal's settlement date must come before the last payment of the run."""
    h = deal.header
    if h.settlement is None or h.first_distribution is None:
        return []
    last, T = last_payment(deal, assumptions)
    if h.settlement < last:
        return []
    return [Diagnostic(h.span_of("settlement"),
                       f"settlement {h.settlement} is on or after the last payment of the run "
                       f"({last}, after {T} periods): a buyer settling then buys nothing",
                       expected=f"a settlement date before {last} (usually the closing date, {h.closing})")]


def settle_within_reach(settle: _dt.date, deal: A.Deal, assumptions: Assumptions) -> str:
    """'' if a settlement date given on the command line comes before the last
    payment of the run, else why not."""
    last, T = last_payment(deal, assumptions)
    if settle < last:
        return ""
    return f"{settle} is on or after the last payment of the run ({last}, after {T} periods): nothing is left to buy"
