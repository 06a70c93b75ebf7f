"""The checker: a deal's static checks, as a list of small named checks.

As Beancount's ``VALIDATIONS``: each check is a function of the deal's
``Context`` (``dsl.checkctx``) that yields the problems it finds; ``check``
runs them all and returns every diagnostic (empty when the deal is sound), so
a deal's mistakes are reported together, in file order, by ``DealError``.
Every check runs whatever the others found: each one copes with names that do
not resolve (and leaves reporting them to the check whose business they are).
"""
from __future__ import annotations

from typing import List

from . import ast as A
from .checkctx import Context
from .checks_decl import (calendar, class_declared_twice, class_sets, classes, dates, delays, duplicates, events,
                          header, losses, schedules, tables)
from .checks_depth import formula_depth, routing_depth
from .checks_flow import coverage, distribution_cycles, expressions, formula_cycles, steps
from .diagnostics import Diagnostic
from .units import units

CHECKS = (
    ("duplicates", duplicates),  # a name declared twice, or a built-in's
    ("header", header),  # dates present and in order, speeds, groups
    ("calendar", calendar),  # the deal's periods fit before 9999-12-31
    ("dates", dates),  # the first distribution, closing and cut-off agree as a real deal's do
    ("classes", classes),  # balance, coupon, notional as each kind of class needs
    ("class sets", class_sets),  # members exist, once each; no set names itself
    ("tables", tables),  # rows cover every period in order
    ("schedules", schedules),  # a schedule's group exists
    ("events", events),  # retired classes exist; the table event is an event
    ("losses", losses),  # losses go to classes that exist
    ("delays", delays),  # a stated delay pays after its accrual month and after closing
    ("expressions", expressions),  # names, functions and their arguments
    ("formula cycles", formula_cycles),  # no formula reads itself
    ("distribution cycles", distribution_cycles),  # no distribution routes back to itself
    ("formula depth", formula_depth),  # a chain of formulas nests at most MAX_NESTING levels
    ("routing depth", routing_depth),  # at most MAX_ROUTING distributions in a row
    ("steps", steps),  # funds exist; each step pays what its classes can take
    ("coverage", coverage),  # every class is paid principal; the rest is released
    ("units", units),  # a value of the wrong kind where a field fixes it
)


def check(deal: A.Deal, only=None) -> List[Diagnostic]:
    """Every problem in a parsed deal (of the checks named in ``only``, if given), in file order."""
    cx = Context(deal)
    if only is None and class_declared_twice(cx):  # the duplicate alone: the rest would be its echoes
        return sorted(duplicates(cx), key=lambda d: (d.span.file, d.span.line, d.span.column))
    out: List[Diagnostic] = []
    for name, fn in CHECKS:
        if only is None or name in only:
            out.extend(fn(cx))
    return sorted(out, key=lambda d: (d.span.file, d.span.line, d.span.column))
