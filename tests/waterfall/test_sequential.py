"""The sequential-pay CMO: the rules of its waterfall, checked in the projected cashflows."""
import numpy as np
import pytest

from dsl.parse import parse
from interpreter.engine import ConservationError, run
from interpreter.waterfall import numpy_engine

CLASSES = ["A", "B", "C", "D"]
COUPONS = {"A": 0.055, "B": 0.0575, "C": 0.06, "D": 0.06}


def test_no_class_gets_principal_while_an_earlier_one_is_outstanding(seq_run):
    r = seq_run
    for j, later in enumerate(CLASSES[1:], start=1):
        for earlier in CLASSES[:j]:
            outstanding = r.begin_balance[:, r.cls(earlier), :] > 0.005
            got = r.principal[:, r.cls(later), :]
            # While an earlier class still has a balance after this period's payments,
            # the later class receives nothing.
            still_open = r.balance[:, r.cls(earlier), :] > 0.005
            assert np.all(got[outstanding & still_open] == 0.0), (earlier, later)


def test_class_principal_equals_collateral_principal_every_period(seq_run):
    r = seq_run
    paid = r.principal[:, [r.cls(c) for c in CLASSES], :].sum(axis=1)  # (T, S)
    collected = r.collateral["1"].principal.T  # (T, S)
    np.testing.assert_allclose(paid, collected, rtol=0, atol=1e-6)


def test_interest_is_beginning_balance_times_coupon_over_12(seq_run):
    r = seq_run
    for c in CLASSES:
        i = r.cls(c)
        expected = r.begin_balance[:, i, :] * COUPONS[c] / 12.0
        np.testing.assert_allclose(r.interest[:, i, :], expected, rtol=0, atol=1e-6)


def test_first_period_by_hand(seq_run):
    # Period 1, 0% speed: net interest 200,000,000 x 6.00% / 12 = 1,000,000.
    # Class coupons: 80m x 5.50%/12 + 60m x 5.75%/12 + 40m x 6%/12 + 20m x 6%/12
    #              = 366,666.67 + 287,500 + 200,000 + 100,000 = 954,166.67;
    # Class R receives the rest, 45,833.33.
    r = seq_run
    s = 0
    assert r.speeds[s] == 0.0
    assert r.interest[0, r.cls("A"), s] == pytest.approx(366_666.666667, abs=1e-4)
    assert r.interest[0, r.cls("R"), s] == pytest.approx(1_000_000 - 954_166.666667, abs=1e-4)
    # Scheduled principal of a 6.50% 358-month loan: P = B r / (1 - (1+r)^-358) - B r.
    rate = 0.065 / 12
    pmt = 200e6 * rate / (1 - (1 + rate) ** -358)
    assert r.principal[0, r.cls("A"), s] == pytest.approx(pmt - 200e6 * rate, rel=1e-12)


def test_money_is_conserved_every_period_and_scenario(seq_run):
    r = seq_run
    cash = r.cash().sum(axis=1)  # (T, S) paid to all classes, residual included
    collected = sum(f.net_interest + f.principal for f in r.collateral.values()).T
    np.testing.assert_allclose(cash, collected, rtol=0, atol=1e-6)


BROKEN = """
deal "Broken"
    cutoff 2024-01-01
    closing 2024-01-30
    first distribution 2024-02-25
    pricing speed 100% PSA
group 1
class A
    balance 1,000,000
    coupon 5%
    group 1
class R
    residual
waterfall
    clause "1) Interest"
        from interest of group 1: pay current interest to A
    clause "2) Principal"
        from principal of group 1: pay principal to A
"""


def test_a_waterfall_that_leaves_cash_unallocated_fails_the_conservation_check(seq_assumptions):
    # No residual clause: the excess interest stays in the fund. The checker
    # refuses such a deal; run unchecked, the engine's invariant catches it.
    deal = parse(BROKEN, "broken.waterfall")
    with pytest.raises(ConservationError, match="cash left in a fund at the end of period 1") as e:
        run(deal, seq_assumptions, [1.0])
    # the last step drawing on the fund that kept the cash, named with its line, and its span kept
    assert "of the interest of group 1 was neither paid nor held: the last step that draws on the interest " \
           "of group 1 (line 16) left it there" in str(e.value)
    assert "money not conserved in period 1" in e.value.hint and e.value.span.line == 16


def test_a_step_that_debits_without_crediting_is_caught(seq_deal, seq_assumptions, monkeypatch):
    from interpreter import engine
    original = numpy_engine.PeriodState.settle

    from interpreter.waterfall import program as P

    def lossy(self, owing, targets, paid):
        original(self, owing, targets, paid * 0.999 if owing.paid is P.ClassState.PAID_PRINCIPAL else paid)
    monkeypatch.setattr(numpy_engine.PeriodState, "settle", lossy)
    with pytest.raises(ConservationError):
        run(seq_deal, seq_assumptions, [1.0], engine="numpy")


def test_scenarios_in_one_pass_equal_runs_one_at_a_time(seq_deal, seq_assumptions):
    batch = run(seq_deal, seq_assumptions, [0.0, 1.0, 3.0])
    for s, speed in enumerate([0.0, 1.0, 3.0]):
        alone = run(seq_deal, seq_assumptions, [speed])
        np.testing.assert_allclose(batch.principal[:, :, s], alone.principal[:, :, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(batch.interest[:, :, s], alone.interest[:, :, 0], rtol=0, atol=1e-9)


def test_a_step_that_pays_more_interest_than_owed_is_caught(seq_deal, seq_assumptions, monkeypatch):
    from interpreter import engine
    from interpreter.waterfall import program as P
    original = numpy_engine.PeriodState.owed

    def generous(self, owing, targets):
        d = original(self, owing, targets)
        return d * 1.5 if owing.paid is P.ClassState.PAID_INTEREST else d
    monkeypatch.setattr(numpy_engine.PeriodState, "owed", generous)
    with pytest.raises(ConservationError, match="more interest than it was owed"):
        run(seq_deal, seq_assumptions, [1.0], engine="numpy")
