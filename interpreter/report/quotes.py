"""The pricing options of run-deal read from the command line (issue 17): the settlement
date (`--settle`) and the face amount for proceeds (`--face`). Each returns a value or
raises UsageError with what was expected."""
from __future__ import annotations

import datetime as _dt
from typing import Optional

from dsl import ast as A

from ..dates import parse_date
from ..errors import UsageError


def settle_date(text: Optional[str], deal: A.Deal) -> Optional[_dt.date]:
    """`--settle DATE`: another settlement date than the deal's (on or after its closing:
    before closing there is nothing to buy)."""
    if not text:
        return None
    try:
        d = parse_date(text)
    except ValueError:
        raise UsageError(f"--settle: cannot read {text!r} as a date (e.g. 2004-05-28)") from None
    if d < deal.header.closing:
        raise UsageError(f"--settle: {d.isoformat()} is before the deal's closing date "
                         f"{deal.header.closing.isoformat()}")
    return d


def face_amount(text: Optional[str]) -> Optional[float]:
    """`--face AMOUNT`: an original face amount (thousands separators allowed)."""
    if text is None:
        return None
    try:
        v = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise UsageError(f"--face: cannot read {text!r} as an amount (e.g. 1,000,000)") from None
    if not (v > 0 and v < 1e15):
        raise UsageError(f"--face: {text!r} is not a usable face amount (more than 0)")
    return v
