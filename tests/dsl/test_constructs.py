"""General constructs of the language, each on a small hand-made deal:
accretion (Z classes), accounts and deposits, planned-balance (PAC) schedules,
limits on 'pay remaining', and the collateral builtins."""
import textwrap

import numpy as np
import pytest

from dsl.check import check
from dsl.parse import parse
from interpreter.assumptions import load_assumptions
from interpreter.engine import run

COLLATERAL = """
collateral:
  - group: 1
    balance: 100,000,000
    gross rate: 6.50%
    fee rate: 0.50%
    remaining term: 360
    age: 0
"""

HEADER = """
deal "Construct test"
    cutoff 2024-01-01
    closing 2024-01-30
    settlement 2024-01-30
    first distribution 2024-02-25
    distribution day 25, next business day
    pricing speed 100% PSA
group 1
"""


def build(tmp_path, body, yaml=COLLATERAL):
    text = HEADER + textwrap.dedent(body)
    deal = parse(text, "test.waterfall")
    diags = check(deal)
    assert not diags, [d.render(text) for d in diags]
    p = tmp_path / "a.yaml"
    p.write_text(yaml)
    return deal, load_assumptions(p, deal)


def conserved(r):
    cash = r.cash().sum(axis=1)  # (T, S)
    collected = sum(f.net_interest + f.principal + f.penalty for f in r.collateral.values()).T
    return cash, collected


# ---------------------------------------------------------------- accretion
Z_DEAL = """
class A
    balance 70,000,000
    coupon 5.00%
class Z "Accrual"
    balance 30,000,000
    coupon 6.00%
class R
    residual
waterfall
    clause "1) Interest"
        from interest of group 1: pay current interest to A
        if balance(A) > 0:
            from interest of group 1: accrete Z into principal of group 1
        else:
            from interest of group 1: pay current and unpaid interest to Z
    clause "2) Principal"
        from principal of group 1: pay principal sequentially to A, Z
    clause "3) Residual"
        pay remaining to R
"""


def test_z_balance_grows_by_its_coupon_until_the_earlier_class_retires(tmp_path):
    deal, a = build(tmp_path, Z_DEAL)
    r = run(deal, a, [1.0])
    z, A_ = r.cls("Z"), r.cls("A")
    # Period 1: Z accretes 30,000,000 x 6% / 12 = 150,000 and receives nothing.
    assert r.accreted[0, z, 0] == pytest.approx(150_000.0, abs=1e-6)
    assert r.balance[0, z, 0] == pytest.approx(30_150_000.0, abs=1e-6)
    assert r.cash()[0, z, 0] == 0.0
    # Accretion-directed: A's principal = collateral principal + Z's accrual.
    assert r.principal[0, A_, 0] == pytest.approx(r.collateral["1"].principal[0, 0] + 150_000.0, abs=1e-6)
    # While A is outstanding, Z's balance grows exactly by its coupon each period.
    open_ = np.nonzero(r.balance[:, A_, 0] > 0)[0]
    for t in open_[1:]:
        assert r.balance[t, z, 0] == pytest.approx(r.begin_balance[t, z, 0] * 1.005, rel=1e-12)
    # Afterwards Z is paid its interest in cash and amortises.
    t = open_[-1] + 2
    assert r.accreted[t, z, 0] == 0.0
    assert r.interest[t, z, 0] == pytest.approx(r.begin_balance[t, z, 0] * 0.005, rel=1e-12)


