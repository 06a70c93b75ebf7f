"""The deal language's closed sets of words, one enum each.

Each member's value is the word the deal file writes, so a member is also
that string (``Word`` is a ``str``): ``str()``, f-strings and JSON give the
word, and comparing with the word still holds. Code compares members; the
parser builds them, the AST's fields convert to them (``dsl.ast``), the
deal cache keeps them by class and value (``dsl.dealcache``), and the
period program reuses them (``interpreter.waterfall.program``).
"""
from __future__ import annotations

import enum
from typing import Optional


class Word(str, enum.Enum):
    """A word of the deal language: the member is its word (Python 3.10's
    ``str`` mixin would print ``Class.MEMBER``)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class PayKind(Word):
    """What a payment pays (the period program's payment kinds)."""
    PRINCIPAL = "principal"
    INTEREST = "current and unpaid interest"  # also written 'interest' (PayWhat.INTEREST)
    CURRENT_INTEREST = "current interest"
    UNPAID_INTEREST = "unpaid interest"
    CARRYOVER = "carryover"
    UNPAID_LOSSES = "unpaid realized losses"


class PayWhat(Word):
    """What a 'pay' step names, as the deal wrote it: a payment kind, the
    synonym 'interest', or 'remaining' (the release to the residual class)."""
    PRINCIPAL = "principal"
    CURRENT_AND_UNPAID_INTEREST = "current and unpaid interest"
    INTEREST = "interest"  # the same payment as 'current and unpaid interest'
    CURRENT_INTEREST = "current interest"
    UNPAID_INTEREST = "unpaid interest"
    CARRYOVER = "carryover"
    UNPAID_LOSSES = "unpaid realized losses"
    REMAINING = "remaining"

    @property
    def kind(self) -> Optional[PayKind]:
        """The payment kind it pays; None for 'remaining'."""
        return _PAY_KIND[self]

    @property
    def is_interest(self) -> bool:
        """Any of the interest payments (current, unpaid, or both)."""
        return self.kind in (PayKind.INTEREST, PayKind.CURRENT_INTEREST, PayKind.UNPAID_INTEREST)


_PAY_KIND = {w: (None if w is PayWhat.REMAINING
                 else PayKind.INTEREST if w is PayWhat.INTEREST
                 else PayKind(w.value)) for w in PayWhat}


class Mode(Word):
    """How a payment or a loss is shared among its classes."""
    SEQUENTIAL = "sequentially"
    PRO_RATA = "pro rata"  # by amount owed (for principal, the balance)
    PRO_RATA_TWO = "pro rata by balance then by amount owed"  # by prior balance, the rest by what is still owed


class FundKind(Word):
    """A source of cash in 'from': a group's interest, principal, both ('funds')
    or prepayment penalties; the excess of all groups; an account; a contract."""
    INTEREST = "interest"
    PRINCIPAL = "principal"
    FUNDS = "funds"
    PENALTIES = "penalties"
    EXCESS = "excess"
    ACCOUNT = "account"
    CONTRACT = "contract"

    @property
    def of_group(self) -> bool:
        """Written 'KIND of group G' / 'KIND of all groups'."""
        return self in (FundKind.INTEREST, FundKind.PRINCIPAL, FundKind.FUNDS, FundKind.PENALTIES)

    @property
    def named(self) -> bool:
        """Written 'KIND NAME' (an account or a contract)."""
        return self in (FundKind.ACCOUNT, FundKind.CONTRACT)


class DayCount(Word):
    """A class's day count."""
    THIRTY_360 = "30/360"
    ACTUAL_360 = "actual/360"
    ACTUAL_365 = "actual/365"
    ACTUAL_ACTUAL = "actual/actual"  # accrues as actual/365 (days over 365)


class BusinessRule(Word):
    """How a distribution date that is not a business day rolls ('next business
    day' is read as 'following')."""
    FOLLOWING = "following"
    MODIFIED_FOLLOWING = "modified following"
    PRECEDING = "preceding"
    NO_ADJUSTMENT = "no adjustment"


class SpeedKind(Word):
    """The unit of a prepayment speed; RAMP: a PPC ramp spelled out."""
    CPR = "CPR"
    SMM = "SMM"
    PSA = "PSA"
    PPC = "PPC"
    ABS = "ABS"
    RAMP = "RAMP"


class RampBasis(Word):
    """What a ramp's month counts: the loan's age ('by loan age') or the deal's period ('by deal month')."""
    AGE = "age"
    DEAL = "deal"

    @property
    def words(self) -> str:
        return "loan age" if self is RampBasis.AGE else "deal month"


class TableKey(Word):
    """What a table's rows are keyed by."""
    PERIOD = "period"
    MONTH = "month"


# Every enum of the vocabulary, by name (the deal cache decodes only these).
ENUMS = {cls.__name__: cls for cls in (PayKind, PayWhat, Mode, FundKind, DayCount, BusinessRule, SpeedKind,
                                       RampBasis, TableKey)}
