"""Prepayment / default curve definitions, each value worked by hand."""

import math

import numpy as np
import pytest

from interpreter.collateral import (
    Curve,
    Line,
    Scenarios,
    cpr_to_smm,
    monthly_rate,
    ppc_cpr,
    psa_cpr,
    sda_cdr,
    smm_to_cpr,
)

from .helpers import run


def test_cpr_smm_conversion():
    # SMM = 1 - (1 - CPR)^(1/12): 6% CPR -> 1 - 0.94^(1/12) = 0.0051430128...
    assert cpr_to_smm(0.06) == pytest.approx(0.0051430128318, rel=1e-10)
    assert cpr_to_smm(0.0) == 0.0
    assert cpr_to_smm(1.0) == 1.0
    assert smm_to_cpr(cpr_to_smm(0.25)) == pytest.approx(0.25, rel=1e-13)


@pytest.mark.parametrize(
    "month, cpr",
    [(1, 0.002), (2, 0.004), (15, 0.03), (29, 0.058), (30, 0.06), (31, 0.06), (360, 0.06)],
)
def test_psa_100(month, cpr):
    # PSA 100% = 0.2% CPR x month up to 6% at month 30, flat after
    assert psa_cpr(month) == pytest.approx(cpr, abs=1e-15)


def test_psa_multiple_and_monthly_rate():
    # 150% PSA at month 10 = 1.5 x 2% = 3% CPR; SMM = 1 - 0.97^(1/12)
    c = Curve("PSA", 1.5)
    got = monthly_rate(c, np.array([9]), 1)  # age 9 at cut-off -> month 10 in period 1
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(1 - 0.97 ** (1 / 12), rel=1e-12)


def test_ppc_ramp_values():
    # J4 PPC: 8% month 1, +16%/11 per month, 24% at 12 and after
    assert ppc_cpr(1, 0.08, 0.24, 12) == pytest.approx(0.08)
    assert ppc_cpr(7, 0.08, 0.24, 12) == pytest.approx(0.08 + 6 * 0.16 / 11)
    assert ppc_cpr(12, 0.08, 0.24, 12) == pytest.approx(0.24)
    assert ppc_cpr(100, 0.08, 0.24, 12) == pytest.approx(0.24)


def test_ppc_seasoned_loan_projects_ramp_month_7():
    # Age 6 at cut-off -> ramp month 7 in period 1: CPR = 8% + 6 x 16%/11 = 16.7272..%
    cpr1 = 0.08 + 6 * 0.16 / 11
    assert cpr1 == pytest.approx(0.1672727272727, rel=1e-12)
    ln = Line("1", 1_000_000.0, 0.06, 0.0, 354, age=6)
    ppc = Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12)
    f = run([ln], 3, prepay=ppc)
    r = 0.06 / 12
    sched1 = 1_000_000 * r / ((1 + r) ** 354 - 1)
    expect1 = (1_000_000 - sched1) * (1 - (1 - cpr1) ** (1 / 12))
    assert f.prepayment[0, 0] == pytest.approx(expect1, rel=1e-12)
    # period 3 -> month 9: 8% + 8 x 16%/11
    b3 = f.begin_balance[0, 2]
    sched3 = f.scheduled_principal[0, 2]
    cpr3 = 0.08 + 8 * 0.16 / 11
    assert f.prepayment[0, 2] == pytest.approx((b3 - sched3) * (1 - (1 - cpr3) ** (1 / 12)), rel=1e-12)


def test_deal_basis_ignores_age():
    c = Curve("PPC", ramp_start=0.08, ramp_end=0.24, ramp_months=12, basis="deal")
    got = monthly_rate(c, np.array([0, 6, 50]), 1)
    np.testing.assert_allclose(got, 1 - 0.92 ** (1 / 12), rtol=1e-13)


