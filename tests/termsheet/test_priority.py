"""Priority of distributions (items 1-6), the Mandatory Auction and Clean-up Call, the
collateral, and conservation of cash (pages 4, 5, 9)."""
import numpy as np
import pytest

from .helpers import (CERTS, CLASS_1A, CUTOFF, LOSS_CASES, OC_TARGET, OFFERED, SENIORS, SUBS, accrual_days,
                      alive_mask, clause, collections, day_fraction, idx, pool_end, sale_period, sale_proceeds,
                      sale_t, scen)

GROUP_CLASSES = {"1": CLASS_1A + ["1-A-IO"], "2": ["2-A", "2-A-IO"]}


# ---------------------------------------------------------------- 13. Priority items 1) - 6) [p.9]
def _due_current(r, c, s):
    """(T,) current interest due: start balance (or notional) x rate x day count."""
    i = r.cls(c)
    days = accrual_days(r)
    if c.endswith("IO"):
        return r.notional[:, i, s] * r.rate[:, i, s] * 30 / 360
    return r.begin_balance[:, i, s] * r.rate[:, i, s] * day_fraction(c, days)


def test_priority_interest_funds_of_group_1_pay_only_class_1a_and_1a_io(base, loss_runs, group1_losses):
    for r in (base, group1_losses, *loss_runs.values()):
        for g, names in GROUP_CLASSES.items():
            paid = r.interest[:, idx(r, names), :].sum(axis=1)  # (T, S)
            assert np.all(paid <= r.collateral[g].net_interest.T + 1e-6), g
    # Group 1's losses: its interest falls short of Class 1-A while Group 2 has interest to spare;
    # the shortfall is not made up from Group 2 (interest crossing is not modelled)
    r = group1_losses
    s = 0
    paid1 = r.interest[:, idx(r, GROUP_CLASSES["1"]), s].sum(axis=1)
    due1 = sum(_due_current(r, c, s) for c in GROUP_CLASSES["1"])
    g1 = r.collateral["1"].net_interest[s]
    g2_left = r.collateral["2"].net_interest[s] - r.interest[:, idx(r, GROUP_CLASSES["2"]), s].sum(axis=1)
    short = np.nonzero(paid1 < due1 - 1.0)[0]
    assert short.size > 0
    t = short[0]
    assert paid1[t] == pytest.approx(g1[t], abs=1e-6)   # all of Group 1's interest, no more
    assert g2_left[t] > due1[t] - paid1[t]              # Group 2 could have covered it
    # first short period: Class 1-A and 1-A-IO share Group 1's interest pro rata to amount due
    dues = np.array([_due_current(r, c, s)[t] for c in GROUP_CLASSES["1"]])
    got = r.interest[t, idx(r, GROUP_CLASSES["1"]), s]
    np.testing.assert_allclose(got, dues * g1[t] / dues.sum(), rtol=1e-9, atol=1e-6)


def test_priority_subordinates_current_interest_after_seniors_sequentially(base, loss_runs, group1_losses):
    for r in (base, group1_losses, *loss_runs.values()):
        k1 = clause(r, "1)")
        total = sum(f.net_interest for f in r.collateral.values()).T
        senior = r.interest[:, idx(r, SENIORS + ["1-A-IO", "2-A-IO"]), :].sum(axis=1)
        subs = r.interest[:, idx(r, SUBS), :].sum(axis=1)
        live = alive_mask(r) > 0
        assert np.all((subs <= total - senior + 1e-6)[live])
        np.testing.assert_allclose(r.clause_paid[:, k1, :], (senior + subs), rtol=0, atol=1e-5)
        for s in range(len(r.speeds)):
            due = {c: _due_current(r, c, s) for c in SUBS}
            got = {c: r.interest[:, r.cls(c), s] for c in SUBS}
            # a junior class is paid only when the classes above it got their current interest
            for hi, lo in (("M-1", "M-2"), ("M-2", "B")):
                paid_lo = got[lo] > 1e-6
                assert np.all(got[hi][paid_lo] >= due[hi][paid_lo] - 1e-6), (hi, lo)


