"""The public face of the checker: ``check(deal)`` and ``load_deal(path)``.

``check(deal)`` returns a list of diagnostics (empty when the deal is sound:
the named checks of ``dsl.checker``); ``load_deal(path)`` reads, parses and
checks (``dsl.load``), raising one ``DealError`` that holds every problem
found, in file order. The walks over a deal are ``dsl.walk``'s, kept here by
name for the code that imports them from this module.
"""
from __future__ import annotations

from .checker import check  # noqa: F401
from .load import load_deal  # noqa: F401
from .walk import deal_expressions, expand_classes, iter_exprs, iter_steps  # noqa: F401
