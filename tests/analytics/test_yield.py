"""Cash-flow yield / BEY / price: hand calculations, invariants and batch independence."""
import numpy as np
import pytest

from interpreter.analytics import (
    accrued, bey_from_mortgage, bond_equivalent_yield, cashflow_yield, mortgage_from_bey,
    price_from_mortgage_yield, price_from_yield,
)


def annuity(c: float, n: int) -> np.ndarray:
    """Level monthly payment of a unit loan at annual coupon c (per unit of face)."""
    r = c / 12
    return np.full(n, r / (1 - (1 + r) ** -n))


@pytest.mark.parametrize("c,n", [(0.06, 360), (0.03108, 240), (0.0525, 12), (0.11, 1)])
def test_level_annuity_at_par(c, n):
    cf = annuity(c, n)
    months = np.arange(1, n + 1)          # settled on a payment date, no delay
    y = cashflow_yield(cf, months, 1.0)
    assert y.shape == (1,)
    assert y[0] == pytest.approx(c, abs=1e-12)
    # BEY by hand: 2((1 + c/12)^6 - 1)
    assert bond_equivalent_yield(cf, months, 1.0)[0] == pytest.approx(
        2 * ((1 + c / 12) ** 6 - 1), abs=1e-12)


def test_bey_hand_values_and_inverse():
    # 6% mortgage yield: (1.005)^6 = 1.030377509..., BEY = 0.060755019
    assert bey_from_mortgage(0.06) == pytest.approx(2 * (1.005 ** 6 - 1), abs=1e-15)
    assert float(bey_from_mortgage(0.06)) == pytest.approx(0.0607550188, abs=1e-10)
    ys = np.linspace(-0.05, 0.25, 31)
    np.testing.assert_allclose(mortgage_from_bey(bey_from_mortgage(ys)), ys, atol=1e-15)


def test_single_flow_closed_form():
    # one flow CF at m months for price P: y = 12((CF/P)^(1/m) - 1)
    cf = np.array([[0.0, 0.0, 1.05]])
    months = np.array([25 / 30, 1 + 25 / 30, 2 + 25 / 30])
    y = cashflow_yield(cf, months, 0.99)
    assert y[0] == pytest.approx(12 * ((1.05 / 0.99) ** (1 / (2 + 25 / 30)) - 1), abs=1e-13)


def test_negative_yield_and_premium():
    cf = annuity(0.05, 60)
    m = np.arange(1, 61)
    for p in (1.2, 1.0, 0.8):
        y = cashflow_yield(cf, m, p)
        np.testing.assert_allclose(price_from_mortgage_yield(cf, m, y), [p], atol=1e-12)
    assert cashflow_yield(cf, m, 1.2)[0] < 0 < cashflow_yield(cf, m, 0.8)[0]


def test_price_yield_round_trip():
    rng = np.random.default_rng(7)
    S, T = 50, 120
    cf = rng.uniform(0, 0.02, (S, T))
    cf[:, -1] += 1.0
    cf[rng.uniform(size=(S, T)) < 0.2] = 0.0          # holes
    months = np.arange(T) + 25 / 30
    price = rng.uniform(0.85, 1.15, S)
    bey = bond_equivalent_yield(cf, months, price)
    np.testing.assert_allclose(price_from_yield(cf, months, bey), price, rtol=0, atol=1e-10)
    y = cashflow_yield(cf, months, price)
    np.testing.assert_allclose(price_from_mortgage_yield(cf, months, y), price, atol=1e-12)


def test_batch_equals_single_and_nan_rows():
    rng = np.random.default_rng(11)
    S, T = 9, 200
    cf = np.zeros((S, T))
    for s in range(S - 1):
        n = rng.integers(1, T + 1)
        cf[s, :n] = annuity(rng.uniform(0.01, 0.12), n)
    cf[S - 1] = 0.0                                    # no cashflow -> NaN
    months = np.tile(np.arange(T) + 25 / 30, (S, 1))
    months[3] += 0.5                                   # (S, T) times differ per scenario
    price = rng.uniform(0.9, 1.1, S)
    batch = cashflow_yield(cf, months, price)
    assert np.isnan(batch[-1]) and np.isfinite(batch[:-1]).all()
    for s in range(S):
        single = cashflow_yield(cf[s], months[s], price[s])
        assert np.array_equal(single, batch[s:s + 1], equal_nan=True)
    # order of scenarios does not matter either
    perm = rng.permutation(S)
    assert np.array_equal(cashflow_yield(cf[perm], months[perm], price[perm]), batch[perm],
                          equal_nan=True)
    # shared (T,) times give the same answer as tiled (S, T) times
    shared = cashflow_yield(cf, np.arange(T) + 25 / 30, price)
    same = np.arange(S) != 3
    assert np.array_equal(shared[same], batch[same], equal_nan=True)


def test_accrued():
    # 3.108% from April 1 to the April 30 settlement: 29 days of 30/360
    assert accrued(0.03108, 29) == pytest.approx(0.03108 * 29 / 360, abs=1e-18)
    assert float(accrued(0.03108, 29)) == pytest.approx(0.0025037, abs=1e-7)
    np.testing.assert_allclose(accrued(np.array([0.05, 0.06]), 30), [0.05 / 12, 0.005])


try:
    from hypothesis import given, settings, strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    @settings(max_examples=60, deadline=None)
    @given(
        n=st.integers(1, 120),
        coupon=st.floats(0.0, 0.15),
        price=st.floats(0.6, 1.4),
        first=st.floats(0.5, 1.0),         # first flow 15 to 30 days out
        seed=st.integers(0, 2 ** 31 - 1),
    )
    def test_property_round_trip_and_batch_independence(n, coupon, price, first, seed):
        rng = np.random.default_rng(seed)
        prin = rng.dirichlet(np.ones(n))
        bal = 1.0 - np.concatenate([[0.0], np.cumsum(prin)[:-1]])
        cf = bal * coupon / 12 + prin
        months = np.arange(n) + first
        y = cashflow_yield(cf, months, price)
        assert np.isfinite(y).all()
        np.testing.assert_allclose(price_from_mortgage_yield(cf, months, y), [price], rtol=1e-11)
        other = np.stack([cf, cf * 0.5, np.zeros(n)])
        batch = cashflow_yield(other, months, [price, price, price])
        assert np.array_equal(batch[:1], y) and np.isnan(batch[2])
