"""The errors of a run: a leaf module every stage may import.

A ``RunError`` is a run that cannot go on (a missing input, a broken
invariant); the command line prints it as "run failed" and exits 1. Input
mistakes are ``dsl.diagnostics.DealError`` (positioned, exit 2).
"""
from __future__ import annotations


class RunError(Exception):
    """A run that cannot go on (a missing input, a broken invariant). ``span``:
    the deal text that caused it, when the run can tell (cash a step left in a
    fund, say); the command line then shows it at that line, as an input error."""

    def __init__(self, message: str = "", span=None, hint: str = ""):
        super().__init__(message)
        self.span = span
        self.hint = hint


class ConservationError(RunError):
    pass


class UsageError(Exception):
    """A command line that asks for what cannot be done (an unknown class, a
    speed that is not a number, an output folder that holds other files):
    printed as the command's error, exit 2."""
