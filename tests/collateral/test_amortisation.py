"""Level payment, month-1 split, IO and balloon schedules, worked by hand."""

import numpy as np
import pytest

from interpreter.collateral import Curve, Line

from .helpers import assert_conserves, balance_after, level_payment, run, smm


def test_level_payment_textbook_value():
    # $100,000 at 6% over 360 months: the textbook payment is $599.55
    ln = Line("g", 100_000.0, 0.06, 0.0, 360)
    f = run([ln], 1)
    payment = f.interest[0, 0] + f.scheduled_principal[0, 0]
    assert payment == pytest.approx(599.55, abs=0.005)
    assert f.interest[0, 0] == pytest.approx(500.00, abs=1e-9)  # 100,000 x 0.5%
    assert f.scheduled_principal[0, 0] == pytest.approx(99.55, abs=0.005)


def test_month1_split_with_cpr_reference_group1():
    # Reference deal Group 1 line: $300,000,000, 6.25% gross, 0.259% fee, 353 months left.
    # Hand calculation at a flat 10% CPR:
    B, rate, fee, n = 300_000_000.0, 0.0625, 0.00259, 353
    r = rate / 12  # 0.005208333...
    P = B * r / (1 - (1 + r) ** -n)  # level payment
    interest = B * r  # 1,562,500.00
    sched = P - interest
    s = 1 - 0.90 ** (1 / 12)  # SMM at 10% CPR = 0.0087422...
    prepay = s * (B - sched)
    assert interest == pytest.approx(1_562_500.0)
    assert s == pytest.approx(0.00874161, abs=1e-8)
    ln = Line("1", B, rate, fee, n, age=6)
    f = run([ln], 2, prepay=Curve("CPR", 0.10))
    assert f.interest[0, 0] == pytest.approx(interest, rel=1e-13)
    assert f.fee[0, 0] == pytest.approx(B * fee / 12, rel=1e-13)  # 64,750.00
    assert f.fee[0, 0] == pytest.approx(64_750.0, rel=1e-13)
    assert f.net_interest[0, 0] == pytest.approx(B * (rate - fee) / 12, rel=1e-13)
    assert f.scheduled_principal[0, 0] == pytest.approx(sched, rel=1e-10)
    assert f.prepayment[0, 0] == pytest.approx(prepay, rel=1e-10)
    assert f.end_balance[0, 0] == pytest.approx(B - sched - prepay, rel=1e-13)
    assert f.gross_wac[0, 0] == pytest.approx(0.0625)
    assert f.net_wac[0, 0] == pytest.approx(0.05991)
    # month 2: the payment re-computed on 352 months from the surviving balance
    B2 = B - sched - prepay
    sched2 = level_payment(B2, rate, 352) - B2 * r
    assert f.scheduled_principal[0, 1] == pytest.approx(sched2, rel=1e-10)
    assert f.prepayment[0, 1] == pytest.approx(s * (B2 - sched2), rel=1e-10)


def test_full_amortisation_no_prepay():
    ln = Line("g", 250_000.0, 0.045, 0.0, 120, age=12)
    f = run([ln], 130)
    assert_conserves(f)
    # balance after k payments matches the closed form
    for k in (1, 37, 119):
        assert f.end_balance[0, k - 1] == pytest.approx(balance_after(250_000.0, 0.045, 120, k), rel=1e-10)
    assert f.end_balance[0, 119] == 0.0
    assert np.all(f.begin_balance[0, 120:] == 0)
    assert f.scheduled_principal.sum() == pytest.approx(250_000.0, rel=1e-12)
    # each payment (interest + principal) is level
    pay = (f.interest + f.scheduled_principal)[0, :120]
    np.testing.assert_allclose(pay, level_payment(250_000.0, 0.045, 120), rtol=1e-10)
    # WAC is 0 once the balance is gone
    assert np.all(f.gross_wac[0, 120:] == 0)


