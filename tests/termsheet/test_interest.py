"""Interest: step-ups, distribution dates and day counts, the A-IO classes, the Net Rate
Cap, Net Rate Carryover and the Corridor Contracts (pages 3-7)."""
import datetime as dt

import numpy as np
import pytest

from .conftest import CORRIDOR_CEILING, CORRIDOR_LIBOR, CORRIDOR_NOTIONAL, CORRIDOR_STRIKE
from .helpers import (BASE_SPEEDS, CERTS, CLASS_1A, CUTOFF, FIXED_COUPON, FLOATERS, IO_RATE, LIBOR,
                      MARGIN, MAX_RATE, SENIORS, SUBS, accrual_days, cap_of, clause, collections,
                      coupons, day_fraction, extend, hand_caps, idx, pool_end, sale_period, scen)

CARRYOVER = CLASS_1A + ["2-A"] + SUBS  # "Carryover Certificates": offered, other than A-IO


# ---------------------------------------------------------------- 2. Step-ups after the auction [p.3 note 2]
def test_step_ups_after_the_mandatory_auction_date_to_maturity(base, io_table):
    r = base
    s = scen(r, "maturity", 1.0)
    ta = sale_period(r, s, 0.20)  # the auction date (0-based): pool first <= 20% of cut-off
    assert ta + 1 == 67  # p.3: the auction windows end in month 67
    rate = lambda c: r.rate[:, r.cls(c), s]
    # 1-A-4: 4.924% up to and including the auction date, 5.424% from the next date
    # (periods 22+ only: the Net Rate Cap no longer binds once the IO strip is gone)
    assert np.allclose(rate("1-A-4")[21:ta + 1], 0.04924, rtol=0, atol=1e-12)
    assert rate("1-A-4")[ta + 1] == pytest.approx(0.05424, abs=1e-12)
    assert rate("1-A-5")[ta + 1] == pytest.approx(0.05725, abs=1e-12)
    assert rate("1-A-6")[ta + 1] == pytest.approx(0.04930, abs=1e-12)
    # floaters: margin x 2 (2-A) and x 1.5 (M-1) from the date after the auction
    assert rate("2-A")[ta] == pytest.approx(LIBOR + 0.0025, abs=1e-12)
    assert rate("2-A")[ta + 1] == pytest.approx(LIBOR + 2 * 0.0025, abs=1e-12)
    assert rate("M-1")[ta] == pytest.approx(LIBOR + 0.006, abs=1e-12)
    assert rate("M-1")[ta + 1] == pytest.approx(LIBOR + 1.5 * 0.006, abs=1e-12)
    # 1-A-1 (first in sequence) is retired long before the auction: no rate applies to it
    # then; its coupon is LIBOR + 0.16% with no step-up
    assert rate("1-A-1")[ta + 1] == 0.0
    first = int(np.argmax(r.balance[:, r.cls("1-A-1"), s] == 0))  # its last payment period
    assert np.allclose(rate("1-A-1")[:first + 1], LIBOR + 0.0016, rtol=0, atol=1e-12)
    # every class, every period: pass-through rate = min(stepped coupon, hand-computed cap)
    caps = hand_caps(r, s, *io_table[:2])
    cp = coupons(r, s, auction_t=ta)
    for c in CERTS:
        # while the class is outstanding (or owed carryover); retired, no rate applies
        alive = (r.begin_balance[:, r.cls(c), s] > 0)
        want = np.minimum(cp[c], cap_of(c, caps))
        np.testing.assert_allclose(rate(c)[alive], want[alive], rtol=0, atol=1e-12, err_msg=c)
        assert np.all(rate(c)[~alive & (r.carryover_paid[:, r.cls(c), s] == 0)] == 0.0), c
    # to auction, no step-up is ever paid: the classes are retired on the auction date
    sa = scen(r, "auction", 1.0)
    assert np.all(r.begin_balance[ta + 1:, idx(r, CERTS), sa] == 0.0)


