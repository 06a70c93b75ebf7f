"""Calendar and day-count tests: every expected value is a hand-checked calendar fact."""
from datetime import date

import pytest

from interpreter.dates import (
    accrual_days, add_months, days_30_360, days_actual, distribution_dates, is_business_day,
    month_label, months_30_360, parse_date, roll, us_federal_holidays, year_frac,
)


def test_holidays_2004_observed():
    h = us_federal_holidays(2004)
    assert date(2004, 5, 31) in h          # Memorial Day, last Monday of May
    assert date(2004, 7, 5) in h           # July 4 was a Sunday -> Monday
    assert date(2004, 7, 4) not in h
    assert date(2004, 12, 24) in h         # Christmas on Saturday -> Friday
    assert date(2004, 12, 31) in h         # New Year 2005 on Saturday -> Fri Dec 31, 2004
    assert date(2004, 1, 19) in h          # MLK, 3rd Monday of January
    assert date(2004, 2, 16) in h          # Presidents Day, 3rd Monday of February
    assert date(2004, 9, 6) in h           # Labor Day
    assert date(2004, 10, 11) in h         # Columbus Day, 2nd Monday of October
    assert date(2004, 11, 11) in h         # Veterans Day (Thursday)
    assert date(2004, 11, 25) in h         # Thanksgiving, 4th Thursday
    assert len(h) == 11                    # Jan 1 2004 + the ten above (no Juneteenth yet)


def test_holidays_rules_by_year():
    assert date(2021, 6, 18) in us_federal_holidays(2021)   # Juneteenth on Saturday -> Friday
    assert date(2022, 6, 20) in us_federal_holidays(2022)   # on Sunday -> Monday
    assert not any(d.month == 6 for d in us_federal_holidays(2020))
    assert not any(d.month == 1 and d.day > 1 for d in us_federal_holidays(1985))  # no MLK yet
    assert date(1986, 1, 20) in us_federal_holidays(1986)
    assert date(2005, 1, 1) not in us_federal_holidays(2005)  # observed in 2004 instead
    assert date(2005, 12, 26) in us_federal_holidays(2005)   # Christmas on Sunday -> Monday
    assert date(2023, 11, 10) in us_federal_holidays(2023)   # Veterans Day Saturday -> Friday


def test_business_days_and_roll():
    assert not is_business_day(date(2004, 7, 25))           # Sunday
    assert not is_business_day(date(2004, 5, 31))           # Memorial Day
    assert is_business_day(date(2004, 5, 25))
    assert roll(date(2004, 7, 25), "following") == date(2004, 7, 26)
    assert roll(date(2004, 7, 25), "preceding") == date(2004, 7, 23)
    assert roll(date(2004, 7, 25), "none") == date(2004, 7, 25)
    # July 3-5 2004: Sat, Sun, observed holiday -> following is Tuesday the 6th
    assert roll(date(2004, 7, 3), "following") == date(2004, 7, 6)
    # Sat Jul 31 2004: following crosses into August, modified following goes back to Fri 30th
    assert roll(date(2004, 7, 31), "modified following") == date(2004, 7, 30)
    assert roll(date(2004, 7, 31), "following") == date(2004, 8, 2)
    # Fri Dec 31 2004 is a holiday (observed New Year): preceding lands on Thu Dec 30
    assert roll(date(2005, 1, 1), "preceding") == date(2004, 12, 30)
    with pytest.raises(ValueError):
        roll(date(2004, 7, 25), "sideways")


def test_distribution_dates_25th_following():
    got = distribution_dates(date(2004, 5, 1), 8, 25, "following")
    assert got == [
        date(2004, 5, 25), date(2004, 6, 25),
        date(2004, 7, 26),                                   # Jul 25 is a Sunday
        date(2004, 8, 25),
        date(2004, 9, 27),                                   # Sat 25 -> Mon 27
        date(2004, 10, 25),
        date(2004, 11, 26),                                  # Thanksgiving Thu 25 -> Fri 26
        date(2004, 12, 27),                                  # Christmas observed Fri 24; Sat 25
    ]
    assert distribution_dates(date(2004, 5, 17), 1, 25, "none") == [date(2004, 5, 25)]


