"""WAL, principal window, 32nds quotes."""
import numpy as np
import pytest

from interpreter.analytics import format_32nds, parse_price, principal_window, wal


def test_wal_hand_example():
    # 25 at 0.5y... : (0*0.25 + 25*0.5 + 25*1.0 + 50*1.5) / 100 = (12.5 + 25 + 75) / 100 = 1.125
    p = np.array([[0.0, 25.0, 25.0, 50.0]])
    t = np.array([0.25, 0.5, 1.0, 1.5])
    assert wal(p, t)[0] == pytest.approx(1.125, abs=1e-15)


def test_wal_batch_and_no_principal():
    p = np.array([[0.0, 25.0, 25.0, 50.0], [0.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0]])
    t = np.array([[0.25, 0.5, 1.0, 1.5], [1, 2, 3, 4], [25 / 360, 1, 2, 3]])
    w = wal(p, t)
    assert w[0] == pytest.approx(1.125)
    assert np.isnan(w[1])
    assert w[2] == pytest.approx(25 / 360)
    # a (T,) time vector is shared by all scenarios
    np.testing.assert_allclose(wal(p[[0, 2]], t[0]), [1.125, 0.25])


def test_wal_of_level_annuity_closed_form():
    # principal of a level-pay loan grows geometrically: P_k = P_1 (1+r)^(k-1)
    r, n = 0.005, 360
    k = np.arange(1, n + 1)
    p = (1 + r) ** (k - 1)
    p /= p.sum()
    ref = sum(float(pk) * kk / 12 for pk, kk in zip(p, k))
    assert wal(p, k / 12)[0] == pytest.approx(ref, rel=1e-13)


def test_principal_window():
    p = np.array([
        [0.0, 0.004, 0.01, 5.0, 0.0, 0.0049],    # a payment counts from one cent, paid in whole cents
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 0.0, 2.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0066],       # $0.0066 is paid as one cent
    ])
    first, last = principal_window(p)
    assert first.tolist() == [2, -1, 0, 5]
    assert last.tolist() == [3, -1, 5, 5]
    assert first.dtype.kind == "i"
    first, last = principal_window(p, threshold=0.02)
    assert first.tolist() == [3, -1, 0, -1]


@pytest.mark.parametrize("price,text", [
    (100.0, "100-00"), (99.515625, "99-16+"), (99.5, "99-16"), (101.015625, "101-00+"),
    (99.99, "99-31+"),             # 99.99 x 64 = 6399.36 -> 6399/64 = 99-31+
    (99.9999, "100-00"),           # rounds up into the next point
    (98.03125, "98-01"), (0.0, "0-00"),
])
def test_format_32nds(price, text):
    assert format_32nds(price) == text


def test_parse_price():
    assert parse_price("99-16+") == 99.515625
    assert parse_price("100-00") == 100.0
    assert parse_price("99-16") == 99.5
    assert parse_price("99-162") == 99 + 16.25 / 32
    assert parse_price("99.5") == 99.5
    assert parse_price(" 101-31 ") == 101 + 31 / 32
    assert parse_price(100) == 100.0
    with pytest.raises(ValueError):
        parse_price("99-32")
    with pytest.raises(ValueError):
        parse_price("par")


def test_32nds_round_trip_every_64th():
    for n64 in range(90 * 64, 110 * 64 + 1):
        price = n64 / 64
        assert parse_price(format_32nds(price)) == price
