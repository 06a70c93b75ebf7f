"""Credit enhancement: overcollateralization, the Trigger Event, the Stepdown Date,
losses, the Principal Paydown rules and the Class 1-A-6 lockout (pages 7-10)."""
import datetime as dt

import numpy as np
import pytest

from .conftest import CUM_LOSS, TRIGGER_SPEEDS
from .helpers import (BASE_SPEEDS, MODES, pool_for_losses, CERTS, CLASS_1A, CUTOFF, LOSS_CASES, OC_TARGET, SENIORS, SUBS, alive_mask,
                      clause, collections, idx, pool_begin, pool_end, sale_t, scen)


def _oc(r):
    """(T, S) overcollateralization at period end: pool - principal certificates."""
    return pool_end(r).T - r.balance[:, idx(r, CERTS), :].sum(axis=1)


def _live(r, s):
    """0-based periods in which scenario s still holds its collateral (sale period excluded)."""
    t = sale_t(r, s)
    return np.arange(r.n_periods if t is None else t)


# ---------------------------------------------------------------- 9. OC Target [p.8]
def test_overcollateralization_target_is_zero_before_november_2004(base, stress, loss_runs):
    assert base.dates[6] == dt.date(2004, 11, 26)  # period 7 is the November 2004 date
    for r in (base, stress, *loss_runs.values()):
        k3 = clause(r, "3)")
        assert np.all(r.clause_paid[:6, k3, :] == 0.0)        # no OC building in periods 1-6
    for r in (base, stress):
        np.testing.assert_allclose(_oc(r)[:6], 0.0, rtol=0, atol=1e-4)


def _first_senior_group_retired(r, s):
    """0-based period in which Class 1-A or Class 2-A is first paid off (or the horizon)."""
    t1 = np.nonzero(r.balance[:, idx(r, CLASS_1A), s].sum(axis=1) <= 0.005)[0]
    t2 = np.nonzero(r.balance[:, r.cls("2-A"), s] <= 0.005)[0]
    return min(t1[0] if t1.size else r.n_periods, t2[0] if t2.size else r.n_periods)


def test_overcollateralization_target_2_152_500_reached_and_held_at_100_pct(base):
    r = base
    for mode in MODES:
        s = scen(r, mode, 1.0)
        oc = _oc(r)[:, s]
        reached = int(np.argmax(np.abs(oc - 2_152_500.0) < 0.01))
        assert 6 <= reached < 12 and oc[reached] == pytest.approx(0.0035 * 615_000_000, abs=0.01)
        assert np.all(np.diff(oc[5:reached + 1]) > 0)  # built up month by month from November 2004
        # held (the target does not step down) until a group's seniors are retired
        end = min(len(_live(r, s)), _first_senior_group_retired(r, s))
        assert end >= 66
        np.testing.assert_allclose(oc[reached:end], OC_TARGET, rtol=0, atol=0.01)


def test_after_one_groups_seniors_retire_the_other_is_paid_only_to_its_group_target(base):
    """RULE CHOSEN in the deal file (the pricing-assumptions reading that gives page 3's
    tail): once 2-A and the subordinates are retired, Class 1-A is still paid only down
    to Group 1's own target, min(88.40% x group pool, group pool - 0.35% x 300,000,000);
    principal beyond it is Excess Cashflow and reaches Class C (the OC is released)."""
    r = base
    s = scen(r, "maturity", 1.0)
    p1 = r.collateral["1"].end_balance[s]
    a2 = r.cls("2-A")
    retired = int(np.nonzero(r.balance[:, a2, s] <= 0.005)[0][0])
    assert r.balance[retired, idx(r, SUBS), s].sum() <= 0.005
    checked = 0
    for t in range(retired + 1, r.n_periods):
        bal = r.balance[t, idx(r, CLASS_1A), s].sum()
        if bal <= 0.005:
            break
        target = max(0.0, min(0.884 * p1[t], p1[t] - 0.0035 * 300_000_000))
        assert bal == pytest.approx(target, abs=0.01), t + 1
        assert r.cash()[t, r.cls("C"), s] > 0
        checked += 1
    assert checked >= 5
    assert _oc(r)[retired + 3, s] < OC_TARGET - 1.0


