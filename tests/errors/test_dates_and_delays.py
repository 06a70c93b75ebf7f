"""Issue 16 follow-ups A3 and A4: header dates and stated delays that disagree
are positioned errors (exit 2), never silently overridden or ignored.

The bundled sequential CMO closes 2024-01-30 with cut-off 2024-01-01 and first
distribution 2024-02-25 (distribution day 25, next business day): its first
distribution pays for January 2024, the month that starts at the cut-off.
"""
from __future__ import annotations

import pytest

from .inputs import DEAL, at, edit, refused_at, run_deal

COUPON = "coupon    5.50%"  # class A's


def with_delay(days: int, deal: str = DEAL) -> str:
    return edit(deal, COUPON, COUPON + f"\n    delay {days} days")


# ------------------------------------------------------------------ A3: delays
@pytest.mark.parametrize("days, pays", [(24, "2024-01-24"), (1, "2024-01-01"), (30, "2024-01-30")])
def test_a_delay_that_pays_within_the_accrual_month_is_refused(tmp_path, capsys, days, pays):
    # delay N counts January 1 as day 1 in 30-day months: N <= 30 pays in January itself,
    # before the month's collections are in (and, for 24 or 1, before closing on the 30th)
    deal = with_delay(days)
    err = refused_at(tmp_path, capsys, at(deal, f"delay {days} days", 6), f"so it pays on {pays}", deal=deal)
    assert "for the month of January 2024, before that month's collections are in" in err
    # what the convention's delays are: the distribution date (25th) is 'delay 55 days'; an
    # 'actual' delay of N days after the month's end is stated as N + 31
    assert "no delay line (or 'delay 55 days')" in err and f"write 'delay {days + 31} days'" in err


def test_a_delay_that_pays_on_or_before_closing_is_refused(tmp_path, capsys):
    # closing 2024-02-10, first distribution 2024-02-26 (for January): 'delay 31 days' pays February 1
    deal = DEAL.replace("2024-01-30", "2024-02-10")  # closing and settlement
    deal = with_delay(31, deal)
    refused_at(tmp_path, capsys, at(deal, "delay 31 days", 6), "so it pays on 2024-02-01 for the month of January 2024, "
               "on or before closing 2024-02-10", deal=deal)


@pytest.mark.parametrize("days", [31, 45, 55, 75])
def test_the_agencies_delays_check(tmp_path, capsys, days):
    rc, err, *_ = run_deal(tmp_path, capsys, deal=with_delay(days))
    assert rc == 0, err


# ------------------------------------------------------------------ A4: header dates
def test_a_first_distribution_off_the_distribution_day_is_refused(tmp_path, capsys):
    # the 15th of February 2024 is a Thursday: distribution day 15 would pay period 1 on 2024-02-15
    deal = edit(DEAL, "distribution day    25", "distribution day    15")
    err = refused_at(tmp_path, capsys, at(deal, "2024-02-25"), "first distribution 2024-02-25 is not a distribution "
                     "date: distribution day 15 puts February 2024's on 2024-02-15", deal=deal)
    assert "expected first distribution 2024-02-15, or 'distribution day 25'" in err


def test_the_first_distribution_may_be_written_before_or_after_the_business_day_rule(tmp_path, capsys):
    # 2024-02-25 is a Sunday: the bundled deal writes the stated day; the rolled day (Monday the 26th) is as good
    rc, err, *_ = run_deal(tmp_path, capsys, deal=edit(DEAL, "first distribution  2024-02-25",
                                                       "first distribution  2024-02-26"))
    assert rc == 0, err
    deal = edit(DEAL, "first distribution  2024-02-25", "first distribution  2024-02-27")
    refused_at(tmp_path, capsys, at(deal, "2024-02-27"), "(2024-02-26 after the business-day rule)", deal=deal)


def test_a_first_distribution_a_year_after_closing_is_refused(tmp_path, capsys):
    deal = edit(DEAL, "first distribution  2024-02-25", "first distribution  2025-02-25")
    refused_at(tmp_path, capsys, at(deal, "2025-02-25"), "first distribution 2025-02-25 is 13 months after closing "
               "2024-01-30", deal=deal)


def test_a_first_distribution_two_months_after_closing_is_the_latest(tmp_path, capsys):
    # 2024-03-25 (two months after a January closing) checks as far as the first distribution goes;
    # the cut-off (January 1) is then a month before the collections run from (February): allowed
    deal = edit(DEAL, "first distribution  2024-02-25", "first distribution  2024-03-25")
    rc, err, *_ = run_deal(tmp_path, capsys, deal=deal)
    assert rc == 0, err
    deal = edit(DEAL, "first distribution  2024-02-25", "first distribution  2024-04-25")
    refused_at(tmp_path, capsys, at(deal, "2024-04-25"), "is 3 months after closing", deal=deal)


def test_a_cut_off_a_year_before_closing_is_refused(tmp_path, capsys):
    deal = edit(DEAL, "cutoff              2024-01-01", "cutoff              2023-01-01")
    err = refused_at(tmp_path, capsys, at(deal, "2023-01-01"), "the cut-off date 2023-01-01 is 12 months before "
                     "closing 2024-01-30", deal=deal)
    assert "expected a cut-off on the first of the closing month (2024-01-01) or of the month before" in err


def test_a_cut_off_the_month_before_closing_checks(tmp_path, capsys):
    rc, err, *_ = run_deal(tmp_path, capsys, deal=edit(DEAL, "cutoff              2024-01-01",
                                                       "cutoff              2023-12-01"))
    assert rc == 0, err


@pytest.mark.parametrize("first", ["0001-01-01", "0001-01-03"])
def test_a_first_distribution_at_the_calendars_start_is_an_error_not_a_traceback(tmp_path, capsys, first):
    # the fuzz found it: the derived dates (the month before it, a holiday the year before)
    # fell off the calendar inside the date checks; the header check says what is wrong
    deal = edit(DEAL, "first distribution  2024-02-25", f"first distribution  {first}")
    refused_at(tmp_path, capsys, at(deal, first), f"first distribution {first} is not after closing 2024-01-30",
               deal=deal)
