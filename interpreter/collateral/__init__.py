"""Vectorised collateral projection for MBS/ABS loan pools.

``model``: the records (lines, curves, scenarios, flows); ``curves``: the
prepayment and default curves; ``projection``: ``project`` and its numpy path
(the conventions are in its docstring); ``c_backend``: the compiled path;
``tape``: loan tapes.  The public names are re-exported here."""

from .curves import cpr_to_smm, monthly_rate, ppc_cpr, psa_cpr, sda_cdr, smm_to_cpr
from .model import DEFAULT_KINDS, PREPAY_KINDS, ArmTerms, Curve, GroupFlows, Line, Scenarios, combine
from .projection import aggregate, project
from .tape import MAX_FIELD, MAX_LINE, MAX_MONTHS, TapeError, load_tape

__all__ = [
    "ArmTerms",
    "Line",
    "Curve",
    "Scenarios",
    "GroupFlows",
    "project",
    "aggregate",
    "load_tape",
    "combine",
    "monthly_rate",
    "cpr_to_smm",
    "smm_to_cpr",
    "psa_cpr",
    "ppc_cpr",
    "sda_cdr",
    "PREPAY_KINDS",
    "DEFAULT_KINDS",
    "TapeError",
    "MAX_MONTHS",
    "MAX_FIELD",
    "MAX_LINE",
]