def _check_item_3(r, s, periods):
    k = {n: clause(r, f"{n})") for n in range(1, 7)}
    oc = _oc(r)[:, s]
    coll = collections(r)[:, s]
    for t in periods:
        assert oc[t] <= OC_TARGET + 0.01
        if t < 6:
            continue
        excess = coll[t] - r.clause_paid[t, k[1], s] - r.clause_paid[t, k[2], s]
        later = sum(r.clause_paid[t, k[n], s] for n in (4, 5, 6))
        if abs(oc[t] - min(OC_TARGET, pool_end(r)[s, t])) > 0.01:  # target not met: all excess to item 3
            assert r.clause_paid[t, k[3], s] == pytest.approx(excess, abs=1e-6), (r.modes[s], r.speeds[s], t + 1)
            assert later == pytest.approx(0.0, abs=1e-6)


def test_overcollateralization_target_item_3_pays_the_deficiency_or_all_the_excess(base):
    """From period 7: if the OC is below target after item 3, item 3 took all the excess
    left after items 1-2 and items 4-6 got nothing; the OC never exceeds the target
    (checked until a group's seniors are retired; after that the group-target rule applies)."""
    r = base
    for s in range(len(r.speeds)):
        end = min(len(_live(r, s)), _first_senior_group_retired(r, s))
        _check_item_3(r, s, range(end))


# ---------------------------------------------------------------- 10. Trigger Event [p.8]
def _trigger_by_hand(r, s, factor=None, delinquency=None, cum_loss=None):
    """(T,) Trigger Event flag (ignoring the Stepdown condition) from the term sheet's
    definitions: factor x 3-month average 60+ delinquency >= Required Percentage, or
    cumulative realized losses > the period's percentage x cut-off balance."""
    T = r.n_periods
    on = np.zeros(T, dtype=bool)
    pb = pool_begin(r)[s]
    sen = r.begin_balance[:, idx(r, SENIORS), s].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        required = np.where(pb > 0, (pb - sen) / pb, 0.0)
    if factor:
        on |= factor * delinquency >= required
    if cum_loss:
        cum = np.cumsum(sum(f.loss[s] for f in r.collateral.values()))
        p = np.arange(1, T + 1)
        c = cum_loss
        lim = np.select(
            [p < 49, p < 61, p < 73, p < 85],
            [c["cum_loss_37"] + (p - 37) * (c["cum_loss_49"] - c["cum_loss_37"]) / 12,
             c["cum_loss_49"] + (p - 49) * (c["cum_loss_61"] - c["cum_loss_49"]) / 12,
             c["cum_loss_61"] + (p - 61) * (c["cum_loss_73"] - c["cum_loss_61"]) / 12,
             c["cum_loss_73"] + (p - 73) * (c["cum_loss_85"] - c["cum_loss_73"]) / 12],
            c["cum_loss_85"])
        on |= cum > lim * CUTOFF
    return on


def _check_trigger(r, s, on):
    """While the trigger is in effect after May 2007 the subordinates get no principal (unless
    the seniors are paid off); returns (# trigger periods checked, sub principal paid after
    stepdown in periods without trigger)."""
    sub_p = r.principal[:, idx(r, SUBS), s].sum(axis=1)
    sen_end = r.balance[:, idx(r, SENIORS), s].sum(axis=1)
    checked, free = 0, 0.0
    for t in range(36, r.n_periods):
        if sen_end[t] <= 0.005:
            break
        if on[t]:
            assert sub_p[t] == pytest.approx(0.0, abs=1e-6), (t + 1, sub_p[t])
            checked += 1
        else:
            free += sub_p[t]
    return checked, free


def test_trigger_event_delinquency_stops_subordinate_principal(delinquency_trigger):
    r = delinquency_trigger
    for s in range(len(r.speeds)):
        on = _trigger_by_hand(r, s, factor=2, delinquency=0.15)
        checked, free = _check_trigger(r, s, on)
        assert checked > 0, r.speeds[s]
        # with the trigger in effect at period 37 the subordinates are not paid then
        assert on[36] and r.principal[36, idx(r, SUBS), s].sum() == 0.0
        # seniors get all the principal while it is in effect (before any is retired)
        t = 36
        paid_sen = r.principal[t, idx(r, SENIORS), s].sum()
        assert paid_sen == pytest.approx(r.principal[t, idx(r, CERTS), s].sum(), abs=1e-6)