# ---------------------------------------------------------------- 3. Distribution dates and day counts [p.4]
def _holiday(d):
    """The US federal holidays that can fall on the 25th-31st: Memorial Day (last Monday of
    May), Thanksgiving (4th Thursday of November), Christmas (observed)."""
    if d.month == 5 and d.weekday() == 0 and d.day >= 25:
        return True
    if d.month == 11 and d.weekday() == 3 and 22 <= d.day <= 28:
        return True
    if d.month == 12:
        xmas = dt.date(d.year, 12, 25)
        observed = xmas + dt.timedelta(days={5: -1, 6: 1}.get(xmas.weekday(), 0))
        return d in (xmas, observed)
    return False


def test_distribution_dates_the_25th_or_next_business_day(base):
    r = base
    assert r.dates[0] == dt.date(2004, 5, 25)       # "commencing in May 2004"
    assert r.dates[2] == dt.date(2004, 7, 26)       # July 25, 2004 is a Sunday
    assert dt.date(2004, 11, 26) in r.dates         # Nov 25, 2004: Thanksgiving
    assert dt.date(2004, 12, 27) in r.dates         # Dec 25, 2004: Saturday, Christmas
    for k, d in enumerate(r.dates):
        y, m = 2004 + (4 + k) // 12, (4 + k) % 12 + 1
        assert (d.year, d.month) == (y, m)
        d25 = dt.date(y, m, 25)
        assert d >= d25 and d.weekday() < 5 and not _holiday(d), d
        day = d25
        while day < d:  # every day skipped is a weekend day or a holiday
            assert day.weekday() >= 5 or _holiday(day), (d, day)
            day += dt.timedelta(days=1)


def test_distribution_dates_floater_interest_actual_360_from_closing(base):
    """Period 1 accrues 25 days, April 30 to May 25 (p.4 Interest Accrual Period)."""
    r = base
    s = scen(r, "maturity", 1.0)
    i = lambda c, t=0: r.interest[t, r.cls(c), s]
    assert i("1-A-1") == pytest.approx(119_257_000 * (0.0110 + 0.0016) * 25 / 360, abs=1e-6)
    assert i("2-A") == pytest.approx(297_832_000 * (0.0110 + 0.0025) * 25 / 360, abs=1e-6)
    assert i("M-1") == pytest.approx(14_452_000 * (0.0110 + 0.0060) * 25 / 360, abs=1e-6)
    assert i("M-2") == pytest.approx(11_685_000 * (0.0110 + 0.0130) * 25 / 360, abs=1e-6)
    assert i("B") == pytest.approx(7_381_000 * (0.0110 + 0.0225) * 25 / 360, abs=1e-6)
    # period 3 (July 26) accrues June 25 -> July 26 = 31 days on the balance after period 2
    b = r.begin_balance[2, r.cls("1-A-1"), s]
    assert i("1-A-1", 2) == pytest.approx(b * 0.0126 * 31 / 360, abs=1e-6)


def test_distribution_dates_fixed_interest_30_360(base):
    r = base
    s = scen(r, "maturity", 1.0)
    i = lambda c: r.interest[0, r.cls(c), s]
    assert i("1-A-2") == pytest.approx(14_370_000 * 0.03108 / 12, abs=1e-6)
    assert i("1-A-3") == pytest.approx(64_219_000 * 0.03800 / 12, abs=1e-6)
    assert i("1-A-6") == pytest.approx(28_365_000 * 0.04430 / 12, abs=1e-6)


def test_distribution_dates_interest_every_period_is_balance_x_rate_x_day_count(base):
    """Interest paid = start balance x pass-through rate x (actual/360 | 30/360), every
    period and scenario (no shortfalls at the table speeds)."""
    r = base
    days = accrual_days(r)
    for c in CERTS:
        i = r.cls(c)
        frac = day_fraction(c, days)[:, None]
        want = r.begin_balance[:, i, :] * r.rate[:, i, :] * frac
        np.testing.assert_allclose(r.interest[:, i, :], want, rtol=1e-12, atol=1e-6, err_msg=c)


