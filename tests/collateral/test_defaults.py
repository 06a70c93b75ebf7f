"""Defaults, losses, recoveries and prepayment charges, worked by hand."""

import numpy as np
import pytest

from interpreter.collateral import Curve, Line, Scenarios, project

from .helpers import assert_conserves, level_payment, run, smm


def test_month1_order_default_then_interest_then_prepay():
    # $1,000,000, 6%, 360 months; 12% CDR, 20% CPR, severity 40%.
    B, rate = 1_000_000.0, 0.06
    mdr = 1 - 0.88 ** (1 / 12)  # 0.0105962...
    s = 1 - 0.80 ** (1 / 12)  # 0.018423...
    D = mdr * B  # default on the beginning balance
    Bs = B - D  # surviving (performing) balance
    interest = Bs * 0.005  # defaulted balance pays no interest
    sched = level_payment(Bs, rate, 360) - interest
    prepay = s * (Bs - sched)
    ln = Line("g", B, rate, 0.0025, 360)
    f = run([ln], 3, prepay=Curve("CPR", 0.20), default=Curve("CDR", 0.12), scen=Scenarios.single(1.0, 1.0, 0.4))
    assert mdr == pytest.approx(0.0105962, abs=1e-7)
    assert f.default[0, 0] == pytest.approx(D, rel=1e-12)
    assert f.interest[0, 0] == pytest.approx(interest, rel=1e-12)
    assert f.fee[0, 0] == pytest.approx(Bs * 0.0025 / 12, rel=1e-12)
    assert f.scheduled_principal[0, 0] == pytest.approx(sched, rel=1e-10)
    assert f.prepayment[0, 0] == pytest.approx(prepay, rel=1e-10)
    assert f.loss[0, 0] == pytest.approx(0.4 * D, rel=1e-12)
    assert f.recovery[0, 0] == pytest.approx(0.6 * D, rel=1e-12)  # lag 0: same period
    assert_conserves(f)


def test_recoveries_arrive_after_lag_and_loss_is_default_times_severity():
    ln = Line("g", 1_000_000.0, 0.05, 0.0, 120)
    scen = Scenarios([1.0, 1.0], [1.0, 2.0], [0.25, 0.6], recovery_lag=4)
    out = project([ln], 30, scen, {"g": Curve("CPR", 0.1)}, {"g": Curve("CDR", 0.05)})["g"]
    sev = np.array([[0.25], [0.6]])
    np.testing.assert_allclose(out.loss, out.default * sev, rtol=1e-15)
    np.testing.assert_array_equal(out.recovery[:, :4], 0.0)
    np.testing.assert_allclose(out.recovery[:, 4:], out.default[:, :-4] * (1 - sev), rtol=1e-15)
    # default on the beginning balance at MDR (scale 2 -> 10% CDR)
    for i, cdr in enumerate([0.05, 0.10]):
        np.testing.assert_allclose(out.default[i], out.begin_balance[i] * (1 - (1 - cdr) ** (1 / 12)), rtol=1e-10)
    # principal collections include the recoveries
    np.testing.assert_allclose(out.principal, out.scheduled_principal + out.prepayment + out.recovery)
    assert_conserves(out)


def test_recoveries_beyond_horizon_are_dropped():
    ln = Line("g", 1000.0, 0.05, 0.0, 12)
    out = run([ln], 12, default=Curve("MDR", 0.01), scen=Scenarios.single(0.0, 1.0, 0.5, recovery_lag=12))
    assert out.default.sum() > 0
    assert np.all(out.recovery == 0)
    # same deal with a 5-month lag: the last 5 defaults are never recovered within 12 periods
    out = run([ln], 12, default=Curve("MDR", 0.01), scen=Scenarios.single(0.0, 1.0, 0.5, recovery_lag=5))
    assert out.recovery.sum() == pytest.approx(0.5 * out.default[0, :7].sum(), rel=1e-13)


def test_full_default_stops_interest():
    ln = Line("g", 1000.0, 0.05, 0.0, 360)
    out = run([ln], 3, default=Curve("MDR", 1.0), scen=Scenarios.single(1.0, 1.0, 1.0))
    assert out.default[0, 0] == 1000.0
    assert out.interest[0, 0] == 0.0
    assert out.loss[0, 0] == 1000.0 and out.recovery.sum() == 0.0
    assert np.all(out.end_balance == 0)


def test_prepayment_penalty_while_age_within_penalty_months():
    # age 10, 12 penalty months: payments 11 and 12 (periods 1, 2) carry the 2% charge, not period 3
    ln = Line("g", 1_000_000.0, 0.06, 0.0, 350, age=10, penalty_rate=0.02, penalty_months=12)
    f = run([ln], 4, prepay=Curve("CPR", 0.3))
    np.testing.assert_allclose(f.penalty[0, :2], 0.02 * f.prepayment[0, :2], rtol=1e-15)
    assert np.all(f.penalty[0, 2:] == 0.0)
    assert f.prepayment[0, 2] > 0
    # hand value for period 1
    sched = level_payment(1e6, 0.06, 350) - 5000.0
    assert f.penalty[0, 0] == pytest.approx(0.02 * smm(0.3) * (1e6 - sched), rel=1e-10)