def test_accretion_conserves_money(tmp_path):
    deal, a = build(tmp_path, Z_DEAL)
    r = run(deal, a, [0.0, 1.0, 3.0])
    cash, collected = conserved(r)
    np.testing.assert_allclose(cash, collected, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- PAC schedule
PAC_DEAL = """
schedule pac_balance "PAC Planned Balance" = planned balance 60,000,000 of group 1 between 100% PSA and 300% PSA
class PAC
    balance 60,000,000
    coupon 5.00%
class S "Support"
    balance 40,000,000
    coupon 5.50%
class R
    residual
waterfall
    clause "1) Interest"
        from interest of group 1: pay current and unpaid interest sequentially to PAC, S
    clause "2) Principal"
        from principal of group 1:
            pay principal to PAC up to balance(PAC) - pac_balance
            pay principal to S
            pay principal to PAC
    clause "3) Residual"
        pay remaining to R
"""


def test_pac_pays_exactly_its_schedule_at_any_speed_inside_the_band(tmp_path):
    deal, a = build(tmp_path, PAC_DEAL)
    speeds = [1.0, 1.5, 2.0, 2.5, 3.0]  # constant PSA speeds inside the 100-300% band
    r = run(deal, a, speeds)
    from interpreter.engine import Model
    schedule = Model(deal, a, r.n_periods).schedules["pac_balance"][1:]
    pac = r.cls("PAC")
    for s in range(len(speeds)):
        np.testing.assert_allclose(r.balance[:, pac, s], schedule, rtol=0, atol=1e-4)


def test_pac_schedule_is_the_least_principal_of_the_two_speeds(tmp_path):
    deal, a = build(tmp_path, PAC_DEAL)
    lo = run(deal, a, [1.0]).collateral["1"].principal[0]
    hi = run(deal, a, [3.0]).collateral["1"].principal[0]
    from interpreter.engine import Model
    sched = Model(deal, a, len(lo)).schedules["pac_balance"]
    # Period 1 by hand: 60,000,000 - min(principal at 100% PSA, at 300% PSA).
    assert sched[1] == pytest.approx(60_000_000 - min(lo[0], hi[0]), abs=1e-6)
    assert np.all(np.diff(sched) <= 1e-9)


def test_outside_the_band_the_support_absorbs_first(tmp_path):
    deal, a = build(tmp_path, PAC_DEAL)
    r = run(deal, a, [5.0])  # 500% PSA: above the band
    pac, sup = r.cls("PAC"), r.cls("S")
    first_pac_extra = np.nonzero(r.balance[:, sup, 0] <= 0)[0][0]
    from interpreter.engine import Model
    schedule = Model(deal, a, r.n_periods).schedules["pac_balance"][1:]
    # The PAC stays on schedule until the support is gone.
    np.testing.assert_allclose(r.balance[:first_pac_extra, pac, 0], schedule[:first_pac_extra], atol=1e-4)


# ---------------------------------------------------------------- accounts
RESERVE_DEAL = """
account reserve "Reserve Account"
define reserve_target = 1% * pool_begin()
class A
    balance 95,000,000
    coupon 5.00%
class R
    residual
waterfall
    clause "1) Interest"
        from interest of group 1: pay current and unpaid interest to A
        from account reserve: pay current and unpaid interest to A
    clause "2) Principal"
        from principal of group 1: pay principal to A
    clause "3) Reserve"
        deposit to account reserve up to reserve_target - reserve
        from account reserve: pay remaining to R up to reserve - reserve_target
    clause "4) Residual"
        pay remaining to R
"""


def test_reserve_account_fills_to_its_target_and_carries_over(tmp_path):
    deal, a = build(tmp_path, RESERVE_DEAL)
    r = run(deal, a, [1.0])
    A_, R_ = r.cls("A"), r.cls("R")
    # Period 1: net interest 100m x 6%/12 = 500,000; A's coupon 95m x 5%/12 = 395,833.33;
    # the reserve takes 1% x 100m = 1,000,000 but only 104,166.67 is left, so R gets nothing.
    assert r.interest[0, A_, 0] == pytest.approx(395_833.333333, abs=1e-4)
    assert r.cash()[0, R_, 0] == pytest.approx(0.0, abs=1e-9)
    assert r.accounts[0, 0, 0] == pytest.approx(500_000 - 395_833.333333, abs=1e-4)
    # Every period: paid to the classes + change in the account = collected.
    cash, collected = conserved(r)
    held = np.diff(np.concatenate([[0.0], r.accounts[:, 0, 0]]))
    np.testing.assert_allclose(cash[:, 0] + held, collected[:, 0], atol=1e-6)
    # Once filled, the account holds its target: the excess is released to R.
    target = 0.01 * r.collateral["1"].begin_balance[0]
    full = np.nonzero(np.isclose(r.accounts[:, 0, 0], target, rtol=0, atol=1e-6))[0]
    assert len(full) > 0
    assert np.all(r.accounts[full[0]:, 0, 0] <= target[full[0]:] + 1e-6)


def test_deposit_to_an_unknown_account_is_an_error():
    text = HEADER + textwrap.dedent("""
    class A
        balance 1,000
        coupon 5%
    class R
        residual
    waterfall
        clause "1"
            from principal of group 1: pay principal to A
            deposit to account reserv up to 10
            pay remaining to R
    """)
    diags = check(parse(text, "t.waterfall"))
    assert any("unknown account 'reserv'" in d.message for d in diags)


def test_scheduled_and_prepaid_principal_builtins_split_the_principal(tmp_path):
    deal, a = build(tmp_path, """
    class A
        balance 100,000,000
        coupon 5.00%
    class B
        balance 0
        coupon 5.00%
    class R
        residual
    waterfall
        clause "1) Interest"
            from interest of group 1: pay current interest to A
        clause "2) Principal"
            from principal of group 1:
                pay principal to A up to scheduled_principal(group 1)
                pay principal to B
                pay principal to A up to prepayments()
        clause "3) Residual"
            pay remaining to R
    """)
    r = run(deal, a, [1.0])
    f = r.collateral["1"]
    np.testing.assert_allclose(r.principal[:, r.cls("A"), 0], (f.scheduled_principal + f.prepayment)[0], atol=1e-6)


# ---------------------------------------------------------------- accrual start, funded accounts
def test_a_30_360_class_that_accrues_from_closing_has_a_short_first_period(tmp_path):
    deal, a = build(tmp_path, """
    class A
        balance 100,000,000
        coupon 6.00%
        accrues from closing
    class R
        residual
    waterfall
        clause "1) Interest"
            from interest of group 1: pay current interest to A
        clause "2) Principal"
            from principal of group 1: pay principal to A
        clause "3) Residual"
            pay remaining to R
    """)
    r = run(deal, a, [1.0])
    # Closing January 30 to February 26 (the 25th is a Sunday): 26 days on 30/360.
    assert r.interest[0, r.cls("A"), 0] == pytest.approx(100e6 * 0.06 * 26 / 360, abs=1e-6)
    assert r.interest[1, r.cls("A"), 0] == pytest.approx(r.begin_balance[1, r.cls("A"), 0] * 0.005, rel=1e-12)


def test_an_account_funded_at_closing_starts_with_its_initial_balance(tmp_path):
    deal, a = build(tmp_path, """
    account reserve "Reserve Account" initial 2,500,000
    class A
        balance 100,000,000
        coupon 5.00%
    class R
        residual
    waterfall
        clause "1) Interest"
            from interest of group 1: pay current interest to A
        clause "2) Principal"
            from principal of group 1: pay principal to A
        clause "3) Reserve release"
            from account reserve: pay remaining to R up to reserve - 2,000,000
            pay remaining to R
    """)
    r = run(deal, a, [1.0])
    # 500,000 of the 2,500,000 is released in period 1; 2,000,000 stays.
    assert r.accounts[0, 0, 0] == pytest.approx(2_000_000, abs=1e-6)
    assert r.accounts[-1, 0, 0] == pytest.approx(2_000_000, abs=1e-6)


def test_a_table_that_ends_before_the_deal_does_is_a_run_error_naming_it(tmp_path):
    from interpreter.engine import RunError
    deal, a = build(tmp_path, """
    table short "Short schedule" by period
        1-10   50%
    class A
        balance 100,000,000
        coupon 5.00%
    class R
        residual
    waterfall
        clause "1) Interest"
            from interest of group 1: pay current interest to A
        clause "2) Principal"
            from principal of group 1: pay principal to A up to short * principal_collected()
        clause "3) Residual"
            pay remaining to R
    """)
    with pytest.raises(RunError, match="table short has no row for period 11"):
        run(deal, a, [1.0])
