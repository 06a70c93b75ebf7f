"""Calendar and day-count utilities for cashflow waterfalls.

Everything here is deal-agnostic: distribution-date schedules (a day of the month rolled by a
business-day convention on the US federal holiday calendar), month arithmetic, and the day-count
bases used in MBS/ABS accrual and analytics (30/360 US bond basis, actual/360, actual/365,
actual/actual ISDA).

Deal facts (the payment day, the roll rule, the settlement date) belong in the deal file or its
assumptions file and are passed in as arguments.
"""

from __future__ import annotations

import calendar
import re
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from functools import lru_cache
from typing import Iterable

__all__ = [
    "ROLL_RULES",
    "BASES",
    "us_federal_holidays",
    "is_holiday",
    "is_business_day",
    "roll",
    "add_months",
    "distribution_dates",
    "delayed_payment_date",
    "days_30_360",
    "days_actual",
    "year_frac",
    "months_30_360",
    "years_30_360",
    "accrual_days",
    "parse_date",
    "month_label",
]

ROLL_RULES = ("none", "following", "modified following", "preceding")
BASES = ("30/360", "actual/360", "actual/365", "actual/actual")

_MON, _TUE, _WED, _THU, _FRI, _SAT, _SUN = range(7)


# --------------------------------------------------------------------------------------------
# Holidays
# --------------------------------------------------------------------------------------------

