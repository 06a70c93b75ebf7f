"""deals/agency-cmo.waterfall: PAC / support / sequential / Z / PAC IO on one
agency pool. Every asserted number is either computed by hand below (level
payment formula, PSA curve, coupons) or an invariant of the structure."""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.report.analyze import analyze

DEAL = Path(__file__).resolve().parents[2] / "deals" / "agency-cmo.waterfall"
YAML = DEAL.with_name("agency-cmo.assumptions.yaml")

PRICING_PSA = 1.65  # the deal's pricing speed: 165% PSA
B0, GROSS, NET, WAM, AGE = 300_000_000.0, 0.06, 0.055, 358, 2
SIZE = {"P": 195e6, "S": 45e6, "A": 25e6, "B": 15e6, "Z": 20e6}
COUPON = {"P": 0.045, "S": 0.055, "A": 0.05, "B": 0.0525, "Z": 0.055}


def psa(multiple):
    """A constant PSA speed as a multiple of the deal's pricing speed."""
    return multiple / PRICING_PSA


@pytest.fixture(scope="module")
def deal():
    return load_deal(DEAL)


@pytest.fixture(scope="module")
def assumptions(deal):
    return load_assumptions(YAML, deal)


@pytest.fixture(scope="module")
def table_run(deal, assumptions):
    return run(deal, assumptions, [0.0, 0.5, 1.0, 2.0, 3.0])


@pytest.fixture(scope="module")
def band_run(deal, assumptions):
    # Constant speeds inside the 100%-300% PSA band (scenarios 0 and 4 are the band's edges).
    return run(deal, assumptions, [psa(1.0), psa(1.5), psa(2.0), psa(2.5), psa(3.0)])


def smm(cpr):
    return 1.0 - (1.0 - cpr) ** (1.0 / 12.0)


def period1_principal(psa_multiple):
    """Scheduled principal by the level-payment formula plus the prepayment at
    the PSA speed for a loan of age 2 (ramp month 3)."""
    r = GROSS / 12
    sched = B0 * r / ((1 + r) ** WAM - 1)
    cpr = psa_multiple * 0.002 * (AGE + 1)
    return sched, smm(cpr) * (B0 - sched)


def test_first_period_by_hand(table_run):
    r, s = table_run, 2  # 100% of the pricing speed = 165% PSA
    f = r.collateral["1"]
    sched, prepay = period1_principal(1.65)
    # Collateral: 300m x 5.50% / 12 net interest; level-payment scheduled principal;
    # prepayment = SMM(0.99% CPR) x (balance - scheduled).
    assert f.net_interest[s, 0] == pytest.approx(1_375_000.0, abs=1e-6)
    assert f.scheduled_principal[s, 0] == pytest.approx(sched, abs=1e-6)
    assert sched == pytest.approx(302_248.84, abs=0.01)  # 1,500,000 / (1.005^358 - 1) = 1,500,000 / 4.96281
    assert f.prepayment[s, 0] == pytest.approx(prepay, abs=1e-6)
    # Interest: balance x coupon / 12; PIO on 20% of P at 5%.
    due = {"P": 731_250.0, "PIO": 39e6 * 0.05 / 12, "S": 206_250.0, "A": 104_166.666667, "B": 65_625.0}
    for name, amt in due.items():
        assert r.interest[0, r.cls(name), s] == pytest.approx(amt, abs=1e-5), name
    assert r.notional[0, r.cls("PIO"), s] == pytest.approx(39_000_000.0, abs=1e-6)
    # Z: accrues 20m x 5.50% / 12 = 91,666.67, receives no cash.
    z = r.cls("Z")
    assert r.accreted[0, z, s] == pytest.approx(91_666.666667, abs=1e-5)
    assert r.balance[0, z, s] == pytest.approx(20_091_666.666667, abs=1e-5)
    assert r.cash()[0, z, s] == 0.0
    # The PAC's first scheduled payment is the lesser of the principal at 100% and
    # 300% PSA: at ramp month 3 that is the 100% PSA figure (0.60% CPR).
    pac_pay = sum(period1_principal(1.0))
    assert r.principal[0, r.cls("P"), s] == pytest.approx(pac_pay, abs=1e-6)
    # S takes the rest of the pool principal plus the Z accrual; A and B nothing yet.
    assert r.principal[0, r.cls("S"), s] == pytest.approx(sched + prepay + 91_666.666667 - pac_pay, abs=1e-5)
    assert r.principal[0, r.cls("A"), s] == 0.0 and r.principal[0, r.cls("B"), s] == 0.0
    # The residual keeps A's 0.50% and B's 0.25% below the net rate: 10,416.67 + 3,125.
    assert r.cash()[0, r.cls("R"), s] == pytest.approx(13_541.666667, abs=1e-5)


def test_pac_pays_exactly_its_schedule_inside_the_band(band_run):
    r = band_run
    f = r.collateral["1"]
    # The schedule by hand from the two edge scenarios: 195m less the cumulative
    # lesser principal of 100% PSA and 300% PSA, floored at zero.
    band = np.minimum(f.principal[0], f.principal[4])
    schedule = np.maximum(SIZE["P"] - np.cumsum(band), 0.0)
    assert schedule[-1] == 0.0  # the PAC retires within the band's life (it fits)
    p = r.cls("P")
    for s in range(5):
        np.testing.assert_allclose(r.balance[:, p, s], schedule, rtol=0, atol=1e-4)