@pytest.mark.parametrize(
    "month, cdr",
    [
        (1, 0.0002),
        (15, 0.003),
        (30, 0.006),
        (45, 0.006),
        (60, 0.006),
        (61, 0.006 - 0.000095),  # 0.5905%
        (90, 0.006 - 30 * 0.000095),  # 0.315%
        (120, 0.0003),
        (121, 0.0003),
        (300, 0.0003),
    ],
)
def test_sda_100(month, cdr):
    assert sda_cdr(month) == pytest.approx(cdr, abs=1e-15)


def test_sda_scaled_in_projection():
    # 200% SDA, new loan, period 30 -> CDR 1.2%; MDR = 1 - 0.988^(1/12); default = MDR x begin
    ln = Line("g", 1_000_000.0, 0.05, 0.0, 360)
    f = run([ln], 61, default=Curve("SDA", 2.0))
    for t, cdr in [(1, 0.0004), (30, 0.012), (61, 2 * 0.005905)]:
        mdr = 1 - (1 - cdr) ** (1 / 12)
        assert f.default[0, t - 1] == pytest.approx(mdr * f.begin_balance[0, t - 1], rel=1e-10)


def test_abs_speed():
    # 1.5 ABS, month 10: SMM = 0.015 / (1 - 0.015 x 9) = 0.015 / 0.865 = 0.0173410...
    c = Curve("ABS", 0.015)
    got = monthly_rate(c, np.array([9]), 1)[0, 0]
    assert got == pytest.approx(0.015 / 0.865, rel=1e-13)
    assert got == pytest.approx(0.01734104046, rel=1e-9)
    # month 1: SMM = ABS
    assert monthly_rate(c, np.array([0]), 1)[0, 0] == pytest.approx(0.015)
    # the scale multiplies the ABS speed: 200% -> 3 ABS, month 10: 0.03 / 0.73
    got2 = monthly_rate(c, np.array([9]), 1, np.array([2.0]))[0, 0]
    assert got2 == pytest.approx(0.03 / 0.73, rel=1e-13)
    # speed so high the denominator collapses -> everything prepays
    assert monthly_rate(Curve("ABS", 0.2), np.array([10]), 1)[0, 0] == 1.0


def test_vector_by_deal_period_last_value_held():
    c = Curve("CPR", vector=(0.05, 0.10, 0.20))
    ages = np.array([0, 30])
    for period, cpr in [(1, 0.05), (2, 0.10), (3, 0.20), (10, 0.20)]:
        expect = 1 - (1 - cpr) ** (1 / 12)
        got = monthly_rate(c, ages, period)
        assert got.shape == (1, 2)
        np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_scale_multiplies_annual_rate_and_caps():
    # 80% of 25% CPR = 20% CPR (term sheet reading)
    c = Curve("CPR", 0.25)
    got = monthly_rate(c, np.array([0]), 1, np.array([0.8, 0.0, 5.0]))
    np.testing.assert_allclose(got[:, 0], [1 - 0.8 ** (1 / 12), 0.0, 1.0], rtol=1e-13)
    # SMM curves scale the monthly rate
    got = monthly_rate(Curve("SMM", 0.01), np.array([0]), 1, np.array([2.0]))
    assert got[0, 0] == pytest.approx(0.02)


def test_curve_validation():
    with pytest.raises(ValueError):
        Curve("FOO", 0.1)
    with pytest.raises(ValueError):
        Curve("PSA", vector=(0.1,))
    with pytest.raises(ValueError):
        Curve("PPC", ramp_start=0.08, ramp_end=0.24)  # ramp_months missing
    with pytest.raises(ValueError):
        Curve("CPR", 0.1, basis="calendar")
    assert Curve("cpr", 0.1).kind == "CPR"


def test_wrong_curve_family_rejected():
    ln = Line("g", 100.0, 0.05, 0.0, 10)
    with pytest.raises(ValueError, match="prepay curve"):
        run([ln], 5, prepay=Curve("CDR", 0.1))
    with pytest.raises(ValueError, match="default curve"):
        run([ln], 5, default=Curve("CPR", 0.1))
    with pytest.raises(ValueError, match="no prepay curve"):
        from interpreter.collateral import project

        project([ln], 5, Scenarios.single(), {"other": Curve("CPR", 0.1)})
