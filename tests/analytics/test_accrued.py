"""Accrued interest at settlement is at the stated coupon, not the capped rate (issue 17, item 1).

CWALT 2004-J4: "The price to be paid by investors for the Fixed Rate Certificates will
include accrued interest from April 1, 2004 up to, but not including, the Settlement Date"
(April 30: 29 days on 30/360). In period 1 the Net Rate Cap (4.491%) binds for 1-A-4
(coupon 4.924%) and 1-A-5 (5.225%); the shortfall is owed as Net Rate Carryover, so the
buyer pays, and earns, the full coupon for April."""
from pathlib import Path

import attrs
import numpy as np
import pytest

from dsl.check import load_deal
from interpreter.analytics.measures import bond_equivalent_yield
from interpreter.assumptions import load_assumptions
from interpreter.engine import run
from interpreter.native.build import available
from interpreter.report.analyze import analyze

DEALS = Path(__file__).resolve().parents[2] / "deals"
SPEEDS = [0.0, 1.0, 1.5]
NET_RATE_CAP_1 = 0.04491  # group 1's period-1 net rate cap (tests/termsheet/test_interest.py)


@pytest.fixture(scope="module")
def j4():
    deal = load_deal(DEALS / "cwalt-2004-j4.waterfall")
    return deal, load_assumptions(DEALS / "cwalt-2004-j4.assumptions.yaml", deal)


@pytest.fixture(scope="module")
def j4_run(j4):
    return run(j4[0], j4[1], SPEEDS, engine="numpy")


def _yield_by_hand(result, name, full_price):
    """The BEY of the class's flows at ``full_price`` per 100 (30/360 months from April 30)."""
    ci = result.cls(name)
    face = float(result.deal.class_named(name).balance.value)
    cash = (result.interest + result.principal + result.carryover_paid + result.loss_reimbursed)[:, ci, :]
    settle = result.deal.header.settlement
    from interpreter.dates import days_30_360
    months = np.array([days_30_360(settle, d) / 30.0 for d in result.dates])
    return bond_equivalent_yield(cash.T / face * 100.0, months, np.full(cash.shape[1], full_price)) * 100.0


def test_the_uncapped_period_1_coupon_is_a_record_of_the_run(j4_run):
    r = j4_run
    for name, coupon in (("1-A-4", 0.04924), ("1-A-5", 0.05225), ("1-A-6", 0.04430), ("1-A-2", 0.03108)):
        ci = r.cls(name)
        assert r.coupon[0, ci] == pytest.approx(coupon, abs=1e-15)
    # the cap binds for 1-A-4 and 1-A-5 only: their rate is the cap, the others' the coupon
    assert r.rate[0, r.cls("1-A-4")] == pytest.approx(NET_RATE_CAP_1, abs=1e-12)
    assert r.rate[0, r.cls("1-A-5")] == pytest.approx(NET_RATE_CAP_1, abs=1e-12)
    assert np.array_equal(r.rate[0, r.cls("1-A-6")], r.coupon[0, r.cls("1-A-6")])


@pytest.mark.skipif(not available(), reason="no C compiler")
def test_both_engines_record_the_same_coupon(j4, j4_run):
    c = run(j4[0], j4[1], SPEEDS, engine="c")
    np.testing.assert_array_equal(c.coupon, j4_run.coupon)
    lean = run(j4[0], j4[1], SPEEDS, engine="c", keep="lean")
    np.testing.assert_array_equal(lean.coupon[0], j4_run.coupon[0])


def test_a_capped_class_accrues_its_coupon_to_settlement(j4_run):
    rows = {(r["class"], r["speed_pct"]): r for r in analyze(j4_run, classes=["1-A-4", "1-A-5"])}
    for name, coupon in (("1-A-4", 4.924), ("1-A-5", 5.225)):
        accrued = coupon * 29 / 360  # April 1 to April 30, 30/360, at the stated coupon
        want = _yield_by_hand(j4_run, name, 100.0 + accrued)
        got = [rows[(name, s * 100)]["yield_pct"] for s in SPEEDS]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        # at the capped rate the price would be lower and the yield higher
        capped = _yield_by_hand(j4_run, name, 100.0 + NET_RATE_CAP_1 * 100 * 29 / 360)
        assert np.all(capped > np.array(got) + 1e-4)


def test_accrued_at_pass_through_rate_is_the_other_convention(j4, j4_run):
    deal, a = j4
    classes = tuple(attrs.evolve(c, accrued_at="pass-through rate") if c.name == "1-A-4" else c
                    for c in deal.classes)
    r = attrs.evolve(j4_run, deal=attrs.evolve(deal, classes=classes))
    rows = {r_["speed_pct"]: r_ for r_ in analyze(r, classes=["1-A-4"])}
    want = _yield_by_hand(j4_run, "1-A-4", 100.0 + NET_RATE_CAP_1 * 100 * 29 / 360)
    np.testing.assert_allclose([rows[s * 100]["yield_pct"] for s in SPEEDS], want, rtol=0, atol=1e-9)


def test_a_class_line_states_the_convention():
    from dsl.parse import parse
    from dsl.unparse import unparse
    text = (DEALS / "sequential-cmo.waterfall").read_text()
    assert "    coupon" in text
    for words, value in (("accrued at pass-through rate", "pass-through rate"), ("accrued at coupon", "coupon")):
        deal = parse(text.replace("    coupon", f"    {words}\n    coupon", 1), "d.waterfall")
        assert deal.classes[0].accrued_at == value
        assert parse(unparse(deal), "d.waterfall") == deal
    assert parse(text, "d.waterfall").classes[0].accrued_at == "coupon"  # the default
