"""The names the language knows without a declaration.

One catalogue shared by the checker (which validates calls and names) and the
interpreter (which implements them), so the two cannot drift apart. Argument
kinds: 'class' (a class name or a quoted set), 'group' (``group 1`` or
``all groups``; optional where marked), 'expr', 'event'.

Units (``dsl.units``): what each function returns (``returns``: 'amount',
'rate', 'ratio', 'bool', or 'same' for the unit its arguments share) and what
its 'expr' arguments are (``units``, one per fixed argument: 'months', or ''
for any); ``VARIABLE_UNITS`` the same for the built-in values.
"""
from __future__ import annotations

import attrs


@attrs.frozen
class Builtin:
    name: str
    args: tuple  # kinds of the fixed arguments
    variadic: str = ""  # kind of any further arguments
    optional_group: bool = False  # a single group argument may be left out (= all groups)
    doc: str = ""
    returns: str = "amount"  # its unit (dsl.units.Kind's value), or 'same': its arguments'
    units: tuple = ()  # the unit of each fixed 'expr' argument ('' for any)


FUNCTIONS = {b.name: b for b in [
    Builtin("min", ("expr",), "expr", doc="the least of its arguments, scenario by scenario", returns="same"),
    Builtin("max", ("expr",), "expr", doc="the greatest of its arguments", returns="same"),
    Builtin("abs", ("expr",), doc="absolute value", returns="same"),
    Builtin("balance", ("class",), "class", doc="current balance of the classes (after payments made so far this period)"),
    Builtin("prior_balance", ("class",), "class", doc="balance of the classes at the start of the period"),
    Builtin("original_balance", ("class",), "class", doc="balance of the classes at closing"),
    Builtin("notional", ("class",), doc="this period's notional balance of a notional (IO) class"),
    Builtin("pool_begin", ("group",), optional_group=True, doc="collateral balance at the start of the period"),
    Builtin("pool_end", ("group",), optional_group=True, doc="collateral balance at the end of the period"),
    Builtin("cutoff_balance", ("group",), optional_group=True, doc="collateral balance at the cut-off date"),
    Builtin("pool_factor", ("group",), optional_group=True,
            doc="collateral balance at the end of the period over the balance at the cut-off date",
            returns="ratio"),
    Builtin("net_wac", ("group",), optional_group=True, doc="weighted average net rate (start-of-period balances)",
            returns="rate"),
    Builtin("gross_wac", ("group",), optional_group=True, doc="weighted average gross rate (start-of-period balances)",
            returns="rate"),
    Builtin("principal_collected", ("group",), optional_group=True, doc="principal remitted this period"),
    Builtin("interest_collected", ("group",), optional_group=True, doc="net interest remitted this period"),
    Builtin("scheduled_principal", ("group",), optional_group=True, doc="scheduled principal collected this period"),
    Builtin("prepayments", ("group",), optional_group=True, doc="prepayments in full and in part this period"),
    Builtin("recoveries", ("group",), optional_group=True, doc="recoveries on defaulted loans this period"),
    Builtin("pending_recoveries", ("group",), optional_group=True,
            doc="defaulted balance whose recovery has not arrived yet (end of period)"),
    Builtin("realized_loss", ("group",), optional_group=True, doc="realized losses this period"),
    Builtin("cumulative_loss", ("group",), optional_group=True, doc="realized losses since cut-off"),
    Builtin("delinquency", ("group",), optional_group=True, doc="60+ day delinquent fraction of the pool",
            returns="ratio"),
    Builtin("average_delinquency", ("expr", "group"), optional_group=True,
            doc="average of the 60+ day delinquent fraction over the last N periods (this one included)",
            returns="ratio", units=("months", "")),
    Builtin("happens", ("event",), doc="true in the period in which the event first happens", returns="bool"),
    Builtin("since", ("event",), doc="true from the period in which the event happens, and after", returns="bool"),
    Builtin("after", ("event",), doc="true from the period after the one in which the event happened", returns="bool"),
]}

VARIABLES = {
    "period": "the distribution period, 1 for the first distribution date",
    "date": "the distribution date (compare with a date: date >= 2004-11-01)",
    "accrual_days": "actual days from the previous distribution date (the closing date for the first) to this one",
    "available": "cash still available in the funds of the enclosing 'from'",
    "amount": "inside a distribution: the amount routed to it",
}

VARIABLE_UNITS = {"period": "months", "date": "date", "accrual_days": "count", "available": "amount",
                  "amount": "amount"}