# ---------------------------------------------------------------- 4. A-IO notional and rate [p.5-6]
def test_io_notional_is_min_of_schedule_and_group_balance(base, stress, io_table):
    io1, io2, io_rate = io_table
    assert np.all(io_rate[:21] == 0.015) and io_rate[21] == 0.0
    exercised = False
    for r in (base, stress):
        T = r.n_periods
        for c, g, sched in (("1-A-IO", "1", io1), ("2-A-IO", "2", io2)):
            b = r.collateral[g].begin_balance  # (S, T)
            want = np.minimum(extend(sched, T)[None, :], b)
            for s in range(len(r.speeds)):
                t_end = sale_period(r, s, 0.20) if r.modes[s] == "auction" else \
                    sale_period(r, s, 0.10) if r.modes[s] == "call" else T - 1
                t_end = T - 1 if t_end is None else t_end
                got = r.notional[: t_end + 1, r.cls(c), s]
                np.testing.assert_allclose(got, want[s, : t_end + 1], rtol=0, atol=1e-6, err_msg=c)
                assert np.all(got[21:] == 0.0)  # "0" from period 22
                exercised |= bool(np.any(b[s, :21] < extend(sched, T)[:21] - 1.0))
    assert exercised, "no scenario has a group balance below the IO schedule"


def test_io_interest_is_notional_x_1_50_pct_30_360(base, stress):
    for r in (base, stress):
        for c in ("1-A-IO", "2-A-IO"):
            i = r.cls(c)
            np.testing.assert_allclose(r.interest[:, i, :], r.notional[:, i, :] * 0.015 / 12,
                                       rtol=1e-12, atol=1e-6)
            assert np.all(r.interest[21:, i, :] == 0.0)
    s = scen(base, "maturity", 1.0)
    assert base.interest[0, base.cls("1-A-IO"), s] == pytest.approx(300_000_000 * 0.015 / 12, abs=1e-6)
    assert base.interest[0, base.cls("2-A-IO"), s] == pytest.approx(315_000_000 * 0.015 / 12, abs=1e-6)


# ---------------------------------------------------------------- 5/6. Net Rate Cap and pass-through rate [p.5-7]
def test_net_rate_cap_period_1_class_1a_is_4_491_pct(base):
    r = base
    for s in range(len(r.speeds)):
        # 5.991% - 1.50% x 300,000,000 / 300,000,000 = 4.491%, a 30/360 rate
        assert r.rate[0, r.cls("1-A-4"), s] == pytest.approx(0.04491, abs=1e-12)
        assert r.rate[0, r.cls("1-A-5"), s] == pytest.approx(0.04491, abs=1e-12)
        assert r.rate[0, r.cls("1-A-6"), s] == pytest.approx(0.04430, abs=1e-12)  # below the cap
        assert r.rate[0, r.cls("1-A-3"), s] == pytest.approx(0.03800, abs=1e-12)
        assert r.interest[0, r.cls("1-A-4"), s] == pytest.approx(29_485_000 * 0.04491 / 12, abs=1e-6)
        assert r.interest[0, r.cls("1-A-5"), s] == pytest.approx(27_954_000 * 0.04491 / 12, abs=1e-6)


@pytest.mark.parametrize("which", ["base", "high_libor", "corridor"])
def test_net_rate_cap_pass_through_rate_is_min_of_coupon_and_cap(which, request, io_table):
    """Every period, scenario and class: rate = min(coupon, cap), the cap recomputed by hand
    from the group net WAC, the IO notional and the start-of-period balances (p.6-7)."""
    r = request.getfixturevalue(which)
    binding = 0
    for s in range(len(r.speeds)):
        if r.modes[s] != "maturity":
            continue
        ta = sale_period(r, s, 0.20)
        caps = hand_caps(r, s, *io_table[:2])
        cp = coupons(r, s, auction_t=ta)
        for c in CERTS:
            i = r.cls(c)
            live = r.begin_balance[:, i, s] > 0
            want = np.maximum(np.minimum(cp[c], cap_of(c, caps)), 0.0)
            np.testing.assert_allclose(r.rate[live, i, s], want[live], rtol=0, atol=1e-12, err_msg=c)
            binding += int(np.sum(live & (cap_of(c, caps) < cp[c])))
    assert binding > 0  # the cap binds somewhere in every one of these runs