def test_trigger_event_cumulative_loss_stops_subordinate_principal(loss_trigger):
    r = loss_trigger
    on = _trigger_by_hand(r, 0, cum_loss=CUM_LOSS)
    checked, free = _check_trigger(r, 0, on)
    assert checked > 0
    assert on[36:].any() and not on[36:].all(), "both states should occur after May 2007"
    assert free > 0  # once the trigger is off again the stepdown rules pay the subordinates


def test_trigger_event_off_with_the_default_parameters(delinquency_defaults, base):
    """The [TBD] factor defaults to 0: 15% delinquency changes nothing."""
    r = delinquency_defaults
    for s, x in enumerate(r.speeds):
        sb = scen(base, "maturity", x)
        np.testing.assert_allclose(r.principal[:, :, s], base.principal[:, :, sb], rtol=0, atol=1e-6)
        assert r.principal[36, idx(r, SUBS), s].sum() > 0  # subordinates paid from May 2007


# ---------------------------------------------------------------- 11. Stepdown Date [p.9]
def test_stepdown_date_never_before_may_2007(base):
    """No subordinate principal before period 37 (May 2007) while seniors are outstanding,
    at every table speed and mode (the sale period of a run to auction/call excluded)."""
    r = base
    assert r.dates[36] == dt.date(2007, 5, 25)
    for s in range(len(r.speeds)):
        sen_end = r.balance[:, idx(r, SENIORS), s].sum(axis=1)
        for t in _live(r, s)[:36]:
            if sen_end[t] > 0.005:
                assert r.principal[t, idx(r, SUBS), s].sum() == 0.0, (r.modes[s], r.speeds[s], t + 1)


def test_stepdown_date_never_before_may_2007_at_300_and_400_pct(stress):
    r = stress
    for s in range(len(r.speeds)):
        sen_end = r.balance[:, idx(r, SENIORS), s].sum(axis=1)
        for t in range(36):
            if sen_end[t] > 0.005:
                assert r.principal[t, idx(r, SUBS), s].sum() == 0.0, (r.speeds[s], t + 1)


def test_stepdown_date_first_subordinate_principal_in_period_37_at_100_pct(base):
    r = base
    for mode in ("auction", "maturity", "call"):
        s = scen(r, mode, 1.0)
        for c in SUBS:
            first = int(np.argmax(r.principal[:, r.cls(c), s] >= 0.01))
            assert first + 1 == 37, (mode, c)
        # and at period 37 the seniors reach exactly 88.40% of the pool (11.60% subordination)
        sen = r.balance[36, idx(r, SENIORS), s].sum()
        assert sen == pytest.approx(0.884 * pool_end(r)[s, 36], abs=0.01)


# ---------------------------------------------------------------- 12. Losses [p.8-9]
@pytest.mark.parametrize("case", LOSS_CASES, ids=[f"{c:.0%}CDR-{v:.0%}sev" for c, v in LOSS_CASES])
def test_losses_written_down_b_then_m2_then_m1_then_seniors_pro_rata(loss_runs, case):
    r = loss_runs[case]
    wd = r.writedown
    end = r.balance
    b = lambda names, t, s: end[t, idx(r, names), s].sum()
    seniors_hit = False
    for s in range(len(r.speeds)):
        pe = pool_for_losses(r)[s]
        for t in _live(r, s):
            certs = b(CERTS, t, s)
            assert certs <= pe[t] + 1e-4          # never more certificates than loans
            total = wd[t, :, s].sum()
            if total > 0:
                assert certs == pytest.approx(pe[t], abs=1e-4)   # OC used up first, exactly
            if wd[t, r.cls("M-2"), s] > 0:
                assert b(["B"], t, s) == 0.0
            if wd[t, r.cls("M-1"), s] > 0:
                assert b(["M-2", "B"], t, s) == 0.0
            sen_wd = wd[t, idx(r, SENIORS), s]
            if sen_wd.sum() > 0:
                seniors_hit = True
                assert b(SUBS, t, s) == 0.0
                before = end[t, idx(r, SENIORS), s] + sen_wd
                share = sen_wd[before > 0] / before[before > 0]
                np.testing.assert_allclose(share, share[0], rtol=1e-9)  # pro rata (deal file rule)
    assert np.all(wd[:, idx(r, ["1-A-IO", "2-A-IO", "C", "P", "A-R"]), :] == 0.0)
    if case[1] > 0:
        assert wd[:, r.cls("B"), :].sum() > 0
    if case == (0.10, 0.40):
        assert seniors_hit