def test_zero_rate_line_pays_straight_line():
    ln = Line("g", 1200.0, 0.0, 0.0, 12)
    f = run([ln], 12)
    np.testing.assert_allclose(f.scheduled_principal[0], 100.0, rtol=1e-13)
    assert f.end_balance[0, -1] == pytest.approx(0.0, abs=1e-12)


def test_io_line_new_loan():
    # 60 IO months from origination: payments 1..60 interest only, then 300-month amortisation
    B, rate = 100_000.0, 0.06
    ln = Line("g", B, rate, 0.0, 360, io_months=60)
    f = run([ln], 62)
    assert np.all(f.scheduled_principal[0, :60] == 0.0)
    np.testing.assert_allclose(f.interest[0, :60], 500.0, rtol=1e-13)
    P = level_payment(B, rate, 300)  # = 644.30
    assert P == pytest.approx(644.30, abs=0.005)
    assert f.scheduled_principal[0, 60] == pytest.approx(P - 500.0, rel=1e-10)
    assert f.interest[0, 61] + f.scheduled_principal[0, 61] == pytest.approx(P, rel=1e-10)


def test_io_line_seasoned_with_prepayment():
    # Age 58, 60 IO months: periods 1-2 are interest only (payments 59 and 60); period 3
    # (payment 61) amortises the surviving balance over remaining_term - 2 = 300 months.
    B, rate, n = 100_000.0, 0.05, 302
    ln = Line("g", B, rate, 0.0, n, age=58, io_months=60)
    f = run([ln], 3, prepay=Curve("CPR", 0.12))
    s = smm(0.12)
    assert f.scheduled_principal[0, 0] == 0.0
    assert f.scheduled_principal[0, 1] == 0.0
    assert f.prepayment[0, 0] == pytest.approx(B * s, rel=1e-12)
    B3 = B * (1 - s) ** 2
    assert f.begin_balance[0, 2] == pytest.approx(B3, rel=1e-12)
    sched3 = level_payment(B3, rate, n - 2) - B3 * rate / 12
    assert f.scheduled_principal[0, 2] == pytest.approx(sched3, rel=1e-10)


def test_balloon_pays_balance_at_term():
    # 7-year balloon on a 30-year amortisation: level 30-year payment, whole balance at month 84
    B, rate = 500_000.0, 0.07
    ln = Line("g", B, rate, 0.0, 84, amort_term=360)
    f = run([ln], 90)
    assert_conserves(f)
    P = level_payment(B, rate, 360)
    assert f.interest[0, 0] + f.scheduled_principal[0, 0] == pytest.approx(P, rel=1e-10)
    b83 = balance_after(B, rate, 360, 83)
    assert f.begin_balance[0, 83] == pytest.approx(b83, rel=1e-10)
    assert f.scheduled_principal[0, 83] == pytest.approx(b83, rel=1e-10)
    assert f.end_balance[0, 83] == 0.0
    assert np.all(f.begin_balance[0, 84:] == 0.0)


def test_seasoned_balloon():
    # balloon with 24 months left, 300 months of amortisation left
    B, rate = 80_000.0, 0.065
    ln = Line("g", B, rate, 0.0, 24, age=36, amort_term=300)
    f = run([ln], 24)
    assert f.scheduled_principal[0, 0] == pytest.approx(level_payment(B, rate, 300) - B * rate / 12, rel=1e-10)
    assert f.scheduled_principal[0, 23] == pytest.approx(balance_after(B, rate, 300, 23), rel=1e-10)
    assert f.end_balance[0, 23] == 0.0


def test_line_validation():
    with pytest.raises(ValueError):
        Line("g", -1.0, 0.05, 0.0, 10)
    with pytest.raises(ValueError):
        Line("g", 1.0, 0.05, 0.0, 0)
    with pytest.raises(ValueError):
        Line("g", 1.0, 0.05, 0.0, 100, amort_term=50)
    with pytest.raises(ValueError):
        Line("", 1.0, 0.05, 0.0, 100)