def test_net_rate_cap_high_libor_floaters_paid_at_cap(high_libor):
    """LIBOR 12%: 1-A-1 period 1 = 4.491% x 30/25 = 5.3892%; 2-A = (5.116% - 1.50%) x 30/25."""
    r = high_libor
    assert r.rate[0, r.cls("1-A-1"), 0] == pytest.approx(0.04491 * 30 / 25, abs=1e-12)
    assert r.rate[0, r.cls("2-A"), 0] == pytest.approx((0.05116 - 0.015) * 30 / 25, abs=1e-12)
    assert r.interest[0, r.cls("1-A-1"), 0] == pytest.approx(119_257_000 * 0.04491 / 12, abs=1e-6)
    # the subordinate cap: the senior caps weighted by group balance less group seniors
    w1, w2 = 300e6 - 283_650_000, 315e6 - 297_832_000
    sub = (0.04491 * w1 + (0.05116 - 0.015) * w2) / (w1 + w2) * 30 / 25
    for c in SUBS:
        assert r.rate[0, r.cls(c), 0] == pytest.approx(sub, abs=1e-12)


# ---------------------------------------------------------------- 7. Net Rate Carryover [p.7, item 5]
def test_net_rate_carryover_period_1_for_1a4_and_1a5(base):
    r = base
    k5 = clause(r, "5)")
    for s in range(len(r.speeds)):
        c4 = r.carryover_paid[0, r.cls("1-A-4"), s]
        c5 = r.carryover_paid[0, r.cls("1-A-5"), s]
        assert c4 == pytest.approx(29_485_000 * (0.04924 - 0.04491) / 12, abs=1e-6)   # 10,639.17
        assert c5 == pytest.approx(27_954_000 * (0.05225 - 0.04491) / 12, abs=1e-6)   # 17,098.53
        # no other class is capped in period 1 at LIBOR 1.10%
        others = [c for c in CERTS if c not in ("1-A-4", "1-A-5")]
        assert np.all(r.carryover_paid[0, idx(r, others), s] == 0.0)
        # it is paid by clause 5) Net Rate Carryover
        assert r.clause_paid[0, k5, s] == pytest.approx(c4 + c5, abs=1e-6)
    # in every period, all carryover paid is paid by clause 5 (no corridor in the base deal)
    np.testing.assert_allclose(r.clause_paid[:, k5, :], r.carryover_paid.sum(axis=1), rtol=0, atol=1e-6)


def _hand_carryover(r, s, io_table, corridor=None):
    """Carryover owed, period by period (p.7): the shortfall at the uncapped rate (floaters up
    to 11.25%) plus the unpaid amount with interest at that rate; unpaid = owed - paid."""
    T = r.n_periods
    caps = hand_caps(r, s, *io_table[:2])
    cp = coupons(r, s, auction_t=sale_period(r, s, 0.20))
    owed = {c: np.zeros(T) for c in CARRYOVER}
    unpaid = {c: np.zeros(T) for c in CARRYOVER}
    for c in CARRYOVER:
        i = r.cls(c)
        u = np.minimum(cp[c], MAX_RATE) if c in FLOATERS else cp[c]
        frac = day_fraction(c, caps["days"])
        rate = np.maximum(np.minimum(cp[c], cap_of(c, caps)), 0.0)
        prev = 0.0
        for t in range(T):
            b = r.begin_balance[t, i, s]
            owed[c][t] = prev * (1 + u[t] * frac[t]) + b * max(u[t] - rate[t], 0.0) * frac[t]
            prev = owed[c][t] - r.carryover_paid[t, i, s]
            unpaid[c][t] = prev
    return owed, unpaid