def test_pac_leaves_its_schedule_outside_the_band(deal, assumptions, band_run):
    """The band matters: at 0% of the pricing speed the pool cannot pay the
    schedule; at 300% (495% PSA) the support runs out and the PAC is paid early."""
    f = band_run.collateral["1"]
    schedule = np.maximum(SIZE["P"] - np.cumsum(np.minimum(f.principal[0], f.principal[4])), 0.0)
    r = run(deal, assumptions, [0.0, 3.0])
    p = r.cls("P")
    assert np.max(r.balance[:, p, 0] - schedule) > 1e6
    assert np.max(schedule - r.balance[:, p, 1]) > 1e6


def test_z_accretes_its_coupon_until_the_earlier_classes_retire(table_run):
    r = table_run
    z = r.cls("Z")
    earlier = [r.cls(n) for n in ("S", "A", "B")]
    for s in range(5):
        open_ = r.begin_balance[:, earlier, s].sum(axis=1) > 0
        assert open_[0] and not open_[-1]
        # While S, A or B is outstanding: Z's balance x (1 + 5.50%/12), no interest in cash.
        # Principal reaches Z only in the period B retires (what B does not need).
        last = np.nonzero(open_)[0][-1]
        assert np.all(r.principal[:last, z, s] == 0.0)
        np.testing.assert_allclose(r.accreted[open_, z, s], r.begin_balance[open_, z, s] * 0.055 / 12, rtol=1e-12)
        np.testing.assert_allclose(r.balance[open_, z, s],
                                   r.begin_balance[open_, z, s] * (1 + 0.055 / 12) - r.principal[open_, z, s],
                                   rtol=1e-12)
        assert np.all(r.interest[open_, z, s] == 0.0)
        # Afterwards: no accretion; interest paid in cash at the coupon.  (Z is then the last
        # class and its balance equals the pool's up to rounding: where it is a micro-cent
        # above, its interest is the pool's, a few 1e-9 dollars short -- hence atol.)
        after = ~open_ & (r.begin_balance[:, z, s] > 0)
        assert after.any()
        assert np.all(r.accreted[after, z, s] == 0.0)
        np.testing.assert_allclose(r.interest[after, z, s], r.begin_balance[after, z, s] * 0.055 / 12,
                                   rtol=1e-12, atol=1e-6)
        # Z is repaid its original balance plus everything it accreted.
        assert r.principal[:, z, s].sum() == pytest.approx(20e6 + r.accreted[:, z, s].sum(), abs=1e-4)


def test_io_notional_is_a_fifth_of_the_pac_balance(table_run):
    r = table_run
    p, io = r.cls("P"), r.cls("PIO")
    np.testing.assert_allclose(r.notional[:, io, :], 0.2 * r.begin_balance[:, p, :], rtol=0, atol=1e-6)
    np.testing.assert_allclose(r.interest[:, io, :], 0.2 * r.begin_balance[:, p, :] * 0.05 / 12, atol=1e-6)


def test_money_is_conserved_every_period(table_run):
    r = table_run
    f = r.collateral["1"]
    cash = r.cash().sum(axis=1)  # (T, S)
    collected = (f.net_interest + f.principal).T
    np.testing.assert_allclose(cash, collected, rtol=0, atol=1e-6)
    # Every class is retired and the class balances track the pool.
    assert np.all(np.abs(r.balance[-1]) < 1e-6)
    classes = [r.cls(n) for n in SIZE]
    np.testing.assert_allclose(r.balance[:, classes, :].sum(axis=1), f.end_balance.T, atol=1e-5)


def _years_30_360(settle, d):
    d1, d2 = min(settle.day, 30), d.day
    if d2 == 31 and d1 >= 30:
        d2 = 30
    return (360 * (d.year - settle.year) + 30 * (d.month - settle.month) + (d2 - d1)) / 360.0


def test_z_wal_follows_the_standard_formula(table_run):
    r = table_run
    z = r.cls("Z")
    settle = dt.date(2024, 6, 27)
    t = np.array([_years_30_360(settle, d) for d in r.dates])
    assert t[0] == pytest.approx(28 / 360)  # 2024-06-27 -> 2024-07-25
    rows = [row for row in analyze(r) if row["class"] == "Z"]
    assert [row["speed_pct"] for row in rows] == [0.0, 50.0, 100.0, 200.0, 300.0]
    for s, row in enumerate(rows):
        prin = r.principal[:, z, s]  # accreted interest included: it is repaid as principal
        wal = (t * prin).sum() / prin.sum()
        assert row["wal_years"] == pytest.approx(wal, abs=1e-9)
    # Faster prepayments shorten the Z.
    wals = [row["wal_years"] for row in rows]
    assert all(a > b for a, b in zip(wals, wals[1:]))


def test_run_deal_prints_its_tables():
    p = subprocess.run([sys.executable, "-m", "interpreter", str(DEAL)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    for name in ("Class P (To Maturity)", "Class Z (To Maturity)", "PIO", "WAL (yr)"):
        assert name in p.stdout