def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) `weekday` of the month; n = -1 is the last one."""
    if n > 0:
        first = date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        return first + timedelta(days=offset + 7 * (n - 1))
    last = date(year, month, calendar.monthrange(year, month)[1])
    offset = (last.weekday() - weekday) % 7
    return last - timedelta(days=offset + 7 * (-n - 1))


def _observed(d: date) -> date:
    """Federal observance: a Saturday holiday is observed on Friday, a Sunday one on Monday."""
    if d.weekday() == _SAT:
        return d - timedelta(days=1)
    if d.weekday() == _SUN:
        return d + timedelta(days=1)
    return d


def _actual_holidays(year: int) -> list[tuple[date, bool]]:
    """(date, observe_on_weekday_rule) for the holidays of `year` (the holiday's own year)."""
    out: list[tuple[date, bool]] = []
    out.append((date(year, 1, 1), True))                         # New Year's Day
    if year >= 1986:
        out.append((_nth_weekday(year, 1, _MON, 3), False))      # Martin Luther King Jr. Day
    if year >= 1971:
        out.append((_nth_weekday(year, 2, _MON, 3), False))      # Washington's Birthday
        out.append((_nth_weekday(year, 5, _MON, -1), False))     # Memorial Day
    else:
        out.append((date(year, 2, 22), True))
        out.append((date(year, 5, 30), True))
    if year >= 2021:
        out.append((date(year, 6, 19), True))                    # Juneteenth
    out.append((date(year, 7, 4), True))                         # Independence Day
    out.append((_nth_weekday(year, 9, _MON, 1), False))          # Labor Day
    if year >= 1971:
        out.append((_nth_weekday(year, 10, _MON, 2), False))     # Columbus Day
    elif year >= 1937:
        out.append((date(year, 10, 12), True))
    if 1971 <= year <= 1977:
        out.append((_nth_weekday(year, 10, _MON, 4), False))     # Veterans Day (1971-77)
    else:
        out.append((date(year, 11, 11), True))                   # Veterans Day
    out.append((_nth_weekday(year, 11, _THU, 4), False))         # Thanksgiving
    out.append((date(year, 12, 25), True))                       # Christmas Day
    return out


@lru_cache(maxsize=512)
def _holidays_frozen(year: int) -> frozenset[date]:
    days: set[date] = set()
    for y in (year - 1, year, year + 1):  # New Year's Day on a Saturday is observed on Dec 31
        if not MINYEAR <= y <= MAXYEAR:  # the calendar's ends: no neighbouring year to look at
            continue
        for d, observe in _actual_holidays(y):
            obs = _observed(d) if observe else d
            if obs.year == year:
                days.add(obs)
    return frozenset(days)


def us_federal_holidays(year: int) -> set[date]:
    """Observed US federal holidays falling in calendar `year`.

    New Year's Day, Martin Luther King Jr. Day (3rd Monday of January, from 1986), Washington's
    Birthday (3rd Monday of February), Memorial Day (last Monday of May), Juneteenth (June 19,
    from 2021), Independence Day, Labor Day (1st Monday of September), Columbus Day (2nd Monday
    of October), Veterans Day (November 11), Thanksgiving (4th Thursday of November) and
    Christmas Day. A fixed-date holiday on a Saturday is observed the Friday before, on a Sunday
    the Monday after (so Dec 31 of `year` is included when Jan 1 of `year + 1` is a Saturday).
    Pre-1971 fixed dates (Feb 22, May 30, Oct 12) are used before the Monday Holidays Act.
    """
    return set(_holidays_frozen(int(year)))


def is_holiday(d: date) -> bool:
    return d in _holidays_frozen(d.year)


def is_business_day(d: date) -> bool:
    """Not a Saturday, Sunday or observed US federal holiday."""
    return d.weekday() < _SAT and not is_holiday(d)


def _norm_rule(rule: str) -> str:
    r = " ".join(str(rule).lower().replace("_", " ").replace("-", " ").split())
    # the deal file's words ('no adjustment', 'next business day') are accepted as well
    aliases = {"modified": "modified following", "mod following": "modified following",
               "modfollowing": "modified following", "unadjusted": "none", "no adjustment": "none",
               "next": "following", "next business day": "following", "previous": "preceding"}
    r = aliases.get(r, r)
    if r not in ROLL_RULES:
        raise ValueError(f"unknown business-day rule {rule!r}; expected next business day (= following), "
                         f"modified following, preceding or no adjustment")
    return r


def roll(d: date, rule: str = "following") -> date:
    """Adjust `d` to a business day: 'following' (= 'next business day'), 'modified following',
    'preceding', or 'none' (= 'no adjustment': `d` as it is)."""
    r = _norm_rule(rule)
    if r == "none" or is_business_day(d):
        return d
    if r == "preceding":
        x = d
        while not is_business_day(x):
            x -= timedelta(days=1)
        return x
    x = d
    while not is_business_day(x):
        x += timedelta(days=1)
    if r == "modified following" and x.month != d.month:
        return roll(d, "preceding")
    return x


# --------------------------------------------------------------------------------------------
# Month arithmetic and schedules
# --------------------------------------------------------------------------------------------

def _clip_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(d: date, n: int) -> date:
    """`d` moved by `n` calendar months, the day clipped to the end of the target month."""
    m = d.year * 12 + (d.month - 1) + int(n)
    return _clip_day(m // 12, m % 12 + 1, d.day)


def distribution_dates(first: date, n: int, day: int, rule: str = "following") -> list[date]:
    """`n` dates: the `day` of each month starting from the month of `first`, each rolled by `rule`.

    The day is clipped to the month end (day 31 in April is April 30) before rolling. The
    schedule is built from unadjusted dates, so a roll never shifts later months.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    out = []
    base = first.year * 12 + (first.month - 1)
    for k in range(n):
        m = base + k
        out.append(roll(_clip_day(m // 12, m % 12 + 1, day), rule))
    return out


def delayed_payment_date(accrual_month: date, delay_days: int, rule: str = "none") -> date:
    """The day investors are paid for an accrual month under a stated payment delay, rolled by `rule`.

    The agencies state the delay counting the first of the accrual month as day 1, in
    30-day months (SIFMA SF-44, "Delay Days"): 45 days (Ginnie Mae I, Freddie Mac Gold)
    pays on the 15th of the next month, 50 (Ginnie Mae II) the 20th, 55 (Fannie Mae) the
    25th, 75 (Freddie Mac non-Gold) the 15th of the month after, whatever the length of
    the months between: the date is the first of the accrual month plus delay - 1 days on
    the 30/360 calendar (a 30th is clipped to the end of February).
    """
    if delay_days < 1:
        raise ValueError(f"a payment delay is at least 1 day (the first of the accrual month), got {delay_days}")
    months, day = divmod(int(delay_days) - 1, 30)
    m = accrual_month.year * 12 + (accrual_month.month - 1) + months
    return roll(_clip_day(m // 12, m % 12 + 1, day + 1), rule)


# --------------------------------------------------------------------------------------------
# Day counts
# --------------------------------------------------------------------------------------------

def days_30_360(d1: date, d2: date) -> int:
    """Days from d1 to d2 on the US 30/360 bond basis (SIFMA / ISDA 2006 4.16(f)).

    D1 = 31 -> 30; D2 = 31 -> 30 only when D1 is 30 or 31.
    days = 360 (Y2 - Y1) + 30 (M2 - M1) + (D2 - D1). No February end-of-month adjustment.
    """
    y1, m1, dd1 = d1.year, d1.month, d1.day
    y2, m2, dd2 = d2.year, d2.month, d2.day
    if dd1 == 31:
        dd1 = 30
    if dd2 == 31 and dd1 >= 30:
        dd2 = 30
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (dd2 - dd1)


def days_actual(d1: date, d2: date) -> int:
    """Actual calendar days from d1 to d2."""
    return (d2 - d1).days


def _actual_actual(d1: date, d2: date) -> float:
    """Actual/actual (ISDA): days in each calendar year over that year's length."""
    if d2 < d1:
        return -_actual_actual(d2, d1)
    if d1.year == d2.year:
        return (d2 - d1).days / (366 if calendar.isleap(d1.year) else 365)
    frac = (date(d1.year + 1, 1, 1) - d1).days / (366 if calendar.isleap(d1.year) else 365)
    frac += d2.year - d1.year - 1
    frac += (d2 - date(d2.year, 1, 1)).days / (366 if calendar.isleap(d2.year) else 365)
    return frac


def _norm_basis(basis: str) -> str:
    b = str(basis).lower().replace(" ", "").replace("act/", "actual/").replace("_", "/")
    aliases = {"30/360us": "30/360", "30u/360": "30/360", "bond": "30/360",
               "actual/actualisda": "actual/actual", "actual/365fixed": "actual/365",
               "actual/365f": "actual/365"}
    b = aliases.get(b, b)
    if b not in BASES:
        raise ValueError(f"unknown day-count basis {basis!r}; expected one of {BASES}")
    return b


def year_frac(d1: date, d2: date, basis: str = "30/360") -> float:
    """Year fraction from d1 to d2 in `basis`: '30/360', 'actual/360', 'actual/365', 'actual/actual'."""
    b = _norm_basis(basis)
    if b == "30/360":
        return days_30_360(d1, d2) / 360.0
    if b == "actual/360":
        return days_actual(d1, d2) / 360.0
    if b == "actual/365":
        return days_actual(d1, d2) / 365.0
    return _actual_actual(d1, d2)


def months_30_360(settle: date, dates: Iterable[date]) -> list[float]:
    """Time of each date from `settle` in 30/360 months (days_30_360 / 30)."""
    return [days_30_360(settle, d) / 30.0 for d in dates]


def years_30_360(settle: date, dates: Iterable[date]) -> list[float]:
    """Time of each date from `settle` in 30/360 years (days_30_360 / 360)."""
    return [days_30_360(settle, d) / 360.0 for d in dates]


def accrual_days(settle: date, dates: Iterable[date], basis: str = "actual") -> list[int]:
    """Days of each accrual period: settle -> dates[0], dates[0] -> dates[1], ...

    `basis` is 'actual' (actual days, for actual/360 floaters) or '30/360'.
    """
    b = str(basis).lower().replace(" ", "")
    f = days_30_360 if b in ("30/360", "30") else days_actual
    out, prev = [], settle
    for d in dates:
        out.append(f(prev, d))
        prev = d
    return out


# --------------------------------------------------------------------------------------------
# Parsing and labels
# --------------------------------------------------------------------------------------------

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def parse_date(value) -> date:
    """A date from a date/datetime or a string: '2004-04-30', '20040430', '4/30/2004',
    '04/30/04', '30-Apr-2004', 'Apr 30, 2004', 'April 30, 2004'."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", s)
    if m:
        y = int(m[3])
        if len(m[3]) == 2:
            y += 2000 if y < 70 else 1900
        return date(y, int(m[1]), int(m[2]))
    m = re.fullmatch(r"(\d{1,2})[- ]([A-Za-z]{3,9})[- ](\d{4})", s)
    if m and m[2][:3].lower() in _MONTHS:
        return date(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
    m = re.fullmatch(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})", s)
    if m and m[1][:3].lower() in _MONTHS:
        return date(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
    raise ValueError(f"cannot parse date {value!r}")


def month_label(d: date) -> str:
    """Term-sheet month label: date(2004, 5, 25) -> 'May-04'."""
    return f"{calendar.month_abbr[d.month]}-{d.year % 100:02d}"