def test_net_rate_carryover_accrues_with_interest_and_is_paid_only_from_excess(high_libor, io_table):
    r = high_libor
    s = 0
    owed, unpaid = _hand_carryover(r, s, io_table)
    k = {n: clause(r, f"{n})") for n in range(1, 7)}
    C = r.cash()[:, r.cls("C"), s]
    excess = collections(r)[:, s] - r.clause_paid[:, k[1], s] - r.clause_paid[:, k[2], s]
    total_unpaid = sum(unpaid.values())
    for t in range(r.n_periods):
        for c in CARRYOVER:
            assert r.carryover_paid[t, r.cls(c), s] <= owed[c][t] + 1e-6, (t, c)
        # paid only from what is left after items 1) to 4)
        after4 = excess[t] - r.clause_paid[t, k[3], s] - r.clause_paid[t, k[4], s]
        assert r.carryover_paid[t, :, s].sum() <= after4 + 1e-6
        # Class C gets cash only once every carryover owed (with its interest) is paid
        if C[t] > 0.005:
            assert total_unpaid[t] == pytest.approx(0.0, abs=1e-4), (t, total_unpaid[t])
        # while carryover remains unpaid, nothing reaches Class C
        if total_unpaid[t] > 0.01:
            assert C[t] == pytest.approx(0.0, abs=1e-6)
    # the floaters accrued at the 11.25% Maximum Rate (LIBOR 12%): 1-A-1 period 1
    assert owed["1-A-1"][0] == pytest.approx(119_257_000 * (0.1125 - 0.04491 * 30 / 25) * 25 / 360, abs=1e-6)
    # carryover went unpaid for months, then was paid off in full with its interest
    assert total_unpaid[5] > 1_000_000
    first_c = int(np.argmax(C > 0.005))
    assert 6 < first_c < 60 and total_unpaid[first_c] == pytest.approx(0.0, abs=1e-4)


def test_net_rate_carryover_excess_pro_rata_by_balance_then_by_amount_owed(high_libor, io_table):
    """Period 1, LIBOR 12%: the excess is short of the carryover; it is shared first by
    start-of-period balance (no class more than it is owed), then the rest by amount owed."""
    r = high_libor
    owed, _ = _hand_carryover(r, 0, io_table)
    k5 = clause(r, "5)")
    x = r.clause_paid[0, k5, 0]
    o = np.array([owed[c][0] for c in CARRYOVER])
    assert 0 < x < o.sum()
    b = r.begin_balance[0, idx(r, CARRYOVER), 0]
    first = np.minimum(x * b / b.sum(), o)
    rest = o - first
    want = first + (x - first.sum()) * rest / rest.sum()
    np.testing.assert_allclose(r.carryover_paid[0, idx(r, CARRYOVER), 0], want, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- 8. Corridor Contracts [p.7]
def test_corridor_contracts_pay_2a_carryover_and_the_rest_to_class_c(corridor, io_table):
    r = corridor
    s = 0
    days = accrual_days(r)
    lib = r.index_path["LIBOR_1M"][s][: r.n_periods]
    assert np.allclose(lib, CORRIDOR_LIBOR)
    pay = CORRIDOR_NOTIONAL * np.maximum(np.minimum(lib, CORRIDOR_CEILING) - CORRIDOR_STRIKE, 0.0) * days / 360
    assert pay[0] == pytest.approx(600_000_000 * 0.005 * 25 / 360, abs=1e-6)   # 208,333.33
    # the corridor receipts are the only cash beyond the collateral's
    extra = r.cash().sum(axis=1)[:, s] - collections(r)[:, s]
    np.testing.assert_allclose(extra, pay, rtol=0, atol=1e-6)
    owed, unpaid = _hand_carryover(r, s, io_table)
    k6 = clause(r, "6)")
    to_c_in_5 = r.cash()[:, r.cls("C"), s] - r.clause_paid[:, k6, s]  # C's cash from clause 5
    i2a = r.cls("2-A")
    from_corridor = np.minimum(pay, owed["2-A"])
    np.testing.assert_allclose(to_c_in_5, pay - from_corridor, rtol=0, atol=1e-6)
    assert np.all(r.carryover_paid[:, i2a, s] >= from_corridor - 1e-6)
    # both regimes occur: the corridor short of the carryover, and a rest left for Class C
    assert np.any(pay < owed["2-A"] - 1.0) and np.any(pay > owed["2-A"] + 1.0)
    # period 1: 2-A owed 297,832,000 x (5.25% - (5.116% - 1.50%) x 30/25) x 25/360
    o1 = 297_832_000 * (0.0525 - (0.05116 - 0.015) * 30 / 25) * 25 / 360
    assert owed["2-A"][0] == pytest.approx(o1, abs=1e-6)
    assert to_c_in_5[0] == pytest.approx(pay[0] - o1, abs=1e-6)