@pytest.mark.parametrize("case", LOSS_CASES, ids=[f"{c:.0%}CDR-{v:.0%}sev" for c, v in LOSS_CASES])
def test_losses_reimbursed_only_from_excess_m1_first(loss_runs, case):
    r = loss_runs[case]
    k4 = clause(r, "4)")
    oc = _oc(r)
    reimb = r.loss_reimbursed
    assert np.all(reimb[:, idx(r, SENIORS + ["1-A-IO", "2-A-IO"]), :] == 0.0)  # item 4: subordinates only
    cum_wd = np.cumsum(r.writedown, axis=0)
    cum_re = np.cumsum(reimb, axis=0)
    assert np.all(cum_re <= cum_wd + 1e-6)
    # unpaid realized losses after item 4 of period t: written down up to t-1 (this period's
    # writedown comes after the waterfall) less reimbursed up to t
    unpaid = np.concatenate([np.zeros_like(cum_wd[:1]), cum_wd[:-1]]) - cum_re
    for s in range(len(r.speeds)):
        for t in _live(r, s):
            got = reimb[t, :, s].sum()
            assert got <= r.clause_paid[t, k4, s] + 1e-6
            if got > 0 and 6 <= t < _first_senior_group_retired(r, s):  # (after that: the group-target rule)
                # from November 2004 item 3 comes first: the OC target is met (the period's
                # losses were absorbed by excess), nothing written down this period. Before
                # that the target is zero and item 3 does not run.
                assert oc[t, s] >= min(OC_TARGET, pool_end(r)[s, t]) - 0.01
                assert r.writedown[t, :, s].sum() == 0.0
            if reimb[t, r.cls("M-2"), s] > 0:
                assert unpaid[t, r.cls("M-1"), s] == pytest.approx(0.0, abs=1e-6)
            if reimb[t, r.cls("B"), s] > 0:
                assert unpaid[t, idx(r, ["M-1", "M-2"]), s].sum() == pytest.approx(0.0, abs=1e-6)
    if case[1] > 0:
        assert reimb.sum() > 0


# ---------------------------------------------------------------- 14. Principal Paydown [p.9-10]
def test_principal_paydown_before_stepdown_to_related_seniors(base):
    """Before May 2007: Class 1-A gets Group 1's principal and 2-A Group 2's (clause 2), plus
    item 3's OC principal split by group balance (pricing-assumptions.md)."""
    r = base
    k3 = clause(r, "3)")
    for s in range(len(r.speeds)):
        g1 = r.collateral["1"].principal[s]
        g2 = r.collateral["2"].principal[s]
        pe1 = r.collateral["1"].end_balance[s]
        pe2 = r.collateral["2"].end_balance[s]
        for t in _live(r, s)[:36]:
            if r.balance[t, idx(r, CLASS_1A), s].sum() <= 0.005 or r.balance[t, r.cls("2-A"), s] <= 0.005:
                break
            x = r.clause_paid[t, k3, s]
            p1 = r.principal[t, idx(r, CLASS_1A), s].sum()
            p2 = r.principal[t, r.cls("2-A"), s]
            assert p1 == pytest.approx(g1[t] + x * pe1[t] / (pe1[t] + pe2[t]), abs=1e-5)
            assert p2 == pytest.approx(g2[t] + x * pe2[t] / (pe1[t] + pe2[t]), abs=1e-5)
            if t < 6:
                assert x == 0.0


def test_principal_paydown_crossing_once_one_groups_seniors_are_retired(fast_group2):
    r = fast_group2
    s = 0
    k3 = clause(r, "3)")
    g1 = r.collateral["1"].principal[s]
    g2 = r.collateral["2"].principal[s]
    b2 = r.begin_balance[:, r.cls("2-A"), s]
    gone = int(np.argmax(r.balance[:, r.cls("2-A"), s] <= 0.005))
    assert 0 < gone < 35, gone
    # the period 2-A retires: it takes its balance, the rest of Group 2's principal goes to 1-A
    t = gone
    p1 = r.principal[t, idx(r, CLASS_1A), s].sum()
    assert r.principal[t, r.cls("2-A"), s] == pytest.approx(b2[t], abs=1e-6)
    assert p1 + b2[t] == pytest.approx(g1[t] + g2[t] + r.clause_paid[t, k3, s], abs=1e-5)
    # afterwards, before the Stepdown Date: all of both groups' principal to Class 1-A
    for t in range(gone + 1, 36):
        p1 = r.principal[t, idx(r, CLASS_1A), s].sum()
        assert p1 == pytest.approx(g1[t] + g2[t] + r.clause_paid[t, k3, s], abs=1e-5), t + 1
        assert r.principal[t, idx(r, SUBS), s].sum() == 0.0


