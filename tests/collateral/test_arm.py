"""Hybrid ARM resets: caps, floor, lifetime cap, rounding, re-amortisation, index paths."""

import math

import numpy as np
import pytest

from interpreter.collateral import ArmTerms, Curve, Line, Scenarios, project

from .helpers import balance_after, level_payment, run, smm

T = 40


def arm_line(initial=0.055, age=0, rem=360, io=0, **terms):
    kw = dict(
        index="L6",
        margin=0.0275,
        first_reset=24,
        reset_every=6,
        initial_cap=0.03,
        periodic_cap=0.01,
        lifetime_cap=0.06,
    )
    kw.update(terms)
    return Line("2", 100_000.0, initial, 0.0, rem, age=age, io_months=io, arm=ArmTerms(**kw))


def rates(f):
    """Note rate by period (single line: the beginning-balance weighted WAC is the note rate)."""
    return f.gross_wac[0]


def flat(level):
    return {"L6": np.full(T, level)}


def test_rate_unchanged_before_first_reset():
    # 2/28 new loan: payments 1..24 at the initial rate, the reset takes effect in period 25
    f = run([arm_line()], T, index_paths=flat(0.06))
    np.testing.assert_allclose(rates(f)[:24], 0.055, rtol=0, atol=1e-15)
    assert rates(f)[24] != pytest.approx(0.055)


def test_first_reset_up_limited_by_initial_cap():
    # index 6% + 2.75% = 8.75%, initial cap 3% -> 5.5% + 3% = 8.5%
    f = run([arm_line()], T, index_paths=flat(0.06))
    assert rates(f)[24] == pytest.approx(0.085, abs=1e-15)
    # later resets (periods 31, 37): periodic cap 1%, fully indexed 8.75% reached at the second
    np.testing.assert_allclose(rates(f)[25:30], 0.085, atol=1e-15)
    assert rates(f)[30] == pytest.approx(0.0875, abs=1e-15)
    assert rates(f)[36] == pytest.approx(0.0875, abs=1e-15)


def test_first_reset_down_limited_by_initial_cap():
    # initial cap 2%: index 0.2% + 2.75% = 2.95% is below 5.5% - 2% = 3.5% -> 3.5%
    f = run([arm_line(initial_cap=0.02)], T, index_paths=flat(0.002))
    assert rates(f)[24] == pytest.approx(0.035, abs=1e-15)
    # next reset (period 31): 1% periodic cap -> 2.95% is within [2.5%, 4.5%]: 2.95%
    assert rates(f)[30] == pytest.approx(0.0295, abs=1e-15)


def test_first_reset_within_cap_takes_fully_indexed_rate():
    # 6M LIBOR 1.145% (reference deal) + 2.75% = 3.895%, within 5.5% -/+ 3%
    f = run([arm_line()], T, index_paths=flat(0.01145))
    assert rates(f)[24] == pytest.approx(0.03895, abs=1e-15)


def test_periodic_and_lifetime_caps():
    # index 12%: 8.5% (first, +3%), then +1% per reset: 9.5%, 10.5%, then 11.5% = lifetime cap
    line = arm_line()
    path = {"L6": np.full(80, 0.12)}
    f = run([line], 80, index_paths=path)
    r = rates(f)
    for period, expect in [(25, 0.085), (31, 0.095), (37, 0.105), (43, 0.115), (49, 0.115), (79, 0.115)]:
        assert r[period - 1] == pytest.approx(expect, abs=1e-15)
    assert r.max() == pytest.approx(0.055 + 0.06, abs=1e-15)


def test_floor_default_margin_and_explicit():
    # index 0: fully indexed 0% + 2.75% = 2.75%; the initial cap allows down to 5.5% - 3% = 2.5%;
    # the floor (None -> margin = 2.75%) keeps it at 2.75%
    f = run([arm_line()], T, index_paths=flat(0.0))
    assert rates(f)[24] == pytest.approx(0.0275, abs=1e-15)
    # explicit floor 4%: 2.75% target -> cap allows 2.5%, floor lifts to 4%
    f = run([arm_line(floor=0.04)], T, index_paths=flat(0.0))
    assert rates(f)[24] == pytest.approx(0.04, abs=1e-15)
    assert rates(f)[30] == pytest.approx(0.04, abs=1e-15)


def test_rounding_of_fully_indexed_rate():
    # 1.2% + 2.75% = 3.95%, rounded to nearest 1/8% = 4.0%
    f = run([arm_line(rounding=0.00125)], T, index_paths=flat(0.012))
    assert rates(f)[24] == pytest.approx(0.04, abs=1e-15)
    f = run([arm_line(rounding=0.00125)], T, index_paths=flat(0.0118))  # 3.93% -> 3.875%
    assert rates(f)[24] == pytest.approx(0.03875, abs=1e-15)


def test_payment_reamortised_on_remaining_term():
    # No prepayment: after 24 payments at 5.5% the balance is B24; period 25 pays at 3.895%
    # a level payment over the 336 months left.
    f = run([arm_line()], T, index_paths=flat(0.01145))
    B24 = balance_after(100_000.0, 0.055, 360, 24)
    assert f.begin_balance[0, 24] == pytest.approx(B24, rel=1e-10)
    P = level_payment(B24, 0.03895, 336)
    assert f.interest[0, 24] == pytest.approx(B24 * 0.03895 / 12, rel=1e-12)
    assert f.scheduled_principal[0, 24] == pytest.approx(P - B24 * 0.03895 / 12, rel=1e-10)
    # the new payment is level until the next reset
    pay = (f.interest + f.scheduled_principal)[0, 24:30]
    np.testing.assert_allclose(pay, P, rtol=1e-10)