def test_distribution_dates_clip_to_month_end():
    got = distribution_dates(date(2004, 1, 10), 3, 31, "none")
    assert got == [date(2004, 1, 31), date(2004, 2, 29), date(2004, 3, 31)]
    # Apr 30 2005 is a Saturday: modified following stays in April
    assert distribution_dates(date(2005, 4, 1), 1, 31, "modified following") == [date(2005, 4, 29)]


def test_add_months():
    assert add_months(date(2004, 1, 31), 1) == date(2004, 2, 29)
    assert add_months(date(2004, 3, 31), -1) == date(2004, 2, 29)
    assert add_months(date(2004, 4, 30), 12) == date(2005, 4, 30)
    assert add_months(date(2004, 11, 15), 3) == date(2005, 2, 15)
    assert add_months(date(2004, 5, 25), 240) == date(2024, 5, 25)


def test_days_30_360():
    assert days_30_360(date(2004, 4, 1), date(2004, 4, 30)) == 29   # 1-A fixed accrued
    assert days_30_360(date(2004, 4, 30), date(2004, 5, 25)) == 25   # first flow 25/30
    assert days_30_360(date(2004, 1, 31), date(2004, 3, 31)) == 60   # D1 31->30, then D2 ->30
    assert days_30_360(date(2004, 1, 15), date(2004, 3, 31)) == 76   # D2 stays 31: 60 + 16
    assert days_30_360(date(2004, 2, 29), date(2004, 3, 31)) == 32   # bond basis: no Feb EOM rule
    assert days_30_360(date(2004, 4, 30), date(2005, 4, 30)) == 360
    assert days_30_360(date(2004, 4, 30), date(2004, 7, 26)) == 86


def test_actual_and_year_frac():
    assert days_actual(date(2004, 4, 30), date(2004, 5, 25)) == 25
    assert days_actual(date(2004, 5, 25), date(2004, 6, 25)) == 31
    assert year_frac(date(2004, 4, 1), date(2004, 4, 30), "30/360") == 29 / 360
    assert year_frac(date(2004, 5, 25), date(2004, 6, 25), "actual/360") == 31 / 360
    assert year_frac(date(2004, 5, 25), date(2004, 6, 25), "actual/365") == 31 / 365
    # actual/actual ISDA: 2004 is a leap year; Dec 1 2004 -> Feb 1 2005 = 31/366 + 31/365
    assert year_frac(date(2004, 12, 1), date(2005, 2, 1), "actual/actual") == pytest.approx(
        31 / 366 + 31 / 365, abs=1e-15)
    assert year_frac(date(2004, 1, 1), date(2006, 1, 1), "actual/actual") == pytest.approx(2.0)
    assert year_frac(date(2004, 1, 1), date(2004, 7, 1), "act/360") == 182 / 360


def test_schedule_helpers():
    dates = distribution_dates(date(2004, 5, 1), 3, 25, "following")
    assert months_30_360(date(2004, 4, 30), dates) == [25 / 30, 55 / 30, 86 / 30]
    assert accrual_days(date(2004, 4, 30), dates) == [25, 31, 31]
    assert accrual_days(date(2004, 4, 30), dates, "30/360") == [25, 30, 31]


def test_parse_and_label():
    for s in ("2004-04-30", "20040430", "4/30/2004", "04/30/04", "30-Apr-2004", "Apr 30, 2004",
              "April 30, 2004", date(2004, 4, 30)):
        assert parse_date(s) == date(2004, 4, 30)
    with pytest.raises(ValueError):
        parse_date("30.04.2004x")
    assert month_label(date(2004, 5, 25)) == "May-04"
    assert month_label(date(2024, 4, 25)) == "Apr-24"
    assert month_label(date(2005, 9, 26)) == "Sep-05"
