"""Page-11 sanity on 1-A-2-like and 1-A-1-like bonds built by hand (not the deal).

1-A-2: 3.108% fixed, priced 100-00 plus 29 days of 30/360 accrued (April 1 -> April 30, 2004
settlement), monthly interest on the opening balance paid on the 25th (first flow 25/30 of a
month after settlement). Page 11 prints, e.g. at 150% PPC: yield 2.96, WAL 1.30, MDUR 1.25,
window Jul-05 .. Sep-05; at 0%: yield 3.11, WAL 20.67, MDUR 15.04, window Apr-24 .. Sep-25.
Our principal profiles are made-up shapes with that window and about that WAL, so only loose
agreement is expected (the yield drop at short WALs is the cost of the 24-day payment delay).
"""
from datetime import date

import numpy as np
import pytest

from interpreter.analytics import (
    accrued, bond_equivalent_yield, discount_margin, parse_price, principal_window, wal,
    yield_and_duration,
)
from interpreter.dates import accrual_days, distribution_dates, month_label

SETTLE = date(2004, 4, 30)
C = 0.03108


def fixed_class(T, principal):
    bal, cf, prin = 1.0, np.zeros(T), np.zeros(T)
    for k in range(T):
        p = principal.get(k, 0.0)
        cf[k] = bal * C / 12 + p
        prin[k] = p
        bal -= p
    return cf, prin


def test_accrued_and_full_price():
    full = parse_price("100-00") / 100 + float(accrued(C, 29))
    assert full == pytest.approx(1.0025036667, abs=1e-10)


@pytest.mark.parametrize("T,principal,y_page,wal_page,mdur_page,window", [
    (17, {14: 0.45, 15: 0.35, 16: 0.20}, 2.96, 1.30, 1.25, ("Jul-05", "Sep-05")),
    (257, {k: 1 / 18 for k in range(239, 257)}, 3.11, 20.67, 15.04, ("Apr-24", "Sep-25")),
])
def test_1a2_like(T, principal, y_page, wal_page, mdur_page, window):
    cf, prin = fixed_class(T, principal)
    months = np.arange(T) + 25 / 30
    full = 1.0 + float(accrued(C, 29))
    bey = bond_equivalent_yield(cf, months, full)[0]
    res = yield_and_duration(cf, months / 12, full)
    assert res.yld[0] == pytest.approx(bey, abs=1e-13)        # BEY == semi-annual on 30/360
    assert round(100 * bey, 2) == pytest.approx(y_page, abs=0.011)
    assert wal(prin, months / 12)[0] == pytest.approx(wal_page, abs=0.03)
    assert res.modified[0] == pytest.approx(mdur_page, abs=0.03)
    dates = distribution_dates(date(2004, 5, 1), T, 25, "following")
    first, last = principal_window(prin)
    assert (month_label(dates[first[0]]), month_label(dates[last[0]])) == window


def test_1a1_like_floater_dm_16():
    # 1M LIBOR 1.10% + 0.16%, actual/360, settles flat at 100-00, bullet in Feb-06 or amortising
    T = 23
    dates = distribution_dates(date(2004, 5, 1), T, 25, "following")
    days = np.array(accrual_days(SETTLE, dates), dtype=float)
    idx = np.full((2, T), 0.011)
    bal = np.ones((2, T))
    bal[1] = np.linspace(1.0, 1.0 / T, T)              # straight-line amortisation
    prin = np.zeros((2, T))
    prin[0, -1] = 1.0
    prin[1] = 1.0 / T
    cf = bal * (idx + 0.0016) * days / 360 + prin
    dm = discount_margin(cf, idx, days, parse_price("100-00") / 100)
    np.testing.assert_allclose(dm * 1e4, [16.0, 16.0], atol=1e-6)
    res = yield_and_duration(cf, np.cumsum(days) / 360, 1.0)
    # floater MDUR on the flat index path is just under its WAL-ish life (page: 0.90 / 0.90)
    assert np.all(res.modified < np.array([days.sum() / 360, wal(prin[1], np.cumsum(days) / 360)[0]]))
