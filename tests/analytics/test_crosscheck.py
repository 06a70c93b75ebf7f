"""Yield and duration cross-checked against independent scalar implementations:
plain-Python bisection + finite differences, scipy.optimize.brentq, and QuantLib."""
from datetime import date

import numpy as np
import pytest

from interpreter.analytics import (
    accrued, bond_equivalent_yield, cashflow_yield, macaulay_duration, modified_duration,
    periodic_yield, yield_and_duration,
)
from interpreter.dates import accrual_days, days_30_360, distribution_dates

SETTLE = date(2004, 4, 30)
DATES = distribution_dates(date(2004, 5, 1), 84, 25, "following")


def stream(coupon=0.0525, n=84, amort=0.012):
    """Amortising fixed-rate flows per unit face: 30/360 coupon on the opening balance,
    principal `amort` a month, the rest at the end."""
    bal, flows = 1.0, []
    for k in range(n):
        p = bal if k == n - 1 else min(bal, amort)
        flows.append(bal * coupon / 12 + p)
        bal -= p
    return np.array(flows)


CF = stream()
YEARS = np.array([days_30_360(SETTLE, d) / 360 for d in DATES])   # 30/360 years (rolled dates)
FULL = 0.995 + float(accrued(0.0525, 29))


def pv_semiannual(y, cf=CF, t=YEARS):
    return sum(c * (1 + y / 2) ** (-2 * tt) for c, tt in zip(cf, t))


def bisect(f, lo, hi, tol=1e-15):
    flo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)


def test_against_plain_python_bisection_and_finite_difference():
    y_ref = bisect(lambda y: pv_semiannual(y) - FULL, -0.5, 1.0)
    h = 1e-5
    mdur_ref = -(pv_semiannual(y_ref + h) - pv_semiannual(y_ref - h)) / (2 * h) / FULL
    res = yield_and_duration(CF, YEARS, FULL)
    assert res.yld[0] == pytest.approx(y_ref, abs=1e-12)
    assert res.modified[0] == pytest.approx(mdur_ref, abs=1e-8)
    assert res.macaulay[0] == pytest.approx(mdur_ref * (1 + y_ref / 2), abs=1e-8)
    # the BEY of the monthly cash-flow yield on 30/360 months is the same semi-annual yield
    assert bond_equivalent_yield(CF, YEARS * 12, FULL)[0] == pytest.approx(y_ref, abs=1e-12)


def test_macaulay_hand_bullet():
    # a zero-coupon bullet at t years: Macaulay = t, modified = t / (1 + y/2)
    t = np.array([0.5, 1.0, 3.25])
    cf = np.array([0.0, 0.0, 1.0])
    y = 0.04
    assert macaulay_duration(cf, t, y)[0] == pytest.approx(3.25, abs=1e-14)
    assert modified_duration(cf, t, y)[0] == pytest.approx(3.25 / 1.02, abs=1e-14)
    price = 1.0 / 1.02 ** 6.5
    assert periodic_yield(cf, t, price)[0] == pytest.approx(0.04, abs=1e-13)


def test_against_scipy_brentq():
    so = pytest.importorskip("scipy.optimize")
    # monthly cash-flow yield on 30/360 months
    months = YEARS * 12
    y_ref = so.brentq(lambda y: sum(c * (1 + y / 12) ** (-m) for c, m in zip(CF, months)) - FULL,
                      -0.5, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    assert cashflow_yield(CF, months, FULL)[0] == pytest.approx(y_ref, abs=1e-12)
    y2 = so.brentq(lambda y: pv_semiannual(y) - FULL, -0.5, 1.0, xtol=1e-15)
    res = yield_and_duration(CF, YEARS, FULL)
    assert res.yld[0] == pytest.approx(y2, abs=1e-12)
    mdur = sum(t * c * (1 + y2 / 2) ** (-2 * t - 1) for c, t in zip(CF, YEARS)) / FULL
    assert res.modified[0] == pytest.approx(mdur, abs=1e-8)


def _ql_leg(ql, cf):
    return [ql.SimpleCashFlow(float(c), ql.Date(d.day, d.month, d.year)) for c, d in zip(cf, DATES)]


def test_against_quantlib_30_360():
    ql = pytest.importorskip("QuantLib")
    settle = ql.Date(SETTLE.day, SETTLE.month, SETTLE.year)
    ql.Settings.instance().evaluationDate = settle
    leg = _ql_leg(ql, CF)
    dc = ql.Thirty360(ql.Thirty360.BondBasis)
    y = ql.CashFlows.yieldRate(leg, FULL, dc, ql.Compounded, ql.Semiannual, False, settle, settle,
                               1e-15, 1000, 0.05)
    rate = ql.InterestRate(y, dc, ql.Compounded, ql.Semiannual)
    mdur = ql.CashFlows.duration(leg, rate, ql.Duration.Modified, False, settle)
    mac = ql.CashFlows.duration(leg, rate, ql.Duration.Macaulay, False, settle)
    res = yield_and_duration(CF, YEARS, FULL)
    assert res.yld[0] == pytest.approx(y, abs=1e-8)
    assert res.modified[0] == pytest.approx(mdur, abs=1e-8)
    assert res.macaulay[0] == pytest.approx(mac, abs=1e-8)
    assert bond_equivalent_yield(CF, YEARS * 12, FULL)[0] == pytest.approx(y, abs=1e-8)


def test_against_quantlib_actual_360_floater_times():
    ql = pytest.importorskip("QuantLib")
    settle = ql.Date(SETTLE.day, SETTLE.month, SETTLE.year)
    ql.Settings.instance().evaluationDate = settle
    days = np.array(accrual_days(SETTLE, DATES), dtype=float)
    cf = 0.0126 * days / 360
    cf[-1] += 1.0
    years = np.cumsum(days) / 360
    leg = _ql_leg(ql, cf)
    dc = ql.Actual360()
    y = ql.CashFlows.yieldRate(leg, 1.0, dc, ql.Compounded, ql.Semiannual, False, settle, settle,
                               1e-15, 1000, 0.05)
    rate = ql.InterestRate(y, dc, ql.Compounded, ql.Semiannual)
    mdur = ql.CashFlows.duration(leg, rate, ql.Duration.Modified, False, settle)
    res = yield_and_duration(cf, years, 1.0)
    assert res.yld[0] == pytest.approx(y, abs=1e-8)
    assert res.modified[0] == pytest.approx(mdur, abs=1e-8)