def test_seasoned_arm_age_2_resets_in_period_23():
    # Reference deal: 2/28 loans are 2 months old -> first reset in period 24 - 2 + 1 = 23
    f = run([arm_line(age=2, rem=358)], T, index_paths=flat(0.01145))
    assert rates(f)[21] == pytest.approx(0.055)
    assert rates(f)[22] == pytest.approx(0.03895, abs=1e-15)


def test_io_arm_reset_then_amortise():
    # 5/1-style with IO: 5/1 on 1Y (2.25% margin, caps 5/2/5, annual), 60 IO months, age 0
    line = Line(
        "2",
        100_000.0,
        0.055,
        0.0,
        360,
        io_months=60,
        arm=ArmTerms("L1Y", 0.0225, 60, 12, 0.05, 0.02, 0.05),
    )
    f = run([line], 62, index_paths={"L1Y": np.full(62, 0.0128625)})
    assert np.all(f.scheduled_principal[0, :60] == 0)
    new = 0.0128625 + 0.0225  # within 5.5% +/- 5%
    assert rates(f)[60] == pytest.approx(new, abs=1e-15)
    assert f.scheduled_principal[0, 60] == pytest.approx(
        level_payment(100_000.0, new, 300) - 100_000.0 * new / 12, rel=1e-10
    )


def test_vector_index_path_read_in_period_of_reset():
    # path by period; the reset in period 25 reads path[24], the one in period 31 reads path[30]
    path = np.linspace(0.01, 0.05, T)
    f = run([arm_line()], T, index_paths={"L6": path})
    assert rates(f)[24] == pytest.approx(path[24] + 0.0275, abs=1e-15)
    assert rates(f)[30] == pytest.approx(min(path[30] + 0.0275, rates(f)[24] + 0.01), abs=1e-15)


def test_scenario_index_paths_and_prepay():
    # (S, T) index paths: each scenario reads its own row
    paths = np.stack([np.full(T, 0.01), np.full(T, 0.03), np.full(T, 0.10)])
    scen = Scenarios([1.0, 1.0, 0.0], 0.0, 0.0)
    out = project([arm_line()], T, scen, {"2": Curve("CPR", 0.25)}, index_paths={"L6": paths})
    r = out["2"].gross_wac[:, 24]
    np.testing.assert_allclose(r, [0.0375, 0.0575, 0.085], atol=1e-15)
    s = smm(0.25)
    assert out["2"].prepayment[0, 0] == pytest.approx(
        (100_000.0 - (level_payment(100_000.0, 0.055, 360) - 100_000.0 * 0.055 / 12)) * s, rel=1e-10
    )
    assert np.all(out["2"].prepayment[2] == 0)


def test_missing_index_path_is_an_error():
    with pytest.raises(ValueError, match="L6"):
        run([arm_line()], T)
    with pytest.raises(ValueError, match="shape"):
        run([arm_line()], T, index_paths={"L6": np.zeros(T - 1)})


def _engines():
    from interpreter.native import build as cbuild

    return ["numpy", pytest.param("c", marks=pytest.mark.skipif(not cbuild.available(), reason="no C compiler"))]


def annuity_factor(annual_rate: float, n: int) -> float:
    """r / ((1 + r)^n - 1), r = rate / 12, without cancellation for small n r."""
    r = annual_rate / 12.0
    return r / math.expm1(n * math.log1p(r)) if r else 1.0 / n


@pytest.mark.parametrize("engine", _engines())
def test_near_zero_rate_reset_amortises_accurately(engine):
    # Regression (hypothesis, test_c_kernel): initial rate 0, lifetime cap ~ machine epsilon:
    # the reset in period 2 (periodic cap 3.125%, index 8.1%) lands on 0 + 2.2e-16.  The
    # scheduled-principal factor r / ((1 + r)^n - 1) was r / (exp(n log1p r) - 1): 1 + 6.3e-15
    # keeps ~28 ulps, so exp's last bit (numpy's SIMD exp and glibc's differ there) moved
    # principal by ~2% either way, and the two engines by 3.4%.
    eps = 2.220446049250313e-16
    arm = ArmTerms("L6", 0.0, first_reset=0, reset_every=1, initial_cap=0.0, periodic_cap=0.03125, lifetime_cap=eps)
    line = Line("2", 1.0, 0.0, 0.0, 343, arm=arm)
    path = {"L6": np.array([0.00165276, 0.08132702, 0.09127556, 0.06066358, 0.07294966])}
    f = run([line], 3, index_paths=path, engine=engine)
    # period 1: the first reset (initial cap 0) keeps 0%; periods 2, 3: capped at 0% + lifetime cap
    np.testing.assert_allclose(rates(f), [0.0, eps, eps], rtol=1e-15, atol=0)
    assert f.scheduled_principal[0, 0] == pytest.approx(1.0 / 343, rel=1e-15)
    for t in (1, 2):
        B = f.begin_balance[0, t]
        assert f.scheduled_principal[0, t] == pytest.approx(B * annuity_factor(eps, 343 - t), rel=1e-12)


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize("rate", [1e-15, 1e-12, 1e-9, 1e-6])
def test_tiny_fixed_rate_amortises_like_its_annuity(engine, rate):
    # the same factor for a fixed line (from the cut-off on), at every period of its term
    # (errors were 1e-8 .. 1e+0 relative; now ~1e-13, rounding carried to the last months)
    n = 120
    f = run([Line("2", 1e6, rate, 0.0, n)], n, engine=engine)
    want = np.array([f.begin_balance[0, t] * annuity_factor(rate, n - t) for t in range(n)])
    np.testing.assert_allclose(f.scheduled_principal[0], want, rtol=1e-10)
    assert f.end_balance[0, -1] == pytest.approx(0.0, abs=1e-6)