def test_priority_class_c_gets_only_what_remains(base, loss_runs):
    """Class C receives cash in a period only once items 3) and 4) are satisfied: the OC at
    its target (from November 2004) and no unpaid realized losses on the subordinates."""
    for r in (base, *loss_runs.values()):
        C = r.cash()[:, r.cls("C"), :]
        oc = pool_end(r).T - r.balance[:, idx(r, CERTS), :].sum(axis=1)
        unpaid = np.cumsum(r.writedown - r.loss_reimbursed, axis=0)[:, idx(r, SUBS), :].sum(axis=1)
        for s in range(len(r.speeds)):
            end = sale_t(r, s)
            sen_gone = min(np.nonzero(r.balance[:, idx(r, CLASS_1A), s].sum(1) <= 0.005)[0].tolist()
                           + np.nonzero(r.balance[:, r.cls("2-A"), s] <= 0.005)[0].tolist() + [r.n_periods])
            for t in range(6, min(r.n_periods if end is None else end, sen_gone)):
                if C[t, s] > 0.005:
                    assert oc[t, s] >= min(OC_TARGET, pool_end(r)[s, t]) - 0.01, (t + 1, s)
                    assert unpaid[t, s] <= 1e-4, (t + 1, s)
        # C's cash in each period = all collections less what every other class received
        others = r.cash().sum(axis=1) - C
        np.testing.assert_allclose(C, collections(r) * alive_mask(r) + sale_proceeds(r) - others, rtol=0, atol=1e-5)


# ---------------------------------------------------------------- 16. Mandatory Auction and Clean-up Call [p.4]
@pytest.mark.parametrize("mode, fraction", [("auction", 0.20), ("call", 0.10)],
                         ids=["mandatory-auction-20pct", "clean-up-call-10pct"])
def test_mandatory_auction_and_clean_up_call_retire_all_offered_classes(base, mode, fraction):
    r = base
    for x in sorted(set(r.speeds.tolist())):
        s = scen(r, mode, x)
        sm = scen(r, "maturity", x)
        t = sale_period(r, s, fraction)
        assert t is not None
        assert pool_end(r)[s, t] <= fraction * CUTOFF < pool_end(r)[s, t - 1]
        # every offered class is retired in that period, nothing is paid afterwards
        assert np.all(r.balance[t, idx(r, CERTS), s] == pytest.approx(0.0, abs=1e-6))
        assert np.all(r.cash()[t + 1:, :, s] == 0.0)
        # the proceeds (the pool balance) retire the certificates at par: the principal paid in
        # the sale period is their whole start balance; the rest (the OC) goes to Class C
        paid = r.principal[t, idx(r, CERTS), s].sum()
        assert paid == pytest.approx(r.begin_balance[t, idx(r, CERTS), s].sum(), abs=1e-5)
        # to maturity the same date retires nothing beyond the scheduled principal
        assert r.balance[t, idx(r, CERTS), sm].sum() > 0
        np.testing.assert_allclose(r.cash()[:t, :, s], r.cash()[:t, :, sm], rtol=0, atol=1e-6)
    s = scen(r, mode, 1.0)
    assert sale_period(r, s, fraction) + 1 == {"auction": 67, "call": 94}[mode]  # p.3: auction windows end 67


# ---------------------------------------------------------------- 17. Collateral [p.5, pricing assumptions]
def test_collateral_net_wac_group_1_is_5_991_pct(base):
    r = base
    w = r.collateral["1"].net_wac
    b = r.collateral["1"].begin_balance
    np.testing.assert_allclose(w[b > 0], 0.0625 - 0.00259, rtol=0, atol=1e-12)


