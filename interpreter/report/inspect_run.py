"""run-deal --inspect: a run that keeps every defined term and state field, its
inspection printed, its cashflow files (terms.csv among them) written when asked."""
from __future__ import annotations

from pathlib import Path

from ..engine import run
from ..native.policy import quick_start
from .cashflows import write_cashflows
from .inspect import render


def inspect_run(deal, assumptions, speeds, modes, names: str, fmt: str, cashflows=None) -> str:
    """run-deal --inspect: the run at the speeds and modes asked, its inspection
    as text (``fmt`` table), CSV or JSON; with ``cashflows`` (a folder) its
    cashflow files too, terms.csv among them."""
    with quick_start():
        result = run(deal, assumptions, speeds, to=modes, trace=bool(cashflows), inspect=True)
    text = render(result, names.split(","), fmt)
    if cashflows:
        write_cashflows(result, Path(cashflows))
    return text