def test_principal_paydown_after_stepdown_subordination_targets_hold(base):
    """After the Stepdown Date (no trigger): seniors <= 88.40% of the pool, seniors + M-1 <=
    93.10%, + M-2 <= 96.90%, + B <= 99.30%, each also <= pool - OC target (period end)."""
    r = base
    checked = 0
    for s in range(len(r.speeds)):
        if r.speeds[s] == 0.0:
            continue
        pe = pool_end(r)[s]
        pc = sum(f.principal[s] for f in r.collateral.values())
        sen_begin = r.begin_balance[:, idx(r, SENIORS), s].sum(axis=1)
        # the Stepdown Date by hand (pricing-assumptions.md reading of (ii))
        step = next(t for t in range(36, r.n_periods) if sen_begin[t] - pc[t] <= 0.884 * pe[t])
        levels = [(SENIORS, 0.884), (SENIORS + ["M-1"], 0.931), (SENIORS + ["M-1", "M-2"], 0.969),
                  (CERTS, 0.993)]
        end = min(len(_live(r, s)), _first_senior_group_retired(r, s))
        for t in range(step, end):
            for names, pct in levels:
                bal = r.balance[t, idx(r, names), s].sum()
                assert bal <= min(pct * pe[t], pe[t] - OC_TARGET) + 0.01 or bal <= 0.01, (s, t + 1, names[-1])
            checked += 1
    assert checked > 100


# ---------------------------------------------------------------- 15. Class 1-A-6 lockout [p.10]
def test_class_1a6_lockout_no_principal_in_months_1_to_36(base):
    r = base
    i6 = r.cls("1-A-6")
    for s in range(len(r.speeds)):
        others = r.balance[:, idx(r, CLASS_1A[:5]), s].sum(axis=1)
        for t in _live(r, s)[:36]:
            if others[t] > 0.005:
                assert r.principal[t, i6, s] == 0.0, (r.modes[s], r.speeds[s], t + 1)


LOCKOUT = [(1, 36, 0.0), (37, 60, 0.45), (61, 72, 0.80), (73, 84, 1.00), (85, 10_000, 3.00)]


def test_class_1a6_lockout_month_37_is_45_pct_of_its_pro_rata_share(base):
    r = base
    i6 = r.cls("1-A-6")
    t = 36
    for s in range(len(r.speeds)):
        if t >= len(_live(r, s)) or r.speeds[s] == 0.0:
            continue
        b6 = r.begin_balance[t, i6, s]
        b1a = r.begin_balance[t, idx(r, CLASS_1A), s].sum()
        p1a = r.principal[t, idx(r, CLASS_1A), s].sum()
        if r.speeds[s] == 1.0:
            assert p1a > 0 and b6 > 0
        assert r.principal[t, i6, s] == pytest.approx(0.45 * b6 / b1a * p1a, rel=1e-9), r.speeds[s]


def test_class_1a6_lockout_percentage_schedule_every_month(base):
    """Every month: 1-A-6 gets Lockout% x its pro rata share, or more once 1-A-1..5 are retired
    (the sequential part), never more than its balance."""
    r = base
    i6 = r.cls("1-A-6")
    for s in range(len(r.speeds)):
        for t in _live(r, s):
            pct = next(p for a, b, p in LOCKOUT if a <= t + 1 <= b)
            b6 = r.begin_balance[t, i6, s]
            if b6 <= 0:
                break
            b1a = r.begin_balance[t, idx(r, CLASS_1A), s].sum()
            p1a = r.principal[t, idx(r, CLASS_1A), s].sum()
            rest = r.begin_balance[t, idx(r, CLASS_1A[:5]), s].sum()
            # the Lockout share is limited by the principal itself (300% from month 85)
            want = min(b6, p1a, max(pct * b6 / b1a * p1a, p1a - rest))
            assert r.principal[t, i6, s] == pytest.approx(want, rel=1e-9, abs=1e-6), (r.speeds[s], t + 1)