def test_collateral_group_2_arm_resets(base):
    """Age 2 at cut-off: the 2/28, 3/27 and 5/1 loans reset at payment 25, 37 and 61, i.e. the
    periods whose start age is 24, 36, 60: periods 23, 35 and 59. Fully indexed rates:
    6M LIBOR 1.145% + 2.75% = 3.895% (within the 3% initial cap of 5.50%), 1Y LIBOR 1.28625%
    + 2.25% = 3.53625% (within 5%); net of 0.384% fees."""
    r = base
    arm6 = 0.01145 + 0.0275 - 0.00384
    arm1y = 0.0128625 + 0.0225 - 0.00384
    init = 0.055 - 0.00384
    for s in range(len(r.speeds)):
        if r.modes[s] != "maturity":
            continue
        w = r.collateral["2"].net_wac[s]
        np.testing.assert_allclose(w[:22], init, rtol=0, atol=1e-12)           # periods 1-22
        # period 23: the 2/28 loans (15%; all lines alike until then, so the shares are exact)
        assert w[22] == pytest.approx(0.15 * arm6 + 0.85 * init, abs=1e-12)
        # period 35: + the 3/27 loans (35%); the shares have drifted by a hair since period 23
        assert w[34] == pytest.approx(0.50 * arm6 + 0.50 * init, abs=2e-5)
        # period 59: + the 5/1 loans (50%)
        assert w[58] == pytest.approx(0.50 * arm6 + 0.50 * arm1y, abs=2e-5)
        # the only jumps are at the reset periods
        jumps = np.nonzero(np.abs(np.diff(w[:200])) > 1e-5)[0] + 1
        assert jumps.tolist() == [22, 34, 58]
        # and the group's net interest is the start balance x net WAC / 12 (no losses)
        np.testing.assert_allclose(r.collateral["2"].net_interest[s][:200],
                                   r.collateral["2"].begin_balance[s][:200] * w[:200] / 12, rtol=1e-12)


def test_collateral_pool_balances_and_speeds(base):
    """100% PPC: Group 1 (age 6) is at ramp month 7 in period 1, 8% + 6 x 16%/11 CPR;
    Group 2 at 25% CPR; 0% means no prepayments."""
    r = base
    s = scen(r, "maturity", 1.0)
    for g, cpr in (("1", 0.08 + 6 * 0.16 / 11), ("2", 0.25)):
        f = r.collateral[g]
        smm = f.prepayment[s, 0] / (f.begin_balance[s, 0] - f.scheduled_principal[s, 0])
        assert smm == pytest.approx(1 - (1 - cpr) ** (1 / 12), rel=1e-12)
    s0 = scen(r, "maturity", 0.0)
    assert all(np.all(f.prepayment[s0] == 0.0) for f in r.collateral.values())


# ---------------------------------------------------------------- conservation
@pytest.mark.parametrize("which", ["base", "stress", "high_libor", "group1_losses", "fast_group2",
                                   "delinquency_trigger", "loss_trigger",
                                   *[f"loss:{c}:{v}" for c, v in LOSS_CASES]])
def test_conservation_cash_paid_equals_collections_every_period(which, request):
    """Cash paid to all classes = net interest + principal collected (+ the sale proceeds in
    the period of a sale), every period, every scenario, with and without losses."""
    if which.startswith("loss:"):
        _, c, v = which.split(":")
        r = request.getfixturevalue("loss_runs")[(float(c), float(v))]
    else:
        r = request.getfixturevalue(which)
    paid = r.cash().sum(axis=1)
    want = collections(r) * alive_mask(r) + sale_proceeds(r)
    np.testing.assert_allclose(paid, want, rtol=0, atol=1e-5)
    # and no principal certificate is paid more principal than its balance
    assert np.all(r.balance >= -1e-6)
    orig = r.begin_balance[0, idx(r, CERTS), :]
    assert np.all(r.principal[:, idx(r, CERTS), :].sum(axis=0) + r.writedown[:, idx(r, CERTS), :].sum(axis=0)
                  <= orig + 1e-5)
