"""Discount margin: DM = margin for an uncapped par floater, closed forms, inverse."""
from datetime import date

import numpy as np
import pytest

from interpreter.analytics import discount_margin, price_from_dm
from interpreter.dates import accrual_days, distribution_dates


def floater(index: np.ndarray, days: np.ndarray, margin: float, bullet_at: int | None = None):
    """Coupon (index + margin) x days/360 on unit face, bullet repayment at `bullet_at`."""
    T = index.shape[-1]
    k = T - 1 if bullet_at is None else bullet_at
    cf = (index + margin) * days / 360.0
    cf = np.where(np.arange(T) <= k, cf, 0.0)
    cf[..., k] += 1.0
    return cf


SETTLE = date(2004, 4, 30)
DATES = distribution_dates(date(2004, 5, 1), 60, 25, "following")
DAYS = np.array(accrual_days(SETTLE, DATES), dtype=float)     # actual days, first = 25


def test_dm_equals_margin_flat_index():
    idx = np.full((1, 60), 0.011)                   # 1M LIBOR 1.10% flat
    cf = floater(idx, DAYS, 0.0016)
    dm = discount_margin(cf, idx, DAYS, 1.0)
    assert dm[0] == pytest.approx(0.0016, abs=1e-9)


def test_dm_equals_margin_batch_varying_paths():
    rng = np.random.default_rng(3)
    S, T = 12, 60
    idx = 0.011 + np.cumsum(rng.normal(0, 0.001, (S, T)), axis=1)
    margins = rng.uniform(0.0, 0.03, S)
    bullet = rng.integers(0, T, S)
    cf = np.stack([floater(idx[s], DAYS, margins[s], bullet[s]) for s in range(S)])
    dm = discount_margin(cf, idx, DAYS, np.ones(S))
    np.testing.assert_allclose(dm, margins, rtol=0, atol=1e-9)
    for s in range(S):                              # per-scenario result independent of batch
        assert np.array_equal(discount_margin(cf[s], idx[s], DAYS, 1.0), dm[s:s + 1])


def test_dm_single_period_closed_form():
    # one period: P = CF / (1 + (i + dm) a)  =>  dm = (CF/P - 1)/a - i
    i, a, cf, p = 0.011, 25 / 360, 1.002, 0.998
    dm = discount_margin([[cf]], [[i]], [25.0], p)
    assert dm[0] == pytest.approx((cf / p - 1) / a - i, abs=1e-12)


def test_dm_two_periods_hand():
    # two periods of 30 days at 2% index, flows 0.01 and 1.01, price 1.0:
    # 1 = 0.01 v + 1.01 v^2 with v = 1/(1 + (0.02 + dm)/12)  =>  v = (-0.01 + sqrt(0.0001 + 4.04))/2.02
    v = (-0.01 + np.sqrt(0.01 ** 2 + 4 * 1.01)) / (2 * 1.01)
    expect = (1 / v - 1) * 12 - 0.02
    dm = discount_margin([[0.01, 1.01]], [[0.02, 0.02]], [30, 30], 1.0)
    assert dm[0] == pytest.approx(expect, abs=1e-12)


def test_price_from_dm_inverse_and_discount():
    rng = np.random.default_rng(5)
    S, T = 20, 60
    idx = np.full((S, T), 0.011)
    cf = floater(idx, DAYS, 0.0025)
    price = rng.uniform(0.95, 1.05, S)
    dm = discount_margin(cf, idx, DAYS, price)
    np.testing.assert_allclose(price_from_dm(cf, idx, DAYS, dm), price, atol=1e-12)
    # below par -> DM above the margin, above par -> below
    assert np.all((dm > 0.0025) == (price < 1.0))


def test_dm_no_cashflow_is_nan():
    idx = np.full((2, 5), 0.011)
    cf = np.zeros((2, 5))
    cf[1] = floater(idx[1], DAYS[:5], 0.006)
    dm = discount_margin(cf, idx, DAYS[:5], 1.0)
    assert np.isnan(dm[0]) and dm[1] == pytest.approx(0.006, abs=1e-9)


def test_dm_nan_padding_after_last_flow():
    # scenario 0 pays off after 3 periods; its index/days beyond are NaN padding
    idx = np.full((2, 6), 0.011)
    days = np.tile(DAYS[:6], (2, 1))
    cf = np.stack([floater(idx[0], DAYS[:6], 0.006, 2), floater(idx[1], DAYS[:6], 0.006)])
    idx[0, 3:] = np.nan
    days[0, 3:] = np.nan
    dm = discount_margin(cf, idx, days, 1.0)
    np.testing.assert_allclose(dm, [0.006, 0.006], atol=1e-9)
    np.testing.assert_allclose(price_from_dm(cf, idx, days, dm), [1.0, 1.0], atol=1e-12)
